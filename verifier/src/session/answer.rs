//! A wallet's answer: counted on its bytes (Rule 11), verified on the
//! bounded pool, and either completing the session (only when it is proven
//! to be made for this session: [`crate::verify::Checked::is_bound`]) or
//! counted as a wrong answer (see the module docs of [`super`]).

use wallet_core::presentation::{Expected, Presentation, ReadError};
use wallet_core::request::SessionKind;
use wallet_core::signature::AttributeSignature;

use super::transition::Key;
use super::{SessionResult, Sessions, WalletError};
use crate::signature::sign_timestamp;
use crate::store::{now_ms, WalletToken};
use crate::verify::{self, Checked, Reason};

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
        let terms = loaded.terms();
        let request = terms.request().clone();
        let expected = Expected::for_request(&request);
        // Rule 11, on this worker: array headers only, no group operation.
        if let Err(e) = verify::check_shape(bytes, &expected) {
            return Err(self.refuse(wallet, refusal(&e)).await);
        }
        let context = terms.context();
        let scheme = self.scheme();
        let (owned, verifier) = (bytes.to_vec(), terms.verifier().clone());
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
            Err(e) => return Err(self.refuse(wallet, refusal(&e)).await),
        };
        // Only a presentation proven to be made for this session (its
        // challenge verified for this session's context) may finish it.
        // Anything else may be someone else's presentation with a field
        // broken, so it is refused like a wrong context and counted.
        if !checked.is_bound() {
            let reason = checked.verification().reason().unwrap_or(Reason::Challenge);
            return Err(self
                .refuse(wallet, (reason, WalletError::WrongContext(reason)))
                .await);
        }
        let verification = checked.into_verification();
        let (signature, timestamp_signature) =
            if request.kind() == SessionKind::Signing && verification.is_valid() {
                let signature = AttributeSignature::new(context.clone(), presentation)
                    .map(|s| crate::base64url::encode(s.to_bytes()))
                    .ok();
                let ts = match (request.message(), context.timestamp) {
                    (Some(m), Some(t)) => Some(sign_timestamp(&self.inner.key, m, t)),
                    _ => None,
                };
                (signature, ts)
            } else {
                (None, None)
            };
        let result = SessionResult::done(
            request.kind(),
            terms.verifier().clone(),
            verification,
            signature,
            timestamp_signature,
        );
        // Someone may write first: a concurrent answer (then this one is a
        // replay), a cancel, a timeout; the transition refuses then.
        self.transition(Key::Wallet(wallet), |_, state| {
            let next = state.complete(&result).map_err(WalletError::Finished)?;
            Ok::<_, WalletError>((next, ()))
        })
        .await?;
        tracing::info!(
            verifier = %result.verifier(),
            valid = result.is_valid(),
            "session completed"
        );
        Ok(result)
    }

    /// Count a refused presentation and return `error` for it; the
    /// `max_wrong_answers`-th refusal moves the session to FAILED, with
    /// the last refusal's reason as its result. A store failure while
    /// counting is returned instead (the refusal was not recorded).
    async fn refuse(
        &self,
        wallet: &WalletToken,
        (reason, error): (Reason, WalletError),
    ) -> WalletError {
        let max = self.inner.settings.max_wrong_answers.max(1);
        let detail = error.to_string();
        let counted = self
            .transition(Key::Wallet(wallet), |terms, state| {
                let next = state
                    .refuse(terms, max, reason, &detail)
                    .map_err(WalletError::Finished)?;
                let wrong = match &next {
                    super::State::Initialized(o) | super::State::Connected(o) => o.wrong_answers(),
                    super::State::Finished(_) => max,
                };
                Ok((next, wrong))
            })
            .await;
        match counted {
            Ok(wrong) => {
                tracing::info!(wrong, max, reason = %reason, "presentation refused");
                error
            }
            // Finished or gone meanwhile: nothing to count, the refusal stands.
            Err(WalletError::Finished(_) | WalletError::NotFound) => error,
            Err(e) => e,
        }
    }
}

/// The reason and error for bytes refused before verification.
fn refusal(e: &ReadError) -> (Reason, WalletError) {
    match e {
        ReadError::Unrequested(u) => (Reason::Unrequested, WalletError::Unrequested(u.to_string())),
        ReadError::Decode(d) => (Reason::Malformed, WalletError::Malformed(d.to_string())),
    }
}
