//! A wallet's answer: counted on its bytes (Rule 11), verified on the
//! bounded pool, and either completing the session (only when it is proven
//! to be made for this session: [`crate::verify::Checked::bound`]) or
//! counted as a wrong answer (see the module docs of [`super`]).

use base64::Engine as _;
use wallet_core::presentation::{Expected, Presentation, ReadError};
use wallet_core::request::SessionKind;
use wallet_core::signature::AttributeSignature;

use super::{LoadedSession, SessionResult, Sessions, WalletError, CAS_ATTEMPTS};
use crate::signature::sign_timestamp;
use crate::store::{now_ms, SessionStatus, UpdateOutcome, WalletToken};
use crate::verify::{self, Checked, Reason, Verification};

impl Sessions {
    pub(super) async fn answer_inner(
        &self,
        wallet: &WalletToken,
        bytes: &[u8],
    ) -> Result<SessionResult, WalletError> {
        let loaded = self.load_wallet(wallet).await?;
        if loaded.status().is_final() {
            return Err(WalletError::Finished(loaded.status()));
        }
        let request = loaded.body.request().ok_or(WalletError::Corrupt)?;
        let expected = Expected::for_request(&request);
        // Rule 11, on this worker: array headers only, no group operation.
        if let Err(e) = verify::check_shape(bytes, &expected) {
            return Err(self.refuse(loaded, wallet, refusal(&e)).await);
        }
        let context = loaded.body.context(&request);
        let scheme = self.scheme();
        let (owned, verifier) = (bytes.to_vec(), loaded.body.verifier.clone());
        let (job_request, job_context) = (request.clone(), context.clone());
        let outcome = self
            .inner
            .pool
            .run(move || -> Result<(Presentation, Checked), ReadError> {
                let presentation = verify::decode_presentation(&owned, &expected)?;
                let checked = verify::verify_bound(
                    &scheme,
                    &verifier,
                    &job_request,
                    &job_context,
                    &presentation,
                    now_ms() / 1000,
                );
                Ok((presentation, checked))
            })
            .await
            .map_err(|_| WalletError::Busy)?;
        let (presentation, checked) = match outcome {
            Ok(done) => done,
            Err(e) => return Err(self.refuse(loaded, wallet, refusal(&e)).await),
        };
        // Only a presentation proven to be made for this session (its
        // challenge verified for this session's context) may finish it.
        // Anything else may be someone else's presentation with a field
        // broken, so it is refused like a wrong context and counted.
        if !checked.bound {
            let reason = checked.verification.reason.unwrap_or(Reason::Challenge);
            return Err(self
                .refuse(loaded, wallet, (reason, WalletError::WrongContext(reason)))
                .await);
        }
        let verification = checked.verification;
        let (signature, timestamp_signature) =
            if request.kind() == SessionKind::Signing && verification.is_valid() {
                let signature = AttributeSignature::new(context.clone(), presentation.clone())
                    .map(|s| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.to_bytes()))
                    .ok();
                let ts = match (request.message(), context.timestamp) {
                    (Some(m), Some(t)) => Some(sign_timestamp(&self.inner.key, m, t)),
                    _ => None,
                };
                (signature, ts)
            } else {
                (None, None)
            };
        let result = SessionResult {
            status: SessionStatus::Done,
            kind: request.kind(),
            verifier: loaded.body.verifier.clone(),
            verification: Some(verification),
            signature,
            timestamp_signature,
        };
        let mut loaded = loaded;
        for _ in 0..CAS_ATTEMPTS {
            if self
                .finish(&loaded, SessionStatus::Done, result.clone())
                .await?
                .is_some()
            {
                tracing::info!(
                    verifier = %loaded.body.verifier,
                    valid = result.is_valid(),
                    "session completed"
                );
                return Ok(result);
            }
            // Someone wrote first: a concurrent answer (then this one is a
            // replay), a cancel, a timeout, or just CONNECTED; re-read.
            loaded = self.load_wallet(wallet).await?;
            if loaded.status().is_final() {
                return Err(WalletError::Finished(loaded.status()));
            }
        }
        Err(WalletError::Contention)
    }

    /// Count a refused presentation and return `error` for it; the
    /// `max_wrong_answers`-th refusal moves the session to FAILED, with
    /// the last refusal's reason as its result. A store failure while
    /// counting is returned instead (the refusal was not recorded).
    async fn refuse(
        &self,
        mut loaded: LoadedSession,
        wallet: &WalletToken,
        (reason, error): (Reason, WalletError),
    ) -> WalletError {
        let max = self.inner.settings.max_wrong_answers.max(1);
        for _ in 0..CAS_ATTEMPTS {
            if loaded.status().is_final() {
                return error;
            }
            let wrong = loaded.body.wrong_answers.saturating_add(1);
            let written = if wrong >= max {
                let result = SessionResult {
                    status: SessionStatus::Failed,
                    kind: loaded
                        .body
                        .request()
                        .map_or(SessionKind::Disclosing, |r| r.kind()),
                    verifier: loaded.body.verifier.clone(),
                    verification: Some(Verification::failed(
                        reason,
                        format!("{wrong} presentations were refused; the last: {error}"),
                    )),
                    signature: None,
                    timestamp_signature: None,
                };
                let mut failing = loaded.clone();
                failing.body.wrong_answers = wrong;
                match self.finish(&failing, SessionStatus::Failed, result).await {
                    Ok(done) => done.is_some(),
                    Err(e) => return e.into(),
                }
            } else {
                let mut body = loaded.body.clone();
                body.wrong_answers = wrong;
                let mut next = loaded.stored.clone();
                next.body = match body.encode() {
                    Ok(b) => b,
                    Err(e) => return e.into(),
                };
                match self.inner.store.update(loaded.stored.version, next).await {
                    Ok(UpdateOutcome::Updated) => true,
                    Ok(UpdateOutcome::Missing) => return error,
                    Ok(UpdateOutcome::Conflict) => false,
                    Err(e) => return e.into(),
                }
            };
            if written {
                tracing::info!(
                    verifier = %loaded.body.verifier,
                    wrong,
                    max,
                    reason = %reason,
                    "presentation refused"
                );
                return error;
            }
            loaded = match self.load_wallet(wallet).await {
                Ok(l) => l,
                Err(WalletError::NotFound) => return error,
                Err(e) => return e,
            };
        }
        WalletError::Contention
    }
}

/// The reason and error for bytes refused before verification.
fn refusal(e: &ReadError) -> (Reason, WalletError) {
    match e {
        ReadError::Unrequested(u) => (Reason::Unrequested, WalletError::Unrequested(u.to_string())),
        ReadError::Decode(d) => (Reason::Malformed, WalletError::Malformed(d.to_string())),
    }
}
