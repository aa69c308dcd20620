//! Presentations: one Fiat–Shamir proof over one or more tokens.
//!
//! For token `j` with disclosed positions `D`, hidden positions `U`
//! (together exactly `0..n`, Rule 5), fresh `w0`, `wi` and one `wd` shared by
//! all tokens (same holder):
//!
//! ```text
//! a_j = h^w0 · Π_{i∈U} gi^wi · gd^wd
//! r0  = c·alpha^-1 + w0,   ri = -c·xi + wi,   rd = -c·xd + wd
//! verifier: K_j = g0 · gt^xt · Π_{i∈D} gi^xi,   a_j = K_j^-c · h^r0 · Π_{i∈U} gi^ri · gd^rd
//! ```
//!
//! Commitments (`a_j`, `As`, `AC`) are recomputed by the verifier, never
//! sent; the presentation is accepted only if `c` equals the challenge hash
//! over everything ([`challenge`]), which is how every statement, pseudonym
//! and range proof is bound (Rule 6).
//!
//! Positions are 0-based: position `i` uses generator `g_{i+1}`.

pub mod prove;
pub mod shape;
pub mod verify;

pub use prove::{PresentationBuilder, ProveError};
pub use shape::{Expected, Part, ReadError, Shape, Unrequested};
pub use verify::{
    verify, VerifiedCredential, VerifiedPredicate, VerifiedPresentation, VerifyError,
};

use std::collections::BTreeMap;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};

use crate::cbor::{self, check_version, DecodeError};
use crate::encoding::AttributeValue;
use crate::group::{label, HashInput};
use crate::keys::{IssuerPublicKey, KeyId};
use crate::predicate::Predicate;
use crate::pseudonym::Scope;
use crate::token::Token;

const PRESENTATION_VERSION: u16 = 1;
/// Most tokens in one presentation.
pub const MAX_TOKENS: usize = 16;
/// Shortest verifier nonce.
pub const MIN_NONCE_BYTES: usize = 16;
/// Longest verifier nonce.
pub const MAX_NONCE_BYTES: usize = 64;

/// Looks up issuer public keys by id (the scheme implements this).
pub trait IssuerKeys {
    /// The key with this id, if trusted.
    fn issuer_key(&self, id: &KeyId) -> Option<&IssuerPublicKey>;
}

impl IssuerKeys for [IssuerPublicKey] {
    fn issuer_key(&self, id: &KeyId) -> Option<&IssuerPublicKey> {
        self.iter().find(|k| &k.key_id() == id)
    }
}

impl IssuerKeys for Vec<IssuerPublicKey> {
    fn issuer_key(&self, id: &KeyId) -> Option<&IssuerPublicKey> {
        self.as_slice().issuer_key(id)
    }
}

impl IssuerKeys for BTreeMap<KeyId, IssuerPublicKey> {
    fn issuer_key(&self, id: &KeyId) -> Option<&IssuerPublicKey> {
        self.get(id)
    }
}

/// What a presentation answers: who asked, for which request, with which
/// fresh nonce, and for a signature the message and timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeContext {
    /// The verifier's identifier from the scheme (a presentation for one
    /// verifier does not verify for another).
    #[serde(rename = "vid")]
    pub verifier: String,
    /// SHA-256 of the canonical session request.
    #[serde(rename = "rd", with = "cbor::bytes32")]
    pub request_digest: [u8; 32],
    /// The verifier's fresh nonce (16 to 64 bytes).
    #[serde(rename = "n", with = "cbor::bytes")]
    pub nonce: Vec<u8>,
    /// The signed message, for attribute-based signatures.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A timestamp (Unix seconds) vouched for by the verifier, for signatures.
    #[serde(rename = "ts", default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
}

impl ChallengeContext {
    /// `SHA-512(frame("kenmerk/v1/presentation-context", u16be(version), verifier,
    /// request digest, nonce, message?, timestamp?))`, where an absent option
    /// is the part `00` and a present one `01` followed by its part.
    pub fn digest(&self) -> [u8; 64] {
        use sha2::{Digest, Sha512};
        let mut h = Sha512::new();
        let mut frame = |b: &[u8]| {
            h.update((b.len() as u32).to_be_bytes());
            h.update(b);
        };
        frame(label::PRESENTATION_CONTEXT);
        frame(&crate::PROTOCOL_VERSION.to_be_bytes());
        frame(self.verifier.as_bytes());
        frame(&self.request_digest);
        frame(&self.nonce);
        match &self.message {
            None => frame(&[0]),
            Some(m) => {
                frame(&[1]);
                frame(m.as_bytes());
            }
        }
        match self.timestamp {
            None => frame(&[0]),
            Some(t) => {
                frame(&[1]);
                frame(&t.to_be_bytes());
            }
        }
        h.finalize().into()
    }
}

/// A disclosed attribute: position and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosed(pub u8, pub AttributeValue);

/// The response for a hidden attribute: position and `ri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hidden(pub u8, #[serde(with = "cbor::scalar")] pub Scalar);

/// One token's part of a presentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenProof {
    /// The token (checked by the verifier).
    #[serde(rename = "t")]
    pub token: Token,
    /// Disclosed positions with their values, ascending.
    #[serde(rename = "d")]
    pub disclosed: Vec<Disclosed>,
    /// Hidden positions with their responses, ascending.
    #[serde(rename = "u")]
    pub hidden: Vec<Hidden>,
    /// `r0`.
    #[serde(with = "cbor::scalar")]
    pub r0: Scalar,
}

/// A scope pseudonym `Ps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymProof {
    /// The scope.
    #[serde(rename = "s")]
    pub scope: Scope,
    /// `Ps = Bs^xd`.
    #[serde(rename = "p", with = "cbor::point")]
    pub pseudonym: RistrettoPoint,
}

/// Two hidden attributes (token, position) with equal values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equality(pub (u8, u8), pub (u8, u8));

/// A predicate on a hidden attribute with its commitment and range proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredicateProof {
    /// Token index in the presentation.
    #[serde(rename = "t")]
    pub token: u8,
    /// Attribute position.
    #[serde(rename = "i")]
    pub position: u8,
    /// The statement.
    #[serde(rename = "p")]
    pub predicate: Predicate,
    /// `C = g^x · H^t`.
    #[serde(rename = "c", with = "cbor::point")]
    pub commitment: RistrettoPoint,
    /// `rt = -c·t + wt`.
    #[serde(with = "cbor::scalar")]
    pub rt: Scalar,
    /// The aggregated Bulletproof.
    #[serde(rename = "rp", with = "cbor::bytes")]
    pub range_proof: Vec<u8>,
}

/// A presentation as sent to a verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Presentation {
    v: u16,
    /// The challenge `c`.
    #[serde(with = "cbor::scalar")]
    pub c: Scalar,
    /// The shared holder response `rd`.
    #[serde(with = "cbor::scalar")]
    pub rd: Scalar,
    /// Per token.
    #[serde(rename = "t")]
    pub tokens: Vec<TokenProof>,
    /// Scope pseudonyms.
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub pseudonyms: Vec<PseudonymProof>,
    /// Equalities of hidden attributes.
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub equalities: Vec<Equality>,
    /// Predicates on hidden attributes.
    #[serde(rename = "q", default, skip_serializing_if = "Vec::is_empty")]
    pub predicates: Vec<PredicateProof>,
}

impl Presentation {
    /// Canonical CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Decodes a presentation (canonical only, version checked, Rule 4).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let p: Self = cbor::from_cbor(bytes)?;
        p.check_version()?;
        Ok(p)
    }

    /// Refuses an unknown presentation version (for containers that decode
    /// a presentation as part of a larger message).
    pub fn check_version(&self) -> Result<(), DecodeError> {
        check_version(self.v, PRESENTATION_VERSION)
    }
}

/// The commitments that enter the challenge, in order.
pub(crate) struct Commitments<'a> {
    pub token_commitments: &'a [RistrettoPoint],
    pub pseudonym_commitments: &'a [RistrettoPoint],
    pub predicate_commitments: &'a [RistrettoPoint],
}

/// `c = Hs("kenmerk/v1/presentation", context digest, …)` over every part of
/// the presentation except `c` and the responses, in the order of
/// `docs/protocol.md` §Presentation challenge.
pub(crate) fn challenge(
    context: &ChallengeContext,
    p: &Presentation,
    k: &Commitments<'_>,
    bounds: &[(u64, u64)],
) -> Scalar {
    let mut h = HashInput::new(label::PRESENTATION);
    h.part(&context.digest());
    h.u64(p.tokens.len() as u64);
    for (t, a) in p.tokens.iter().zip(k.token_commitments) {
        h.part(&t.token.key_id.0)
            .part(&cbor::to_cbor(&t.token.ti))
            .wire(&t.token.h)
            .wire(&t.token.sz)
            .wire(&t.token.sa)
            .wire(&t.token.sb)
            .scalar(&t.token.sr);
        h.u64(t.disclosed.len() as u64);
        for Disclosed(i, v) in &t.disclosed {
            h.u64(u64::from(*i)).part(&cbor::to_cbor(v));
        }
        h.u64(t.hidden.len() as u64);
        for Hidden(i, _) in &t.hidden {
            h.u64(u64::from(*i));
        }
        h.point(a);
    }
    h.u64(p.pseudonyms.len() as u64);
    for (ps, a) in p.pseudonyms.iter().zip(k.pseudonym_commitments) {
        h.part(ps.scope.0.as_bytes()).point(&ps.pseudonym).point(a);
    }
    h.u64(p.equalities.len() as u64);
    for Equality((ta, ia), (tb, ib)) in &p.equalities {
        h.u64(u64::from(*ta))
            .u64(u64::from(*ia))
            .u64(u64::from(*tb))
            .u64(u64::from(*ib));
    }
    h.u64(p.predicates.len() as u64);
    for ((q, a), (lo, hi)) in p.predicates.iter().zip(k.predicate_commitments).zip(bounds) {
        h.u64(u64::from(q.token))
            .u64(u64::from(q.position))
            .part(&cbor::to_cbor(&q.predicate))
            .u64(*lo)
            .u64(*hi)
            .u64(crate::predicate::RANGE_BITS as u64)
            .point(&q.commitment)
            .point(a)
            .part(&q.range_proof);
    }
    h.to_scalar()
}

#[cfg(test)]
pub(crate) mod tests;
