//! Wallet side: offer, holder commitment (or refresh proof), challenges,
//! and the start of a refresh. Every message is a wallet-core wire message;
//! every step takes the session's state ([`crate::session`]) by value.

use wallet_core::cbor::{from_cbor, to_cbor, DecodeError};
use wallet_core::holder::{HolderProof, HolderPublicKey};
use wallet_core::issuance::batch::CommittedBatch;
use wallet_core::issuance::issuer::{IssueError, IssuerSession};
use wallet_core::keys::IssuerSecretKey;
use wallet_core::wire::{
    ChallengesMessage, HolderCommitment, IssuanceOffer, Nonce, OfferedCredential, RefreshProof,
    RefreshRequest, SignerCommitmentsMessage, WireMessage,
};

use super::requestor::{status_of, stored_request, validated_values, SessionStatus};
use super::{sha256, Service};
use crate::clock::{now, now_i64};
use crate::metrics::{add, inc};
use crate::random::random_hex;
use crate::session::{
    AnswerError, CommitmentRecord, End, Session, SessionCredential, SessionKind, State,
};
use crate::store::{FinishIssuance, FinishOutcome, InsertSession, NewSession, Store, StoreError};

/// Why the offer could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    #[error("no such session")]
    NotFound,
    #[error("the session expired")]
    Expired,
    #[error("the session ended ({0:?})")]
    Ended(SessionStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a holder commitment or refresh proof was refused.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("no such session")]
    NotFound,
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("message out of order: {0}")]
    OutOfOrder(&'static str),
    #[error("the session expired")]
    Expired,
    #[error("the session ended ({0:?})")]
    Ended(SessionStatus),
    /// Rule 2: an invalid holder proof (the session ends).
    #[error("issuance refused: {0}")]
    Refused(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why challenges were not answered.
#[derive(Debug, thiserror::Error)]
pub enum ChallengesError {
    #[error("no such session")]
    NotFound,
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("message out of order: {0}")]
    OutOfOrder(&'static str),
    /// Rule 3: the session answered other challenges.
    #[error("this session was already answered with other challenges")]
    AlreadyAnswered,
    #[error("the session expired")]
    Expired,
    #[error("the session ended ({0:?})")]
    Ended(SessionStatus),
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

fn malformed_commit(e: DecodeError) -> CommitError {
    CommitError::Malformed(e.to_string())
}

/// The stored signer commitments for a retry of the very same commitment
/// message; another message after the commitment is out of order.
fn replayed_commitments(
    commitment: &CommitmentRecord,
    digest: &[u8],
) -> Result<Vec<u8>, CommitError> {
    commitment
        .replay(digest)
        .map(<[u8]>::to_vec)
        .ok_or(CommitError::OutOfOrder(
            "the session already received another holder commitment",
        ))
}

impl Service {
    /// Records that a session passed its expiry (if no one did yet).
    async fn record_timeout(&self, id: &str) {
        if let Ok(true) = self.store.end_session(id, &End::TimedOut, now_i64()).await {
            inc(&self.metrics.sessions_timed_out);
            self.notify(id, SessionStatus::Timeout);
        }
    }

    /// Ends a session for a protocol failure; returns the reason.
    async fn record_failure(&self, id: &str, kind: SessionKind, reason: String) -> String {
        if let Ok(true) = self
            .store
            .end_session(id, &End::Failed(reason.clone()), now_i64())
            .await
        {
            inc(&self.metrics.sessions_failed);
            if kind == SessionKind::Refresh {
                inc(&self.metrics.refresh_refused);
            }
            self.notify(id, SessionStatus::Cancelled);
        }
        reason
    }

    /// The issuer keys of the offered credentials, in offer order.
    async fn offer_keys(
        &self,
        offer: &IssuanceOffer,
    ) -> Result<Vec<std::sync::Arc<IssuerSecretKey>>, String> {
        let mut keys = Vec::with_capacity(offer.credentials.len());
        for c in &offer.credentials {
            // A key another instance rotated in is loaded on demand.
            let key = self
                .secret_key(&c.token_info.credential_type, c.token_info.key_counter)
                .await
                .ok_or_else(|| "issuer key of the session is gone".to_owned())?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// `GET /wallet/session/{id}`: the offer, for the consent prompt.
    pub async fn offer(&self, id: &str) -> Result<Vec<u8>, OfferError> {
        let session = self.store.session(id).await?.ok_or(OfferError::NotFound)?;
        if let State::Answered(_) | State::Ended(_) = session.state {
            return Err(OfferError::Ended(status_of(&session, now_i64())));
        }
        if session.expired(now_i64()) {
            self.record_timeout(id).await;
            return Err(OfferError::Expired);
        }
        if self.store.mark_connected(id, now_i64()).await? {
            self.notify(id, SessionStatus::Connected);
        }
        Ok(session.offer)
    }

    /// `POST /wallet/session/{id}/commitment`: the holder key with one proof
    /// per offered credential → signer commitments.
    pub async fn commit(&self, id: &str, body: &[u8]) -> Result<Vec<u8>, CommitError> {
        let message = HolderCommitment::from_bytes(body).map_err(malformed_commit)?;
        let session = self.store.session(id).await?.ok_or(CommitError::NotFound)?;
        if session.kind != SessionKind::Issue {
            return Err(CommitError::OutOfOrder(
                "a refresh session takes a refresh proof, not a holder commitment",
            ));
        }
        self.start_issuance(session, message.holder, &message.proofs, body)
            .await
    }

    /// `POST /wallet/session/{id}/refresh-proof`: proof of possession for
    /// the record's holder key → signer commitments.
    pub async fn refresh_proof(&self, id: &str, body: &[u8]) -> Result<Vec<u8>, CommitError> {
        let message = RefreshProof::from_bytes(body).map_err(malformed_commit)?;
        let session = self.store.session(id).await?.ok_or(CommitError::NotFound)?;
        if session.kind != SessionKind::Refresh {
            return Err(CommitError::OutOfOrder(
                "an issuance session takes a holder commitment, not a refresh proof",
            ));
        }
        if session.credentials.first().map(|c| c.record_id.as_str())
            != Some(message.record.as_str())
        {
            return Err(CommitError::Refused(
                "the proof is for another credential record".to_owned(),
            ));
        }
        // The record's holder key: stored with the open session (the row
        // conversion refuses a refresh without it), kept once committed.
        let holder_bytes = match &session.state {
            State::Open(open) => open.record_holder(),
            State::Committed(c) => Some(c.holder_public_key()),
            State::Answered(a) => Some(a.holder_public_key()),
            State::Ended(_) => return Err(CommitError::Ended(status_of(&session, now_i64()))),
        }
        .ok_or_else(|| CommitError::Internal("refresh session without holder key".to_owned()))?;
        let holder: HolderPublicKey = from_cbor(holder_bytes)
            .map_err(|e| CommitError::Internal(format!("stored holder key: {e}")))?;
        self.start_issuance(session, holder, std::slice::from_ref(&message.proof), body)
            .await
    }

    /// Checks the holder proofs, draws the nonces and stores them sealed;
    /// or, for a retry of the same message, returns the stored commitments.
    async fn start_issuance(
        &self,
        session: Session,
        holder: HolderPublicKey,
        proofs: &[HolderProof],
        body: &[u8],
    ) -> Result<Vec<u8>, CommitError> {
        let digest = sha256(body);
        let now = now_i64();
        let expired = session.expired(now);
        let status = status_of(&session, now);
        let Session {
            id,
            kind,
            offer,
            state,
            ..
        } = session;
        let open = match state {
            State::Open(open) => open,
            State::Committed(c) => return replayed_commitments(c.commitment(), &digest),
            State::Answered(a) => return replayed_commitments(a.commitment(), &digest),
            State::Ended(_) => return Err(CommitError::Ended(status)),
        };
        if expired {
            self.record_timeout(&id).await;
            return Err(CommitError::Expired);
        }
        let offer = IssuanceOffer::from_bytes(&offer)
            .map_err(|e| CommitError::Internal(format!("stored offer: {e}")))?;
        if proofs.len() != offer.credentials.len() {
            return Err(CommitError::Malformed(format!(
                "expected {} holder proofs, got {}",
                offer.credentials.len(),
                proofs.len()
            )));
        }
        let keys = self
            .offer_keys(&offer)
            .await
            .map_err(CommitError::Internal)?;
        let mut sessions = Vec::with_capacity(proofs.len());
        let mut commitments = Vec::with_capacity(proofs.len());
        for ((credential, proof), key) in offer.credentials.iter().zip(proofs).zip(&keys) {
            match IssuerSession::start(
                &mut rand_core::OsRng,
                key,
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
                    let reason = self.record_failure(&id, kind, e.to_string()).await;
                    return Err(CommitError::Refused(reason));
                }
                Err(e) => return Err(CommitError::Internal(e.to_string())),
            }
        }
        let signer = SignerCommitmentsMessage::new(commitments).to_bytes();
        let batch = CommittedBatch::new(sessions);
        let commit = open
            .commit(
                &self.state_key,
                &id,
                to_cbor(&holder),
                CommitmentRecord::new(digest.clone(), signer.clone()),
                &batch,
            )
            .map_err(|e| CommitError::Internal(e.to_string()))?;
        // The nonces leave memory only sealed.
        drop(batch);
        if self.store.commit_session(&id, &commit, now_i64()).await? {
            return Ok(signer);
        }
        // Another request moved the session meanwhile: our nonces were never
        // stored or sent, so they are simply dropped.
        let current = self
            .store
            .session(&id)
            .await?
            .ok_or(CommitError::NotFound)?;
        match &current.state {
            State::Committed(c) => replayed_commitments(c.commitment(), &digest),
            State::Answered(a) => replayed_commitments(a.commitment(), &digest),
            State::Open(_) if current.expired(now_i64()) => {
                self.record_timeout(&id).await;
                Err(CommitError::Expired)
            }
            // A refresh session whose record holder key differs.
            State::Open(_) => Err(CommitError::Refused(
                self.record_failure(&id, kind, "holder key does not match the record".to_owned())
                    .await,
            )),
            State::Ended(_) => Err(CommitError::Ended(status_of(&current, now_i64()))),
        }
    }

    /// `POST /wallet/session/{id}/challenges` → responses, exactly once
    /// (rule 3); an identical retry gets the stored responses
    /// (wallet-core's [`AnsweredBatch::replay`]).
    ///
    /// [`AnsweredBatch::replay`]: wallet_core::issuance::batch::AnsweredBatch::replay
    pub async fn answer(&self, id: &str, body: &[u8]) -> Result<Vec<u8>, ChallengesError> {
        let message = ChallengesMessage::from_bytes(body)
            .map_err(|e| ChallengesError::Malformed(e.to_string()))?;
        let digest = sha256(body);
        let session = self
            .store
            .session(id)
            .await?
            .ok_or(ChallengesError::NotFound)?;
        let now = now_i64();
        let expired = session.expired(now);
        let status = status_of(&session, now);
        let Session { offer, state, .. } = session;
        let committed = match state {
            State::Committed(c) => c,
            State::Answered(a) => {
                return a
                    .replay(&message.challenges, &digest)
                    .ok_or(ChallengesError::AlreadyAnswered)
            }
            State::Open(_) => {
                return Err(ChallengesError::OutOfOrder(
                    "send the holder commitment before the challenges",
                ))
            }
            State::Ended(_) => return Err(ChallengesError::Ended(status)),
        };
        if expired {
            self.record_timeout(id).await;
            return Err(ChallengesError::Expired);
        }
        let offer = IssuanceOffer::from_bytes(&offer)
            .map_err(|e| ChallengesError::Internal(format!("stored offer: {e}")))?;
        if message.challenges.len() != offer.credentials.len() {
            return Err(ChallengesError::Malformed(format!(
                "expected {} challenge sets, got {}",
                offer.credentials.len(),
                message.challenges.len()
            )));
        }
        let keys = self
            .offer_keys(&offer)
            .await
            .map_err(ChallengesError::Internal)?;
        let keys: Vec<&IssuerSecretKey> = keys.iter().map(AsRef::as_ref).collect();
        // `answer` consumes the committed state read here; the stored
        // nonces stay until the store records the answer below.
        let answer = committed
            .answer(&self.state_key, id, &keys, &message.challenges)
            .map_err(|e| match e {
                AnswerError::Corrupt => ChallengesError::Internal(e.to_string()),
                AnswerError::Challenges(e) => ChallengesError::Malformed(e.to_string()),
            })?;
        let tokens = u32::try_from(answer.tokens).unwrap_or(u32::MAX);
        let responses = answer.responses.to_bytes();
        let outcome = self
            .store
            .finish_session(&FinishIssuance {
                session_id: id.to_owned(),
                answered: answer.answered,
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
                self.notify(id, SessionStatus::Done);
                Ok(responses)
            }
            FinishOutcome::CredentialRevoked => {
                inc(&self.metrics.sessions_failed);
                inc(&self.metrics.refresh_refused);
                self.notify(id, SessionStatus::Cancelled);
                Err(ChallengesError::CredentialRevoked)
            }
            // Lost a race against another answer, a cancel or the clock:
            // the responses computed here are dropped unsent.
            FinishOutcome::NotCommitted => {
                let current = self
                    .store
                    .session(id)
                    .await?
                    .ok_or(ChallengesError::NotFound)?;
                match &current.state {
                    State::Answered(a) => a
                        .replay(&message.challenges, &digest)
                        .ok_or(ChallengesError::AlreadyAnswered),
                    State::Committed(_) => {
                        self.record_timeout(id).await;
                        Err(ChallengesError::Expired)
                    }
                    _ => Err(ChallengesError::Ended(status_of(&current, now_i64()))),
                }
            }
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
