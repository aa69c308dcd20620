//! Precomputed multiples of issuance's fixed bases.
//!
//! Per issuer key (cached by key id, like the key's generators):
//! - a variable-time precomputation of `g_1..g_n, gt`, for `gamma` (public
//!   values only: the attribute values, `xt` and `hd` are known to whoever
//!   computes `gamma`);
//! - a constant-time table of `g0`, built on first use, for the wallet's
//!   `g0^b1` (`b1` is secret).
//!
//! Per session or batch: [`FixedBase`], a point that is multiplied by many
//! secret scalars (the issuer's `gamma^w_k`, the wallet's `gamma^alpha`,
//! `sz^b1`, ...). Building a [`RistrettoBasepointTable`] costs about as much
//! as [`TABLE_MIN_USES`] constant-time multiplications save (it converts
//! 256 points to affine form, one field inversion each), so the table is
//! built only when the point is used at least that often. Both ways are
//! constant time in the scalar: the table's lookups select in constant
//! time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use curve25519_dalek::ristretto::{
    RistrettoBasepointTable, RistrettoPoint, VartimeRistrettoPrecomputation,
};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimePrecomputedMultiscalarMul;

use crate::keys::{IssuerPublicKey, KeyId};

/// Multiplications by one point from which a [`RistrettoBasepointTable`]
/// of it pays for itself. Measured with
/// `cargo bench -p wallet-core --bench credential -- "baseline|issuance/fixed_base"`:
/// building the table (`table_create`) costs about as much as this many
/// constant-time variable-base multiplications (the baseline) save when
/// they become table multiplications (`table_mul`).
pub(crate) const TABLE_MIN_USES: usize = 24;

/// A point multiplied by secret scalars: through a table when it is used
/// at least [`TABLE_MIN_USES`] times, else directly. Constant time in the
/// scalar either way.
pub(crate) enum FixedBase {
    /// Few uses: plain constant-time variable-base multiplication.
    Point(RistrettoPoint),
    /// Many uses: a constant-time table of multiples.
    Table(Box<RistrettoBasepointTable>),
}

impl FixedBase {
    /// `point`, to be multiplied `uses` times.
    pub(crate) fn new(point: RistrettoPoint, uses: usize) -> Self {
        if uses >= TABLE_MIN_USES {
            FixedBase::Table(Box::new(RistrettoBasepointTable::create(&point)))
        } else {
            FixedBase::Point(point)
        }
    }

    /// `point^s`, constant time in `s`.
    pub(crate) fn mul(&self, s: &Scalar) -> RistrettoPoint {
        match self {
            FixedBase::Point(p) => p * s,
            FixedBase::Table(t) => &**t * s,
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
    g0_table: OnceLock<RistrettoBasepointTable>,
}

impl KeyTables {
    /// The tables of `key` (whose id the caller computed), from the cache or
    /// built now.
    pub(crate) fn of(key: &IssuerPublicKey, key_id: &KeyId) -> Arc<KeyTables> {
        static CACHE: OnceLock<Mutex<HashMap<KeyId, Arc<KeyTables>>>> = OnceLock::new();
        // Only keys a caller already holds reach this (its pinned scheme's
        // or its own); the bound keeps memory flat regardless (a table set
        // is about 8 KiB per generator plus 30 KiB for g0 once used).
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
            .get_or_init(|| RistrettoBasepointTable::create(&self.g0))
            * s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::traits::Identity;
    use rand_core::OsRng;

    /// The threshold decides table or not, and both give the same points
    /// (not a timing test: the break-even is measured in the bench).
    #[test]
    fn fixed_base_table_from_the_break_even_on_and_same_results() {
        let p = RistrettoPoint::random(&mut OsRng);
        let below = FixedBase::new(p, TABLE_MIN_USES - 1);
        let at = FixedBase::new(p, TABLE_MIN_USES);
        assert!(!below.is_table());
        assert!(at.is_table());
        assert!(FixedBase::new(p, 1).mul(&Scalar::ONE) == p);
        for _ in 0..8 {
            let s = Scalar::random(&mut OsRng);
            assert_eq!(below.mul(&s), p * s);
            assert_eq!(at.mul(&s), p * s);
        }
        assert_eq!(at.mul(&Scalar::ZERO), RistrettoPoint::identity());
        assert_eq!(at.mul(&-Scalar::ONE), -p);
    }
}
