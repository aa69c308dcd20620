//! The v1 range proof: one 64-bit two-sided proof per predicate.
//!
//! DEPRECATED, FOR REMOVAL: kept only so that the v1 presentation code
//! compiles until protocol v2's presentation (which calls
//! [`super::prove_ranges`] / [`super::verify_ranges`] once per
//! presentation) replaces its call sites; then delete this file together
//! with [`RANGE_BITS`] and [`super::Predicate::bounds`].
//!
//! ```text
//! V1 = C · g^-lo  commits to x - lo  (blinding  t)
//! V2 = g^hi · C^-1 commits to hi - x (blinding -t)
//! one aggregated 64-bit Bulletproof shows both in [0, 2^64)
//! ```
//!
//! The Merlin transcript starts with the label `kenmerk/v1/range-proof`,
//! the presentation context hash, `C`, `lo` and `hi`.

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::PredicateError;
use crate::group::label;

/// Bits of each side of the v1 range proof (deprecated, for removal).
pub const RANGE_BITS: usize = 64;

fn generators() -> &'static (BulletproofGens, PedersenGens) {
    static GENS: OnceLock<(BulletproofGens, PedersenGens)> = OnceLock::new();
    GENS.get_or_init(|| (BulletproofGens::new(RANGE_BITS, 2), PedersenGens::default()))
}

fn transcript(context: &[u8; 64], c: &RistrettoPoint, lo: u64, hi: u64) -> Transcript {
    let mut t = Transcript::new(label::RANGE_PROOF);
    t.append_message(b"context", context);
    t.append_message(b"C", c.compress().as_bytes());
    t.append_u64(b"lo", lo);
    t.append_u64(b"hi", hi);
    t
}

/// Proves `lo <= x <= hi` for `C = g^x · H^t` (v1; deprecated, for removal).
pub(crate) fn prove_range<R: RngCore + CryptoRng>(
    rng: &mut R,
    context: &[u8; 64],
    commitment: &RistrettoPoint,
    x: u64,
    t: &Scalar,
    (lo, hi): (u64, u64),
) -> Result<Vec<u8>, PredicateError> {
    if x < lo || x > hi || lo == 0 {
        return Err(PredicateError::False);
    }
    prove_range_unchecked(rng, context, commitment, x, t, (lo, hi))
}

/// The v1 Bulletproof without the range check: a false statement yields a
/// proof that does not verify. Only for building invalid test vectors
/// (deprecated, for removal).
pub(crate) fn prove_range_unchecked<R: RngCore + CryptoRng>(
    rng: &mut R,
    context: &[u8; 64],
    commitment: &RistrettoPoint,
    x: u64,
    t: &Scalar,
    (lo, hi): (u64, u64),
) -> Result<Vec<u8>, PredicateError> {
    let (bp, pc) = generators();
    let mut tr = transcript(context, commitment, lo, hi);
    // The committed values and blindings are secret: wiped on every path.
    let values = Zeroizing::new([x.wrapping_sub(lo), hi.wrapping_sub(x)]);
    let blindings = Zeroizing::new([*t, -t]);
    let (proof, _) = RangeProof::prove_multiple_with_rng(
        bp,
        pc,
        &mut tr,
        values.as_ref(),
        blindings.as_ref(),
        RANGE_BITS,
        rng,
    )
    .map_err(|_| PredicateError::False)?;
    Ok(proof.to_bytes())
}

/// Verifies a v1 range proof for `C` and `[lo, hi]` (deprecated, for
/// removal).
pub(crate) fn verify_range(
    context: &[u8; 64],
    commitment: &RistrettoPoint,
    (lo, hi): (u64, u64),
    proof: &[u8],
) -> Result<(), PredicateError> {
    if lo == 0 {
        return Err(PredicateError::RangeProof);
    }
    let proof = RangeProof::from_bytes(proof).map_err(|_| PredicateError::Malformed)?;
    let (bp, pc) = generators();
    let v1 = commitment - RistrettoPoint::mul_base(&Scalar::from(lo));
    let v2 = RistrettoPoint::mul_base(&Scalar::from(hi)) - commitment;
    let mut tr = transcript(context, commitment, lo, hi);
    proof
        .verify_multiple_with_rng(
            bp,
            pc,
            &mut tr,
            &[v1.compress(), v2.compress()],
            RANGE_BITS,
            &mut rand_core::OsRng,
        )
        .map_err(|_| PredicateError::RangeProof)
}
