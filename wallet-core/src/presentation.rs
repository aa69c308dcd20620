//! Presentations (version 2): one Fiat–Shamir proof over one or more
//! tokens, checked with one multi-scalar multiplication.
//!
//! For token `j` with disclosed positions `D`, hidden positions `U`
//! (together exactly `0..n`, Rule 5), fresh `w0`, `wi` and one `wd` shared by
//! all tokens (same holder):
//!
//! ```text
//! a_j = h^w0 · Π_{i∈U} gi^wi · gd^wd                                sent
//! r0  = c·alpha^-1 + w0,   ri = -c·xi + wi,   rd = -c·xd + wd
//! verifier (P_j): a_j == g0^-c · gt^(-c·xt) · Π_{i∈D} gi^(-c·xi) · h^r0 · Π_{i∈U} gi^ri · gd^rd
//! ```
//!
//! The commitments (`a_j`, `As`, `AC`, `N`) are sent and `c` is not: the
//! verifier recomputes `c` from everything ([`challenge`], which binds every
//! statement, pseudonym and the range proof: Rule 6) and then checks every
//! equation (the token's (T1), (T2), each `P_j`, each pseudonym, predicate
//! and presence equation) with random weights in ONE variable-time
//! multi-scalar multiplication ([`crate::msm`]).
//!
//! Positions are 0-based: position `i` uses generator `g_{i+1}`.

pub mod batch;
pub mod prove;
mod range;
pub mod shape;
pub mod verify;

pub use batch::{verify_batch, BatchItem};

pub use prove::{PresentationBuilder, ProveError};
pub use shape::{Expected, Part, ReadError, Shape, Unrequested};
pub use verify::{
    verify, VerifiedCredential, VerifiedPredicate, VerifiedPresentation, VerifyError,
};

use std::collections::BTreeMap;

use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};

use crate::cbor::{self, check_version, DecodeError, WirePoint};
use crate::encoding::AttributeValue;
use crate::group::{label, HashInput};
use crate::keys::{IssuerPublicKey, KeyId};
use crate::predicate::Predicate;
use crate::pseudonym::Scope;
use crate::token::Token;

const PRESENTATION_VERSION: u16 = 2;
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
    /// `SHA-512(frame("kenmerk/v1/presentation-context", u16be(2), verifier,
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
    /// The commitment `a_j`.
    #[serde(rename = "a")]
    pub commitment: WirePoint,
}

/// A scope pseudonym `Ps` with its commitment `As`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymProof {
    /// The scope.
    #[serde(rename = "s")]
    pub scope: Scope,
    /// `Ps = Bs^xd`.
    #[serde(rename = "p")]
    pub pseudonym: WirePoint,
    /// `As = Bs^wd`.
    #[serde(rename = "a")]
    pub commitment: WirePoint,
}

/// Two hidden attributes (token, position) with equal values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equality(pub (u8, u8), pub (u8, u8));

/// A predicate on a hidden attribute: its commitment, the proof that the
/// commitment holds the attribute, and for the at-most forms (`le`, `age`)
/// the presence proof that the committed value is not 0 (absent).
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
    #[serde(rename = "c")]
    pub commitment: WirePoint,
    /// `AC = g^wi · H^wt`.
    #[serde(rename = "a")]
    pub commitment_nonce: WirePoint,
    /// `rt = -c·t + wt`.
    #[serde(with = "cbor::scalar")]
    pub rt: Scalar,
    /// Presence proof commitment `N = C^va · H^vb` (at-most forms only).
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<WirePoint>,
    /// `sa = -c·x^-1 + va` (at-most forms only).
    #[serde(
        rename = "na",
        default,
        skip_serializing_if = "Option::is_none",
        with = "cbor::option_scalar"
    )]
    pub presence_a: Option<Scalar>,
    /// `sb = c·t·x^-1 + vb` (at-most forms only).
    #[serde(
        rename = "nb",
        default,
        skip_serializing_if = "Option::is_none",
        with = "cbor::option_scalar"
    )]
    pub presence_b: Option<Scalar>,
}

/// A presentation as sent to a verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Presentation {
    v: u16,
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
    /// The one aggregated range proof for every predicate (omitted when
    /// there is none): `32 · (9 + 2·log2(n·m'))` bytes (docs/protocol.md
    /// §13.4, [`range`]).
    #[serde(
        rename = "r",
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "cbor::bytes"
    )]
    pub range_proof: Vec<u8>,
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

/// `c = Hs("kenmerk/v2/presentation", context digest, …)` over every part
/// of the presentation except the responses (`rd`, `r0`, `r_i`, `rt`, `sa`,
/// `sb`), in the order of `docs/protocol.md` §10.4. `statements` gives, per
/// predicate, its form (0 at least, 1 at most), bound and bits. Points are
/// hashed by their wire encodings.
pub(crate) fn challenge(
    context_digest: &[u8; 64],
    p: &Presentation,
    statements: &[range::Statement],
) -> Scalar {
    let mut h = HashInput::new(label::PRESENTATION);
    h.part(context_digest);
    h.u64(p.tokens.len() as u64);
    for t in &p.tokens {
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
        h.wire(&t.commitment);
    }
    h.u64(p.pseudonyms.len() as u64);
    for ps in &p.pseudonyms {
        h.part(ps.scope.0.as_bytes())
            .wire(&ps.pseudonym)
            .wire(&ps.commitment);
    }
    h.u64(p.equalities.len() as u64);
    for Equality((ta, ia), (tb, ib)) in &p.equalities {
        h.u64(u64::from(*ta))
            .u64(u64::from(*ia))
            .u64(u64::from(*tb))
            .u64(u64::from(*ib));
    }
    h.u64(p.predicates.len() as u64);
    for (q, s) in p.predicates.iter().zip(statements) {
        h.u64(u64::from(q.token))
            .u64(u64::from(q.position))
            .part(&cbor::to_cbor(&q.predicate))
            .u64(s.form.code())
            .u64(s.form.bound())
            .u64(s.bits as u64)
            .wire(&q.commitment)
            .wire(&q.commitment_nonce);
        if let (range::Form::AtMost(_), Some(n)) = (s.form, &q.presence) {
            h.wire(n);
        }
    }
    h.part(&p.range_proof);
    h.to_scalar()
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod v2_tests;
