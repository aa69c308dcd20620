//! One aggregated range proof for all predicates of a presentation (v2).
//!
//! The `m` statements of a presentation ([`RangeStatement`]) are proven in
//! ONE aggregated Bulletproof (`bulletproofs` 5.0.0,
//! `RangeProof::prove_multiple`) with
//!
//! ```text
//! n  = max bits over the statements (32 or 64)
//! m' = next power of two ≥ m        (the crate aggregates powers of two)
//! V_j = the committed value of statement j (j < m),  V_j = identity for m ≤ j < m'
//!       (padding: value 0, blinding 0)
//! ```
//!
//! The Merlin transcript starts with the label `kenmerk/v2/range-proof`,
//! then the context digest, `u64 m` and each statement `(C, form, bound,
//! bits)`, then the crate's own protocol (`docs/protocol.md` §13.3–§13.4).
//! The proof is exactly `32 · (9 + 2·log2(n·m'))` bytes; the verifier
//! refuses any other length before it decodes a point.

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::equation::{self, Elements};
use super::statement::{RangeStatement, DATE_BITS, INTEGER_BITS, MAX_RANGE_STATEMENTS};
use super::PredicateError;

/// Merlin label of the v2 aggregated range proof.
pub const RANGE_PROOF_LABEL: &[u8] = b"kenmerk/v2/range-proof";

/// The vector generators (64 per party, 16 parties; party `j`'s chain is the
/// same whatever the capacity, so any `n ≤ 64`, `m' ≤ 16` takes a prefix)
/// and the Pedersen generators `g`, `H`. Created once per process.
fn generators() -> &'static (BulletproofGens, PedersenGens) {
    static GENS: OnceLock<(BulletproofGens, PedersenGens)> = OnceLock::new();
    GENS.get_or_init(|| {
        (
            BulletproofGens::new(INTEGER_BITS as usize, MAX_RANGE_STATEMENTS),
            PedersenGens::default(),
        )
    })
}

/// The proof's dimensions, from the statements alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    /// Bits `n` of every party.
    n: usize,
    /// Parties `m'` (statements plus padding).
    parties: usize,
}

impl Shape {
    /// Checks the statements (1 to 16, bits 32 or 64, bounds ≥ 1) and gives
    /// `n` and `m'`. Shape problems are `Malformed`; a zero bound (Rule 7) is
    /// `RangeProof`, as in v1.
    fn of(statements: &[RangeStatement]) -> Result<Shape, PredicateError> {
        if statements.is_empty() || statements.len() > MAX_RANGE_STATEMENTS {
            return Err(PredicateError::Malformed);
        }
        let mut n = 0;
        for s in statements {
            if s.bits != DATE_BITS && s.bits != INTEGER_BITS {
                return Err(PredicateError::Malformed);
            }
            if s.form.bound() == 0 {
                return Err(PredicateError::RangeProof);
            }
            n = n.max(s.bits as usize);
        }
        Ok(Shape {
            n,
            parties: statements.len().next_power_of_two(),
        })
    }

    /// Rounds of the inner-product argument: `K = log2(n·m')`.
    fn rounds(self) -> usize {
        (self.n * self.parties).trailing_zeros() as usize
    }

    /// `32 · (9 + 2K)`: `A, S, T1, T2, t_x, t_x_blinding, e_blinding`, one
    /// `L, R` pair per inner-product round, `a, b`.
    fn proof_len(self) -> usize {
        32 * (9 + 2 * self.rounds())
    }
}

/// The byte length of the range proof for `statements` (`None` if they
/// cannot share one proof). Public: shape checks count it before decoding.
pub fn range_proof_len(statements: &[RangeStatement]) -> Option<usize> {
    Shape::of(statements).ok().map(Shape::proof_len)
}

/// The transcript before the crate's own messages:
/// `Transcript::new("kenmerk/v2/range-proof")`, `append_message("context",
/// digest)`, `append_u64("m", m)`, then per statement
/// `append_message("C", C)`, `append_u64("form", 0|1)`,
/// `append_u64("bound", bound)`, `append_u64("bits", bits)`.
fn transcript(digest: &[u8; 64], statements: &[RangeStatement]) -> Transcript {
    let mut t = Transcript::new(RANGE_PROOF_LABEL);
    t.append_message(b"context", digest);
    t.append_u64(b"m", statements.len() as u64);
    for s in statements {
        t.append_message(b"C", s.encoding.as_bytes());
        t.append_u64(b"form", s.form.code());
        t.append_u64(b"bound", s.form.bound());
        t.append_u64(b"bits", u64::from(s.bits));
    }
    t
}

/// Proves every statement of `items` (`(statement, x, t)` with
/// `C = g^x · H^t`) in one aggregated range proof bound to the context
/// `digest`. Refuses (`False`) a statement that does not hold, including
/// `x = 0` for every form (Rule 7) and a zero bound; `Malformed` when the
/// statements cannot share one proof (none, more than 16, bits not 32/64).
pub fn prove_ranges<R: RngCore + CryptoRng>(
    digest: &[u8; 64],
    items: &[(RangeStatement, u64, &Scalar)],
    rng: &mut R,
) -> Result<Vec<u8>, PredicateError> {
    // Secret: wiped on every path.
    let values = Zeroizing::new(
        items
            .iter()
            .map(|(s, x, _)| s.form.proven_value(*x, s.bits))
            .collect::<Option<Vec<u64>>>()
            .ok_or(PredicateError::False)?,
    );
    prove_values(digest, items, &values, rng)
}

/// The aggregated proof without checking that the statements hold: the
/// values are `x - lo` / `hi - x` wrapping modulo 2^64. For a statement
/// that does not hold the proof does not verify, EXCEPT `x = 0` under an
/// at-most form, whose range holds (`hi - 0 = hi`): the presence proof is
/// what refuses it. Only for tests and invalid test vectors.
#[cfg(any(test, feature = "attack-vectors"))]
pub fn prove_ranges_unchecked<R: RngCore + CryptoRng>(
    digest: &[u8; 64],
    items: &[(RangeStatement, u64, &Scalar)],
    rng: &mut R,
) -> Result<Vec<u8>, PredicateError> {
    use super::statement::Form;
    let values = Zeroizing::new(
        items
            .iter()
            .map(|(s, x, _)| match s.form {
                Form::AtLeast(lo) => x.wrapping_sub(lo),
                Form::AtMost(hi) => hi.wrapping_sub(*x),
            })
            .collect::<Vec<u64>>(),
    );
    prove_values(digest, items, &values, rng)
}

fn prove_values<R: RngCore + CryptoRng>(
    digest: &[u8; 64],
    items: &[(RangeStatement, u64, &Scalar)],
    values: &[u64],
    rng: &mut R,
) -> Result<Vec<u8>, PredicateError> {
    let statements: Vec<RangeStatement> = items.iter().map(|i| i.0).collect();
    let shape = Shape::of(&statements)?;
    let mut padded = Zeroizing::new(values.to_vec());
    padded.resize(shape.parties, 0);
    let mut blindings: Zeroizing<Vec<Scalar>> =
        Zeroizing::new(items.iter().map(|(s, _, t)| s.value_blinding(t)).collect());
    blindings.resize(shape.parties, Scalar::ZERO);
    let (bp, pc) = generators();
    let mut tr = transcript(digest, &statements);
    let (proof, _) = RangeProof::prove_multiple_with_rng(
        bp,
        pc,
        &mut tr,
        padded.as_slice(),
        blindings.as_slice(),
        shape.n,
        rng,
    )
    .map_err(|_| PredicateError::False)?;
    Ok(proof.to_bytes())
}

/// Verifies the aggregated range proof of `statements` (public data,
/// variable time) under the context `digest`.
///
/// Before any group operation: the statements' shape (`Malformed`; a zero
/// bound is `RangeProof`, Rule 7), the exact length `32 · (9 +
/// 2·log2(n·m'))` and the scalars' canonicity (`Malformed`). Then the
/// transcript with `V_j` from each `C` ([`RangeStatement::committed_value`])
/// and identity padding, and the equations of §13.4 in one vartime
/// multiscalar multiplication with a random weight (written out in
/// `predicate/equation.rs`):
///
/// ```text
/// (1) g^t_x · H^t_x_blinding == Π_j V_j^(z^(j+2)) · g^δ(y,z) · T1^x · T2^(x²)
/// (2) A · S^x · Π_k L_k^(u_k²) · R_k^(u_k^-2) · H^-e_blinding · g^(w·(t_x - a·b))
///       · Π_i G_i^(-z - a·s_i) · H_i^(z + y^-i·(z^(2 + i div n)·2^(i mod n) - b·s_(nm'-1-i))) == 1
/// ```
pub fn verify_ranges(
    digest: &[u8; 64],
    statements: &[RangeStatement],
    proof: &[u8],
) -> Result<(), PredicateError> {
    let shape = Shape::of(statements)?;
    let elements = Elements::parse(proof, shape.rounds()).ok_or(PredicateError::Malformed)?;
    let t = transcript(digest, statements);
    if equation::holds(
        t,
        statements,
        shape.n,
        shape.parties,
        &elements,
        &mut rand_core::OsRng,
    ) {
        Ok(())
    } else {
        Err(PredicateError::RangeProof)
    }
}

/// The crate's own verifier, for tests that the written-out equation
/// accepts and refuses the same proofs.
#[cfg(test)]
pub(super) fn verify_ranges_with_crate(
    digest: &[u8; 64],
    statements: &[RangeStatement],
    proof: &[u8],
) -> Result<(), PredicateError> {
    use curve25519_dalek::ristretto::CompressedRistretto;
    let shape = Shape::of(statements)?;
    if proof.len() != shape.proof_len() {
        return Err(PredicateError::Malformed);
    }
    let proof = RangeProof::from_bytes(proof).map_err(|_| PredicateError::Malformed)?;
    let mut values: Vec<CompressedRistretto> = statements
        .iter()
        .map(|s| s.committed_value().compress())
        .collect();
    values.resize(shape.parties, CompressedRistretto([0; 32]));
    let (bp, pc) = generators();
    let mut tr = transcript(digest, statements);
    proof
        .verify_multiple_with_rng(bp, pc, &mut tr, &values, shape.n, &mut rand_core::OsRng)
        .map_err(|_| PredicateError::RangeProof)
}
