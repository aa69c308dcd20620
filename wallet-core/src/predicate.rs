//! Predicates on hidden integer and date attributes, with range proofs.
//!
//! A predicate is proven on a Pedersen commitment `C = g^x · H^t` to the
//! attribute's ordinal `x`, tied to the token by the presentation's
//! Schnorr proof (`AC = g^wi · H^wt`, `rt = -c·t + wt`,
//! check `AC == C^c · g^ri · H^rt`, see [`crate::presentation`]).
//!
//! Protocol v2 ([`Predicate::statement`], `predicate/statement.rs`,
//! `predicate/range.rs`): each predicate is ONE one-sided statement, sized
//! to its kind (date 32 bits, integer 64 bits), and all statements of a
//! presentation share ONE aggregated Bulletproof:
//!
//! ```text
//! ge v        AtLeast(lo = ord(v))       V = C · g^-lo    commits to x - lo  (blinding  t)
//! le v        AtMost(hi = ord(v))        V = g^hi · C^-1  commits to hi - x  (blinding -t)
//! age y on D  AtMost(hi = ord(cutoff))   (as le)
//! ```
//!
//! Rule 7 (an absent attribute, `x = 0`, never passes): at-least bounds are
//! `≥ 1`, so `x ≥ lo ≥ 1` excludes `0`; at-most ranges admit `0`, so the
//! presentation adds a presence proof (`x ≠ 0`, `docs/protocol.md` §13.5).
//! A bound of `0` is refused everywhere.

mod equation;
mod range;
mod statement;

#[cfg(any(test, feature = "attack-vectors"))]
pub use range::prove_ranges_unchecked;
pub use range::{prove_ranges, range_proof_len, verify_ranges, RANGE_PROOF_LABEL};
pub use statement::{
    bits_for, Form, RangeStatement, DATE_BITS, INTEGER_BITS, MAX_RANGE_STATEMENTS,
};

use serde::{Deserialize, Serialize};
use time::Date;
#[cfg(test)]
use time::Month;

#[cfg(test)]
use crate::encoding::MAX_INTEGER;
use crate::encoding::{iso_date, AttributeKind, AttributeValue};

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

/// `LAST(K)`: the largest ordinal an issued value of kind `K` can have (the
/// one-sided statements' soundness rests on it, §13.6; checked in tests).
#[cfg(test)]
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
    /// The one-sided statement (form and bound) and the range proof's bit
    /// length this predicate asks of an attribute of `kind` (v2, §13.2):
    ///
    /// ```text
    /// ge v        → AtLeast(ord(v))
    /// le v        → AtMost(ord(v))
    /// age y on D  → AtMost(ord(cutoff(D, y)))     (date only)
    /// bits: date 32, integer 64
    /// ```
    ///
    /// A bound of `0` is refused (`BoundOutOfRange`, Rule 7); ordinals of
    /// valid values are `≥ 1`, so only a bug could produce one.
    pub fn statement(&self, kind: AttributeKind) -> Result<(Form, u32), PredicateError> {
        let bits = bits_for(kind).ok_or(PredicateError::UnorderedKind(kind.as_str()))?;
        let ordinal = |v: &AttributeValue| -> Result<u64, PredicateError> {
            if v.kind() != Some(kind) {
                return Err(PredicateError::BoundKind);
            }
            v.ordinal().ok_or(PredicateError::BoundOutOfRange)
        };
        let form = match self {
            Predicate::GreaterOrEqual(v) => Form::AtLeast(ordinal(v)?),
            Predicate::LessOrEqual(v) => Form::AtMost(ordinal(v)?),
            Predicate::AgeAtLeast { years, on } => {
                if kind != AttributeKind::Date {
                    return Err(PredicateError::AgeNeedsDate);
                }
                let cutoff = age_cutoff(*on, *years).ok_or(PredicateError::BoundOutOfRange)?;
                Form::AtMost(ordinal(&AttributeValue::Date(cutoff))?)
            }
        };
        if form.bound() == 0 {
            return Err(PredicateError::BoundOutOfRange);
        }
        Ok((form, bits))
    }

    /// Whether `value` satisfies the predicate (the wallet's check before it
    /// tries to prove). An absent value never does (Rule 7).
    pub fn holds_for(&self, value: &AttributeValue) -> bool {
        let (Some(kind), Some(x)) = (value.kind(), value.ordinal()) else {
            return false;
        };
        matches!(self.statement(kind), Ok((form, bits)) if form.proven_value(x, bits).is_some())
    }
}

#[cfg(test)]
mod tests;
