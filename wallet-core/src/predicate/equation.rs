//! The verification equation of the aggregated range proof, written out
//! (`docs/protocol.md` §13.4) instead of calling the crate's verifier, so
//! that the fixed generators can use precomputed tables and the statements'
//! commitments `C` enter the multiscalar multiplication directly (the crate
//! would decompress each `V` again).
//!
//! With a random weight `c` (the verifier's, 128 bits), one vartime
//! multiscalar multiplication checks `c·(1) + (2)`:
//!
//! ```text
//! (1) g^t_x · H^t_x_blinding == Π_j V_j^(z^(j+2)) · g^δ(y,z) · T1^x · T2^(x²)
//! (2) A · S^x · Π_k L_k^(u_k²) · R_k^(u_k^-2) · H^-e_blinding · g^(w·(t_x - a·b))
//!       · Π_i G_i^(-z - a·s_i) · H_i^(z + y^-i·(z^(2 + i div n)·2^(i mod n) - b·s_(N-1-i))) == 1
//! ```
//!
//! `V_j = C_j · g^-lo` or `g^hi · C_j^-1`, so `V_j^e` is `C_j^(±e)` with
//! `g^(∓e·bound)` folded into the scalar of `g`; padding `V_j = 1` drops
//! out. All inputs are public: variable time is fine.

use std::sync::OnceLock;

use curve25519_dalek::ristretto::{
    CompressedRistretto, RistrettoPoint, VartimeRistrettoPrecomputation,
};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{
    IsIdentity, VartimeMultiscalarMul, VartimePrecomputedMultiscalarMul,
};
use merlin::Transcript;
use rand_core::RngCore;
use sha3::digest::{ExtendableOutput, Update, XofReader};

use super::statement::{Form, RangeStatement};
use crate::group::blinding_generator;

/// Parties whose generators get precomputed tables (one or two statements:
/// the common presentations); larger aggregates use a plain vartime MSM.
const TABLE_PARTIES: usize = 2;
/// Generators per party (`BulletproofGens::new(64, 16)`).
const CHAIN: usize = 64;

/// The chain with label `label`: SHAKE256("GeneratorsChain" ‖ label) read
/// in 64-byte blocks, each mapped with `from_uniform_bytes` (§13.1).
fn chain(label: &[u8]) -> Vec<RistrettoPoint> {
    let mut shake = sha3::Shake256::default();
    shake.update(b"GeneratorsChain");
    shake.update(label);
    let mut reader = shake.finalize_xof();
    (0..CHAIN)
        .map(|_| {
            let mut block = [0u8; 64];
            reader.read(&mut block);
            RistrettoPoint::from_uniform_bytes(&block)
        })
        .collect()
}

/// `(G_j[0..64], H_j[0..64])` for every party `j < 16`, computed once.
fn vector_generators() -> &'static [(Vec<RistrettoPoint>, Vec<RistrettoPoint>)] {
    static GENS: OnceLock<Vec<(Vec<RistrettoPoint>, Vec<RistrettoPoint>)>> = OnceLock::new();
    GENS.get_or_init(|| {
        (0..super::statement::MAX_RANGE_STATEMENTS as u32)
            .map(|j| {
                let mut label = [b'G', 0, 0, 0, 0];
                label[1..].copy_from_slice(&j.to_le_bytes());
                let g = chain(&label);
                label[0] = b'H';
                (g, chain(&label))
            })
            .collect()
    })
}

/// The fixed points of a proof with `n` bits and `parties` parties, in the
/// order of their scalars: `g`, `H`, `G_0..G_(N-1)`, `H_0..H_(N-1)`.
fn fixed_points(n: usize, parties: usize) -> impl Iterator<Item = RistrettoPoint> {
    let gens = vector_generators();
    [RistrettoPoint::mul_base(&Scalar::ONE), blinding_generator()]
        .into_iter()
        .chain(
            gens[..parties]
                .iter()
                .flat_map(move |(g, _)| g[..n].iter().copied()),
        )
        .chain(
            gens[..parties]
                .iter()
                .flat_map(move |(_, h)| h[..n].iter().copied()),
        )
}

/// The precomputed table of the fixed points for `n ∈ {32, 64}` and
/// `parties ≤ 2` (built on first use: verifiers only).
fn table(n: usize, parties: usize) -> Option<&'static VartimeRistrettoPrecomputation> {
    static TABLES: [OnceLock<VartimeRistrettoPrecomputation>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    if parties > TABLE_PARTIES || (n != 32 && n != 64) {
        return None;
    }
    let slot = &TABLES[usize::from(n == 64) * 2 + (parties - 1)];
    Some(slot.get_or_init(|| VartimeRistrettoPrecomputation::new(fixed_points(n, parties))))
}

/// A proof split into its elements (scalars checked canonical, points not
/// decoded yet). The caller checked the exact length for `rounds`.
pub(super) struct Elements {
    a_point: CompressedRistretto,
    s_point: CompressedRistretto,
    t1: CompressedRistretto,
    t2: CompressedRistretto,
    t_x: Scalar,
    t_x_blinding: Scalar,
    e_blinding: Scalar,
    l: Vec<CompressedRistretto>,
    r: Vec<CompressedRistretto>,
    a: Scalar,
    b: Scalar,
}

fn point_at(bytes: &[u8], i: usize) -> CompressedRistretto {
    let mut p = [0u8; 32];
    p.copy_from_slice(&bytes[32 * i..32 * i + 32]);
    CompressedRistretto(p)
}

fn scalar_at(bytes: &[u8], i: usize) -> Option<Scalar> {
    let mut s = [0u8; 32];
    s.copy_from_slice(&bytes[32 * i..32 * i + 32]);
    Scalar::from_canonical_bytes(s).into()
}

impl Elements {
    /// `A ‖ S ‖ T1 ‖ T2 ‖ t_x ‖ t_x_blinding ‖ e_blinding ‖ (L_k ‖ R_k)* ‖ a ‖ b`;
    /// `None` if `bytes` is not `32·(9 + 2·rounds)` long or a scalar is not
    /// canonical. No group operation.
    pub(super) fn parse(bytes: &[u8], rounds: usize) -> Option<Elements> {
        if bytes.len() != 32 * (9 + 2 * rounds) {
            return None;
        }
        Some(Elements {
            a_point: point_at(bytes, 0),
            s_point: point_at(bytes, 1),
            t1: point_at(bytes, 2),
            t2: point_at(bytes, 3),
            t_x: scalar_at(bytes, 4)?,
            t_x_blinding: scalar_at(bytes, 5)?,
            e_blinding: scalar_at(bytes, 6)?,
            l: (0..rounds).map(|k| point_at(bytes, 7 + 2 * k)).collect(),
            r: (0..rounds).map(|k| point_at(bytes, 8 + 2 * k)).collect(),
            a: scalar_at(bytes, 7 + 2 * rounds)?,
            b: scalar_at(bytes, 8 + 2 * rounds)?,
        })
    }
}

fn challenge(t: &mut Transcript, label: &'static [u8]) -> Scalar {
    let mut buf = [0u8; 64];
    t.challenge_bytes(label, &mut buf);
    Scalar::from_bytes_mod_order_wide(&buf)
}

/// Appends a proof point, refusing the identity (32 zero bytes).
fn append_point(t: &mut Transcript, label: &'static [u8], p: &CompressedRistretto) -> Option<()> {
    if p.is_identity() {
        return None;
    }
    t.append_message(label, p.as_bytes());
    Some(())
}

/// `Σ_{i<k} x^i`.
fn sum_of_powers(x: &Scalar, k: usize) -> Scalar {
    let (mut sum, mut power) = (Scalar::ZERO, Scalar::ONE);
    for _ in 0..k {
        sum += power;
        power *= x;
    }
    sum
}

/// Checks the proof `e` for `statements` (with `n` bits, `parties ≥
/// statements.len()` parties) on transcript `t` (after the statement
/// prefix): `true` iff both equations hold and every point decodes.
pub(super) fn holds(
    mut t: Transcript,
    statements: &[RangeStatement],
    n: usize,
    parties: usize,
    e: &Elements,
    rng: &mut impl RngCore,
) -> bool {
    check(&mut t, statements, n, parties, e, rng).unwrap_or(false)
}

fn check(
    t: &mut Transcript,
    statements: &[RangeStatement],
    n: usize,
    parties: usize,
    e: &Elements,
    rng: &mut impl RngCore,
) -> Option<bool> {
    let big_n = n * parties;
    t.append_message(b"dom-sep", b"rangeproof v1");
    t.append_u64(b"n", n as u64);
    t.append_u64(b"m", parties as u64);
    for s in statements {
        t.append_message(b"V", s.committed_value().compress().as_bytes());
    }
    for _ in statements.len()..parties {
        t.append_message(b"V", &[0; 32]);
    }
    append_point(t, b"A", &e.a_point)?;
    append_point(t, b"S", &e.s_point)?;
    let y = challenge(t, b"y");
    let z = challenge(t, b"z");
    append_point(t, b"T_1", &e.t1)?;
    append_point(t, b"T_2", &e.t2)?;
    let x = challenge(t, b"x");
    t.append_message(b"t_x", e.t_x.as_bytes());
    t.append_message(b"t_x_blinding", e.t_x_blinding.as_bytes());
    t.append_message(b"e_blinding", e.e_blinding.as_bytes());
    let w = challenge(t, b"w");
    t.append_message(b"dom-sep", b"ipp v1");
    t.append_u64(b"n", big_n as u64);
    let mut u = Vec::with_capacity(e.l.len());
    for (l, r) in e.l.iter().zip(&e.r) {
        append_point(t, b"L", l)?;
        append_point(t, b"R", r)?;
        u.push(challenge(t, b"u"));
    }
    // Challenges are hashes: zero only with probability 1/q, but a zero
    // must not reach the inversions.
    if y == Scalar::ZERO || u.contains(&Scalar::ZERO) {
        return None;
    }
    let mut u_inv = u.clone();
    let all_inv = Scalar::batch_invert(&mut u_inv);
    let u_sq: Vec<Scalar> = u.iter().map(|u| u * u).collect();
    let u_inv_sq: Vec<Scalar> = u_inv.iter().map(|u| u * u).collect();
    // s_i = Π_k u_k^(±1), +1 where bit (K-1-k) of i is set: built from
    // s_0 = Π u_k^-1 by multiplying in u_k² bit by bit.
    let rounds = u.len();
    let mut s = Vec::with_capacity(big_n);
    s.push(all_inv);
    for i in 1..big_n {
        let lg_i = (usize::BITS - 1 - i.leading_zeros()) as usize;
        let k = 1 << lg_i;
        s.push(s[i - k] * u_sq[rounds - 1 - lg_i]);
    }

    // The random weight of equation (1).
    let c = Scalar::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()));
    let zz = z * z;
    let two_n_minus_1 = Scalar::from(u64::MAX >> (64 - n));
    let mut z_powers = Vec::with_capacity(parties + 3);
    let mut p = Scalar::ONE;
    for _ in 0..parties + 3 {
        z_powers.push(p);
        p *= z;
    }
    let delta = (z - zz) * sum_of_powers(&y, big_n)
        - two_n_minus_1 * z_powers[3..3 + parties].iter().sum::<Scalar>();

    // Scalar of g: c·(δ - t_x) + w·(t_x - a·b), plus the bounds of V_j.
    let mut g_scalar = w * (e.t_x - e.a * e.b) + c * (delta - e.t_x);
    let mut dynamic_scalars = Vec::with_capacity(4 + 2 * rounds + statements.len());
    let mut dynamic_points = Vec::with_capacity(4 + 2 * rounds + statements.len());
    for (scalar, point) in [
        (Scalar::ONE, &e.a_point),
        (x, &e.s_point),
        (c * x, &e.t1),
        (c * x * x, &e.t2),
    ] {
        dynamic_scalars.push(scalar);
        dynamic_points.push(point.decompress());
    }
    for k in 0..rounds {
        dynamic_scalars.push(u_sq[k]);
        dynamic_points.push(e.l[k].decompress());
        dynamic_scalars.push(u_inv_sq[k]);
        dynamic_points.push(e.r[k].decompress());
    }
    for (j, st) in statements.iter().enumerate() {
        // V_j^(c·z^(j+2)) with V_j = C·g^-lo or g^hi·C^-1.
        let weight = c * z_powers[j + 2];
        let bound = Scalar::from(st.form.bound());
        match st.form {
            Form::AtLeast(_) => {
                dynamic_scalars.push(weight);
                g_scalar -= weight * bound;
            }
            Form::AtMost(_) => {
                dynamic_scalars.push(-weight);
                g_scalar += weight * bound;
            }
        }
        dynamic_points.push(Some(st.commitment));
    }

    let h_scalar = -e.e_blinding - c * e.t_x_blinding;
    let y_inv = y.invert();
    let powers_of_2: Vec<Scalar> = (0..n).map(|i| Scalar::from(1u64 << i)).collect();
    let minus_z = -z;
    let g_vec = s.iter().map(|s_i| minus_z - e.a * s_i);
    let mut y_inv_i = Scalar::ONE;
    let mut h_vec = Vec::with_capacity(big_n);
    for i in 0..big_n {
        let z_and_2 = z_powers[i / n] * powers_of_2[i % n];
        h_vec.push(z + y_inv_i * (zz * z_and_2 - e.b * s[big_n - 1 - i]));
        y_inv_i *= y_inv;
    }
    let fixed_scalars = [g_scalar, h_scalar].into_iter().chain(g_vec).chain(h_vec);

    let sum = match table(n, parties) {
        Some(table) => {
            table.optional_mixed_multiscalar_mul(fixed_scalars, dynamic_scalars, dynamic_points)?
        }
        None => {
            // The crate sizes its buffers from the iterators' size hints:
            // collect the chained points so their length is exact.
            let points: Vec<Option<RistrettoPoint>> = fixed_points(n, parties)
                .map(Some)
                .chain(dynamic_points)
                .collect();
            RistrettoPoint::optional_multiscalar_mul(fixed_scalars.chain(dynamic_scalars), points)?
        }
    };
    Some(sum.is_identity())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulletproofs::BulletproofGens;

    #[test]
    fn generators_are_the_crates() {
        let crate_gens = BulletproofGens::new(64, 16);
        for (j, (g, _)) in vector_generators().iter().enumerate() {
            let theirs: Vec<RistrettoPoint> = crate_gens.share(j).G(64).copied().collect();
            assert_eq!(g, &theirs, "party {j}");
        }
    }
}
