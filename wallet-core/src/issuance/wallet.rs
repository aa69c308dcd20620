//! The wallet's side of blind batch issuance.
//!
//! [`PendingIssuance::start`] recomputes `gamma` from the values, the token
//! information and the wallet's own `hd` (never taking it from the issuer),
//! checks the token information (Rule 8) and blinds one challenge per token.
//! [`PendingIssuance::finish`] unblinds and hands out tokens only if every
//! token passes the token check.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand_core::{CryptoRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{gamma, IssuanceChallenges, IssuanceResponses, SignerCommitments, MAX_BATCH};
use crate::cbor::WirePoint;
use crate::encoding::{AttributeValue, ValueError};
use crate::holder::HolderSecret;
use crate::keys::IssuerPublicKey;
use crate::msm::Equations;
use crate::nonce::NonceSource;
use crate::tables::{FixedBase, KeyTables};
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

/// What the wallet keeps per token between its two steps: the secrets
/// `alpha^-1` and `b2`, and the token's public parts it computed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(super) struct BlindedToken {
    pub(super) alpha_inv: Scalar,
    pub(super) b2: Scalar,
    pub(super) sc_prime: Scalar,
    // The token's points with their encodings (hashed into `sc'`): public
    // once the token is shown.
    #[zeroize(skip)]
    h: WirePoint,
    #[zeroize(skip)]
    sz_prime: WirePoint,
    #[zeroize(skip)]
    sa_prime: WirePoint,
    #[zeroize(skip)]
    sb_prime: WirePoint,
}

/// A batch waiting for the issuer's responses. Its secrets (per token
/// `alpha^-1`, `b2`) are wiped on drop, whichever way it ends.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct PendingIssuance {
    #[zeroize(skip)]
    key: IssuerPublicKey,
    #[zeroize(skip)]
    attributes: Vec<AttributeValue>,
    #[zeroize(skip)]
    token_info: TokenInfo,
    pub(super) blinded: Vec<BlindedToken>,
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

        let gamma = gamma(key, &key_id, &attributes, &token_info, &holder.public());
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
        // Each of gamma and sz is multiplied once per token by alpha:
        // per-batch tables when the batch pays for them (tables.rs),
        // constant time either way; g0 from the key's table.
        let gamma_base = FixedBase::new(gamma, batch);
        let sz_base = FixedBase::new(commitments.sz, batch);
        let tables = KeyTables::of(key, &key_id);
        // The alphas, inverted together at the end (one inversion for the
        // batch). Exact capacity: no reallocation leaves a copy behind.
        let mut alphas = Zeroizing::new(Vec::with_capacity(batch));
        let mut blinded = Vec::with_capacity(batch);
        let mut sc = Vec::with_capacity(batch);
        for (k, (sa, sb)) in (0u32..).zip(commitments.sa.iter().zip(&commitments.sb)) {
            let alpha = source.nonzero_scalar(rng, "issuance-alpha", k);
            let b1 = source.scalar(rng, "issuance-b1", k);
            let b2 = source.scalar(rng, "issuance-b2", k);
            let h = WirePoint::new(gamma_base.mul(&alpha));
            let sz_prime = WirePoint::new(sz_base.mul(&alpha));
            let sa_prime = WirePoint::new(tables.g0_mul(&b1) + RistrettoPoint::mul_base(&b2) + sa);
            // sz'^b1 · h^b2 · sb^alpha = sz^(b1·alpha) · gamma^(b2·alpha) ·
            // sb^alpha: one constant-time multiscalar multiplication (its
            // doublings shared by the three), not three multiplications.
            let b1_alpha = Zeroizing::new(*b1 * *alpha);
            let b2_alpha = Zeroizing::new(*b2 * *alpha);
            let sb_prime = WirePoint::new(RistrettoPoint::multiscalar_mul(
                [&*b1_alpha, &*b2_alpha, &*alpha],
                [&commitments.sz, &gamma, sb],
            ));
            let sc_prime =
                token_challenge(&key_id, &token_info, &h, &sz_prime, &sa_prime, &sb_prime);
            sc.push(sc_prime + *b1);
            alphas.push(*alpha);
            blinded.push(BlindedToken {
                alpha_inv: Scalar::ZERO, // set below
                b2: *b2,
                sc_prime,
                h,
                sz_prime,
                sa_prime,
                sb_prime,
            });
        }
        // Every alpha is non-zero (nonzero_scalar). Constant time; the
        // product of the inverses it returns is secret too.
        let _product = Zeroizing::new(Scalar::batch_invert(&mut alphas));
        for (b, alpha_inv) in blinded.iter_mut().zip(alphas.iter()) {
            b.alpha_inv = *alpha_inv;
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
    ///
    /// The wallet computed each token's `sc'` itself from `(sa', sb')`, so
    /// the token check (§9.2) holds exactly when both token equations do:
    ///
    /// ```text
    /// g^sr' == sa' · g0^sc'        and        h^sr' == sb' · sz'^sc'
    /// ```
    ///
    /// These are the v2 token's own equations (T1), (T2). All `2 · batch`
    /// are checked at once, as one variable-time multiscalar multiplication
    /// with independent random 128-bit weights (the first equation weighted
    /// 1): a wrong response passes with probability at most `2^-128`. Only
    /// if that fails is each token checked alone (the full token check), to
    /// report the first failing one.
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
        let tokens = self.unblind(responses);
        if !self.batch_holds(&tokens) {
            // Find the first failing token, with the full check (§9.2).
            for (index, token) in tokens.iter().enumerate() {
                token
                    .check_with_key_id(&self.key)
                    .map_err(|error| FinishIssuanceError::TokenCheck { index, error })?;
            }
            // Unreachable when the batch check failed (a failing weighted
            // sum has a failing equation); every token passed the full
            // check, so the batch is good.
        }
        Ok(tokens
            .into_iter()
            .zip(&self.blinded)
            .map(|(token, b)| CredentialToken {
                token,
                alpha_inv: b.alpha_inv,
                attributes: self.attributes.clone(),
            })
            .collect())
    }

    /// The tokens with `sr' = sr_k + b2_k` (`responses` has one per token).
    pub(super) fn unblind(&self, responses: &IssuanceResponses) -> Vec<Token> {
        let key_id = self.key.key_id();
        self.blinded
            .iter()
            .zip(&responses.sr)
            .map(|(b, sr)| Token {
                key_id,
                ti: self.token_info.clone(),
                h: b.h,
                sz: b.sz_prime,
                sa: b.sa_prime,
                sb: b.sb_prime,
                sr: sr + b.b2,
            })
            .collect()
    }

    /// Whether every token's `h` and `sz'` are not the identity and its
    /// two equations (with the `sc'` the wallet computed) hold, all decided
    /// by one multiscalar multiplication of the accumulator
    /// ([`crate::msm`]): `g` and `g0` from the key's precomputed table,
    /// `sa'`, `h`, `sz'`, `sb'` of every token as dynamic points; the first
    /// equation weighted 1, every other by a fresh random 128-bit weight.
    pub(super) fn batch_holds(&self, tokens: &[Token]) -> bool {
        let mut acc = Equations::new();
        let slot = acc.key(&self.key.table());
        for (t, b) in tokens.iter().zip(&self.blinded) {
            match t.equations(slot, &b.sc_prime) {
                Ok([t1, t2]) => {
                    acc.push(&t1);
                    acc.push(&t2);
                }
                Err(_) => return false,
            }
        }
        acc.is_identity()
    }
}
