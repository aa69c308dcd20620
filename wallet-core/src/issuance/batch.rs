//! One issuance session per offered credential, handled as one unit.
//!
//! An issuer session offers up to a few credentials at once; each has its
//! own [`IssuerSession`] (its own key, `gamma` and nonces `w`). The issuer
//! stores them together after the commitments and answers them together:
//!
//! - [`CommittedBatch`] holds the sessions in offer order. Its secret
//!   encoding frames each session as `u32be(len) ‖ IssuerSession secret
//!   bytes` (the format the issuer service has stored since its first
//!   version, so sealed state written before this type existed still opens).
//!   [`CommittedBatch::answer`] consumes the batch: one batch answers once.
//! - [`AnsweredBatch`] is what the issuer keeps afterwards: one
//!   [`AnsweredIssuance`] per credential. [`AnsweredBatch::replay`] gives an
//!   identical retry the same responses and refuses anything else (Rule 3);
//!   its encoding is CBOR `{v, a: [AnsweredIssuance bytes…]}`.
//!
//! The store must delete the committed batch in the same transaction that
//! records the answered one (Rule 3: two answers for one `w` reveal `y0`).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::issuer::{AnsweredIssuance, IssueError, IssuerSession};
use super::{IssuanceChallenges, IssuanceResponses};
use crate::cbor::{self, DecodeError};
use crate::keys::IssuerSecretKey;

const BATCH_VERSION: u16 = 1;

/// Length prefix of one framed session.
const FRAME_LEN: usize = 4;

/// The issuer's sessions of one issuance, in offer order, between the
/// commitments and the answer. Holds the secret nonces.
#[derive(Debug)]
pub struct CommittedBatch(Vec<IssuerSession>);

/// Why a batch could not be answered (or replayed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerBatchError {
    #[error("expected {expected} challenge sets, got {found}")]
    Count { expected: usize, found: usize },
    #[error("credential {position}: {error}")]
    Credential { position: usize, error: IssueError },
    #[error("this session was already answered with other challenges")]
    AlreadyAnswered,
}

impl CommittedBatch {
    /// The sessions of one issuance, in offer order.
    pub fn new(sessions: Vec<IssuerSession>) -> Self {
        CommittedBatch(sessions)
    }

    /// How many credentials the batch issues.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the batch issues nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tokens the batch signs, over all credentials.
    pub fn tokens(&self) -> usize {
        self.0.iter().map(IssuerSession::batch_size).sum()
    }

    /// Secret encoding for the issuer's store: per session
    /// `u32be(len) ‖ bytes`. Wiped on drop; seal it before it leaves memory.
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let framed: Vec<Zeroizing<Vec<u8>>> =
            self.0.iter().map(IssuerSession::to_secret_bytes).collect();
        let total = framed.iter().map(|b| FRAME_LEN + b.len()).sum();
        // Exact capacity: no reallocation leaves a copy of a nonce behind.
        let mut out = Zeroizing::new(Vec::with_capacity(total));
        for bytes in &framed {
            // A session is far below 4 GiB (MAX_BATCH scalars).
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Reads [`CommittedBatch::to_secret_bytes`]: refuses a truncated
    /// frame, trailing bytes and any session that does not decode.
    pub fn from_secret_bytes(mut bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut sessions = Vec::new();
        while !bytes.is_empty() {
            let (len, rest) = bytes
                .split_first_chunk::<FRAME_LEN>()
                .ok_or(DecodeError::WrongLength)?;
            let len =
                usize::try_from(u32::from_be_bytes(*len)).map_err(|_| DecodeError::WrongLength)?;
            if rest.len() < len {
                return Err(DecodeError::WrongLength);
            }
            let (one, rest) = rest.split_at(len);
            sessions.push(IssuerSession::from_secret_bytes(one)?);
            bytes = rest;
        }
        Ok(CommittedBatch(sessions))
    }

    /// Answers every credential: `sr_k = sc_k · y0 + w_k` with `keys[i]`
    /// for session `i`. Consumes the batch, so it cannot answer twice; the
    /// nonces are wiped when this returns, whatever the outcome.
    pub fn answer(
        self,
        keys: &[&IssuerSecretKey],
        challenges: &[IssuanceChallenges],
    ) -> Result<(AnsweredBatch, Vec<IssuanceResponses>), AnswerBatchError> {
        let expected = self.0.len();
        if challenges.len() != expected || keys.len() != expected {
            return Err(AnswerBatchError::Count {
                expected,
                found: challenges.len(),
            });
        }
        let mut answered = Vec::with_capacity(expected);
        let mut responses = Vec::with_capacity(expected);
        for (position, ((session, key), challenges)) in
            self.0.into_iter().zip(keys).zip(challenges).enumerate()
        {
            let (a, r) = session
                .answer(key, challenges)
                .map_err(|error| AnswerBatchError::Credential { position, error })?;
            answered.push(a);
            responses.push(r);
        }
        Ok((AnsweredBatch(answered), responses))
    }
}

/// What an issuer keeps of an answered batch: the challenges and responses
/// per credential, nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredBatch(Vec<AnsweredIssuance>);

/// Stored form of [`AnsweredBatch`]: each answer as its own versioned bytes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredAnswers {
    v: u16,
    a: Vec<AnswerBytes>,
}

#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct AnswerBytes(#[serde(with = "cbor::bytes")] Vec<u8>);

impl AnsweredBatch {
    /// The stored responses for an identical retry; other challenges (or
    /// another number of them) are refused (Rule 3). Each credential's
    /// replay is [`AnsweredIssuance::replay`].
    pub fn replay(
        &self,
        challenges: &[IssuanceChallenges],
    ) -> Result<Vec<IssuanceResponses>, AnswerBatchError> {
        if challenges.len() != self.0.len() {
            return Err(AnswerBatchError::AlreadyAnswered);
        }
        self.0
            .iter()
            .zip(challenges)
            .map(|(a, c)| a.replay(c).map_err(|_| AnswerBatchError::AlreadyAnswered))
            .collect()
    }

    /// How many credentials were answered.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was answered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Canonical CBOR for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(&StoredAnswers {
            v: BATCH_VERSION,
            a: self.0.iter().map(|a| AnswerBytes(a.to_bytes())).collect(),
        })
    }

    /// Reads [`AnsweredBatch::to_bytes`] (canonical only, every version
    /// checked, at least one answer).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let stored: StoredAnswers = cbor::from_cbor(bytes)?;
        cbor::check_version(stored.v, BATCH_VERSION)?;
        if stored.a.is_empty() {
            return Err(DecodeError::Invalid("empty answered batch"));
        }
        stored
            .a
            .iter()
            .map(|b| AnsweredIssuance::from_bytes(&b.0))
            .collect::<Result<_, _>>()
            .map(AnsweredBatch)
    }
}

#[cfg(test)]
mod tests {
    use rand_core::OsRng;

    use super::*;
    use crate::holder::HolderSecret;
    use crate::issuance::tests::{key, NOW};
    use crate::issuance::wallet::PendingIssuance;
    use crate::keys::IssuerSecretKey;
    use crate::token::TokenInfo;

    use crate::encoding::AttributeValue;

    fn values() -> Vec<AttributeValue> {
        vec![
            AttributeValue::String("Domplein".into()),
            AttributeValue::Integer(29),
            AttributeValue::Absent,
        ]
    }

    /// A committed batch of `credentials` sessions under `k` and the
    /// wallet's challenges for it.
    fn committed(
        k: &IssuerSecretKey,
        credentials: usize,
    ) -> (CommittedBatch, Vec<IssuanceChallenges>) {
        let holder = HolderSecret::from_seed(&[3; 32]);
        let ti = TokenInfo::new(k.public().credential_type.clone(), 1, NOW, 14 * 86_400);
        let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
        let mut sessions = Vec::new();
        let mut challenges = Vec::new();
        for _ in 0..credentials {
            let (s, c) = IssuerSession::start(
                &mut OsRng,
                k,
                &values(),
                &ti,
                &holder.public(),
                &proof,
                b"n",
                2,
            )
            .unwrap();
            let (_pending, ch) = PendingIssuance::start(
                &mut OsRng,
                k.public(),
                &holder,
                values(),
                ti.clone(),
                NOW,
                &c,
            )
            .unwrap();
            sessions.push(s);
            challenges.push(ch);
        }
        (CommittedBatch::new(sessions), challenges)
    }

    #[test]
    fn secret_framing_round_trips_and_refuses_garbage() {
        let k = key();
        let (batch, _) = committed(&k, 2);
        let bytes = batch.to_secret_bytes();
        let back = CommittedBatch::from_secret_bytes(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.tokens(), 4);
        assert_eq!(back.to_secret_bytes(), bytes);

        assert!(CommittedBatch::from_secret_bytes(&[]).unwrap().is_empty());
        // Length beyond the bytes, a cut length prefix, a frame that is no session.
        assert!(CommittedBatch::from_secret_bytes(&[0, 0, 0, 9, 1]).is_err());
        assert!(CommittedBatch::from_secret_bytes(&[0, 0]).is_err());
        assert!(CommittedBatch::from_secret_bytes(&[0, 0, 0, 1, 0xff]).is_err());
        // A truncated second frame.
        assert!(CommittedBatch::from_secret_bytes(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn answers_once_and_replays_only_identical_challenges() {
        let k = key();
        let (batch, challenges) = committed(&k, 2);
        let (answered, responses) = batch.answer(&[&k, &k], &challenges).unwrap();
        assert_eq!(answered.replay(&challenges).unwrap(), responses);

        let stored = AnsweredBatch::from_bytes(&answered.to_bytes()).unwrap();
        assert_eq!(stored, answered);
        assert_eq!(stored.replay(&challenges).unwrap(), responses);

        // Other challenges for the second credential, or fewer sets: refused.
        let (_, other) = committed(&k, 2);
        let mixed = vec![challenges[0].clone(), other[1].clone()];
        assert_eq!(
            stored.replay(&mixed),
            Err(AnswerBatchError::AlreadyAnswered)
        );
        assert_eq!(
            stored.replay(&challenges[..1]),
            Err(AnswerBatchError::AlreadyAnswered)
        );
    }

    #[test]
    fn answer_refuses_wrong_counts_and_keys() {
        let k = key();
        let (batch, challenges) = committed(&k, 2);
        assert_eq!(
            batch.answer(&[&k, &k], &challenges[..1]).unwrap_err(),
            AnswerBatchError::Count {
                expected: 2,
                found: 1
            }
        );
        let (batch, challenges) = committed(&k, 2);
        let other = key();
        assert_eq!(
            batch.answer(&[&k, &other], &challenges).unwrap_err(),
            AnswerBatchError::Credential {
                position: 1,
                error: IssueError::WrongKey
            }
        );
    }

    #[test]
    fn answered_encoding_is_checked() {
        let k = key();
        let (batch, challenges) = committed(&k, 1);
        let (answered, _) = batch.answer(&[&k], &challenges).unwrap();
        let bytes = answered.to_bytes();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            AnsweredBatch::from_bytes(&trailing),
            Err(DecodeError::TrailingBytes)
        );
        // No answers at all.
        let empty = cbor::to_cbor(&StoredAnswers {
            v: BATCH_VERSION,
            a: Vec::new(),
        });
        assert!(AnsweredBatch::from_bytes(&empty).is_err());
        // Another version.
        let v2 = cbor::to_cbor(&StoredAnswers {
            v: 2,
            a: vec![AnswerBytes(answered.0[0].to_bytes())],
        });
        assert_eq!(
            AnsweredBatch::from_bytes(&v2),
            Err(DecodeError::UnknownVersion(2))
        );
        // An inner answer that is not one.
        let junk = cbor::to_cbor(&StoredAnswers {
            v: BATCH_VERSION,
            a: vec![AnswerBytes(vec![1, 2, 3])],
        });
        assert!(AnsweredBatch::from_bytes(&junk).is_err());
    }
}
