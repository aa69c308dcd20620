//! Rule 11 at the daemon: a presentation carrying more than the request
//! asks is refused as problem+json before any group operation, and a
//! session fails after `max_wrong_answers` refused presentations.

mod common;

use ciborium::Value as Cbor;
use common::*;
use serde_json::{json, Value};
use verifier::config::{StoreConfig, DEFAULT_BODY_LIMIT};

struct Session {
    token: String,
    wallet_url: String,
}

async fn create_ok(base: &str) -> Session {
    let r = client()
        .post(format!("{base}/session"))
        .json(&parking_request_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    Session {
        token: v["token"].as_str().unwrap().to_owned(),
        wallet_url: v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
    }
}

async fn fetch(session: &Session) -> Fetched {
    let r = client().get(&session.wallet_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    decode_request(&r.bytes().await.unwrap())
}

async fn post(session: &Session, body: Vec<u8>) -> reqwest::Response {
    client()
        .post(format!("{}/presentation", session.wallet_url))
        .header("content-type", "application/cbor")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn problem(r: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], format!("urn:kenmerk:verifier:{kind}"), "{v}");
    v
}

async fn status(base: &str, s: &Session) -> Value {
    let r = client()
        .get(format!("{base}/session/{}/status", s.token))
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

/// The honest answer with pseudonyms appended until the body is just under
/// `limit`; their point bytes are not valid encodings, so decoding them
/// would fail with a point error: the answer must be the count error.
fn flooded(honest: &[u8], limit: usize) -> (Vec<u8>, usize) {
    let mut message: Cbor = ciborium::from_reader(honest).unwrap();
    let Cbor::Map(fields) = &mut message else {
        panic!("not a map")
    };
    let Some((_, Cbor::Map(p))) = fields
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some("presentation"))
    else {
        panic!("no presentation")
    };
    let one = Cbor::Map(vec![
        (Cbor::Text("s".into()), Cbor::Text("demo.parking/x".into())),
        (Cbor::Text("p".into()), Cbor::Bytes(vec![0xff; 32])),
    ]);
    let each = {
        let mut b = Vec::new();
        ciborium::into_writer(&one, &mut b).unwrap();
        b.len()
    };
    let n = (limit - honest.len() - 16) / each;
    p.push((Cbor::Text("p".into()), Cbor::Array(vec![one; n])));
    let mut out = Vec::new();
    ciborium::into_writer(&message, &mut out).unwrap();
    assert!(out.len() < limit);
    (out, n)
}

#[tokio::test]
async fn a_presentation_flooded_to_the_body_limit_is_refused_unrequested() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 31);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base).await;
    let fetched = fetch(&s).await;
    let vehicle_key = demo.key("demo.rdw.vehicle").public();
    let honest = message(parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        vehicle_key,
        &fetched,
    ));
    let (flood, n) = flooded(&honest, DEFAULT_BODY_LIMIT);
    assert!(n > 4000, "{n} pseudonyms");
    let v = problem(post(&s, flood).await, 422, "unrequested").await;
    assert_eq!(v["reason"], "UNREQUESTED");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("{n} pseudonyms")),
        "{v}"
    );
    // One refusal does not end the session: the honest answer still counts.
    assert_eq!(status(&base, &s).await, json!("CONNECTED"));
    let r = post(&s, honest).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["proofStatus"], "VALID", "{v}");
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_session_fails_after_max_wrong_answers() {
    fails_after_max_wrong_answers(None).await;
}

/// The counter lives in the stored session, so it holds across instances
/// sharing Redis too.
#[tokio::test]
async fn a_session_fails_after_max_wrong_answers_in_redis() {
    let Some((url, prefix)) = test_kit::redis::test_redis("refusal") else {
        return;
    };
    fails_after_max_wrong_answers(Some(StoreConfig::Redis { url, prefix })).await;
}

async fn fails_after_max_wrong_answers(store: Option<StoreConfig>) {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 32);
    let d = daemon(&demo, |c| {
        c.max_wrong_answers = 3;
        if let Some(store) = store {
            c.store = store;
        }
    })
    .await;
    let base = format!("http://{}", d.addr());
    let vehicle_key = demo.key("demo.rdw.vehicle").public();

    // An honest answer for another session: the wrong context here.
    let other = create_ok(&base).await;
    let other_fetched = fetch(&other).await;
    let replayed = message(parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        vehicle_key,
        &other_fetched,
    ));

    let s = create_ok(&base).await;
    let fetched = fetch(&s).await;
    let honest = message(parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        vehicle_key,
        &fetched,
    ));
    let (flood, _) = flooded(&honest, 16 * 1024);

    problem(post(&s, replayed).await, 422, "wrong-context").await;
    assert_eq!(status(&base, &s).await, json!("CONNECTED"));
    problem(post(&s, vec![0xff]).await, 400, "malformed-presentation").await;
    assert_eq!(status(&base, &s).await, json!("CONNECTED"));
    // The third wrong answer is refused like the others, and fails the session.
    problem(post(&s, flood).await, 422, "unrequested").await;
    assert_eq!(status(&base, &s).await, json!("FAILED"));

    // The requestor sees why.
    let r = client()
        .get(format!("{base}/session/{}/result", s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["reason"], "UNREQUESTED", "{v}");
    assert_eq!(v["proofStatus"], "INVALID", "{v}");

    // Even the honest answer is refused now.
    let v = problem(post(&s, honest).await, 409, "session-finished").await;
    assert_eq!(v["reason"], "REPLAY_OR_LATE");

    // The other session was not touched by any of this.
    assert_eq!(status(&base, &other).await, json!("CONNECTED"));
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stored_signature_flooded_with_pseudonyms_is_refused_before_decoding() {
    use base64::Engine as _;
    use wallet_core::presentation::{ChallengeContext, PresentationBuilder};
    use wallet_core::signature::AttributeSignature;

    let demo = Demo::new();
    let resident = Resident::new(&demo, 33);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let ctx = ChallengeContext {
        verifier: "demo.parking".into(),
        request_digest: [1; 32],
        nonce: vec![2; 32],
        message: Some("ik teken".into()),
        timestamp: None,
    };
    let mut b = PresentationBuilder::new(&resident.holder, ctx.clone());
    b.token(
        &resident.address,
        demo.key("demo.utrecht.address").public(),
        &[3],
    );
    let p = b.prove(&mut rand_core::OsRng).unwrap();
    let signature = AttributeSignature::new(ctx, p).unwrap().to_bytes();
    let send = |bytes: Vec<u8>| {
        client()
            .post(format!("{base}/signature/verify"))
            .json(&json!({
                "signature": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
            }))
            .send()
    };
    // The honest signature verifies (on the pool).
    let r = send(signature.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["valid"], true, "{v}");

    // 17 pseudonyms whose point bytes are not encodings: refused by count.
    let mut value: Cbor = ciborium::from_reader(signature.as_slice()).unwrap();
    let Cbor::Map(fields) = &mut value else {
        panic!("not a map")
    };
    let Some((_, Cbor::Map(p))) = fields.iter_mut().find(|(k, _)| k.as_text() == Some("p")) else {
        panic!("no presentation")
    };
    let one = Cbor::Map(vec![
        (Cbor::Text("s".into()), Cbor::Text("x".into())),
        (Cbor::Text("p".into()), Cbor::Bytes(vec![0xff; 32])),
    ]);
    p.push((Cbor::Text("p".into()), Cbor::Array(vec![one; 17])));
    let mut flood = Vec::new();
    ciborium::into_writer(&value, &mut flood).unwrap();
    let v = problem(send(flood).await.unwrap(), 422, "unrequested").await;
    assert_eq!(v["reason"], "UNREQUESTED");
    d.shutdown().await.unwrap();
}
