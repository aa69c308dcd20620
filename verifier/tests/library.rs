//! The library without HTTP: the pure verification call with every status,
//! stored signatures against a signed scheme, and one-shot completion under
//! concurrent answers (memory and Redis, two managers sharing one store).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use curve25519_dalek::scalar::Scalar;
use rand_core::{OsRng, RngCore as _};
use verifier::session::{NewSession, SessionSettings, Sessions, WalletError};
use verifier::signature::{sign_timestamp, verify_signature_with_scheme};
use verifier::store::{MemoryStore, RedisStore, SessionStatus, SessionStore};
use verifier::verify::{decode_presentation, verify, Reason};
use verifier::{Metrics, SchemeHandle, SigningKey};
use wallet_core::ids::VerifierId;
use wallet_core::matching::ProofStatus;
use wallet_core::presentation::{ChallengeContext, Presentation};
use wallet_core::request::{AttributeRequest, SessionKind, SessionRequest};
use wallet_core::signature::AttributeSignature;

fn parking() -> VerifierId {
    "demo.parking".parse().unwrap()
}

fn city_request(value: Option<&str>) -> SessionRequest {
    let id = "demo.utrecht.address.city".parse().unwrap();
    let a = match value {
        Some(v) => AttributeRequest::with_value(id, v),
        None => AttributeRequest::new(id),
    };
    SessionRequest::builder(SessionKind::Disclosing)
        .disjunction(vec![vec![a]])
        .build()
        .unwrap()
}

fn context_for(verifier: &VerifierId, request: &SessionRequest) -> ChallengeContext {
    let mut nonce = vec![0u8; 32];
    OsRng.fill_bytes(&mut nonce);
    ChallengeContext {
        verifier: verifier.to_string(),
        request_digest: request.request_digest(),
        nonce,
        message: request.message().map(str::to_owned),
        timestamp: None,
    }
}

fn show_city(demo: &Demo, r: &Resident, context: &ChallengeContext) -> Presentation {
    let mut b = wallet_core::presentation::PresentationBuilder::new(&r.holder, context.clone());
    b.token(&r.address, demo.key("demo.utrecht.address").public(), &[3]);
    b.prove(&mut OsRng).unwrap()
}

#[test]
fn pure_verification_gives_every_status() {
    let demo = Demo::new();
    let r = Resident::new(&demo, 21);
    let v = parking();
    let request = city_request(None);
    let context = context_for(&v, &request);
    let p = show_city(&demo, &r, &context);
    let now = now();

    let ok = verify(&demo.scheme, &v, &request, &context, &p, now);
    assert!(ok.is_valid(), "{ok:?}");
    assert_eq!(ok.reason(), None);
    assert_eq!(
        ok.result()
            .value_of(&"demo.utrecht.address.city".parse().unwrap()),
        Some("Utrecht")
    );

    let check = |request: &SessionRequest,
                 context: &ChallengeContext,
                 p: &Presentation,
                 at: u64,
                 status: ProofStatus,
                 reason: Reason| {
        let out = verify(&demo.scheme, &v, request, context, p, at);
        assert!(!out.is_valid());
        assert_eq!(out.result().proof_status, status, "{out:?}");
        assert_eq!(out.reason(), Some(reason), "{out:?}");
        assert!(out.result().error.is_some());
    };

    // Same presentation, another nonce (a replay into another session).
    let other = context_for(&v, &request);
    check(
        &request,
        &other,
        &p,
        now,
        ProofStatus::Invalid,
        Reason::Challenge,
    );
    // A context that does not belong to the request or verifier given.
    check(
        &city_request(Some("Utrecht")),
        &context,
        &p,
        now,
        ProofStatus::UnmatchedRequest,
        Reason::ContextMismatch,
    );
    let poll: VerifierId = "demo.poll".parse().unwrap();
    let out = verify(&demo.scheme, &poll, &request, &context, &p, now);
    assert_eq!(out.reason(), Some(Reason::ContextMismatch));
    // Time: the token expires within 14 days, the key within a year.
    check(
        &request,
        &context,
        &p,
        now + 30 * DAY,
        ProofStatus::Expired,
        Reason::TokenExpired,
    );
    check(
        &request,
        &context,
        &p,
        now + 400 * DAY,
        ProofStatus::Expired,
        Reason::KeyNotValid,
    );
    // Another scheme (other keys): the token's key is unknown.
    let other_demo = Demo::new();
    let out = verify(&other_demo.scheme, &v, &request, &context, &p, now);
    assert_eq!(out.reason(), Some(Reason::UnknownKey));
    assert_eq!(out.result().proof_status, ProofStatus::Invalid);
    // Tampering with the token's signature.
    let mut forged = p.clone();
    forged.tokens[0].token.sr += Scalar::ONE;
    check(
        &request,
        &context,
        &forged,
        now,
        ProofStatus::Invalid,
        Reason::TokenCheck,
    );
    // Dropping a hidden position (Rule 5).
    let mut partial = p.clone();
    partial.tokens[0].hidden.pop();
    check(
        &request,
        &context,
        &partial,
        now,
        ProofStatus::Invalid,
        Reason::Partition,
    );
    // Changing a disclosed value breaks the challenge.
    let mut changed = p.clone();
    changed.tokens[0].disclosed[0].1 =
        wallet_core::encoding::AttributeValue::String("Amsterdam".into());
    check(
        &request,
        &context,
        &changed,
        now,
        ProofStatus::Invalid,
        Reason::Challenge,
    );

    // Sound proofs that do not answer the request.
    let wants_amsterdam = city_request(Some("Amsterdam"));
    let ctx = context_for(&v, &wants_amsterdam);
    let p2 = show_city(&demo, &r, &ctx);
    check(
        &wants_amsterdam,
        &ctx,
        &p2,
        now,
        ProofStatus::UnmatchedRequest,
        Reason::UnmatchedRequest,
    );
    let wants_plate = SessionRequest::builder(SessionKind::Disclosing)
        .disjunction(vec![vec![AttributeRequest::new(
            "demo.utrecht.address.city".parse().unwrap(),
        )]])
        .disjunction(vec![vec![AttributeRequest::new(
            "demo.rdw.vehicle.licence_plate".parse().unwrap(),
        )]])
        .build()
        .unwrap();
    let ctx = context_for(&v, &wants_plate);
    let p3 = show_city(&demo, &r, &ctx);
    check(
        &wants_plate,
        &ctx,
        &p3,
        now,
        ProofStatus::MissingAttributes,
        Reason::MissingAttributes,
    );

    // Bytes that are not a presentation.
    let any = wallet_core::presentation::Expected::protocol_limits();
    assert!(decode_presentation(&[0x80], &any).is_err());
    assert_eq!(
        decode_presentation(
            &wallet_core::wire::WireMessage::to_bytes(
                &wallet_core::wire::PresentationMessage::new(p.clone())
            ),
            &any
        )
        .unwrap(),
        p
    );
}

#[test]
fn stored_signature_against_a_signed_scheme() {
    let demo = Demo::new();
    let r = Resident::new(&demo, 22);
    let v = parking();
    let request = SessionRequest::builder(SessionKind::Signing)
        .message("I object to permit 2026-114")
        .disjunction(vec![vec![AttributeRequest::new(
            "demo.utrecht.address.city".parse().unwrap(),
        )]])
        .build()
        .unwrap();
    let mut context = context_for(&v, &request);
    let t = now();
    context.timestamp = Some(t);
    let p = show_city(&demo, &r, &context);
    let signature = AttributeSignature::new(context, p).unwrap();
    let key = SigningKey::generate().unwrap();
    let ts = sign_timestamp(&key, "I object to permit 2026-114", t);
    let pinned = demo.scheme_key.public_key();
    let report = verify_signature_with_scheme(
        &demo.signed,
        &pinned,
        &signature,
        Some(&ts),
        &key.public_key(),
        t + 100 * DAY,
    );
    assert!(
        report.is_valid(),
        "{report:?}: checked at the vouched time, not at verification time"
    );
    assert_eq!(report.attributes()[0].raw_value.as_deref(), Some("Utrecht"));
    let wrong = wallet_core::scheme::SchemeSigningKey::generate()
        .unwrap()
        .public_key();
    let report = verify_signature_with_scheme(
        &demo.signed,
        &wrong,
        &signature,
        Some(&ts),
        &key.public_key(),
        t,
    );
    assert!(!report.is_valid());
    assert_eq!(report.reason(), Some(Reason::BadSchemeSignature));
    let report = verify_signature_with_scheme(
        &demo.signed,
        &pinned,
        &signature,
        None,
        &key.public_key(),
        t,
    );
    assert_eq!(report.reason(), Some(Reason::UntrustedTimestamp));
}

fn manager(demo: &Demo, store: Arc<dyn SessionStore>, key: &[u8]) -> Sessions {
    Sessions::new(
        store,
        SchemeHandle::new(demo.scheme.clone()),
        SessionSettings {
            public_url: "http://127.0.0.1:8701".into(),
            session_timeout: Duration::from_secs(60),
            result_ttl: Duration::from_secs(60),
            verify_workers: 2,
            max_wrong_answers: 3,
            limits: verifier::store::Limits::DEFAULT,
        },
        Arc::new(SigningKey::from_pkcs8_der(key).unwrap()),
        Metrics::new(),
    )
}

async fn one_completion(demo: &Demo, managers: Vec<Sessions>) {
    let r = Resident::new(demo, 23);
    let created = managers[0]
        .create(NewSession {
            verifier: parking(),
            request: city_request(None),
            allow_unregistered: false,
            requestor: "test".into(),
        })
        .await
        .unwrap();
    let bytes = managers[1 % managers.len()]
        .wallet_request(&created.wallet_token)
        .await
        .unwrap();
    let fetched = decode_request(&bytes);
    let answer = message(show_city(demo, &r, &fetched.context));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let m = managers[i % managers.len()].clone();
        let (w, a) = (created.wallet_token.clone(), answer.clone());
        tasks.push(tokio::spawn(async move { m.wallet_answer(&w, &a).await }));
    }
    let mut done = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(result) => {
                assert!(result.is_valid());
                done += 1;
            }
            Err(WalletError::Finished(SessionStatus::Done)) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(done, 1, "exactly one answer completes the session");
    let result = managers[0].result(&created.requestor_token).await.unwrap();
    assert!(result.is_valid());
}

#[tokio::test]
async fn concurrent_answers_complete_once_in_memory() {
    let demo = Demo::new();
    let key = SigningKey::generate().unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let managers = vec![
        manager(&demo, store.clone(), key.pkcs8_der()),
        manager(&demo, store, key.pkcs8_der()),
    ];
    one_completion(&demo, managers).await;
}

#[tokio::test]
async fn concurrent_answers_complete_once_in_redis() {
    let Some((url, prefix)) = test_kit::redis::test_redis("library") else {
        return;
    };
    let demo = Demo::new();
    let key = SigningKey::generate().unwrap();
    let mut managers = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn SessionStore> =
            Arc::new(RedisStore::connect(&url, &prefix).await.unwrap());
        managers.push(manager(&demo, store, key.pkcs8_der()));
    }
    one_completion(&demo, managers).await;
}

#[test]
fn offline_answer_by_library_call() {
    use wallet_core::wire::{DisclosureRequestMessage, Nonce};
    let demo = Demo::new();
    let r = Resident::new(&demo, 24);
    let challenge =
        DisclosureRequestMessage::new(parking(), city_request(None), Nonce::random(&mut OsRng));
    let answer = message(show_city(&demo, &r, &challenge.context()));
    let out = verifier::verify::verify_offline_answer(&demo.scheme, &challenge, &answer, now());
    assert!(out.is_valid(), "{out:?}");
    // The same answer to a fresh challenge (another nonce) fails.
    let fresh =
        DisclosureRequestMessage::new(parking(), city_request(None), Nonce::random(&mut OsRng));
    let out = verifier::verify::verify_offline_answer(&demo.scheme, &fresh, &answer, now());
    assert_eq!(out.reason(), Some(Reason::Challenge));
    let out = verifier::verify::verify_offline_answer(&demo.scheme, &fresh, b"garbage", now());
    assert_eq!(out.reason(), Some(Reason::Malformed));
}
