//! The issuer's side of blind batch issuance.
//!
//! [`IssuerSession::start`] checks the holder's proof (Rule 2) and commits;
//! [`IssuerSession::answer`] consumes the session, so one session answers
//! exactly once. The store must delete the serialized session (the nonces
//! `w`) in the same transaction that records the [`AnsweredIssuance`]
//! (Rule 3: two answers for one `w` reveal `y0`). A retry with identical
//! challenges may be served from [`AnsweredIssuance::replay`]; any other
//! challenges are refused.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{
    gamma, IssuanceChallenges, IssuanceResponses, SignerCommitments, ISSUANCE_VERSION, MAX_BATCH,
};
use crate::cbor::{self, DecodeError};
use crate::encoding::{AttributeValue, ValueError};
use crate::holder::{HolderProof, HolderProofError, HolderPublicKey};
use crate::keys::{IssuerSecretKey, KeyId};
use crate::nonce::NonceSource;
use crate::tables::FixedBase;
use crate::token::{TokenInfo, TokenInfoError};

/// Why the issuer refused to go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("batch size must be 1 to {MAX_BATCH}")]
    BatchSize,
    #[error("expected {expected} attribute values, got {found}")]
    AttributeCount { expected: usize, found: usize },
    #[error("attribute {position}: {error}")]
    AttributeValue { position: usize, error: ValueError },
    #[error("token information: {0}")]
    TokenInfo(#[from] TokenInfoError),
    #[error("holder proof: {0}")]
    HolderProof(#[from] HolderProofError),
    #[error("the challenges are for another key")]
    WrongKey,
    #[error("expected {expected} challenges, got {found}")]
    ChallengeCount { expected: usize, found: usize },
    #[error("this session was already answered with other challenges")]
    AlreadyAnswered,
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// An issuance session after the commitments were sent: holds the secret
/// nonces `w_k` until [`IssuerSession::answer`] consumes it.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct IssuerSession {
    #[zeroize(skip)]
    v: u16,
    #[zeroize(skip)]
    #[serde(rename = "k")]
    key_id: KeyId,
    #[serde(with = "cbor::secret_scalars")]
    w: Vec<Scalar>,
}

impl std::fmt::Debug for IssuerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerSession")
            .field("key_id", &self.key_id)
            .field("batch", &self.w.len())
            .finish_non_exhaustive()
    }
}

/// The record of an answered session: what was asked and answered, so an
/// identical retry gets the same answer and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnsweredIssuance {
    v: u16,
    challenges: IssuanceChallenges,
    responses: IssuanceResponses,
}

impl IssuerSession {
    /// Checks the holder's proof for `nonce` and the values, computes
    /// `gamma` and `sz = gamma^y0`, and commits to `batch` fresh nonces:
    /// `sa_k = g^w_k`, `sb_k = gamma^w_k`.
    ///
    /// Cost: the holder proof check (`gd` precomputed), `gamma` as one
    /// variable-time multiscalar multiplication over the key's precomputed
    /// generators, then constant-time `gamma^y0`, `g^w_k` (base-point table)
    /// and `gamma^w_k` (a table of `gamma` when the batch pays for it).
    #[allow(clippy::too_many_arguments)]
    pub fn start<R: RngCore + CryptoRng>(
        rng: &mut R,
        key: &IssuerSecretKey,
        attributes: &[AttributeValue],
        token_info: &TokenInfo,
        holder: &HolderPublicKey,
        proof: &HolderProof,
        nonce: &[u8],
        batch: usize,
    ) -> Result<(IssuerSession, SignerCommitments), IssueError> {
        let pk = key.public();
        if batch == 0 || batch > MAX_BATCH {
            return Err(IssueError::BatchSize);
        }
        if attributes.len() != pk.attribute_count() {
            return Err(IssueError::AttributeCount {
                expected: pk.attribute_count(),
                found: attributes.len(),
            });
        }
        for (position, (value, kind)) in attributes.iter().zip(&pk.attributes).enumerate() {
            value
                .check(*kind)
                .map_err(|error| IssueError::AttributeValue { position, error })?;
        }
        token_info.check_key(pk)?;
        let key_id = pk.key_id();
        holder.verify_possession(proof, nonce, &key_id)?;

        let gamma = gamma(pk, &key_id, attributes, token_info, holder);
        // gamma is multiplied by y0 and by every w_k: a table of it pays
        // from TABLE_MIN_USES multiplications on (tables.rs). Secret
        // exponents, constant time either way.
        let gamma_base = FixedBase::new(gamma, batch + 1);
        let sz = gamma_base.mul(key.y0());
        // Hedged nonces (docs/protocol.md §2.4): a replayed RNG state for
        // another holder, other values or another session gives other `w`,
        // so a restored snapshot cannot make one `w` answer two challenges.
        let mut transcript = Vec::with_capacity(64 + nonce.len());
        transcript.extend_from_slice(&key_id.0);
        transcript.extend_from_slice(gamma.compress().as_bytes());
        transcript.extend_from_slice(nonce);
        let source = NonceSource::new(key.y0().as_bytes(), &transcript);
        // `batch <= MAX_BATCH`, so the index fits a u32; exact capacity, no
        // reallocation leaves a copy of a nonce behind.
        let mut w: Vec<Scalar> = Vec::with_capacity(batch);
        for k in 0..batch as u32 {
            w.push(*source.nonzero_scalar(rng, "issuance-w", k));
        }
        // g^w from the precomputed base-point table (constant time).
        let sa = w.iter().map(RistrettoPoint::mul_base).collect();
        let sb = w.iter().map(|w| gamma_base.mul(w)).collect();
        Ok((
            IssuerSession {
                v: ISSUANCE_VERSION,
                key_id,
                w,
            },
            SignerCommitments {
                v: ISSUANCE_VERSION,
                key_id,
                sz,
                sa,
                sb,
            },
        ))
    }

    /// Answers the challenges: `sr_k = sc_k · y0 + w_k`. Consumes the
    /// session: its nonces are gone afterwards.
    pub fn answer(
        self,
        key: &IssuerSecretKey,
        challenges: &IssuanceChallenges,
    ) -> Result<(AnsweredIssuance, IssuanceResponses), IssueError> {
        if key.public().key_id() != self.key_id {
            return Err(IssueError::WrongKey);
        }
        if challenges.sc.len() != self.w.len() {
            return Err(IssueError::ChallengeCount {
                expected: self.w.len(),
                found: challenges.sc.len(),
            });
        }
        let sr = challenges
            .sc
            .iter()
            .zip(&self.w)
            .map(|(sc, w)| sc * key.y0() + w)
            .collect();
        let responses = IssuanceResponses {
            v: ISSUANCE_VERSION,
            sr,
        };
        Ok((
            AnsweredIssuance {
                v: ISSUANCE_VERSION,
                challenges: challenges.clone(),
                responses: responses.clone(),
            },
            responses,
        ))
    }

    /// The key this session signs with.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// Batch size.
    pub fn batch_size(&self) -> usize {
        self.w.len()
    }

    /// Secret CBOR for the issuer's store (holds the nonces).
    pub fn to_secret_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        cbor::to_cbor_secret(self)
    }

    /// Reads a stored session.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let s: Self = cbor::from_cbor_secret(bytes)?;
        cbor::check_version(s.v, ISSUANCE_VERSION)?;
        if s.w.is_empty() || s.w.len() > MAX_BATCH {
            return Err(DecodeError::Invalid("batch size"));
        }
        Ok(s)
    }
}

impl AnsweredIssuance {
    /// The stored answer for an identical retry; anything else is refused
    /// (Rule 3).
    pub fn replay(&self, challenges: &IssuanceChallenges) -> Result<IssuanceResponses, IssueError> {
        if &self.challenges == challenges {
            Ok(self.responses.clone())
        } else {
            Err(IssueError::AlreadyAnswered)
        }
    }

    /// CBOR for the store.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Reads a stored answer.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let a: Self = cbor::from_cbor(bytes)?;
        cbor::check_version(a.v, ISSUANCE_VERSION)?;
        Ok(a)
    }
}
