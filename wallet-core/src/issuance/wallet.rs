//! The wallet's side of blind batch issuance.
//!
//! [`PendingIssuance::start`] recomputes `gamma` from the values, the token
//! information and the wallet's own `hd` (never taking it from the issuer),
//! checks the token information (Rule 8) and blinds one challenge per token.
//! [`PendingIssuance::finish`] unblinds and hands out tokens only if every
//! token passes the token check.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{gamma, IssuanceChallenges, IssuanceResponses, SignerCommitments, MAX_BATCH};
use crate::cbor::WirePoint;
use crate::encoding::{AttributeValue, ValueError};
use crate::holder::HolderSecret;
use crate::keys::IssuerPublicKey;
use crate::nonce::NonceSource;
use crate::token::{
    token_challenge, CredentialToken, Token, TokenCheckError, TokenInfo, TokenInfoError,
};

/// Why the wallet refused an issuance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinishIssuanceError {
    #[error("the issuer's commitments are for another key")]
    WrongKey,
    #[error("the issuer key is not valid now")]
    KeyNotValid,
    #[error("the tokens would expire after their issuer key")]
    OutlivesKey,
    #[error("batch size must be 1 to {MAX_BATCH}, with one sa and sb per token")]
    BatchSize,
    #[error("expected {expected} attribute values, got {found}")]
    AttributeCount { expected: usize, found: usize },
    #[error("attribute {position}: {error}")]
    AttributeValue { position: usize, error: ValueError },
    #[error("token information refused: {0}")]
    TokenInfo(#[from] TokenInfoError),
    #[error("expected {expected} responses, got {found}")]
    ResponseCount { expected: usize, found: usize },
    #[error("token {index} of the batch fails the token check: {error}")]
    TokenCheck {
        index: usize,
        error: TokenCheckError,
    },
}

#[derive(Zeroize, ZeroizeOnDrop)]
struct BlindedToken {
    alpha_inv: Scalar,
    b2: Scalar,
    #[zeroize(skip)]
    h: WirePoint,
    #[zeroize(skip)]
    sz_prime: WirePoint,
    #[zeroize(skip)]
    sa_prime: WirePoint,
    #[zeroize(skip)]
    sb_prime: WirePoint,
}

/// A batch waiting for the issuer's responses.
pub struct PendingIssuance {
    key: IssuerPublicKey,
    attributes: Vec<AttributeValue>,
    token_info: TokenInfo,
    blinded: Vec<BlindedToken>,
}

impl std::fmt::Debug for PendingIssuance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingIssuance")
            .field("credential_type", &self.key.credential_type)
            .field("batch", &self.blinded.len())
            .finish_non_exhaustive()
    }
}

impl PendingIssuance {
    /// Checks what the issuer offered and blinds one challenge per token.
    /// `key` must come from the wallet's pinned scheme and the offer must
    /// have passed [`crate::wire::OfferedCredential::check`], which holds it
    /// to the scheme's current key and token policy (Rule 8); here only the
    /// scheme-independent bounds are checked again. `now` is Unix seconds.
    pub fn start<R: RngCore + CryptoRng>(
        rng: &mut R,
        key: &IssuerPublicKey,
        holder: &HolderSecret,
        attributes: Vec<AttributeValue>,
        token_info: TokenInfo,
        now: u64,
        commitments: &SignerCommitments,
    ) -> Result<(PendingIssuance, IssuanceChallenges), FinishIssuanceError> {
        let key_id = key.key_id();
        if commitments.key_id != key_id {
            return Err(FinishIssuanceError::WrongKey);
        }
        let batch = commitments.sa.len();
        if batch == 0 || batch > MAX_BATCH || commitments.sb.len() != batch {
            return Err(FinishIssuanceError::BatchSize);
        }
        if attributes.len() != key.attribute_count() {
            return Err(FinishIssuanceError::AttributeCount {
                expected: key.attribute_count(),
                found: attributes.len(),
            });
        }
        for (position, (value, kind)) in attributes.iter().zip(&key.attributes).enumerate() {
            value
                .check(*kind)
                .map_err(|error| FinishIssuanceError::AttributeValue { position, error })?;
        }
        if !key.is_valid_at(now) {
            return Err(FinishIssuanceError::KeyNotValid);
        }
        token_info.check_bounds(key, now)?;
        if token_info.expiry > key.valid_until {
            // Tokens that outlive their key would fail verification later.
            return Err(FinishIssuanceError::OutlivesKey);
        }

        let gamma = gamma(key, &attributes, &token_info, &holder.public());
        // Hedged blinding factors (docs/protocol.md §2.4): a replayed RNG
        // state in another session gives other factors, so two batches stay
        // unlinkable for the issuer even after a restored snapshot.
        let mut transcript = Vec::with_capacity(96 + 64 * batch);
        transcript.extend_from_slice(&key_id.0);
        transcript.extend_from_slice(gamma.compress().as_bytes());
        transcript.extend_from_slice(commitments.sz.compress().as_bytes());
        for (sa, sb) in commitments.sa.iter().zip(&commitments.sb) {
            transcript.extend_from_slice(sa.compress().as_bytes());
            transcript.extend_from_slice(sb.compress().as_bytes());
        }
        let source = NonceSource::new(holder.xd().as_bytes(), &transcript);
        let mut blinded = Vec::with_capacity(batch);
        let mut sc = Vec::with_capacity(batch);
        for (k, (sa, sb)) in (0u32..).zip(commitments.sa.iter().zip(&commitments.sb)) {
            let alpha = source.nonzero_scalar(rng, "issuance-alpha", k);
            let b1 = source.scalar(rng, "issuance-b1", k);
            let b2 = source.scalar(rng, "issuance-b2", k);
            let h = gamma * *alpha;
            let sz_prime = commitments.sz * *alpha;
            let sa_prime = WirePoint::new(key.g0 * *b1 + RistrettoPoint::mul_base(&b2) + sa);
            let sb_prime = WirePoint::new(sz_prime * *b1 + h * *b2 + sb * *alpha);
            let (h, sz_prime) = (WirePoint::new(h), WirePoint::new(sz_prime));
            let sc_prime =
                token_challenge(&key_id, &token_info, &h, &sz_prime, &sa_prime, &sb_prime);
            sc.push(sc_prime + *b1);
            blinded.push(BlindedToken {
                alpha_inv: alpha.invert(),
                b2: *b2,
                h,
                sz_prime,
                sa_prime,
                sb_prime,
            });
        }
        Ok((
            PendingIssuance {
                key: key.clone(),
                attributes,
                token_info,
                blinded,
            },
            IssuanceChallenges::new(sc),
        ))
    }

    /// Unblinds `sr' = sr + b2` and returns the batch if every token passes
    /// the token check; otherwise nothing.
    pub fn finish(
        self,
        responses: &IssuanceResponses,
    ) -> Result<Vec<CredentialToken>, FinishIssuanceError> {
        if responses.sr.len() != self.blinded.len() {
            return Err(FinishIssuanceError::ResponseCount {
                expected: self.blinded.len(),
                found: responses.sr.len(),
            });
        }
        let key_id = self.key.key_id();
        let mut tokens = Vec::with_capacity(self.blinded.len());
        for (index, (b, sr)) in self.blinded.iter().zip(&responses.sr).enumerate() {
            let token = Token {
                key_id,
                ti: self.token_info.clone(),
                h: b.h,
                sz: b.sz_prime,
                sa: b.sa_prime,
                sb: b.sb_prime,
                sr: sr + b.b2,
            };
            token
                .check_with_key_id(&self.key)
                .map_err(|error| FinishIssuanceError::TokenCheck { index, error })?;
            tokens.push(CredentialToken {
                token,
                alpha_inv: b.alpha_inv,
                attributes: self.attributes.clone(),
            });
        }
        Ok(tokens)
    }
}
