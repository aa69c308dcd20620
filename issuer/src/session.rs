//! An issuance session as the issuer holds it: the data every session has
//! and one enum of protocol states, each with exactly its own data.
//!
//! ```text
//! Open ──(holder proof checked, nonces w drawn and sealed)──► Committed
//!   │                                                           │
//!   │                     (answered; w deleted in the same      │
//!   │                      transaction, protocol rule 3)        ▼
//!   └──► Ended ◄──(cancelled, timed out, failed)────────────  Answered
//! ```
//!
//! The store reads a row into a [`Session`] through one checked conversion
//! (`store::row`): a row that fits none of these states is a store error,
//! not a panic and not a state with missing parts. Transitions consume the
//! state they leave: [`Open::commit`] turns an open session into the
//! [`Commit`] the store writes, [`Committed::answer`] turns a committed one
//! into the [`Answer`] the store records. An open session has no `answer`,
//! an answered one no nonces, and a `Committed` answers once:
//!
//! ```no_run
//! # fn f(c: issuer::session::Committed, k: &issuer::sealed::StateKey) {
//! let _ = c.answer(k, "id", &[], &[]);
//! # }
//! ```
//!
//! ```compile_fail,E0382
//! # fn f(c: issuer::session::Committed, k: &issuer::sealed::StateKey) {
//! let _ = c.answer(k, "id", &[], &[]);
//! let _ = c.answer(k, "id", &[], &[]); // use of moved value
//! # }
//! ```
//!
//! ```compile_fail,E0599
//! # fn f(o: issuer::session::Open, k: &issuer::sealed::StateKey) {
//! let _ = o.answer(k, "id", &[], &[]); // no such method
//! # }
//! ```

use wallet_core::issuance::batch::{AnswerBatchError, AnsweredBatch, CommittedBatch};
use wallet_core::issuance::IssuanceChallenges;
use wallet_core::keys::IssuerSecretKey;
use wallet_core::wire::{ResponsesMessage, WireMessage};
use zeroize::Zeroizing;

use crate::sealed::StateKey;

/// What kind of issuance a session performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// First issuance: the credential record is created when the session ends.
    Issue,
    /// Refresh of an existing record: the record's holder key is used.
    Refresh,
}

/// One credential of a session: the record it creates or refreshes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionCredential {
    /// The credential record id (new for issuance, existing for refresh).
    pub record_id: String,
    pub credential_type: String,
    /// Counter of the issuer key this credential is signed with.
    pub key_counter: i64,
    /// Attribute values as JSON text (validated against the scheme before).
    pub attributes: String,
}

/// A stored session.
#[derive(Debug)]
pub struct Session {
    /// Wallet-facing identifier (in the QR code).
    pub id: String,
    /// Requestor-facing token (status, result, cancel).
    pub requestor_token: String,
    /// Name of the requestor that created it (`wallet` for a refresh).
    pub requestor: String,
    pub kind: SessionKind,
    /// What is issued, in offer order; a refresh session holds exactly one.
    pub credentials: Vec<SessionCredential>,
    /// The resident the credentials are about, if known.
    pub subject: Option<String>,
    /// The encoded `IssuanceOffer` the wallet fetches.
    pub offer: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    /// After this (Unix seconds) an open or committed session has timed
    /// out, even before the sweep records it.
    pub expires_at: i64,
    /// Where the session is in the protocol.
    pub state: State,
}

impl Session {
    /// Whether an open or committed session is past its expiry.
    pub fn expired(&self, now: i64) -> bool {
        matches!(self.state, State::Open(_) | State::Committed(_)) && self.expires_at <= now
    }
}

/// The protocol states of a session.
#[derive(Debug)]
pub enum State {
    /// Offer made; no holder key proved yet.
    Open(Open),
    /// Holder proof checked; the issuer holds sealed nonces `w`.
    Committed(Committed),
    /// Answered; nonces deleted; records written.
    Answered(Answered),
    /// Cancelled, timed out or failed.
    Ended(Ended),
}

/// An open session: the offer is out, no commitment yet.
#[derive(Debug)]
pub struct Open {
    pub(crate) connected: bool,
    pub(crate) record_holder: Option<Vec<u8>>,
}

impl Open {
    /// Whether a wallet fetched the offer.
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// For a refresh: the holder key of the record (the wallet must prove it).
    pub fn record_holder(&self) -> Option<&[u8]> {
        self.record_holder.as_deref()
    }

    /// The commitment step: the holder key the wallet proved, what it sent
    /// and what the issuer answered, and the batch of issuer sessions
    /// sealed for `session_id`. Consumes the open state.
    pub fn commit(
        self,
        key: &StateKey,
        session_id: &str,
        holder_public_key: Vec<u8>,
        commitment: CommitmentRecord,
        batch: &CommittedBatch,
    ) -> Result<Commit, crate::sealed::SealError> {
        let sealed_nonces = key.seal(session_id, &batch.to_secret_bytes())?;
        Ok(Commit {
            holder_public_key,
            commitment,
            sealed_nonces,
        })
    }
}

/// What the store writes when a session commits (see [`Open::commit`]).
#[derive(Debug)]
pub struct Commit {
    pub(crate) holder_public_key: Vec<u8>,
    pub(crate) commitment: CommitmentRecord,
    pub(crate) sealed_nonces: Vec<u8>,
}

impl Commit {
    /// A commit from its stored parts (for tools and store tests; the
    /// service makes it with [`Open::commit`]).
    pub fn from_parts(
        holder_public_key: Vec<u8>,
        commitment: CommitmentRecord,
        sealed_nonces: Vec<u8>,
    ) -> Self {
        Commit {
            holder_public_key,
            commitment,
            sealed_nonces,
        }
    }
}

/// The wallet's commitment message (by digest) and the issuer's answer to
/// it, so an identical retry gets the same signer commitments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentRecord {
    pub(crate) digest: Vec<u8>,
    pub(crate) signer_commitments: Vec<u8>,
}

impl CommitmentRecord {
    /// SHA-256 of the wallet's message and the encoded signer commitments.
    pub fn new(digest: Vec<u8>, signer_commitments: Vec<u8>) -> Self {
        CommitmentRecord {
            digest,
            signer_commitments,
        }
    }

    /// The stored signer commitments, if `digest` is the message answered.
    pub fn replay(&self, digest: &[u8]) -> Option<&[u8]> {
        (self.digest == digest).then_some(self.signer_commitments.as_slice())
    }
}

/// A committed session: waiting for the wallet's challenges.
#[derive(Debug)]
pub struct Committed {
    pub(crate) holder_public_key: Vec<u8>,
    pub(crate) commitment: CommitmentRecord,
    pub(crate) sealed_nonces: Zeroizing<Vec<u8>>,
}

/// Why a committed session could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The sealed nonces do not open or decode (wrong state key, edited row).
    #[error("stored issuer session state is corrupt")]
    Corrupt,
    /// The challenges do not fit the batch (count, key).
    #[error("{0}")]
    Challenges(AnswerBatchError),
}

/// What the store records when a session is answered (see
/// [`Committed::answer`]), and the responses to send once it is recorded.
#[derive(Debug)]
pub struct Answer {
    pub answered: AnsweredBatch,
    pub responses: ResponsesMessage,
    /// Tokens signed, over all credentials.
    pub tokens: usize,
}

impl Committed {
    /// The holder key the wallet proved.
    pub fn holder_public_key(&self) -> &[u8] {
        &self.holder_public_key
    }

    /// The commitment step, for a retried commitment message.
    pub fn commitment(&self) -> &CommitmentRecord {
        &self.commitment
    }

    /// The nonces as stored: sealed for this session under the state key.
    pub fn sealed_nonces(&self) -> &[u8] {
        &self.sealed_nonces
    }

    /// Opens the nonces sealed for `session_id` and answers `challenges`
    /// with `keys` (in offer order). Consumes the committed state; the
    /// stored nonces stay until the store records the answer (rule 3).
    pub fn answer(
        self,
        key: &StateKey,
        session_id: &str,
        keys: &[&IssuerSecretKey],
        challenges: &[IssuanceChallenges],
    ) -> Result<Answer, AnswerError> {
        let framed = key
            .open(session_id, &self.sealed_nonces)
            .map_err(|_| AnswerError::Corrupt)?;
        let batch = CommittedBatch::from_secret_bytes(&framed).map_err(|_| AnswerError::Corrupt)?;
        let tokens = batch.tokens();
        let (answered, responses) = batch
            .answer(keys, challenges)
            .map_err(AnswerError::Challenges)?;
        Ok(Answer {
            answered,
            responses: ResponsesMessage::new(responses),
            tokens,
        })
    }
}

/// An answered session: the wallet has its responses.
#[derive(Debug)]
pub struct Answered {
    pub(crate) holder_public_key: Vec<u8>,
    pub(crate) commitment: CommitmentRecord,
    pub(crate) answer: StoredAnswer,
}

/// How an answered session remembers its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredAnswer {
    /// wallet-core's answered batch: challenges and responses.
    Batch(AnsweredBatch),
    /// Answered by an issuer before the answered batch was stored: the
    /// digest of the challenges message and the responses message. Read
    /// only; kept until such sessions pass their retention.
    Digest {
        challenge_digest: Vec<u8>,
        responses: Vec<u8>,
    },
}

impl Answered {
    /// The holder key the credentials were issued to.
    pub fn holder_public_key(&self) -> &[u8] {
        &self.holder_public_key
    }

    /// The commitment step, for a retried commitment message.
    pub fn commitment(&self) -> &CommitmentRecord {
        &self.commitment
    }

    /// The stored answer.
    pub fn answer(&self) -> &StoredAnswer {
        &self.answer
    }

    /// The encoded responses for an identical retry of the challenges
    /// (`digest` is SHA-256 of the message); `None` for any other (rule 3).
    pub fn replay(&self, challenges: &[IssuanceChallenges], digest: &[u8]) -> Option<Vec<u8>> {
        match &self.answer {
            StoredAnswer::Batch(batch) => batch
                .replay(challenges)
                .ok()
                .map(|r| ResponsesMessage::new(r).to_bytes()),
            StoredAnswer::Digest {
                challenge_digest,
                responses,
            } => (challenge_digest == digest).then(|| responses.clone()),
        }
    }
}

/// How a session ended without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Cancelled by the requestor.
    Cancelled,
    /// Not finished in time.
    TimedOut,
    /// Ended by a protocol failure (an invalid holder proof, a revoked
    /// record), with the reason for the requestor's result.
    Failed(String),
}

/// An ended session.
#[derive(Debug)]
pub struct Ended {
    pub(crate) end: End,
}

impl Ended {
    /// How it ended.
    pub fn end(&self) -> &End {
        &self.end
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rand_core::OsRng;
    use wallet_core::encoding::{AttributeKind, AttributeValue};
    use wallet_core::holder::HolderSecret;
    use wallet_core::issuance::issuer::IssuerSession;
    use wallet_core::issuance::wallet::PendingIssuance;
    use wallet_core::keys::KeyParams;
    use wallet_core::token::TokenInfo;

    use super::*;
    use crate::store::SessionRow;

    const NOW: u64 = 1_795_000_000;

    fn key() -> IssuerSecretKey {
        IssuerSecretKey::generate(
            &mut OsRng,
            KeyParams {
                credential_type: "demo.utrecht.address".parse().unwrap(),
                counter: 1,
                valid_from: 0,
                valid_until: 4_000_000_000,
                attributes: vec![AttributeKind::String],
            },
        )
        .unwrap()
    }

    /// One credential committed under `k`: the batch and the wallet's challenges.
    fn committed_batch(k: &IssuerSecretKey) -> (CommittedBatch, Vec<IssuanceChallenges>) {
        let holder = HolderSecret::from_seed(&[7; 32]);
        let values = vec![AttributeValue::String("Domplein".into())];
        let ti = TokenInfo::new(k.public().credential_type.clone(), 1, NOW, 14 * 86_400);
        let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
        let (s, c) = IssuerSession::start(
            &mut OsRng,
            k,
            &values,
            &ti,
            &holder.public(),
            &proof,
            b"n",
            2,
        )
        .unwrap();
        let (_pending, challenges) =
            PendingIssuance::start(&mut OsRng, k.public(), &holder, values, ti, NOW, &c).unwrap();
        (CommittedBatch::new(vec![s]), vec![challenges])
    }

    /// A real answered batch (for store row tests).
    pub(crate) fn answered_batch() -> AnsweredBatch {
        let k = key();
        let (batch, challenges) = committed_batch(&k);
        batch.answer(&[&k], &challenges).unwrap().0
    }

    /// The row the store writes for `commit` of session `id`.
    fn stored(id: &str, commit: Commit) -> Session {
        Session::try_from(SessionRow {
            id: id.to_owned(),
            requestor_token: "t".to_owned(),
            requestor: "office".to_owned(),
            kind: "issue".to_owned(),
            credentials: crate::store::encode_credentials(&[SessionCredential {
                record_id: "r".to_owned(),
                credential_type: "demo.utrecht.address".to_owned(),
                key_counter: 1,
                attributes: "{}".to_owned(),
            }]),
            subject: None,
            offer: Vec::new(),
            state: "committed".to_owned(),
            holder_public_key: Some(commit.holder_public_key),
            commitment_digest: Some(commit.commitment.digest),
            signer_commitments: Some(commit.commitment.signer_commitments),
            secret_state: Some(Zeroizing::new(commit.sealed_nonces)),
            challenge_digest: None,
            responses: None,
            failure: None,
            created_at: 0,
            updated_at: 0,
            expires_at: 10,
        })
        .unwrap()
    }

    fn open() -> Open {
        Open {
            connected: true,
            record_holder: None,
        }
    }

    #[test]
    fn open_commits_then_answers_once_and_replays_identical_challenges() {
        let k = key();
        let (state_key, _) = StateKey::generate();
        let (batch, challenges) = committed_batch(&k);
        let commit = open()
            .commit(
                &state_key,
                "s1",
                b"hd".to_vec(),
                CommitmentRecord::new(b"cd".to_vec(), b"signer".to_vec()),
                &batch,
            )
            .unwrap();
        // The database sees sealed nonces only.
        assert_ne!(commit.sealed_nonces, batch.to_secret_bytes().to_vec());
        let State::Committed(committed) = stored("s1", commit).state else {
            panic!("not committed")
        };
        let answer = committed
            .answer(&state_key, "s1", &[&k], &challenges)
            .unwrap();
        assert_eq!(answer.tokens, 2);
        let answered = Answered {
            holder_public_key: b"hd".to_vec(),
            commitment: CommitmentRecord::new(b"cd".to_vec(), b"signer".to_vec()),
            answer: StoredAnswer::Batch(answer.answered),
        };
        assert_eq!(
            answered.replay(&challenges, b"any digest"),
            Some(answer.responses.to_bytes())
        );
        let (_, other) = committed_batch(&k);
        assert_eq!(answered.replay(&other, b"any digest"), None);
    }

    #[test]
    fn committed_refuses_nonces_sealed_for_another_session_or_key() {
        let k = key();
        let (state_key, _) = StateKey::generate();
        let (batch, challenges) = committed_batch(&k);
        let commit = |key: &StateKey| {
            open()
                .commit(
                    key,
                    "s1",
                    b"hd".to_vec(),
                    CommitmentRecord::new(b"cd".to_vec(), b"signer".to_vec()),
                    &batch,
                )
                .unwrap()
        };
        // Sealed for s1, loaded as s2 (a row copied between sessions).
        let State::Committed(c) = stored("s2", commit(&state_key)).state else {
            panic!("not committed")
        };
        assert!(matches!(
            c.answer(&state_key, "s2", &[&k], &challenges),
            Err(AnswerError::Corrupt)
        ));
        // Sealed under another state key.
        let (other_key, _) = StateKey::generate();
        let State::Committed(c) = stored("s1", commit(&other_key)).state else {
            panic!("not committed")
        };
        assert!(matches!(
            c.answer(&state_key, "s1", &[&k], &challenges),
            Err(AnswerError::Corrupt)
        ));
        // Challenges for another number of credentials.
        let State::Committed(c) = stored("s1", commit(&state_key)).state else {
            panic!("not committed")
        };
        assert!(matches!(
            c.answer(&state_key, "s1", &[&k], &[]),
            Err(AnswerError::Challenges(AnswerBatchError::Count { .. }))
        ));
    }
}
