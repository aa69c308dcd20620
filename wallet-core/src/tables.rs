//! Precomputed multiples of issuance's fixed bases.
//!
//! Per issuer key (cached by key id, like the key's generators):
//! - a variable-time precomputation of `g_1..g_n, gt`, for `gamma` (public
//!   values only: the attribute values, `xt` and `hd` are known to whoever
//!   computes `gamma`);
//! - a constant-time [`FixedBaseTable`] of `g0`, built on first use, for the
//!   wallet's `g0^b1` (`b1` is secret).
//!
//! Per session or batch: [`FixedBase`], a point that is multiplied by many
//! secret scalars (the issuer's `gamma^w_k`, the wallet's `gamma^alpha`
//! and `sz^alpha`): through a [`FixedBaseTable`] when it is used at least
//! [`TABLE_MIN_USES`] times, else by plain constant-time multiplication.
//!
//! Why not curve25519-dalek's `RistrettoBasepointTable`: its
//! multiplications are faster (0.43 of the baseline against 0.6-0.9 here,
//! measured), but building one converts its 256 points to affine form, one
//! field inversion each, and costs about 30 variable-base multiplications
//! (`issuance/fixed_base/dalek_table_create`), so a table of `gamma` would
//! pay only from about 60 uses, beyond the default batch of 20. The table
//! here keeps the same 256 multiples in extended coordinates, built with
//! additions only (about 2-3 multiplications' worth).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use curve25519_dalek::ristretto::{RistrettoPoint, VartimeRistrettoPrecomputation};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimePrecomputedMultiscalarMul};
use subtle::{ConditionallyNegatable, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::keys::{IssuerPublicKey, KeyId};

/// Multiplications by one point from which a [`FixedBaseTable`] of it pays
/// for itself: `table_create / (baseline - table_mul)`, measured with
/// `cargo bench -p wallet-core --bench credential -- "baseline|issuance"`.
/// Three runs on the shared 2-core machine (load average 11-13) gave 5.4,
/// 8.2 and 28 uses (the table's lookups suffer more from a loaded cache
/// than the baseline does); 8 is the median. Either way a wrong guess costs
/// a few multiplications per batch, never correctness: both paths are
/// constant time and give the same points.
pub const TABLE_MIN_USES: usize = 8;

/// A constant-time table of multiples of one point `P`: for `i` in
/// `0..32` and `j` in `1..=8`, `j · 256^i · P`. `P^s` then takes 64 table
/// lookups and additions and 4 doublings (the radix-16 method of
/// curve25519-dalek's base-point tables, on extended coordinates).
///
/// Constant time in `s`: `s` is split into 64 signed radix-16 digits in
/// `[-8, 8)` by arithmetic without branches; each lookup reads all 8
/// entries of its row and keeps one by constant-time selection, then
/// negates by constant-time selection; the additions use the complete
/// Edwards formulas. Only the point (public here: `gd`, `g0`, `gamma`,
/// `sz`) decides what is in the table.
pub struct FixedBaseTable {
    rows: Vec<[RistrettoPoint; 8]>,
}

impl FixedBaseTable {
    /// The table of `point` (384 point additions).
    pub fn new(point: &RistrettoPoint) -> Self {
        let mut rows = Vec::with_capacity(32);
        let mut base = *point;
        for _ in 0..32 {
            let mut row = [base; 8];
            for j in 1..8 {
                row[j] = row[j - 1] + base;
            }
            // 256 · base = 2^4 · (2 · (8 · base)).
            base = row[7] + row[7];
            for _ in 0..4 {
                base = base + base;
            }
            rows.push(row);
        }
        FixedBaseTable { rows }
    }

    /// `P^s`, constant time in `s`.
    pub fn mul(&self, s: &Scalar) -> RistrettoPoint {
        let digits = radix_16(s);
        let mut acc = RistrettoPoint::identity();
        // Σ_i d_i·16^i·P = 16 · Σ_{i odd} d_i·256^((i-1)/2)·P + Σ_{i even} d_i·256^(i/2)·P.
        for i in (1..64).step_by(2) {
            acc += select(&self.rows[i / 2], digits[i]);
        }
        for _ in 0..4 {
            acc = acc + acc;
        }
        for i in (0..64).step_by(2) {
            acc += select(&self.rows[i / 2], digits[i]);
        }
        acc
    }
}

/// `d · row[0]` for `d` in `[-8, 8]`, reading every entry (constant time).
fn select(row: &[RistrettoPoint; 8], d: i8) -> RistrettoPoint {
    // |d| and the sign without branches.
    let mask = d >> 7;
    let abs = ((d + mask) ^ mask) as u8;
    let mut t = RistrettoPoint::identity();
    for (j, entry) in (1u8..).zip(row) {
        t.conditional_assign(entry, abs.ct_eq(&j));
    }
    t.conditional_negate(((d as u8) >> 7).into());
    t
}

/// The 64 signed radix-16 digits `d_i` in `[-8, 8)` (the last in `[-8, 8]`)
/// with `s = Σ d_i·16^i`, computed without branches. A canonical scalar is
/// below `2^253`, so the last carry fits. Secret: wiped on drop.
fn radix_16(s: &Scalar) -> Zeroizing<[i8; 64]> {
    let bytes = s.as_bytes();
    let mut d = Zeroizing::new([0i8; 64]);
    for (i, b) in bytes.iter().enumerate() {
        d[2 * i] = (b & 15) as i8;
        d[2 * i + 1] = ((b >> 4) & 15) as i8;
    }
    for i in 0..63 {
        let carry = (d[i] + 8) >> 4;
        d[i] -= carry << 4;
        d[i + 1] += carry;
    }
    d
}

/// A point multiplied by secret scalars: through a table when it is used
/// at least [`TABLE_MIN_USES`] times, else directly. Constant time in the
/// scalar either way.
pub(crate) enum FixedBase {
    /// Few uses: plain constant-time variable-base multiplication.
    Point(RistrettoPoint),
    /// Many uses: a constant-time table of multiples.
    Table(Box<FixedBaseTable>),
}

impl FixedBase {
    /// `point`, to be multiplied `uses` times.
    pub(crate) fn new(point: RistrettoPoint, uses: usize) -> Self {
        if uses >= TABLE_MIN_USES {
            FixedBase::Table(Box::new(FixedBaseTable::new(&point)))
        } else {
            FixedBase::Point(point)
        }
    }

    /// `point^s`, constant time in `s`.
    pub(crate) fn mul(&self, s: &Scalar) -> RistrettoPoint {
        match self {
            FixedBase::Point(p) => p * s,
            FixedBase::Table(t) => t.mul(s),
        }
    }

    /// Whether a table was built (for tests of the threshold).
    #[cfg(test)]
    pub(crate) fn is_table(&self) -> bool {
        matches!(self, FixedBase::Table(_))
    }
}

/// What issuance precomputes once per issuer key.
pub(crate) struct KeyTables {
    /// `g_1..g_n, gt`, in this order.
    gamma_bases: VartimeRistrettoPrecomputation,
    g0: RistrettoPoint,
    /// Built on the first wallet use: the issuer never needs it.
    g0_table: OnceLock<FixedBaseTable>,
}

impl KeyTables {
    /// The tables of `key` (whose id the caller computed), from the cache or
    /// built now.
    pub(crate) fn of(key: &IssuerPublicKey, key_id: &KeyId) -> Arc<KeyTables> {
        static CACHE: OnceLock<Mutex<HashMap<KeyId, Arc<KeyTables>>>> = OnceLock::new();
        // Only keys a caller already holds reach this (its pinned scheme's
        // or its own); the bound keeps memory flat regardless (a table set
        // is about 8 KiB per generator plus 40 KiB for g0 once used).
        const MAX_CACHED: usize = 64;
        let cache = CACHE.get_or_init(Default::default);
        if let Ok(map) = cache.lock() {
            if let Some(t) = map.get(key_id) {
                return Arc::clone(t);
            }
        }
        let gens = key.generators();
        let built = Arc::new(KeyTables {
            gamma_bases: VartimeRistrettoPrecomputation::new(
                gens.attributes.iter().chain([&gens.gt]),
            ),
            g0: key.g0,
            g0_table: OnceLock::new(),
        });
        if let Ok(mut map) = cache.lock() {
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            map.insert(*key_id, Arc::clone(&built));
        }
        built
    }

    /// `g_1^x_1 ··· g_n^x_n · gt^xt` for `scalars = [x_1, .., x_n, xt]`,
    /// variable time: public values only.
    pub(crate) fn gamma_part(&self, scalars: impl IntoIterator<Item = Scalar>) -> RistrettoPoint {
        self.gamma_bases.vartime_multiscalar_mul(scalars)
    }

    /// `g0^s`, constant time in `s` (a table lookup).
    pub(crate) fn g0_mul(&self, s: &Scalar) -> RistrettoPoint {
        self.g0_table
            .get_or_init(|| FixedBaseTable::new(&self.g0))
            .mul(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    /// The table multiplies like `RistrettoPoint * Scalar`, for random
    /// scalars and at the edges of the digit recoding.
    #[test]
    fn table_multiplies_like_the_group() {
        let p = RistrettoPoint::random(&mut OsRng);
        let t = FixedBaseTable::new(&p);
        let mut edges = vec![
            Scalar::ZERO,
            Scalar::ONE,
            -Scalar::ONE,
            Scalar::from(7u64),
            Scalar::from(8u64),
            Scalar::from(9u64),
            Scalar::from(15u64),
            Scalar::from(16u64),
            Scalar::from(u64::MAX),
            Scalar::from(u128::MAX),
            // 2^252, and bytes of all 8s and all Fs where canonical.
            Scalar::from_bytes_mod_order({
                let mut b = [0u8; 32];
                b[31] = 0x10;
                b
            }),
            Scalar::from_bytes_mod_order([0x88; 32]),
            Scalar::from_bytes_mod_order([0xff; 32]),
            Scalar::from_bytes_mod_order([0x77; 32]),
        ];
        edges.extend((0..64).map(|_| Scalar::random(&mut OsRng)));
        for s in edges {
            assert_eq!(t.mul(&s), p * s, "{s:?}");
        }
        let id = FixedBaseTable::new(&RistrettoPoint::identity());
        assert_eq!(
            id.mul(&Scalar::random(&mut OsRng)),
            RistrettoPoint::identity()
        );
    }

    #[test]
    fn digits_recode_the_scalar() {
        for s in [
            Scalar::ZERO,
            -Scalar::ONE,
            Scalar::from_bytes_mod_order([0x88; 32]),
            Scalar::random(&mut OsRng),
        ] {
            let d = radix_16(&s);
            assert!(d[..63].iter().all(|d| (-8..8).contains(d)));
            assert!((-8..=8).contains(&d[63]));
            let back = d.iter().rev().fold(Scalar::ZERO, |acc, &d| {
                let digit = Scalar::from(d.unsigned_abs() as u64);
                acc * Scalar::from(16u64) + if d < 0 { -digit } else { digit }
            });
            assert_eq!(back, s);
        }
    }

    /// The threshold decides table or not, and both give the same points
    /// (not a timing test: the break-even is measured in the bench).
    #[test]
    fn fixed_base_table_from_the_break_even_on_and_same_results() {
        let p = RistrettoPoint::random(&mut OsRng);
        let below = FixedBase::new(p, TABLE_MIN_USES - 1);
        let at = FixedBase::new(p, TABLE_MIN_USES);
        assert!(!below.is_table());
        assert!(at.is_table());
        for _ in 0..8 {
            let s = Scalar::random(&mut OsRng);
            assert_eq!(below.mul(&s), p * s);
            assert_eq!(at.mul(&s), p * s);
        }
    }
}
