//! What refusing an oversized presentation costs next to verifying an
//! honest one (Rule 11), measured in the same run (criterion).
//!
//! ```text
//! cargo bench -p wallet-core --bench refusal -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! The request asks for one attribute of one credential. `honest` decodes
//! (counting first) and verifies the one-token answer, as the verifier does.
//! Each `refuse/*` body is that answer filled to the verifier daemon's
//! default body limit (256 KiB) with one kind of part; it goes through the
//! same call and is refused by count (`disclosed_flood`: the one allowed
//! token's disclosed list, longer than any key). `within_count/*` are
//! bodies whose counts hold: a request with one predicate answered with a
//! range proof padded to 256 KiB (decoded, hashed into the challenge and
//! refused there), next to `honest/with_predicate`. `unchecked/decode_*` is
//! what decoding the pseudonym flood alone costs (the first step before
//! Rule 11). The ratios to `honest` go in `docs/performance.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
use curve25519_dalek::ristretto::RistrettoPoint;
use rand_core::OsRng;
use wallet_core::encoding::{AttributeKind, AttributeValue};
use wallet_core::holder::HolderSecret;
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey, KeyParams};
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{
    verify, ChallengeContext, Disclosed, Expected, Presentation, PresentationBuilder,
    PseudonymProof,
};
use wallet_core::pseudonym::Scope;
use wallet_core::request::SessionRequest;
use wallet_core::token::{CredentialToken, TokenInfo};

const NOW: u64 = 1_795_000_000;
/// The verifier daemon's default body limit (`verifier::config::DEFAULT_BODY_LIMIT`).
const BODY_LIMIT: usize = 256 * 1024;
const REQUEST: &str = r#"{"@context":"https://irma.app/ld/request/disclosure/v2","disclose":[[["demo.utrecht.address.city"]]]}"#;
const REQUEST_PREDICATE: &str = r#"{"@context":"https://irma.app/ld/request/disclosure/v2","disclose":[[["demo.utrecht.address.city"]]],"predicates":[{"attribute":"demo.utrecht.address.number","operator":">=","value":"1"}]}"#;

fn address() -> (IssuerSecretKey, HolderSecret, CredentialToken) {
    use AttributeKind::*;
    let key = IssuerSecretKey::generate(
        &mut OsRng,
        KeyParams {
            credential_type: "demo.utrecht.address".parse().expect("id"),
            counter: 1,
            valid_from: 0,
            valid_until: 4_000_000_000,
            attributes: vec![String, Integer, String, String, String],
        },
    )
    .expect("key");
    let holder = HolderSecret::from_seed(&[42; 32]);
    let values = vec![
        AttributeValue::String("Domplein".into()),
        AttributeValue::Integer(29),
        AttributeValue::String("3512JE".into()),
        AttributeValue::String("Utrecht".into()),
        AttributeValue::String("Utrecht".into()),
    ];
    let ti = TokenInfo::new(key.public().credential_type.clone(), 1, NOW, 14 * 86_400);
    let nonce = b"bench refusal nonce";
    let proof = holder.prove_possession(&mut OsRng, nonce, &key.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        &key,
        &values,
        &ti,
        &holder.public(),
        &proof,
        nonce,
        1,
    )
    .expect("issuer start");
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        key.public(),
        &holder,
        values,
        ti,
        NOW,
        &commitments,
    )
    .expect("wallet start");
    let (_, responses) = session.answer(&key, &challenges).expect("issuer answer");
    let token = pending.finish(&responses).expect("wallet finish").remove(0);
    (key, holder, token)
}

/// Appends copies of `one` to the list `part` of `base` until the encoding
/// reaches `BODY_LIMIT`.
fn fill<T: Clone>(
    base: &Presentation,
    one: T,
    part: impl Fn(&mut Presentation) -> &mut Vec<T>,
) -> Vec<u8> {
    let mut p = base.clone();
    let step = {
        let mut q = base.clone();
        part(&mut q).push(one.clone());
        q.to_bytes().len() - base.to_bytes().len()
    };
    let n = (BODY_LIMIT - base.to_bytes().len()) / step.max(1);
    part(&mut p).extend(std::iter::repeat_n(one, n));
    let mut bytes = p.to_bytes();
    while bytes.len() > BODY_LIMIT {
        part(&mut p).pop();
        bytes = p.to_bytes();
    }
    bytes
}

fn all(c: &mut Criterion) {
    let (key, holder, token) = address();
    let keys: Vec<IssuerPublicKey> = vec![key.public().clone()];
    let request = SessionRequest::from_json(REQUEST).expect("request");
    let expected = Expected::for_request(&request);
    let expected_predicate =
        Expected::for_request(&SessionRequest::from_json(REQUEST_PREDICATE).expect("request"));
    let ctx = ChallengeContext {
        verifier: "demo.parking".into(),
        request_digest: request.request_digest(),
        nonce: vec![9; 32],
        message: None,
        timestamp: None,
    };
    let prove = |predicate: bool| {
        let mut b = PresentationBuilder::new(&holder, ctx.clone());
        let t = b.token(&token, key.public(), &[3]);
        if predicate {
            b.predicate(t, 1, Predicate::GreaterOrEqual(AttributeValue::Integer(1)));
        }
        b.prove(&mut OsRng).expect("prove")
    };
    let honest = prove(false);
    let honest_bytes = honest.to_bytes();
    let with_predicate = prove(true);

    let pseudonym = PseudonymProof {
        scope: Scope("demo.parking/x".into()),
        pseudonym: RistrettoPoint::random(&mut OsRng).into(),
        commitment: RistrettoPoint::random(&mut OsRng).into(),
    };
    let floods = [
        (
            "pseudonym_flood",
            fill(&honest, pseudonym, |p| &mut p.pseudonyms),
        ),
        (
            "token_flood",
            fill(&honest, honest.tokens[0].clone(), |p| &mut p.tokens),
        ),
        (
            "predicate_flood",
            fill(&honest, with_predicate.predicates[0].clone(), |p| {
                &mut p.predicates
            }),
        ),
    ];
    let disclosed_flood = fill(
        &honest,
        Disclosed(3, AttributeValue::String("Utrecht".into())),
        |p| &mut p.tokens[0].disclosed,
    );
    let floods = [
        floods[0].clone(),
        floods[1].clone(),
        floods[2].clone(),
        ("disclosed_flood", disclosed_flood),
    ];

    let mut padded = with_predicate.clone();
    padded.range_proof.resize(BODY_LIMIT - 4096, 0);
    let padded = padded.to_bytes();
    let with_predicate = with_predicate.to_bytes();

    let check_with = |expected: &Expected, bytes: &[u8]| {
        expected
            .decode(bytes)
            .ok()
            .and_then(|p| verify(&p, expected, &ctx, &keys, NOW).ok())
            .is_some()
    };
    let check = |bytes: &[u8]| check_with(&expected, bytes);
    println!("honest presentation: {} bytes", honest_bytes.len());
    assert!(check(&honest_bytes), "the honest answer verifies");
    for (name, bytes) in &floods {
        println!("{name}: {} bytes", bytes.len());
        assert!(!check(bytes), "{name} is refused");
    }
    assert!(check_with(&expected_predicate, &with_predicate));
    println!("range proof padded: {} bytes", padded.len());
    assert!(!check_with(&expected_predicate, &padded));

    let mut g = c.benchmark_group("refusal");
    g.bench_function("honest/decode_and_verify", |b| {
        b.iter(|| check(black_box(&honest_bytes)))
    });
    for (name, bytes) in &floods {
        g.bench_function(format!("refuse/{name}_256k"), |b| {
            b.iter(|| check(black_box(bytes)))
        });
    }
    g.bench_function("honest/with_predicate", |b| {
        b.iter(|| check_with(&expected_predicate, black_box(&with_predicate)))
    });
    g.bench_function("within_count/range_proof_256k", |b| {
        b.iter(|| check_with(&expected_predicate, black_box(&padded)))
    });
    g.bench_function("unchecked/decode_pseudonym_flood_256k", |b| {
        b.iter(|| Presentation::from_bytes(black_box(&floods[0].1)).is_ok())
    });
    g.finish();
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
