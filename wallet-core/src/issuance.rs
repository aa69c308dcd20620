//! Blind batch issuance: the issuer's side ([`issuer`]) and the wallet's
//! side ([`wallet`]), as explicit protocol states.
//!
//! ```text
//! wallet                                     issuer
//!   hd, HolderProof(nonce)          ──►  checks the proof (Rule 2)
//!                                        gamma = g0 · Π gi^xi · gt^xt · hd,  sz = gamma^y0
//!                                   ◄──  SignerCommitments: sz, (sa_k = g^w_k, sb_k = gamma^w_k)
//! recomputes gamma itself, checks TI (Rule 8),
//! per token: h = gamma^α, sz' = sz^α,
//!   sa' = g0^b1 · g^b2 · sa,  sb' = sz'^b1 · h^b2 · sb^α,
//!   sc' = Hs(token, key id, TI, h, sz', sa', sb'),  sc = sc' + b1
//!                                   ──►  IssuanceChallenges: sc_k
//!                                        sr_k = sc_k · y0 + w_k, once (Rule 3)
//!                                   ◄──  IssuanceResponses: sr_k
//! sr' = sr + b2; keeps the batch only if every token passes the token check
//! ```
//!
//! Version 2 has the messages and math of version 1 and computes them
//! faster (docs/protocol.md §8): `gamma` over the key's precomputed
//! generators ([`tables`]), fixed bases (`g`, `gd`, `g0`, and `gamma` and
//! `sz` when a batch pays for their tables) multiplied through tables,
//! `sb' = sz^(b1·α) · gamma^(b2·α) · sb^α` as one constant-time
//! multiscalar multiplication, one batch inversion for every `α^-1`,
//! and the wallet's check of the whole batch as one multiscalar
//! multiplication with random weights. Secrets (`y0`, `w`, `α`, `b1`, `b2`)
//! only meet constant-time operations.

pub mod batch;
pub mod issuer;
pub use crate::tables;
pub mod wallet;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};

use crate::cbor::{self, check_version, DecodeError};
use crate::encoding::AttributeValue;
use crate::holder::HolderPublicKey;
use crate::keys::{IssuerPublicKey, KeyId};
use crate::tables::KeyTables;
use crate::token::TokenInfo;

/// Largest batch one session may issue.
pub const MAX_BATCH: usize = 100;
/// Default batch size.
pub const DEFAULT_BATCH: usize = 20;
/// Version of the three issuance messages and the stored session and
/// answer. 2 since the v2 protocol (same messages and math as 1, which is
/// refused with `UnknownVersion`).
const ISSUANCE_VERSION: u16 = 2;

/// `gamma = g0 · g1^x1 ··· gn^xn · gt^xt · hd`, computed by both sides from
/// public values (the wallet never takes it from the issuer: Rule 8).
/// `key_id` is `key`'s id (the caller has it already).
pub(crate) fn gamma(
    key: &IssuerPublicKey,
    key_id: &KeyId,
    attributes: &[AttributeValue],
    ti: &TokenInfo,
    hd: &HolderPublicKey,
) -> RistrettoPoint {
    let scalars = attributes
        .iter()
        .map(AttributeValue::encode)
        .chain([ti.encode()]);
    // Attribute values and hd are known to the party computing this:
    // variable time over the key's precomputed generators is fine. `g0` and
    // `hd` have exponent 1: added, not multiplied.
    KeyTables::of(key, key_id).gamma_part(scalars) + key.g0 + hd.0
}

/// The issuer's first message: `sz` and one `(sa, sb)` pair per token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerCommitments {
    v: u16,
    /// The key that will sign.
    #[serde(rename = "k")]
    pub key_id: KeyId,
    /// `sz = gamma^y0`.
    #[serde(with = "cbor::point")]
    pub sz: RistrettoPoint,
    /// `sa_k = g^w_k`.
    #[serde(with = "cbor::points")]
    pub sa: Vec<RistrettoPoint>,
    /// `sb_k = gamma^w_k`.
    #[serde(with = "cbor::points")]
    pub sb: Vec<RistrettoPoint>,
}

/// The wallet's blinded challenges `sc_k`, one per token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceChallenges {
    v: u16,
    /// `sc_k = sc'_k + b1_k`.
    #[serde(with = "cbor::scalars")]
    pub sc: Vec<Scalar>,
}

/// The issuer's responses `sr_k = sc_k · y0 + w_k`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceResponses {
    v: u16,
    /// `sr_k`.
    #[serde(with = "cbor::scalars")]
    pub sr: Vec<Scalar>,
}

macro_rules! wire_codec {
    ($t:ty) => {
        impl $t {
            /// Canonical CBOR.
            pub fn to_bytes(&self) -> Vec<u8> {
                cbor::to_cbor(self)
            }
            /// Decodes (canonical only, version checked, Rule 4 on points).
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
                let m: Self = cbor::from_cbor(bytes)?;
                check_version(m.v, ISSUANCE_VERSION)?;
                Ok(m)
            }
        }
    };
}
wire_codec!(SignerCommitments);
wire_codec!(IssuanceChallenges);
wire_codec!(IssuanceResponses);

impl IssuanceChallenges {
    pub(crate) fn new(sc: Vec<Scalar>) -> Self {
        IssuanceChallenges {
            v: ISSUANCE_VERSION,
            sc,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
