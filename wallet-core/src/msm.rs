//! Group equations folded into one multi-scalar multiplication.
//!
//! Every check of a token or presentation is an equation `Σ s_k·P_k == 1`
//! over public points. [`Equations`] collects many of them, each multiplied
//! by its own weight, and decides them all with ONE variable-time
//! multi-scalar multiplication:
//!
//! ```text
//! accept  iff  Σ_e rho_e · (Σ_k s_{e,k} · P_{e,k}) == 1
//! ```
//!
//! The first equation has weight 1, every further one an independent
//! uniformly random 128-bit weight from the operating system. If some
//! equation does not hold, the weighted sum is the identity for at most one
//! value of that equation's weight given all the others (the sum is affine
//! in it, with a non-zero slope since the group has prime order), so a false
//! equation passes with probability at most 2^-128 (docs/protocol.md §10.4).
//! Weights are public and nothing here is secret: variable time is fine.
//!
//! Bases are either static (g, gd, H and each issuer key's g0, gt, g_i, with
//! precomputed tables; coefficients of the same base are summed before the
//! multiplication) or dynamic (points from the wire).

use std::sync::{Arc, OnceLock};

use curve25519_dalek::ristretto::{RistrettoPoint, VartimeRistrettoPrecomputation};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{
    IsIdentity, VartimeMultiscalarMul, VartimePrecomputedMultiscalarMul,
};
use rand_core::{OsRng, RngCore};

use crate::group::{blinding_generator, g, holder_generator};

/// Number of global static bases: g, gd, H.
const GLOBALS: usize = 3;

/// Above this many dynamic points, the dynamic part runs as its own
/// (Pippenger) multiplication instead of inside the precomputed Straus one.
const PIPPENGER_FROM: usize = 190;

/// The precomputed bases of one issuer key: `[g, gd, H, g0, gt, g1..gn]`,
/// made once per key and kept with its cached generators
/// ([`crate::keys::IssuerPublicKey::table`]).
pub struct KeyTable {
    points: Vec<RistrettoPoint>,
    table: VartimeRistrettoPrecomputation,
}

impl KeyTable {
    /// The table for `g0`, `gt` and the attribute generators.
    pub(crate) fn new(
        g0: RistrettoPoint,
        gt: RistrettoPoint,
        attributes: &[RistrettoPoint],
    ) -> Self {
        let mut points = Vec::with_capacity(GLOBALS + 2 + attributes.len());
        points.extend([g(), holder_generator(), blinding_generator(), g0, gt]);
        points.extend_from_slice(attributes);
        let table = VartimeRistrettoPrecomputation::new(points.iter());
        KeyTable { points, table }
    }

    /// `g0`.
    pub(crate) fn g0(&self) -> &RistrettoPoint {
        &self.points[GLOBALS]
    }

    /// Number of attribute generators.
    pub(crate) fn attribute_count(&self) -> usize {
        self.points.len() - GLOBALS - 2
    }
}

impl std::fmt::Debug for KeyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyTable")
            .field("points", &self.points.len())
            .finish_non_exhaustive()
    }
}

/// The table of the global bases `[g, gd, H]` alone.
fn global_table() -> &'static VartimeRistrettoPrecomputation {
    static T: OnceLock<VartimeRistrettoPrecomputation> = OnceLock::new();
    T.get_or_init(|| {
        VartimeRistrettoPrecomputation::new([g(), holder_generator(), blinding_generator()].iter())
    })
}

/// A base of a term.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Base {
    /// The generator `g`.
    G,
    /// The holder generator `gd`.
    Gd,
    /// The Pedersen blinding generator `H`.
    H,
    /// A static base of a key registered with [`Equations::key`]: index 0 is
    /// `g0`, 1 is `gt`, `2 + i` is `g_(i+1)` (position `i`).
    Key { slot: usize, index: usize },
    /// A point from the wire.
    Point(RistrettoPoint),
}

/// A key registered with an accumulator: names its static bases.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySlot(usize);

impl KeySlot {
    /// `g0`.
    pub(crate) fn g0(self) -> Base {
        Base::Key {
            slot: self.0,
            index: 0,
        }
    }
    /// `gt`.
    pub(crate) fn gt(self) -> Base {
        Base::Key {
            slot: self.0,
            index: 1,
        }
    }
    /// `g_(i+1)`, the generator of attribute position `i` (0-based).
    pub(crate) fn attribute(self, i: usize) -> Base {
        Base::Key {
            slot: self.0,
            index: 2 + i,
        }
    }
}

/// One equation `Σ s_k · P_k == 1`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Equation {
    terms: Vec<(Scalar, Base)>,
}

impl Equation {
    /// An equation with room for `n` terms.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Equation {
            terms: Vec::with_capacity(n),
        }
    }

    /// Adds the term `s · base`.
    pub(crate) fn term(&mut self, s: Scalar, base: Base) -> &mut Self {
        self.terms.push((s, base));
        self
    }
}

/// A fresh weight: uniform in `[0, 2^128)` from the operating system.
pub(crate) fn random_weight() -> Scalar {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    Scalar::from(u128::from_le_bytes(b))
}

/// The accumulator (see the module docs).
#[derive(Default)]
pub(crate) struct Equations {
    globals: [Scalar; GLOBALS],
    keys: Vec<(Arc<KeyTable>, Vec<Scalar>)>,
    scalars: Vec<Scalar>,
    points: Vec<RistrettoPoint>,
    count: usize,
}

impl Equations {
    /// An empty accumulator (trivially true).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Registers `table` (or finds it registered) and returns its slot.
    pub(crate) fn key(&mut self, table: &Arc<KeyTable>) -> KeySlot {
        if let Some(i) = self.keys.iter().position(|(t, _)| Arc::ptr_eq(t, table)) {
            return KeySlot(i);
        }
        let n = table.points.len() - GLOBALS;
        self.keys.push((Arc::clone(table), vec![Scalar::ZERO; n]));
        KeySlot(self.keys.len() - 1)
    }

    /// Number of equations added.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Adds `weight · eq`.
    pub(crate) fn add(&mut self, eq: &Equation, weight: &Scalar) {
        self.count += 1;
        for (s, base) in &eq.terms {
            let s = weight * s;
            match base {
                Base::G => self.globals[0] += s,
                Base::Gd => self.globals[1] += s,
                Base::H => self.globals[2] += s,
                Base::Key { slot, index } => {
                    // Slots come from `key()` of this accumulator; a base
                    // that does not resolve (a caller bug) adds a stray `g`,
                    // so the check fails rather than passes wrongly.
                    match self
                        .keys
                        .get_mut(*slot)
                        .and_then(|(_, c)| c.get_mut(*index))
                    {
                        Some(c) => *c += s,
                        None => {
                            self.scalars.push(Scalar::ONE);
                            self.points.push(g());
                        }
                    }
                }
                Base::Point(p) => {
                    self.scalars.push(s);
                    self.points.push(*p);
                }
            }
        }
    }

    /// Adds `eq` with weight 1 if it is the first equation, otherwise a
    /// fresh random 128-bit weight.
    pub(crate) fn push(&mut self, eq: &Equation) {
        let w = if self.count == 0 {
            Scalar::ONE
        } else {
            random_weight()
        };
        self.add(eq, &w);
    }

    /// Appends every equation of `other` (already weighted) to `self`:
    /// batch verification gives each item's equations independent weights
    /// and folds them here.
    pub(crate) fn absorb(&mut self, other: Equations, weight: &Scalar) {
        self.count += other.count;
        for (a, b) in self.globals.iter_mut().zip(other.globals) {
            *a += weight * b;
        }
        for (table, coefficients) in other.keys {
            let slot = self.key(&table).0;
            for (a, b) in self.keys[slot].1.iter_mut().zip(coefficients) {
                *a += weight * b;
            }
        }
        self.scalars
            .extend(other.scalars.into_iter().map(|s| weight * s));
        self.points.extend(other.points);
    }

    /// Whether the weighted sum of every equation is the identity: one
    /// multi-scalar multiplication (the largest key's table carries g, gd,
    /// H; the bases of any other key enter as dynamic points).
    pub(crate) fn is_identity(&self) -> bool {
        let mut scalars = self.scalars.clone();
        let mut points = self.points.clone();
        let primary = self
            .keys
            .iter()
            .enumerate()
            .max_by_key(|(_, (t, _))| t.points.len())
            .map(|(i, _)| i);
        for (i, (table, coefficients)) in self.keys.iter().enumerate() {
            if Some(i) != primary {
                scalars.extend_from_slice(coefficients);
                points.extend_from_slice(&table.points[GLOBALS..]);
            }
        }
        let (table, statics): (&VartimeRistrettoPrecomputation, Vec<Scalar>) = match primary {
            Some(i) => {
                let (t, c) = &self.keys[i];
                let mut s = self.globals.to_vec();
                s.extend_from_slice(c);
                (&t.table, s)
            }
            None => (global_table(), self.globals.to_vec()),
        };
        let sum = if points.len() >= PIPPENGER_FROM {
            table.vartime_multiscalar_mul(&statics)
                + RistrettoPoint::vartime_multiscalar_mul(&scalars, &points)
        } else {
            table.vartime_mixed_multiscalar_mul(&statics, &scalars, &points)
        };
        sum.is_identity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Arc<KeyTable> {
        let p = |k: u64| RistrettoPoint::mul_base(&Scalar::from(k + 11));
        Arc::new(KeyTable::new(p(0), p(1), &[p(2), p(3)]))
    }

    #[test]
    fn true_equations_pass_and_a_false_one_fails() {
        let t = table();
        let x = Scalar::from(7u64);
        let mut acc = Equations::new();
        let slot = acc.key(&t);
        // g0^x · (g0^x)^-1 == 1, with the second as a dynamic point.
        let mut e = Equation::default();
        e.term(x, slot.g0())
            .term(-Scalar::ONE, Base::Point(t.g0() * x));
        acc.push(&e);
        // g^x · H^x · g^-x · H^-x == 1 over static and dynamic bases.
        let mut e2 = Equation::default();
        e2.term(x, Base::G)
            .term(x, Base::H)
            .term(-x, Base::Point(g()))
            .term(-x, Base::Point(blinding_generator()));
        acc.push(&e2);
        assert!(acc.is_identity());
        assert_eq!(acc.len(), 2);
        // Off by one g in the second equation.
        let mut bad = Equation::default();
        bad.term(Scalar::ONE, Base::Gd);
        acc.push(&bad);
        assert!(!acc.is_identity());
    }

    #[test]
    fn two_keys_and_absorb() {
        let (t1, t2) = (table(), table());
        let mut a = Equations::new();
        let s1 = a.key(&t1);
        let mut e = Equation::default();
        e.term(Scalar::ONE, s1.attribute(1))
            .term(-Scalar::ONE, Base::Point(t1.points[GLOBALS + 3]));
        a.push(&e);
        let mut b = Equations::new();
        let s2 = b.key(&t2);
        let mut e = Equation::default();
        e.term(Scalar::from(3u64), s2.gt())
            .term(-Scalar::from(3u64), Base::Point(t2.points[GLOBALS + 1]));
        b.push(&e);
        assert!(b.is_identity());
        a.absorb(b, &random_weight());
        assert!(a.is_identity());
        let mut bad = Equations::new();
        let s = bad.key(&t2);
        let mut e = Equation::default();
        e.term(Scalar::ONE, s.gt());
        bad.push(&e);
        a.absorb(bad, &random_weight());
        assert!(!a.is_identity());
        // A large dynamic part takes the other path.
        let mut big = Equations::new();
        for k in 0..PIPPENGER_FROM as u64 {
            let mut e = Equation::default();
            e.term(Scalar::from(k), Base::G)
                .term(-Scalar::from(k), Base::Point(g()));
            big.push(&e);
        }
        assert!(big.is_identity());
        let mut e = Equation::default();
        e.term(Scalar::ONE, Base::Point(g()));
        big.push(&e);
        assert!(!big.is_identity());
    }
}
