//! Predicates on hidden integer and date attributes, with range proofs.
//!
//! A predicate is proven on a Pedersen commitment `C = g^x · H^t` to the
//! attribute's encoding `x`, tied to the token by the presentation's
//! Schnorr proof (`AC = g^wi · H^wt`, `rt = -c·t + wt`,
//! check `AC == C^c · g^ri · H^rt`, see [`crate::presentation`]).
//! Every predicate is a two-sided range `lo <= x <= hi` with `lo >= 1`
//! (Rule 7), so an absent attribute (`x = 0`) never passes:
//!
//! ```text
//! V1 = C · g^-lo  commits to x - lo  (blinding  t)
//! V2 = g^hi · C^-1 commits to hi - x (blinding -t)
//! one aggregated 64-bit Bulletproof shows both in [0, 2^64)
//! ```
//!
//! The Bulletproof's Merlin transcript starts with the label
//! `kenmerk/v1/range-proof`, the presentation context hash, `C`, `lo` and
//! `hi`; its bytes go into the presentation challenge (Rule 6).

use std::sync::OnceLock;

use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use time::{Date, Month};
use zeroize::Zeroizing;

use crate::encoding::{iso_date, AttributeKind, AttributeValue, MAX_INTEGER};
use crate::group::{g, label};

/// Bits of each side of the range proof.
pub const RANGE_BITS: usize = 64;

/// A statement about one hidden attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Predicate {
    /// `attribute >= bound`.
    #[serde(rename = "ge")]
    GreaterOrEqual(AttributeValue),
    /// `attribute <= bound`.
    #[serde(rename = "le")]
    LessOrEqual(AttributeValue),
    /// The date attribute (a birth date) lies at least `years` years before
    /// `on`: the resident is at least `years` old on that day.
    #[serde(rename = "age")]
    AgeAtLeast {
        /// Age in whole years.
        years: u8,
        /// The day on which the age counts.
        #[serde(with = "iso_date")]
        on: Date,
    },
}

/// Why a predicate cannot be used or proven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PredicateError {
    #[error("predicates need an integer or date attribute, this one is {0}")]
    UnorderedKind(&'static str),
    #[error("the bound's kind does not match the attribute's kind")]
    BoundKind,
    #[error("age predicates need a date attribute")]
    AgeNeedsDate,
    #[error("the bound lies outside the attribute's range")]
    BoundOutOfRange,
    #[error("the predicate is false for the wallet's value")]
    False,
    #[error("the range proof does not verify")]
    RangeProof,
    #[error("the range proof is malformed")]
    Malformed,
}

fn last_ordinal(kind: AttributeKind) -> u64 {
    match kind {
        AttributeKind::Date => AttributeValue::Date(
            Date::from_calendar_date(9999, Month::December, 31).unwrap_or(Date::MAX),
        )
        .ordinal()
        .unwrap_or(1),
        _ => AttributeValue::Integer(MAX_INTEGER).ordinal().unwrap_or(1),
    }
}

/// The day `years` years before `on` (29 February falls back to 28
/// February): someone born on or before it is at least `years` old on `on`.
pub fn age_cutoff(on: Date, years: u8) -> Option<Date> {
    let year = on.year() - i32::from(years);
    Date::from_calendar_date(year, on.month(), on.day())
        .or_else(|_| Date::from_calendar_date(year, on.month(), on.day() - 1))
        .ok()
}

impl Predicate {
    /// The encoded range `[lo, hi]` (`lo >= 1`) this predicate asks of an
    /// attribute of `kind`.
    pub fn bounds(&self, kind: AttributeKind) -> Result<(u64, u64), PredicateError> {
        if !kind.is_ordered() {
            return Err(PredicateError::UnorderedKind(kind.as_str()));
        }
        let ordinal = |v: &AttributeValue| -> Result<u64, PredicateError> {
            if v.kind() != Some(kind) {
                return Err(PredicateError::BoundKind);
            }
            v.ordinal().ok_or(PredicateError::BoundOutOfRange)
        };
        let (lo, hi) = match self {
            Predicate::GreaterOrEqual(v) => (ordinal(v)?, last_ordinal(kind)),
            Predicate::LessOrEqual(v) => (1, ordinal(v)?),
            Predicate::AgeAtLeast { years, on } => {
                if kind != AttributeKind::Date {
                    return Err(PredicateError::AgeNeedsDate);
                }
                let cutoff = age_cutoff(*on, *years).ok_or(PredicateError::BoundOutOfRange)?;
                (1, ordinal(&AttributeValue::Date(cutoff))?)
            }
        };
        debug_assert!(lo >= 1);
        Ok((lo, hi))
    }

    /// Whether `value` satisfies the predicate (the wallet's check before it
    /// tries to prove).
    pub fn holds_for(&self, value: &AttributeValue) -> bool {
        let (Some(kind), Some(x)) = (value.kind(), value.ordinal()) else {
            return false;
        };
        matches!(self.bounds(kind), Ok((lo, hi)) if lo <= x && x <= hi)
    }
}

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

/// Proves `lo <= x <= hi` for `C = g^x · H^t`.
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

/// The Bulletproof without the range check: a false statement yields a
/// proof that does not verify. Only for building invalid test vectors.
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

/// Verifies a range proof for `C` and `[lo, hi]` (public data).
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
    let v1 = commitment - g() * Scalar::from(lo);
    let v2 = g() * Scalar::from(hi) - commitment;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::blinding_generator;
    use rand_core::OsRng;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
    }

    #[test]
    fn age_cutoff_handles_leap_days() {
        assert_eq!(age_cutoff(date(2026, 11, 25), 18), Some(date(2008, 11, 25)));
        assert_eq!(age_cutoff(date(2028, 2, 29), 18), Some(date(2010, 2, 28)));
        let p = Predicate::AgeAtLeast {
            years: 18,
            on: date(2026, 2, 28),
        };
        // Born 2008-02-29: 18 on 2026-03-01, not yet on 2026-02-28.
        assert!(!p.holds_for(&AttributeValue::Date(date(2008, 2, 29))));
        assert!(p.holds_for(&AttributeValue::Date(date(2008, 2, 28))));
    }

    #[test]
    fn rule7_absent_never_passes() {
        let p = Predicate::LessOrEqual(AttributeValue::Integer(100));
        assert!(!p.holds_for(&AttributeValue::Absent));
        let (lo, _) = p.bounds(AttributeKind::Integer).unwrap();
        assert!(lo >= 1);
        // A commitment to 0 cannot be proven in range.
        let t = Scalar::random(&mut OsRng);
        let c = blinding_generator() * t;
        assert_eq!(
            prove_range(&mut OsRng, &[0; 64], &c, 0, &t, (lo, 5)),
            Err(PredicateError::False)
        );
    }

    #[test]
    fn range_proof_round_trip_and_binding() {
        let x = 40u64;
        let t = Scalar::random(&mut OsRng);
        let c = g() * Scalar::from(x) + blinding_generator() * t;
        let proof = prove_range(&mut OsRng, &[1; 64], &c, x, &t, (18, 200)).unwrap();
        assert_eq!(verify_range(&[1; 64], &c, (18, 200), &proof), Ok(()));
        // Moved to another bound, context or commitment: refused.
        assert!(verify_range(&[1; 64], &c, (19, 200), &proof).is_err());
        assert!(verify_range(&[2; 64], &c, (18, 200), &proof).is_err());
        assert!(verify_range(&[1; 64], &(c + g()), (18, 200), &proof).is_err());
        assert_eq!(
            verify_range(&[1; 64], &c, (18, 200), &proof[1..]),
            Err(PredicateError::Malformed)
        );
    }

    #[test]
    fn bounds_check_kinds() {
        let ge = Predicate::GreaterOrEqual(AttributeValue::Integer(3));
        assert_eq!(
            ge.bounds(AttributeKind::Date),
            Err(PredicateError::BoundKind)
        );
        assert!(matches!(
            ge.bounds(AttributeKind::String),
            Err(PredicateError::UnorderedKind(_))
        ));
        let age = Predicate::AgeAtLeast {
            years: 18,
            on: date(2026, 1, 1),
        };
        assert_eq!(
            age.bounds(AttributeKind::Integer),
            Err(PredicateError::AgeNeedsDate)
        );
    }
}
