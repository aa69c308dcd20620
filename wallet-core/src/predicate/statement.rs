//! The range statement a predicate asks of a committed attribute (v2).
//!
//! A predicate on an attribute of kind `K` becomes ONE one-sided statement
//! about the commitment `C = g^x · H^t` to the attribute's ordinal `x`:
//!
//! ```text
//! AtLeast(lo):  V = C · g^-lo   commits to x - lo  (blinding  t)
//! AtMost(hi):   V = g^hi · C^-1 commits to hi - x  (blinding -t)
//! the range proof shows the value of V in [0, 2^n)
//! ```
//!
//! Issued ordinals of a date or integer position lie in `[0, LAST(K)]`
//! (`0` = absent), so `x - lo ∈ [0, 2^n)` with `lo ≥ 1` gives
//! `x ∈ [lo, LAST(K)]`, and `hi - x ∈ [0, 2^n)` gives `x ∈ [0, hi]`; the
//! presentation's presence proof (`x ≠ 0`) removes `0` from the latter
//! (Rule 7, `docs/protocol.md` §13.2). A bound of `0` is refused: it would
//! let an absent attribute pass an at-least statement.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

use crate::encoding::AttributeKind;

/// Most statements in one range proof: the generators' party capacity.
pub const MAX_RANGE_STATEMENTS: usize = 16;

/// Bits of the range proof for a date attribute: every date ordinal is at
/// most `LAST(date) = 2,994,988 < 2^22`.
pub const DATE_BITS: u32 = 32;
/// Bits of the range proof for an integer attribute: ordinals up to
/// `LAST(integer) = 2^63 + 1`.
pub const INTEGER_BITS: u32 = 64;

/// The bit length of the range proof for a predicate on `kind` (`None` for
/// kinds without an order).
pub fn bits_for(kind: AttributeKind) -> Option<u32> {
    match kind {
        AttributeKind::Date => Some(DATE_BITS),
        AttributeKind::Integer => Some(INTEGER_BITS),
        AttributeKind::String | AttributeKind::Boolean => None,
    }
}

/// The one-sided form of a statement, with its bound (an ordinal, `≥ 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// `x ≥ lo`: the range proof is on `x - lo`.
    AtLeast(u64),
    /// `x ≤ hi`: the range proof is on `hi - x`; the presentation adds the
    /// presence proof `x ≠ 0`.
    AtMost(u64),
}

impl Form {
    /// The form's code in transcripts and hashes: `0` at least, `1` at most.
    pub fn code(self) -> u64 {
        match self {
            Form::AtLeast(_) => 0,
            Form::AtMost(_) => 1,
        }
    }

    /// The bound `lo` or `hi`.
    pub fn bound(self) -> u64 {
        match self {
            Form::AtLeast(b) | Form::AtMost(b) => b,
        }
    }

    /// Whether the form needs the presentation's presence proof (`x ≠ 0`):
    /// the at-most forms, whose range alone admits `x = 0`.
    pub fn needs_presence_proof(self) -> bool {
        matches!(self, Form::AtMost(_))
    }

    /// The value the range proof shows in `[0, 2^bits)`: `x - lo` or
    /// `hi - x`, or `None` when the statement does not hold for `x` (this
    /// includes `x = 0`, an absent attribute, for both forms: Rule 7) or
    /// the bound is `0`.
    pub fn proven_value(self, x: u64, bits: u32) -> Option<u64> {
        if x == 0 || self.bound() == 0 {
            return None;
        }
        let v = match self {
            Form::AtLeast(lo) => x.checked_sub(lo)?,
            Form::AtMost(hi) => hi.checked_sub(x)?,
        };
        (bits >= 64 || v >> bits == 0).then_some(v)
    }
}

/// One statement of an aggregated range proof: a commitment `C`, the form
/// with its bound and the bit length. All public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeStatement {
    /// `C = g^x · H^t`.
    pub commitment: RistrettoPoint,
    /// `C`'s 32-byte encoding as sent (hashed into the transcript without
    /// compressing `C` again).
    pub encoding: CompressedRistretto,
    /// At least `lo` or at most `hi`.
    pub form: Form,
    /// 32 (date) or 64 (integer), from [`bits_for`].
    pub bits: u32,
}

impl RangeStatement {
    /// A statement about `commitment` (compresses it once for the
    /// transcript; the prover's side).
    pub fn new(commitment: RistrettoPoint, (form, bits): (Form, u32)) -> Self {
        RangeStatement {
            commitment,
            encoding: commitment.compress(),
            form,
            bits,
        }
    }

    /// A statement about a commitment decoded from `encoding` (the
    /// verifier's side: `commitment` must be `encoding` decoded).
    pub fn from_wire(
        encoding: [u8; 32],
        commitment: RistrettoPoint,
        (form, bits): (Form, u32),
    ) -> Self {
        debug_assert_eq!(commitment.compress().to_bytes(), encoding);
        RangeStatement {
            commitment,
            encoding: CompressedRistretto(encoding),
            form,
            bits,
        }
    }

    /// The range proof's committed value `V` (public data: variable time is
    /// fine; `g^bound` through the basepoint table):
    /// `AtLeast(lo)`: `V = C · g^-lo`; `AtMost(hi)`: `V = g^hi · C^-1`.
    pub fn committed_value(&self) -> RistrettoPoint {
        let g_bound = RistrettoPoint::mul_base(&Scalar::from(self.form.bound()));
        match self.form {
            Form::AtLeast(_) => self.commitment - g_bound,
            Form::AtMost(_) => g_bound - self.commitment,
        }
    }

    /// The blinding of `V` for the blinding `t` of `C`: `t` or `-t`.
    pub(crate) fn value_blinding(&self, t: &Scalar) -> Scalar {
        match self.form {
            Form::AtLeast(_) => *t,
            Form::AtMost(_) => -t,
        }
    }
}
