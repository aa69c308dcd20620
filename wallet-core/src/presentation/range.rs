//! The one range proof of a presentation: the only place the presentation
//! calls the range-proof code (`predicate/range.rs`).
//!
//! Every predicate of a presentation is one one-sided statement (form,
//! bound, bits: [`Predicate::statement`]) about its commitment `C`, and all
//! of them are proven in ONE aggregated Bulletproof
//! ([`crate::predicate::prove_ranges`] / [`crate::predicate::verify_ranges`],
//! docs/protocol.md §13). The field `r` of the presentation holds its bytes.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};

use crate::cbor::WirePoint;
use crate::encoding::AttributeKind;
pub(crate) use crate::predicate::Form;
use crate::predicate::{Predicate, PredicateError, RangeStatement};

// A presentation without a request carries at most MAX_PARTS predicates:
// they must fit in one range proof.
const _: () = assert!(super::shape::MAX_PARTS <= crate::predicate::MAX_RANGE_STATEMENTS);

/// What one predicate asks of its committed attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) form: Form,
    /// Bits of the range proof: 32 for dates, 64 for integers.
    pub(crate) bits: usize,
}

/// The statement of `predicate` on an attribute of `kind` (docs/protocol.md
/// §13.2): `ge v` is at least `ord(v)`, `le v` at most `ord(v)`, `age y on
/// D` at most the cutoff's ordinal. Refuses unordered kinds, bounds of
/// another kind or out of range.
pub(crate) fn statement(
    predicate: &Predicate,
    kind: AttributeKind,
) -> Result<Statement, PredicateError> {
    let (form, bits) = predicate.statement(kind)?;
    Ok(Statement {
        form,
        bits: bits as usize,
    })
}

/// One predicate for the prover: its commitment `C = g^x · H^t`, statement
/// and secrets.
pub(crate) struct Secret<'a> {
    pub(crate) commitment: &'a RistrettoPoint,
    pub(crate) statement: Statement,
    pub(crate) x: u64,
    pub(crate) t: &'a Scalar,
}

/// The range proof bytes for `items` (empty for none). On failure, the
/// index of the first predicate that does not hold (or 0 when the proof as
/// a whole cannot be made). `forged_lo` (attack vectors only) proves
/// without checking, as if every at-least bound were `forged_lo`.
pub(crate) fn prove<R: RngCore + CryptoRng>(
    rng: &mut R,
    context_digest: &[u8; 64],
    items: &[Secret<'_>],
    forged_lo: Option<u64>,
) -> Result<Vec<u8>, (usize, PredicateError)> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    if forged_lo.is_none() {
        // Name the predicate that does not hold, before any proving work.
        for (k, s) in items.iter().enumerate() {
            if s.statement
                .form
                .proven_value(s.x, s.statement.bits as u32)
                .is_none()
            {
                return Err((k, PredicateError::False));
            }
        }
    }
    fn with_form<'s>(s: &Secret<'s>, form: Form) -> (RangeStatement, u64, &'s Scalar) {
        (
            RangeStatement::new(*s.commitment, (form, s.statement.bits as u32)),
            s.x,
            s.t,
        )
    }
    match forged_lo {
        None => {
            let proven: Vec<(RangeStatement, u64, &Scalar)> = items
                .iter()
                .map(|s| with_form(s, s.statement.form))
                .collect();
            crate::predicate::prove_ranges(context_digest, &proven, rng).map_err(|e| (0, e))
        }
        #[cfg(feature = "attack-vectors")]
        Some(forged) => {
            // Under the honest statements, prove `x - forged` where an
            // at-least statement needs `x - lo`: the committed values differ
            // (unless forged = lo), so the proof must not verify.
            let forged: Vec<(RangeStatement, u64, &Scalar)> = items
                .iter()
                .map(|s| {
                    let (statement, x, t) = with_form(s, s.statement.form);
                    match s.statement.form {
                        Form::AtLeast(lo) => {
                            (statement, x.wrapping_add(lo).wrapping_sub(forged), t)
                        }
                        Form::AtMost(_) => (statement, x, t),
                    }
                })
                .collect();
            crate::predicate::prove_ranges_unchecked(context_digest, &forged, rng)
                .map_err(|e| (0, e))
        }
        #[cfg(not(feature = "attack-vectors"))]
        Some(_) => Err((0, PredicateError::False)),
    }
}

/// Verifies the range proof bytes for the predicates' commitments (as
/// received: their wire encodings enter the transcript) and statements:
/// `Malformed` if they do not parse, `RangeProof` if they do not verify.
pub(crate) fn verify(
    context_digest: &[u8; 64],
    items: &[(WirePoint, Statement)],
    proof: &[u8],
) -> Result<(), PredicateError> {
    if items.is_empty() {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(PredicateError::Malformed)
        };
    }
    let statements: Vec<RangeStatement> = items
        .iter()
        .map(|(c, s)| RangeStatement::from_wire(*c.as_bytes(), *c.point(), (s.form, s.bits as u32)))
        .collect();
    crate::predicate::verify_ranges(context_digest, &statements, proof)
}
