//! Benchmarks of the credential core (criterion).
//!
//! ```text
//! cargo bench -p wallet-core --bench credential
//! ```
//!
//! Before the measurements it prints the encoded sizes of a token, the
//! issuance messages of a batch of 20 and every presentation variant. The
//! figures and their ratios to the baseline (one constant-time
//! variable-base ristretto255 scalar multiplication, measured in the same
//! run) are recorded in `docs/performance.md`.
//!
//! Measurement is kept short (1 s warm-up, 3 s measurement, 20 samples per
//! benchmark) so a whole run takes a few minutes on two cores.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand_core::OsRng;
use time::{Date, Month};
use wallet_core::encoding::{AttributeKind, AttributeValue};
use wallet_core::holder::{HolderProof, HolderSecret};
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::tables::FixedBaseTable;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::issuance::SignerCommitments;
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey, KeyId, KeyParams};
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{
    verify, verify_batch, BatchItem, ChallengeContext, Expected, Presentation, PresentationBuilder,
};
use wallet_core::pseudonym::Scope;
use wallet_core::token::{CredentialToken, TokenInfo};

/// A fixed "now" inside every key's and token's validity (2026-11-18).
const NOW: u64 = 1_795_000_000;
/// The batch size the issuer service uses by default.
const BATCH: usize = 20;
const NONCE: &[u8] = b"bench issuance session nonce";

/// One credential type: its key, its values, tokens for the holder.
struct Credential {
    key: IssuerSecretKey,
    values: Vec<AttributeValue>,
    tokens: Vec<CredentialToken>,
}

impl Credential {
    fn public(&self) -> &IssuerPublicKey {
        self.key.public()
    }
}

/// Everything the presentation benchmarks show: one holder with a personal
/// (4 attributes, birth date at 2), an address (5), a vehicle (3) and a
/// six-attribute credential.
struct World {
    holder: HolderSecret,
    personal: Credential,
    address: Credential,
    vehicle: Credential,
    six: Credential,
    card: Credential,
}

fn date(y: i32, m: Month, d: u8) -> Date {
    Date::from_calendar_date(y, m, d).expect("a valid calendar date")
}

fn key(credential_type: &str, attributes: Vec<AttributeKind>) -> IssuerSecretKey {
    IssuerSecretKey::generate(
        &mut OsRng,
        KeyParams {
            credential_type: credential_type.parse().expect("a credential type id"),
            counter: 1,
            valid_from: 0,
            valid_until: 4_000_000_000,
            attributes,
        },
    )
    .expect("valid key parameters")
}

fn token_info(key: &IssuerSecretKey) -> TokenInfo {
    TokenInfo::new(key.public().credential_type.clone(), 1, NOW, 14 * 86_400)
}

/// The issuer's first step for a batch (the holder proof is checked inside).
fn issuer_start(
    key: &IssuerSecretKey,
    holder: &HolderSecret,
    proof: &HolderProof,
    values: &[AttributeValue],
    batch: usize,
) -> (IssuerSession, SignerCommitments) {
    IssuerSession::start(
        &mut OsRng,
        key,
        values,
        &token_info(key),
        &holder.public(),
        proof,
        NONCE,
        batch,
    )
    .expect("issuer start")
}

fn issue(key: IssuerSecretKey, holder: &HolderSecret, values: Vec<AttributeValue>) -> Credential {
    let proof = holder.prove_possession(&mut OsRng, NONCE, &key.public().key_id());
    let (session, commitments) = issuer_start(&key, holder, &proof, &values, 4);
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        key.public(),
        holder,
        values.clone(),
        token_info(&key),
        NOW,
        &commitments,
    )
    .expect("wallet start");
    let (_, responses) = session.answer(&key, &challenges).expect("issuer answer");
    let tokens = pending.finish(&responses).expect("wallet finish");
    Credential {
        key,
        values,
        tokens,
    }
}

fn world() -> World {
    use AttributeKind::*;
    let holder = HolderSecret::from_seed(&[42; 32]);
    let personal = issue(
        key("demo.utrecht.personal", vec![String, String, Date, String]),
        &holder,
        vec![
            AttributeValue::String("Anna Maria".into()),
            AttributeValue::String("de Vries".into()),
            AttributeValue::Date(date(2001, Month::March, 14)),
            AttributeValue::String("999990019".into()),
        ],
    );
    let address = issue(
        key(
            "demo.utrecht.address",
            vec![String, Integer, String, String, String],
        ),
        &holder,
        vec![
            AttributeValue::String("Domplein".into()),
            AttributeValue::Integer(29),
            AttributeValue::String("3512JE".into()),
            AttributeValue::String("Utrecht".into()),
            AttributeValue::String("Utrecht".into()),
        ],
    );
    let vehicle = issue(
        key("demo.rdw.vehicle", vec![String, String, String]),
        &holder,
        vec![
            AttributeValue::String("AB-123-C".into()),
            AttributeValue::String("Fiat".into()),
            AttributeValue::String("999990019".into()),
        ],
    );
    let six = issue(
        key(
            "demo.utrecht.six",
            vec![String, String, Date, String, Integer, Boolean],
        ),
        &holder,
        vec![
            AttributeValue::String("Anna Maria".into()),
            AttributeValue::String("de Vries".into()),
            AttributeValue::Date(date(2001, Month::March, 14)),
            AttributeValue::String("Utrecht".into()),
            AttributeValue::Integer(29),
            AttributeValue::Boolean(true),
        ],
    );
    let card = issue(
        key("demo.library.card", vec![String, Date]),
        &holder,
        vec![
            AttributeValue::String("L-0042".into()),
            AttributeValue::Date(date(2027, Month::June, 30)),
        ],
    );
    World {
        holder,
        personal,
        address,
        vehicle,
        six,
        card,
    }
}

fn context() -> ChallengeContext {
    ChallengeContext {
        verifier: "demo.parking".into(),
        request_digest: [7; 32],
        nonce: vec![9; 32],
        message: None,
        timestamp: None,
    }
}

fn age_18() -> Predicate {
    Predicate::AgeAtLeast {
        years: 18,
        on: date(2026, Month::November, 25),
    }
}

/// The presentation variants, by name, as functions from the world to a
/// proven presentation.
type Variant = (&'static str, fn(&World) -> Presentation);

fn variants() -> Vec<Variant> {
    vec![
        ("disclose_2_of_5", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.address.tokens[0], w.address.public(), &[2, 3]);
            b.prove(&mut OsRng).expect("prove")
        }),
        ("six_attributes_1_disclosed", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.six.tokens[0], w.six.public(), &[3]);
            b.prove(&mut OsRng).expect("prove")
        }),
        ("pseudonym", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.address.tokens[0], w.address.public(), &[4]);
            b.pseudonym(Scope("demo.poll/2026-parks".into()));
            b.prove(&mut OsRng).expect("prove")
        }),
        ("age_predicate", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            let p = b.token(&w.personal.tokens[0], w.personal.public(), &[]);
            b.predicate(p, 2, age_18());
            b.prove(&mut OsRng).expect("prove")
        }),
        ("two_credentials", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.address.tokens[0], w.address.public(), &[2, 3]);
            b.token(&w.vehicle.tokens[0], w.vehicle.public(), &[0]);
            b.prove(&mut OsRng).expect("prove")
        }),
        ("three_credentials", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.address.tokens[0], w.address.public(), &[2, 3]);
            b.token(&w.vehicle.tokens[0], w.vehicle.public(), &[0]);
            b.token(&w.personal.tokens[0], w.personal.public(), &[]);
            b.prove(&mut OsRng).expect("prove")
        }),
        ("five_credentials", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.address.tokens[0], w.address.public(), &[2, 3]);
            b.token(&w.vehicle.tokens[0], w.vehicle.public(), &[0]);
            b.token(&w.personal.tokens[0], w.personal.public(), &[]);
            b.token(&w.six.tokens[0], w.six.public(), &[3]);
            b.token(&w.card.tokens[0], w.card.public(), &[0]);
            b.prove(&mut OsRng).expect("prove")
        }),
        ("parking_two_credentials_with_age", |w| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.address.tokens[0], w.address.public(), &[2, 3]);
            let p = b.token(&w.personal.tokens[0], w.personal.public(), &[]);
            b.predicate(p, 2, age_18());
            b.prove(&mut OsRng).expect("prove")
        }),
    ]
}

/// The trusted keys by id, as a verifier holds them (the verified scheme
/// computes every key id once; a plain list would hash each key on every
/// lookup).
fn keys(w: &World) -> BTreeMap<KeyId, IssuerPublicKey> {
    [&w.personal, &w.address, &w.vehicle, &w.six, &w.card]
        .iter()
        .map(|c| (c.public().key_id(), c.public().clone()))
        .collect()
}

/// Prints the encoded sizes (bytes) the documentation records.
fn print_sizes(w: &World) {
    println!("sizes (bytes, canonical CBOR):");
    println!(
        "  token (address, 5 attributes): {}",
        w.address.tokens[0].token().to_bytes().len()
    );
    println!(
        "  issuer public key (address): {}",
        w.address.public().to_bytes().len()
    );
    let c = &w.address;
    let proof = w
        .holder
        .prove_possession(&mut OsRng, NONCE, &c.public().key_id());
    let (session, commitments) = issuer_start(&c.key, &w.holder, &proof, &c.values, BATCH);
    let (_pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        c.public(),
        &w.holder,
        c.values.clone(),
        token_info(&c.key),
        NOW,
        &commitments,
    )
    .expect("wallet start");
    let (_, responses) = session.answer(&c.key, &challenges).expect("answer");
    println!(
        "  signer commitments, batch {BATCH}: {}",
        commitments.to_bytes().len()
    );
    println!(
        "  issuance challenges, batch {BATCH}: {}",
        challenges.to_bytes().len()
    );
    println!(
        "  issuance responses, batch {BATCH}: {}",
        responses.to_bytes().len()
    );
    let keys = keys(w);
    for (name, make) in variants() {
        let p = make(w);
        // A benchmark of a presentation that does not verify would measure
        // an early refusal: check every variant once.
        verify(
            &p,
            &wallet_core::presentation::Expected::protocol_limits(),
            &context(),
            &keys,
            NOW,
        )
        .expect("variant verifies");
        println!("  presentation {name}: {}", p.to_bytes().len());
    }
}

/// The baseline, measured first and again last: on a shared machine the
/// two differ when the load changed during the run, which says how far the
/// ratios can be trusted.
fn bench_baseline(c: &mut Criterion, name: &str) {
    let point = RistrettoPoint::random(&mut OsRng);
    let scalar = Scalar::random(&mut OsRng);
    c.bench_function(name, |b| b.iter(|| black_box(point) * black_box(scalar)));
}

/// The floor of a verification: variable-time multi-scalar
/// multiplications of random points (16 dynamic; 11 precomputed static and
/// 5 dynamic, the shape of a six-attribute presentation's one
/// multiplication), and one variable-time double-base multiplication.
fn bench_msm_floor(c: &mut Criterion) {
    use curve25519_dalek::ristretto::VartimeRistrettoPrecomputation;
    use curve25519_dalek::traits::{VartimeMultiscalarMul, VartimePrecomputedMultiscalarMul};
    let points: Vec<RistrettoPoint> = (0..16)
        .map(|_| RistrettoPoint::random(&mut OsRng))
        .collect();
    let scalars: Vec<Scalar> = (0..16).map(|_| Scalar::random(&mut OsRng)).collect();
    let table = VartimeRistrettoPrecomputation::new(&points[..11]);
    c.bench_function("msm_floor/dynamic_16", |b| {
        b.iter(|| RistrettoPoint::vartime_multiscalar_mul(black_box(&scalars), &points))
    });
    c.bench_function("msm_floor/static_11_dynamic_5", |b| {
        b.iter(|| {
            table.vartime_mixed_multiscalar_mul(
                black_box(&scalars[..11]),
                &scalars[11..],
                &points[11..],
            )
        })
    });
    c.bench_function("msm_floor/dynamic_4", |b| {
        b.iter(|| RistrettoPoint::vartime_multiscalar_mul(black_box(&scalars[..4]), &points[..4]))
    });
}

fn bench_keys(c: &mut Criterion) {
    use AttributeKind::*;
    let params = KeyParams {
        credential_type: "demo.utrecht.address".parse().expect("id"),
        counter: 1,
        valid_from: 0,
        valid_until: 4_000_000_000,
        attributes: vec![String, Integer, String, String, String],
    };
    c.bench_function("keys/issuer_key_generation", |b| {
        b.iter(|| IssuerSecretKey::generate(&mut OsRng, black_box(params.clone())))
    });
    // Verification derives a key's generators (n + 1 hash-to-group) for
    // every token it checks; this shows what that costs for six attributes.
    let six = key(
        "demo.utrecht.six",
        vec![String, String, Date, String, Integer, Boolean],
    );
    c.bench_function("keys/derive_generators_6_attributes", |b| {
        b.iter(|| black_box(six.public()).generators())
    });
    let holder = HolderSecret::from_seed(&[42; 32]);
    let key_id = key("demo.utrecht.address", params.attributes.clone())
        .public()
        .key_id();
    c.bench_function("keys/holder_proof_of_possession", |b| {
        b.iter(|| holder.prove_possession(&mut OsRng, black_box(NONCE), &key_id))
    });
    let proof = holder.prove_possession(&mut OsRng, NONCE, &key_id);
    let public = holder.public();
    c.bench_function("keys/holder_proof_check", |b| {
        b.iter(|| public.verify_possession(black_box(&proof), NONCE, &key_id))
    });
}

fn bench_issuance(c: &mut Criterion, w: &World) {
    let cred = &w.address;
    let proof = w
        .holder
        .prove_possession(&mut OsRng, NONCE, &cred.public().key_id());
    let mut g = c.benchmark_group("issuance_batch_20");
    // Throughput in tokens: criterion then also reports time per token.
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("issuer_start", |b| {
        b.iter(|| issuer_start(&cred.key, &w.holder, &proof, &cred.values, BATCH))
    });
    let (session, commitments) = issuer_start(&cred.key, &w.holder, &proof, &cred.values, BATCH);
    let stored = session.to_secret_bytes();
    let wallet_start = || {
        PendingIssuance::start(
            &mut OsRng,
            cred.public(),
            &w.holder,
            cred.values.clone(),
            token_info(&cred.key),
            NOW,
            &commitments,
        )
        .expect("wallet start")
    };
    g.bench_function("wallet_start", |b| b.iter(wallet_start));
    let (_, challenges) = wallet_start();
    g.bench_function("issuer_answer", |b| {
        b.iter_batched(
            || IssuerSession::from_secret_bytes(&stored).expect("stored session"),
            |s| s.answer(&cred.key, &challenges).expect("answer"),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("wallet_finish", |b| {
        b.iter_batched(
            || {
                let (pending, challenges) = wallet_start();
                let s = IssuerSession::from_secret_bytes(&stored).expect("stored session");
                let (_, responses) = s.answer(&cred.key, &challenges).expect("answer");
                (pending, responses)
            },
            |(pending, responses)| pending.finish(&responses).expect("finish"),
            BatchSize::SmallInput,
        )
    });
    g.finish();
    bench_issuance_totals(c, w, &proof, (&commitments, &stored));

    let token = cred.tokens[0].token().clone();
    let pk = cred.public().clone();
    c.bench_function("token/check", |b| b.iter(|| black_box(&token).check(&pk)));
}

/// Issuance work per side, the figures of the issue 17 targets: the
/// issuer's start and answer for a batch of 1 and of 20, the wallet's start
/// and finish for a batch of 20 (time per token: divide by the batch, or
/// read criterion's throughput). Then the break-even of a constant-time
/// table of a fixed base (`issuance/tables.rs`, `TABLE_MIN_USES`): building
/// it costs `table_create`, each multiplication through it `table_mul`
/// instead of one baseline multiplication, so it pays from
/// `table_create / (baseline - table_mul)` multiplications on.
fn bench_issuance_totals(
    c: &mut Criterion,
    w: &World,
    proof: &HolderProof,
    (commitments, stored): (&SignerCommitments, &[u8]),
) {
    let cred = &w.address;
    let wallet_start = |commitments: &SignerCommitments| {
        PendingIssuance::start(
            &mut OsRng,
            cred.public(),
            &w.holder,
            cred.values.clone(),
            token_info(&cred.key),
            NOW,
            commitments,
        )
        .expect("wallet start")
    };
    // The issuer receives hd on the wire: computed once here, not charged
    // to the issuer (the `issuance_batch_20` group above does charge it).
    let hd = w.holder.public();
    let ti = token_info(&cred.key);
    let mut g = c.benchmark_group("issuance");
    for batch in [1, BATCH] {
        g.throughput(Throughput::Elements(batch as u64));
        // `answer` checks only the key and the number of challenges: one
        // set of challenges of the right size serves every iteration.
        let (_, commitments) = issuer_start(&cred.key, &w.holder, proof, &cred.values, batch);
        let (_, challenges) = wallet_start(&commitments);
        g.bench_function(format!("issuer_batch_{batch}"), |b| {
            b.iter(|| {
                let (session, commitments) = IssuerSession::start(
                    &mut OsRng,
                    &cred.key,
                    &cred.values,
                    &ti,
                    &hd,
                    proof,
                    NONCE,
                    batch,
                )
                .expect("issuer start");
                let (_, responses) = session.answer(&cred.key, &challenges).expect("answer");
                (commitments, responses)
            })
        });
    }
    g.throughput(Throughput::Elements(BATCH as u64));
    // The wallet's two steps, without the issuer's answer between them.
    g.bench_function(format!("wallet_batch_{BATCH}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let (pending, challenges) = wallet_start(commitments);
                total += t.elapsed();
                let session = IssuerSession::from_secret_bytes(stored).expect("stored session");
                let (_, responses) = session.answer(&cred.key, &challenges).expect("answer");
                let t = Instant::now();
                black_box(pending.finish(&responses).expect("finish"));
                total += t.elapsed();
            }
            total
        })
    });
    g.throughput(Throughput::Elements(1));
    let point = RistrettoPoint::random(&mut OsRng);
    let scalar = Scalar::random(&mut OsRng);
    g.bench_function("fixed_base/table_create", |b| {
        b.iter(|| FixedBaseTable::new(black_box(&point)))
    });
    let table = FixedBaseTable::new(&point);
    g.bench_function("fixed_base/table_mul", |b| {
        b.iter(|| black_box(&table).mul(black_box(&scalar)))
    });
    // curve25519-dalek's own table, for comparison (issuance/tables.rs says
    // why it is not used).
    g.bench_function("fixed_base/dalek_table_create", |b| {
        b.iter(|| RistrettoBasepointTable::create(black_box(&point)))
    });
    let table = RistrettoBasepointTable::create(&point);
    g.bench_function("fixed_base/dalek_table_mul", |b| {
        b.iter(|| black_box(&table) * black_box(&scalar))
    });
    g.finish();
}

fn bench_presentations(c: &mut Criterion, w: &World) {
    let keys = keys(w);
    let mut g = c.benchmark_group("presentation");
    for (name, make) in variants() {
        g.bench_function(format!("{name}/prove"), |b| b.iter(|| make(w)));
        let p = make(w);
        g.bench_function(format!("{name}/verify"), |b| {
            b.iter(|| {
                verify(
                    black_box(&p),
                    &wallet_core::presentation::Expected::protocol_limits(),
                    &context(),
                    &keys,
                    NOW,
                )
                .expect("verifies")
            })
        });
    }
    g.finish();
}

/// Batch verification of 64 one-credential presentations (six attributes,
/// one disclosed, each proven afresh): one multiplication for all;
/// throughput in presentations gives the time per presentation.
fn bench_batch(c: &mut Criterion, w: &World) {
    const ITEMS: usize = 64;
    let keys = keys(w);
    let ctx = context();
    let expected = Expected::protocol_limits();
    let ps: Vec<Presentation> = (0..ITEMS)
        .map(|_| {
            let mut b = PresentationBuilder::new(&w.holder, context());
            b.token(&w.six.tokens[0], w.six.public(), &[3]);
            b.prove(&mut OsRng).expect("prove")
        })
        .collect();
    let items: Vec<BatchItem<'_>> = ps
        .iter()
        .map(|p| BatchItem {
            presentation: p,
            expected: &expected,
            context: &ctx,
        })
        .collect();
    assert!(verify_batch(&items, &keys, NOW).iter().all(|r| r.is_ok()));
    let mut g = c.benchmark_group("presentation_batch");
    g.throughput(Throughput::Elements(ITEMS as u64));
    g.bench_function("verify_64_six_attributes_1_disclosed", |b| {
        b.iter(|| verify_batch(black_box(&items), &keys, NOW))
    });
    g.finish();
}

fn all(c: &mut Criterion) {
    let w = world();
    print_sizes(&w);
    bench_baseline(c, "baseline/ct_variable_base_scalar_mul");
    bench_msm_floor(c);
    bench_keys(c);
    bench_issuance(c, &w);
    bench_presentations(c, &w);
    bench_batch(c, &w);
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
