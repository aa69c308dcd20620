//! Wallet side: offer, holder commitment (or refresh proof), challenges,
//! and the start of a refresh. Every message is a wallet-core wire message.

use wallet_core::cbor::{from_cbor, to_cbor, DecodeError};
use wallet_core::holder::{HolderProof, HolderPublicKey};
use wallet_core::issuance::issuer::{IssueError, IssuerSession};
use wallet_core::wire::{
    ChallengesMessage, HolderCommitment, IssuanceOffer, Nonce, OfferedCredential, RefreshProof,
    RefreshRequest, ResponsesMessage, SignerCommitmentsMessage, WireMessage,
};
use zeroize::Zeroizing;

use super::requestor::{stored_request, validated_values, SessionStatus};
use super::{now, now_i64, random_hex, sha256, Service};
use crate::metrics::{add, inc};
use crate::sealed::StateKey;
use crate::store::{
    FinishIssuance, FinishOutcome, InsertSession, NewSession, SessionCredential, SessionKind,
    SessionRecord, SessionState, Store, StoreError,
};

/// Why a wallet message was refused.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("no such session")]
    NotFound,
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("message out of order: {0}")]
    OutOfOrder(&'static str),
    #[error("this session was already answered with other challenges")]
    AlreadyAnswered,
    #[error("the session expired")]
    Expired,
    #[error("the session ended ({0:?})")]
    Ended(SessionStatus),
    #[error("issuance refused: {0}")]
    Refused(String),
    #[error("the credential was revoked; refresh refused")]
    CredentialRevoked,
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a refresh could not start.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("this credential cannot be refreshed (unknown or revoked)")]
    NotRefreshable,
    #[error("a refresh of this credential is already in progress")]
    Busy,
    #[error("no valid issuer key for {0}")]
    NoKey(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A started refresh: where its session is and the encoded offer.
#[derive(Debug, Clone)]
pub struct RefreshStarted {
    /// The session URL (`Location` of the answer).
    pub session_url: String,
    /// Encoded [`IssuanceOffer`].
    pub offer: Vec<u8>,
}

fn malformed(e: DecodeError) -> WalletError {
    WalletError::Malformed(e.to_string())
}

fn corrupt_state() -> WalletError {
    WalletError::Internal("stored issuer session state is corrupt".to_owned())
}

/// Frames each credential's secret issuer session (`u32be(len) ‖ bytes`)
/// and seals the frames for `session_id` so the database never holds the
/// nonces in plaintext.
fn seal_secret(
    key: &StateKey,
    session_id: &str,
    sessions: &[IssuerSession],
) -> Result<Vec<u8>, WalletError> {
    key.seal(session_id, &encode_secret(sessions))
        .map_err(|e| WalletError::Internal(e.to_string()))
}

/// Opens sealed state of `session_id` and decodes its frames; any failure
/// is the same corrupt-state error.
fn open_secret(
    key: &StateKey,
    session_id: &str,
    sealed: &[u8],
) -> Result<Vec<IssuerSession>, WalletError> {
    let framed = key.open(session_id, sealed).map_err(|_| corrupt_state())?;
    decode_secret(&framed)
}

/// Frames each credential's secret issuer session: `u32be(len) ‖ bytes`.
fn encode_secret(sessions: &[IssuerSession]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    for s in sessions {
        let bytes = s.to_secret_bytes();
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

fn decode_secret(mut bytes: &[u8]) -> Result<Vec<IssuerSession>, WalletError> {
    let corrupt = corrupt_state;
    let mut sessions = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| corrupt())?;
        if rest.len() < len {
            return Err(corrupt());
        }
        let (one, rest) = rest.split_at(len);
        sessions.push(IssuerSession::from_secret_bytes(one).map_err(|_| corrupt())?);
        bytes = rest;
    }
    Ok(sessions)
}

impl Service {
    async fn wallet_session(&self, id: &str) -> Result<SessionRecord, WalletError> {
        self.store.session(id).await?.ok_or(WalletError::NotFound)
    }

    /// Ends a session past its expiry and reports it.
    async fn expired(&self, session: &SessionRecord) -> WalletError {
        if let Ok(true) = self
            .store
            .end_session(&session.id, SessionState::Timeout, None, now_i64())
            .await
        {
            inc(&self.metrics.sessions_timed_out);
            self.notify(&session.id, SessionStatus::Timeout);
        }
        WalletError::Expired
    }

    fn ended(session: &SessionRecord) -> WalletError {
        WalletError::Ended(SessionStatus::of(session, now_i64()))
    }

    async fn fail(&self, session: &SessionRecord, reason: String) -> WalletError {
        if let Ok(true) = self
            .store
            .end_session(&session.id, SessionState::Failed, Some(&reason), now_i64())
            .await
        {
            inc(&self.metrics.sessions_failed);
            if session.kind == SessionKind::Refresh {
                inc(&self.metrics.refresh_refused);
            }
            self.notify(&session.id, SessionStatus::Cancelled);
        }
        WalletError::Refused(reason)
    }

    /// `GET /wallet/session/{id}`: the offer, for the consent prompt.
    pub async fn offer(&self, id: &str) -> Result<Vec<u8>, WalletError> {
        let session = self.wallet_session(id).await?;
        if session.state.is_terminal() {
            return Err(Self::ended(&session));
        }
        if session.expires_at <= now_i64() {
            return Err(self.expired(&session).await);
        }
        if self.store.mark_connected(id, now_i64()).await? {
            self.notify(id, SessionStatus::Connected);
        }
        Ok(session.offer)
    }

    /// `POST /wallet/session/{id}/commitment`: the holder key with one proof
    /// per offered credential → signer commitments.
    pub async fn commit(&self, id: &str, body: &[u8]) -> Result<Vec<u8>, WalletError> {
        let message = HolderCommitment::from_bytes(body).map_err(malformed)?;
        let session = self.wallet_session(id).await?;
        if session.kind != SessionKind::Issue {
            return Err(WalletError::OutOfOrder(
                "a refresh session takes a refresh proof, not a holder commitment",
            ));
        }
        self.start_issuance(&session, message.holder, &message.proofs, body)
            .await
    }

    /// `POST /wallet/session/{id}/refresh-proof`: proof of possession for
    /// the record's holder key → signer commitments.
    pub async fn refresh_proof(&self, id: &str, body: &[u8]) -> Result<Vec<u8>, WalletError> {
        let message = RefreshProof::from_bytes(body).map_err(malformed)?;
        let session = self.wallet_session(id).await?;
        if session.kind != SessionKind::Refresh {
            return Err(WalletError::OutOfOrder(
                "an issuance session takes a holder commitment, not a refresh proof",
            ));
        }
        if session.credentials.first().map(|c| c.record_id.as_str())
            != Some(message.record.as_str())
        {
            return Err(WalletError::Refused(
                "the proof is for another credential record".to_owned(),
            ));
        }
        let holder_bytes = session.holder_public_key.as_deref().ok_or_else(|| {
            WalletError::Internal("refresh session without holder key".to_owned())
        })?;
        let holder: HolderPublicKey = from_cbor(holder_bytes)
            .map_err(|e| WalletError::Internal(format!("stored holder key: {e}")))?;
        self.start_issuance(&session, holder, std::slice::from_ref(&message.proof), body)
            .await
    }

    /// Checks the holder proofs, draws the nonces and stores them; or, for
    /// a retry of the same message, returns the stored commitments.
    async fn start_issuance(
        &self,
        session: &SessionRecord,
        holder: HolderPublicKey,
        proofs: &[HolderProof],
        body: &[u8],
    ) -> Result<Vec<u8>, WalletError> {
        let digest = sha256(body);
        match session.state {
            SessionState::Initialized | SessionState::Connected => {}
            SessionState::Committed | SessionState::Done => {
                return Self::replayed_commitments(session, &digest);
            }
            _ => return Err(Self::ended(session)),
        }
        if session.expires_at <= now_i64() {
            return Err(self.expired(session).await);
        }
        let offer = IssuanceOffer::from_bytes(&session.offer)
            .map_err(|e| WalletError::Internal(format!("stored offer: {e}")))?;
        if proofs.len() != offer.credentials.len() {
            return Err(WalletError::Malformed(format!(
                "expected {} holder proofs, got {}",
                offer.credentials.len(),
                proofs.len()
            )));
        }
        let mut sessions = Vec::with_capacity(proofs.len());
        let mut commitments = Vec::with_capacity(proofs.len());
        for (credential, proof) in offer.credentials.iter().zip(proofs) {
            let key = self
                .secret_key(
                    &credential.token_info.credential_type,
                    credential.token_info.key_counter,
                )
                .await
                .ok_or_else(|| {
                    WalletError::Internal("issuer key of the session is gone".to_owned())
                })?;
            match IssuerSession::start(
                &mut rand_core::OsRng,
                &key,
                &credential.attributes,
                &credential.token_info,
                &holder,
                proof,
                &offer.nonce.0,
                usize::from(offer.batch),
            ) {
                Ok((s, c)) => {
                    sessions.push(s);
                    commitments.push(c);
                }
                // Rule 2: no signature without a valid holder proof; the
                // session ends so it cannot be probed further.
                Err(e @ IssueError::HolderProof(_)) => {
                    return Err(self.fail(session, e.to_string()).await)
                }
                Err(e) => return Err(WalletError::Internal(e.to_string())),
            }
        }
        let signer = SignerCommitmentsMessage::new(commitments).to_bytes();
        let secret = seal_secret(&self.state_key, &session.id, &sessions)?;
        drop(sessions);
        let holder_bytes = to_cbor(&holder);
        if self
            .store
            .commit_session(
                &session.id,
                &holder_bytes,
                &digest,
                &signer,
                &secret,
                now_i64(),
            )
            .await?
        {
            return Ok(signer);
        }
        // Another request moved the session meanwhile: our nonces were never
        // stored or sent, so they are simply dropped.
        let current = self.wallet_session(&session.id).await?;
        match current.state {
            SessionState::Committed | SessionState::Done => {
                Self::replayed_commitments(&current, &digest)
            }
            SessionState::Initialized | SessionState::Connected => {
                if current.expires_at <= now_i64() {
                    Err(self.expired(&current).await)
                } else {
                    // A refresh session whose record holder key differs.
                    Err(self
                        .fail(&current, "holder key does not match the record".to_owned())
                        .await)
                }
            }
            _ => Err(Self::ended(&current)),
        }
    }

    fn replayed_commitments(
        session: &SessionRecord,
        digest: &[u8],
    ) -> Result<Vec<u8>, WalletError> {
        match (&session.commitment_digest, &session.signer_commitments) {
            (Some(d), Some(c)) if d.as_slice() == digest => Ok(c.clone()),
            _ => Err(WalletError::OutOfOrder(
                "the session already received another holder commitment",
            )),
        }
    }

    /// `POST /wallet/session/{id}/challenges` → responses, exactly once
    /// (rule 3); an identical retry gets the stored responses.
    pub async fn answer(&self, id: &str, body: &[u8]) -> Result<Vec<u8>, WalletError> {
        let message = ChallengesMessage::from_bytes(body).map_err(malformed)?;
        let digest = sha256(body);
        let session = self.wallet_session(id).await?;
        match session.state {
            SessionState::Committed => {}
            SessionState::Done => return Self::replayed_responses(&session, &digest),
            SessionState::Initialized | SessionState::Connected => {
                return Err(WalletError::OutOfOrder(
                    "send the holder commitment before the challenges",
                ))
            }
            _ => return Err(Self::ended(&session)),
        }
        if session.expires_at <= now_i64() {
            return Err(self.expired(&session).await);
        }
        let secret = session
            .secret_state
            .as_deref()
            .ok_or_else(|| WalletError::Internal("committed session without nonces".to_owned()))?;
        let sessions = open_secret(&self.state_key, &session.id, secret)?;
        if sessions.len() != message.challenges.len() {
            return Err(WalletError::Malformed(format!(
                "expected {} challenge sets, got {}",
                sessions.len(),
                message.challenges.len()
            )));
        }
        let offer = IssuanceOffer::from_bytes(&session.offer)
            .map_err(|e| WalletError::Internal(format!("stored offer: {e}")))?;
        let mut responses = Vec::with_capacity(sessions.len());
        let mut tokens = 0u32;
        for ((issuer_session, challenges), credential) in sessions
            .into_iter()
            .zip(&message.challenges)
            .zip(&offer.credentials)
        {
            let key = self
                .secret_key(
                    &credential.token_info.credential_type,
                    credential.token_info.key_counter,
                )
                .await
                .ok_or_else(|| {
                    WalletError::Internal("issuer key of the session is gone".to_owned())
                })?;
            tokens = tokens.saturating_add(u32::try_from(issuer_session.batch_size()).unwrap_or(0));
            // `answer` consumes this in-memory copy only; the stored nonces
            // stay until the store records the answer below.
            let (_answered, r) = issuer_session
                .answer(&key, challenges)
                .map_err(|e| WalletError::Malformed(e.to_string()))?;
            responses.push(r);
        }
        let responses = ResponsesMessage::new(responses).to_bytes();
        let outcome = self
            .store
            .finish_session(&FinishIssuance {
                session_id: session.id.clone(),
                challenge_digest: digest.clone(),
                responses: responses.clone(),
                tokens: tokens / u32::try_from(offer.credentials.len().max(1)).unwrap_or(1),
                now: now_i64(),
            })
            .await?;
        match outcome {
            FinishOutcome::Finished { superseded } => {
                inc(&self.metrics.sessions_completed);
                add(&self.metrics.tokens_issued, u64::from(tokens));
                if !superseded.is_empty() {
                    tracing::info!(
                        count = superseded.len(),
                        "older records superseded (rule 9)"
                    );
                }
                self.notify(&session.id, SessionStatus::Done);
                Ok(responses)
            }
            FinishOutcome::CredentialRevoked => {
                inc(&self.metrics.sessions_failed);
                inc(&self.metrics.refresh_refused);
                self.notify(&session.id, SessionStatus::Cancelled);
                Err(WalletError::CredentialRevoked)
            }
            // Lost a race against another answer, a cancel or the clock:
            // the responses computed here are dropped unsent.
            FinishOutcome::NotCommitted => {
                let current = self.wallet_session(&session.id).await?;
                match current.state {
                    SessionState::Done => Self::replayed_responses(&current, &digest),
                    SessionState::Committed => Err(self.expired(&current).await),
                    _ => Err(Self::ended(&current)),
                }
            }
        }
    }

    fn replayed_responses(session: &SessionRecord, digest: &[u8]) -> Result<Vec<u8>, WalletError> {
        match (&session.challenge_digest, &session.responses) {
            (Some(d), Some(r)) if d.as_slice() == digest => Ok(r.clone()),
            _ => Err(WalletError::AlreadyAnswered),
        }
    }

    /// `POST /wallet/refresh`: opens a refresh session for a record.
    pub async fn start_refresh(&self, body: &[u8]) -> Result<RefreshStarted, RefreshError> {
        let request =
            RefreshRequest::from_bytes(body).map_err(|e| RefreshError::Malformed(e.to_string()))?;
        let refused = || {
            inc(&self.metrics.refresh_refused);
            RefreshError::NotRefreshable
        };
        let Some(record) = self.store.credential(request.record.as_str()).await? else {
            return Err(refused());
        };
        if record.status != crate::store::CredentialStatus::Active {
            return Err(refused());
        }
        let published = self.published();
        let credential = stored_request(&record.credential_type, &record.attributes)
            .map_err(RefreshError::Internal)?;
        // The record's attributes as they are now (an admin update since the
        // last issuance is picked up here).
        let values = validated_values(&published, &credential).map_err(RefreshError::Internal)?;
        let now = now();
        let counter = self
            .current_counter(&credential.credential, now)
            .ok_or_else(|| RefreshError::NoKey(credential.credential.to_string()))?;
        // The scheme's token policy for the type (Rule 8): the same expiry
        // as every other batch of the type issued in this grid step.
        let policy = published
            .scheme
            .credential_type(&credential.credential)
            .and_then(|ct| ct.token_policy().ok())
            .ok_or_else(|| RefreshError::NoKey(credential.credential.to_string()))?;
        let offer = IssuanceOffer::new(
            credential.credential.issuer(),
            vec![OfferedCredential {
                token_info: policy.token_info(credential.credential.clone(), counter, now),
                attributes: values,
                record: request.record.clone(),
            }],
            Nonce::random(&mut rand_core::OsRng),
            u16::try_from(self.settings.batch_size).unwrap_or(20),
        );
        let offer_bytes = offer.to_bytes();
        let session = NewSession {
            id: random_hex(16),
            requestor_token: random_hex(32),
            requestor: "wallet".to_owned(),
            kind: SessionKind::Refresh,
            credentials: vec![SessionCredential {
                record_id: record.id.clone(),
                credential_type: record.credential_type.clone(),
                key_counter: i64::from(counter),
                attributes: record.attributes.clone(),
            }],
            subject: record.subject.clone(),
            offer: offer_bytes.clone(),
            holder_public_key: Some(record.holder_public_key.clone()),
            created_at: now_i64(),
            expires_at: now_i64().saturating_add(self.timeout_i64()),
        };
        match self.store.insert_session(&session).await? {
            InsertSession::Inserted => {}
            InsertSession::RecordBusy | InsertSession::SubjectBusy => {
                inc(&self.metrics.refresh_refused);
                return Err(RefreshError::Busy);
            }
        }
        // The wallet fetched the offer with this very call.
        self.store.mark_connected(&session.id, now_i64()).await?;
        inc(&self.metrics.sessions_started);
        inc(&self.metrics.refresh_started);
        Ok(RefreshStarted {
            session_url: self.session_url(&session.id),
            offer: offer_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_framing_refuses_garbage() {
        assert!(decode_secret(&[]).unwrap().is_empty());
        assert!(decode_secret(&[0, 0, 0, 9, 1]).is_err());
        assert!(decode_secret(&[0, 0]).is_err());
        assert!(decode_secret(&[0, 0, 0, 1, 0xff]).is_err());
    }
}
