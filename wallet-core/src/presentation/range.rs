//! The one range proof of a presentation: the only place the presentation
//! calls the range-proof code (`predicate.rs`).
//!
//! Version 2 proves every predicate of a presentation in ONE aggregated
//! Bulletproof (`predicate::prove_ranges` / `verify_ranges`, branch
//! v2-range, docs/protocol.md §13). Until that lands, this adapter is
//! TEMPORARY: the field `r` holds the canonical CBOR array of one v1
//! two-sided range proof per predicate (`prove_range` / `verify_range`, with
//! the predicate's v1 bounds `[lo, hi]`, `lo ≥ 1`). The statement (form,
//! bound, bits) is already the v2 one and enters the challenge; swapping in
//! the aggregated proof changes only [`prove`] and [`verify`].

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::cbor;
use crate::encoding::AttributeKind;
use crate::predicate::{Predicate, PredicateError};

/// One-sided form of a predicate's statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `x ≥ lo` (`ge`).
    AtLeast(u64),
    /// `x ≤ hi` (`le`, `age`); needs the presence proof too (`x ≠ 0`).
    AtMost(u64),
}

impl Form {
    /// 0 for at least, 1 for at most (hashed).
    pub(crate) fn code(&self) -> u64 {
        match self {
            Form::AtLeast(_) => 0,
            Form::AtMost(_) => 1,
        }
    }

    /// The bound (hashed).
    pub(crate) fn bound(&self) -> u64 {
        match self {
            Form::AtLeast(b) | Form::AtMost(b) => *b,
        }
    }
}

/// What one predicate asks of its committed attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) form: Form,
    /// Bits of the range proof: 32 for dates, 64 for integers.
    pub(crate) bits: usize,
    /// The v1 two-sided bounds `[lo, hi]` the temporary proof uses.
    bounds: (u64, u64),
}

/// The statement of `predicate` on an attribute of `kind` (docs/protocol.md
/// §13.2): `ge v` is at least `ord(v)`, `le v` at most `ord(v)`, `age y on
/// D` at most the cutoff's ordinal. Refuses what [`Predicate::bounds`]
/// refuses (unordered kinds, bounds of another kind or out of range).
pub(crate) fn statement(
    predicate: &Predicate,
    kind: AttributeKind,
) -> Result<Statement, PredicateError> {
    let (lo, hi) = predicate.bounds(kind)?;
    let form = match predicate {
        Predicate::GreaterOrEqual(_) => Form::AtLeast(lo),
        Predicate::LessOrEqual(_) | Predicate::AgeAtLeast { .. } => Form::AtMost(hi),
    };
    let bits = if kind == AttributeKind::Date { 32 } else { 64 };
    Ok(Statement {
        form,
        bits,
        bounds: (lo, hi),
    })
}

#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Proof(#[serde(with = "cbor::bytes")] Vec<u8>);

/// One predicate for the prover: its commitment `C = g^x · H^t`, statement
/// and secrets.
pub(crate) struct Secret<'a> {
    pub(crate) commitment: &'a RistrettoPoint,
    pub(crate) statement: Statement,
    pub(crate) x: u64,
    pub(crate) t: &'a Scalar,
}

/// The range proof bytes for `items` (empty for none). On failure, the
/// index of the predicate. `forged_lo` (attack vectors only) proves with
/// that lower bound without checking.
pub(crate) fn prove<R: RngCore + CryptoRng>(
    rng: &mut R,
    context_digest: &[u8; 64],
    items: &[Secret<'_>],
    forged_lo: Option<u64>,
) -> Result<Vec<u8>, (usize, PredicateError)> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let mut proofs = Vec::with_capacity(items.len());
    for (k, s) in items.iter().enumerate() {
        let bounds = s.statement.bounds;
        #[cfg(feature = "attack-vectors")]
        let proof = match forged_lo {
            Some(lo) => crate::predicate::prove_range_unchecked(
                rng,
                context_digest,
                s.commitment,
                s.x,
                s.t,
                (lo, bounds.1),
            ),
            None => {
                crate::predicate::prove_range(rng, context_digest, s.commitment, s.x, s.t, bounds)
            }
        };
        #[cfg(not(feature = "attack-vectors"))]
        let proof = {
            let _ = forged_lo;
            crate::predicate::prove_range(rng, context_digest, s.commitment, s.x, s.t, bounds)
        };
        proofs.push(Proof(proof.map_err(|e| (k, e))?));
    }
    Ok(cbor::to_cbor(&proofs))
}

/// Verifies the range proof bytes for the predicates' commitments and
/// statements: `Malformed` if they do not parse, `RangeProof` if they do
/// not verify.
pub(crate) fn verify(
    context_digest: &[u8; 64],
    items: &[(RistrettoPoint, Statement)],
    proof: &[u8],
) -> Result<(), PredicateError> {
    if items.is_empty() {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(PredicateError::Malformed)
        };
    }
    let proofs: Vec<Proof> = cbor::from_cbor(proof).map_err(|_| PredicateError::Malformed)?;
    if proofs.len() != items.len() {
        return Err(PredicateError::Malformed);
    }
    for ((c, s), p) in items.iter().zip(&proofs) {
        crate::predicate::verify_range(context_digest, c, s.bounds, &p.0)?;
    }
    Ok(())
}
