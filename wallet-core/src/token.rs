//! Token information, one-show tokens and the public token check.
//!
//! A token is `(key id, TI, h, sz', sc', sr')`: a blind signature by the
//! issuer on `h = gamma^alpha`, where
//! `gamma = g0 · g1^x1 ··· gn^xn · gt^xt · hd`. Anyone checks it with the
//! issuer's public key alone (a Chaum–Pedersen proof that
//! `log_g g0 = log_h sz'`):
//!
//! ```text
//! h != 1, sz' != 1,
//! sc' == Hs("kenmerk/v1/token", key id, CBOR(TI), h, sz', g^sr' · g0^-sc', h^sr' · sz'^-sc')
//! ```
//!
//! `TI` is hashed too (the design notes bind it only through `h`): a token
//! alone then commits to its expiry, so nobody can relabel a token's expiry
//! for a party that checks tokens without a full presentation.
//!
//! Rule 1: `sz'` is hashed. Without it any holder can turn one issuance into
//! a token for attribute values and an expiry of their choice.
//!
//! Token information `TI = (credential type, key counter, expiry)` is hashed
//! to `xt = Hs("kenmerk/v1/ti", CBOR(TI))`. Expiry lies on a weekly grid
//! (Mondays 00:00 UTC) so that all tokens of a week share it and an expiry
//! cannot tag a resident (Rule 8).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cbor;
use crate::encoding::AttributeValue;
use crate::group::{label, HashInput};
use crate::ids::CredentialTypeId;
use crate::keys::{IssuerPublicKey, KeyId};

/// Seconds in the expiry grid step (one week).
pub const GRID_STEP: u64 = 7 * 24 * 3600;
/// A grid point: Monday 1970-01-05 00:00 UTC.
pub const GRID_ORIGIN: u64 = 4 * 24 * 3600;
/// Longest token validity a wallet accepts: an expiry further than this
/// (plus one grid step for rounding) from now is refused (Rule 8).
pub const MAX_TOKEN_VALIDITY: u64 = 8 * GRID_STEP;

/// Token information: what every token of a batch shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInfo {
    /// The credential type.
    #[serde(rename = "ct")]
    pub credential_type: CredentialTypeId,
    /// The issuer key counter.
    #[serde(rename = "kc")]
    pub key_counter: u32,
    /// Expiry, Unix seconds, on the weekly grid.
    #[serde(rename = "ex")]
    pub expiry: u64,
}

/// Why token information was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenInfoError {
    #[error("token expiry is not on the weekly grid")]
    OffGrid,
    #[error("token expiry is in the past")]
    InPast,
    #[error("token expiry is further away than a wallet accepts")]
    TooFar,
    #[error("token information does not match the issuer key")]
    KeyMismatch,
}

impl TokenInfo {
    /// Token information expiring at the first grid point at or after
    /// `now + validity` (seconds).
    pub fn new(
        credential_type: CredentialTypeId,
        key_counter: u32,
        now: u64,
        validity: u64,
    ) -> Self {
        let target = now.saturating_add(validity).max(GRID_ORIGIN);
        let steps = (target - GRID_ORIGIN).div_ceil(GRID_STEP);
        TokenInfo {
            credential_type,
            key_counter,
            expiry: GRID_ORIGIN + steps * GRID_STEP,
        }
    }

    /// `xt = Hs("kenmerk/v1/ti", CBOR(TI))`.
    pub fn encode(&self) -> Scalar {
        HashInput::new(label::TOKEN_INFO)
            .part(&cbor::to_cbor(self))
            .to_scalar()
    }

    /// The wallet's check before it accepts a batch (Rule 8): on the grid,
    /// in the future, not further than [`MAX_TOKEN_VALIDITY`] plus one step,
    /// and for this key.
    pub fn check_for_wallet(&self, key: &IssuerPublicKey, now: u64) -> Result<(), TokenInfoError> {
        self.check_key(key)?;
        if self.expiry < GRID_ORIGIN || !(self.expiry - GRID_ORIGIN).is_multiple_of(GRID_STEP) {
            return Err(TokenInfoError::OffGrid);
        }
        if self.expiry <= now {
            return Err(TokenInfoError::InPast);
        }
        if self.expiry - now > MAX_TOKEN_VALIDITY + GRID_STEP {
            return Err(TokenInfoError::TooFar);
        }
        Ok(())
    }

    /// Credential type and key counter agree with `key`.
    pub fn check_key(&self, key: &IssuerPublicKey) -> Result<(), TokenInfoError> {
        if self.credential_type != key.credential_type || self.key_counter != key.counter {
            return Err(TokenInfoError::KeyMismatch);
        }
        Ok(())
    }
}

/// A one-show token as a verifier sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// The issuer key that signed it.
    #[serde(rename = "k")]
    pub key_id: KeyId,
    /// Token information.
    pub ti: TokenInfo,
    /// `h = gamma^alpha`.
    #[serde(with = "cbor::point")]
    pub h: RistrettoPoint,
    /// `sz' = sz^alpha`.
    #[serde(with = "cbor::point")]
    pub sz: RistrettoPoint,
    /// `sc'`.
    #[serde(with = "cbor::scalar")]
    pub sc: Scalar,
    /// `sr'`.
    #[serde(with = "cbor::scalar")]
    pub sr: Scalar,
}

/// Why a token failed the token check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenCheckError {
    #[error("token names another issuer key")]
    WrongKey,
    #[error("token information does not match the issuer key")]
    TokenInfo,
    #[error("token has an identity element")]
    Identity,
    #[error("token signature does not verify")]
    Signature,
}

/// `Hs("kenmerk/v1/token", key id, CBOR(TI), h, sz', a, b)`, used at
/// creation and check.
pub(crate) fn token_challenge(
    key_id: &KeyId,
    ti: &TokenInfo,
    h: &RistrettoPoint,
    sz: &RistrettoPoint,
    a: &RistrettoPoint,
    b: &RistrettoPoint,
) -> Scalar {
    HashInput::new(label::TOKEN)
        .part(&key_id.0)
        .part(&cbor::to_cbor(ti))
        .point(h)
        .point(sz)
        .point(a)
        .point(b)
        .to_scalar()
}

impl Token {
    /// The token check (see the module docs); public data, variable time.
    pub fn check(&self, key: &IssuerPublicKey) -> Result<(), TokenCheckError> {
        if self.key_id != key.key_id() {
            return Err(TokenCheckError::WrongKey);
        }
        self.ti
            .check_key(key)
            .map_err(|_| TokenCheckError::TokenInfo)?;
        self.check_with_key_id(key)
    }

    /// The token check when the caller already matched the key id.
    pub(crate) fn check_with_key_id(&self, key: &IssuerPublicKey) -> Result<(), TokenCheckError> {
        let id = RistrettoPoint::identity();
        if self.h == id || self.sz == id {
            return Err(TokenCheckError::Identity);
        }
        // g^sr' · g0^-sc' with the precomputed base-point table for g.
        let a = RistrettoPoint::vartime_double_scalar_mul_basepoint(&-self.sc, &key.g0, &self.sr);
        let b = RistrettoPoint::vartime_multiscalar_mul([self.sr, -self.sc], [self.h, self.sz]);
        if token_challenge(&self.key_id, &self.ti, &self.h, &self.sz, &a, &b) == self.sc {
            Ok(())
        } else {
            Err(TokenCheckError::Signature)
        }
    }

    /// Canonical CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Decodes a token (canonical only).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, cbor::DecodeError> {
        cbor::from_cbor(bytes)
    }
}

/// A token as the wallet keeps it: the public token, the secret `alpha^-1`
/// and the attribute values. One token is shown at most once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct CredentialToken {
    #[zeroize(skip)]
    pub(crate) token: Token,
    #[serde(with = "cbor::scalar")]
    pub(crate) alpha_inv: Scalar,
    #[zeroize(skip)]
    pub(crate) attributes: Vec<AttributeValue>,
}

impl std::fmt::Debug for CredentialToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialToken")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl CredentialToken {
    /// The public token.
    pub fn token(&self) -> &Token {
        &self.token
    }
    /// The attribute values, by position.
    pub fn attributes(&self) -> &[AttributeValue] {
        &self.attributes
    }
    /// The credential type.
    pub fn credential_type(&self) -> &CredentialTypeId {
        &self.token.ti.credential_type
    }
    /// Expiry, Unix seconds.
    pub fn expiry(&self) -> u64 {
        self.token.ti.expiry
    }
    /// Secret CBOR for the wallet file.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(cbor::to_cbor(self))
    }
    /// Decodes a stored token (the wallet re-checks it against its key
    /// before use).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, cbor::DecodeError> {
        cbor::from_cbor(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_on_grid() {
        let ct: CredentialTypeId = "demo.utrecht.address".parse().unwrap();
        let now = 1_764_000_000; // 2025-11-24
        let ti = TokenInfo::new(ct, 1, now, 14 * 24 * 3600);
        assert_eq!((ti.expiry - GRID_ORIGIN) % GRID_STEP, 0);
        assert!(ti.expiry >= now + 14 * 24 * 3600);
        assert!(ti.expiry < now + 14 * 24 * 3600 + GRID_STEP);
        // 1970-01-05 was a Monday: the origin is midnight UTC on a Monday.
        assert_eq!(GRID_ORIGIN % 86_400, 0);
    }
}
