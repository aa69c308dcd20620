//! Benchmarks of the v2 aggregated range proof (criterion).
//!
//! ```text
//! cargo bench -p wallet-core --bench range
//! ```
//!
//! Measures proving and verifying the range proof alone (no presentation
//! around it) for: age ≥ 18 on a birth date (1 statement, 32 bits), two
//! date statements (32 bits, 2 parties) and one 64-bit integer statement,
//! against the baseline (one constant-time variable-base ristretto255
//! scalar multiplication) measured first and last in the same run. Prints
//! the proof sizes first. The v1 proof (64-bit two-sided, m = 2) measured
//! prove ≈ 531×, verify ≈ 70× the baseline, 736 bytes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::OsRng;
use time::{Date, Month};
use wallet_core::encoding::{AttributeKind, AttributeValue};
use wallet_core::group::blinding_generator;
use wallet_core::predicate::{prove_ranges, verify_ranges, Predicate, RangeStatement};

const DIGEST: [u8; 64] = [7; 64];

fn date(y: i32, m: Month, d: u8) -> Date {
    Date::from_calendar_date(y, m, d).expect("a valid calendar date")
}

/// A committed attribute under a predicate: `(statement, x, t)`.
type Item = (RangeStatement, u64, Scalar);

fn item(kind: AttributeKind, p: Predicate, v: AttributeValue) -> Item {
    let x = v.ordinal().expect("an ordered value");
    assert!(p.holds_for(&v));
    let t = Scalar::random(&mut OsRng);
    let c = RistrettoPoint::mul_base(&Scalar::from(x)) + blinding_generator() * t;
    let statement = p.statement(kind).expect("a statement");
    (RangeStatement::new(c, statement), x, t)
}

fn cases() -> Vec<(&'static str, Vec<Item>)> {
    let on = date(2026, Month::November, 25);
    let born = AttributeValue::Date(date(1990, Month::March, 4));
    let age = || {
        item(
            AttributeKind::Date,
            Predicate::AgeAtLeast { years: 18, on },
            born.clone(),
        )
    };
    let since = item(
        AttributeKind::Date,
        Predicate::GreaterOrEqual(AttributeValue::Date(date(2020, Month::January, 1))),
        AttributeValue::Date(date(2024, Month::June, 30)),
    );
    let income = item(
        AttributeKind::Integer,
        Predicate::LessOrEqual(AttributeValue::Integer(40_000)),
        AttributeValue::Integer(31_500),
    );
    vec![
        ("age_18_date_32", vec![age()]),
        ("two_dates_32", vec![age(), since]),
        ("integer_64", vec![income]),
    ]
}

fn bench_baseline(c: &mut Criterion, name: &str) {
    let point = RistrettoPoint::random(&mut OsRng);
    let scalar = Scalar::random(&mut OsRng);
    c.bench_function(name, |b| b.iter(|| black_box(point) * black_box(scalar)));
}

fn bench_ranges(c: &mut Criterion) {
    let cases = cases();
    println!("v2 range proof sizes:");
    for (name, items) in &cases {
        let w: Vec<_> = items.iter().map(|(s, x, t)| (*s, *x, t)).collect();
        let proof = prove_ranges(&DIGEST, &w, &mut OsRng).expect("proves");
        println!("  {name}: {} bytes", proof.len());
    }
    let mut g = c.benchmark_group("range_v2");
    for (name, items) in &cases {
        let w: Vec<_> = items.iter().map(|(s, x, t)| (*s, *x, t)).collect();
        let statements: Vec<RangeStatement> = items.iter().map(|i| i.0).collect();
        g.bench_function(format!("{name}/prove"), |b| {
            b.iter(|| prove_ranges(black_box(&DIGEST), black_box(&w), &mut OsRng).expect("proves"))
        });
        let proof = prove_ranges(&DIGEST, &w, &mut OsRng).expect("proves");
        g.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| {
                verify_ranges(
                    black_box(&DIGEST),
                    black_box(&statements),
                    black_box(&proof),
                )
                .expect("verifies")
            })
        });
    }
    g.finish();
}

/// The v1 proof's shape (64 bits, 2 parties: one two-sided predicate) in
/// the same run, and the unit costs of the crate's prover for the age
/// proof (n = 32, m' = 1): one 65-point constant-time multiscalar
/// multiplication (the prover computes two: `A` and `S`) and one generator
/// fold of the inner-product argument.
fn bench_reference(c: &mut Criterion) {
    use bulletproofs::{BulletproofGens, PedersenGens, RangeProof};
    use curve25519_dalek::traits::{MultiscalarMul, VartimeMultiscalarMul};
    use merlin::Transcript;
    let mut g = c.benchmark_group("range_reference");
    let (bp, pc) = (BulletproofGens::new(64, 2), PedersenGens::default());
    let t = Scalar::random(&mut OsRng);
    let prove_v1 = || {
        RangeProof::prove_multiple_with_rng(
            &bp,
            &pc,
            &mut Transcript::new(b"v1 shape"),
            &[1_000, 2_000],
            &[t, -t],
            64,
            &mut OsRng,
        )
        .expect("proves")
    };
    g.bench_function("v1_shape_64x2/prove", |b| b.iter(prove_v1));
    let (proof, values) = prove_v1();
    println!("  v1 shape 64x2: {} bytes", proof.to_bytes().len());
    g.bench_function("v1_shape_64x2/verify", |b| {
        b.iter(|| {
            proof
                .verify_multiple_with_rng(
                    &bp,
                    &pc,
                    &mut Transcript::new(b"v1 shape"),
                    &values,
                    64,
                    &mut OsRng,
                )
                .expect("verifies")
        })
    });
    let n = 32;
    let points: Vec<RistrettoPoint> = (0..2 * n + 1)
        .map(|_| RistrettoPoint::random(&mut OsRng))
        .collect();
    let scalars: Vec<Scalar> = (0..2 * n + 1).map(|_| Scalar::random(&mut OsRng)).collect();
    g.bench_function("ct_msm_65_points", |b| {
        b.iter(|| RistrettoPoint::multiscalar_mul(black_box(&scalars), black_box(&points)))
    });
    // One generator fold of the inner-product prover: G' = G_lo^(u^-1) ·
    // G_hi^u, a two-point vartime multiscalar multiplication; the prover
    // folds 2·(N - 1) generators (62 for N = 32).
    g.bench_function("vartime_msm_2_points", |b| {
        b.iter(|| {
            RistrettoPoint::vartime_multiscalar_mul(
                black_box(&scalars[..2]),
                black_box(&points[..2]),
            )
        })
    });
    g.finish();
}

fn all(c: &mut Criterion) {
    bench_baseline(c, "baseline/ct_variable_base_scalar_mul");
    bench_ranges(c);
    bench_reference(c);
    bench_baseline(c, "baseline/ct_variable_base_scalar_mul_again");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = all
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
