//! The daemon over real HTTP on 127.0.0.1:0, with wallet-core's prover as
//! the wallet: disclosure, signing, pseudonyms, replay and misuse, timeouts,
//! malformed input, service hygiene, and two instances sharing Redis.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::{json, Value};
use verifier::config::StoreConfig;
use verifier::store::WalletToken;

struct Session {
    token: String,
    wallet_url: String,
    /// The session page (page token, not the requestor token).
    page: String,
}

impl Session {
    /// The page's summary of the result, next to the page.
    fn page_result(&self) -> String {
        self.page.replace("/view", "/page-result")
    }
}

async fn create(base: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{base}/session"))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn create_ok(base: &str, body: &Value) -> Session {
    let r = create(base, body).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    let page = v["page"].as_str().unwrap().to_owned();
    assert!(page.ends_with("/view"));
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(
        !page.contains(&token),
        "the page URL does not carry the requestor token"
    );
    Session {
        token,
        wallet_url: v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
        page,
    }
}

async fn fetch(session: &Session) -> Fetched {
    let r = client().get(&session.wallet_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/cbor");
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

async fn get_json(url: &str) -> (u16, Value) {
    let r = client().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn assert_problem(r: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], format!("urn:kenmerk:verifier:{kind}"), "{v}");
    assert_eq!(v["status"], status);
    assert!(v["title"].is_string() && v["detail"].is_string());
    v
}

#[tokio::test]
async fn disclosure_session_end_to_end() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 1);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base, &parking_request_json()).await;
    let (code, status) = get_json(&format!("{base}/session/{}/status", s.token)).await;
    assert_eq!((code, status), (200, json!("INITIALIZED")));

    // The status stream starts with the current status.
    let events = client()
        .get(format!("{base}/session/{}/statusevents", s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let mut events = events;

    let fetched = fetch(&s).await;
    assert_eq!(fetched.verifier.as_str(), "demo.parking");
    assert_eq!(
        get_json(&format!("{base}/session/{}/status", s.token))
            .await
            .1,
        json!("CONNECTED")
    );
    let p = parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        demo.key("demo.rdw.vehicle").public(),
        &fetched,
    );
    let r = post(&s, message(p)).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["proofStatus"], "VALID", "{answer}");

    let (code, result) = get_json(&format!("{base}/session/{}/result", s.token)).await;
    assert_eq!(code, 200);
    assert_eq!(result["status"], "DONE");
    assert_eq!(result["type"], "disclosing");
    assert_eq!(result["proofStatus"], "VALID");
    let disclosed = result["disclosed"].to_string();
    for v in ["Utrecht", "3512JE", "AB-123-C"] {
        assert!(disclosed.contains(v), "{disclosed}");
    }
    // Nothing beyond the request: no street, no BSN, no birth date.
    for v in ["Domplein", "123456782", "1990"] {
        assert!(!result.to_string().contains(v), "{result}");
    }
    assert_eq!(result["predicates"][0]["status"], "PROVEN");

    // The stream saw the changes and ended after DONE.
    let mut seen = String::new();
    let collect = async {
        while let Some(chunk) = events.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), collect)
        .await
        .expect("the stream ends after DONE");
    assert!(seen.contains("data: \"INITIALIZED\""), "{seen}");
    assert!(seen.contains("data: \"DONE\""), "{seen}");

    // The signed result verifies under the published key.
    let jwt = client()
        .get(format!("{base}/session/{}/result-jwt", s.token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, jwks) = get_json(&format!("{base}/publickey")).await;
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let claims = jsonwebtoken::decode::<Value>(
        &jwt,
        &key,
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA),
    )
    .unwrap()
    .claims;
    assert_eq!(claims["iss"], "demo.parking");
    assert_eq!(claims["proofStatus"], "VALID");

    // The page-result summary is label-resolved.
    let (_, view) = get_json(&s.page_result()).await;
    assert_eq!(view["valid"], true);
    assert!(view["attributes"].to_string().contains("Utrecht"));

    // DELETE after DONE is a conflict; metrics counted the session.
    let r = client()
        .delete(format!("{base}/session/{}", s.token))
        .send()
        .await
        .unwrap();
    assert_problem(r, 409, "session-finished").await;
    let metrics = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("kenmerk_verifier_sessions_finished_total{status=\"DONE\"} 1"));
    assert!(metrics.contains("kenmerk_verifier_presentations_total{outcome=\"valid\"} 1"));
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn replay_other_session_and_other_verifier_are_refused() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 2);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let vehicle_key = demo.key("demo.rdw.vehicle").public();

    let first = create_ok(&base, &parking_request_json()).await;
    let fetched = fetch(&first).await;
    let bytes = message(parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        vehicle_key,
        &fetched,
    ));
    assert_eq!(post(&first, bytes.clone()).await.status(), 200);

    // Again to the same session: refused, result unchanged.
    let again = assert_problem(post(&first, bytes.clone()).await, 409, "session-finished").await;
    assert_eq!(again["reason"], "REPLAY_OR_LATE");

    // To another session with the same request: the nonce differs.
    let second = create_ok(&base, &parking_request_json()).await;
    fetch(&second).await;
    let v = assert_problem(post(&second, bytes.clone()).await, 422, "wrong-context").await;
    assert_eq!(v["reason"], "CHALLENGE");
    // ... and the session is untouched, still waiting for its wallet.
    assert_eq!(
        get_json(&format!("{base}/session/{}/status", second.token))
            .await
            .1,
        json!("CONNECTED")
    );

    // To another verifier's session.
    let poll = create_ok(
        &base,
        &json!({"verifier": "demo.poll", "request": {
            "@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[["demo.utrecht.address.municipality"]]]
        }}),
    )
    .await;
    fetch(&poll).await;
    // The poll asks one attribute (one token); the parking answer carries
    // three, so it is refused by count before its challenge is computed
    // (Rule 11), and the poll session stays open.
    let v = assert_problem(post(&poll, bytes.clone()).await, 422, "unrequested").await;
    assert_eq!(v["reason"], "UNREQUESTED");
    assert_eq!(
        get_json(&format!("{base}/session/{}/status", poll.token))
            .await
            .1,
        json!("CONNECTED")
    );

    // To another verifier daemon (another instance, another store).
    let other = daemon(&demo, |_| {}).await;
    let other_base = format!("http://{}", other.addr());
    let foreign = create_ok(&other_base, &parking_request_json()).await;
    fetch(&foreign).await;
    assert_problem(post(&foreign, bytes).await, 422, "wrong-context").await;
    other.shutdown().await.unwrap();
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn over_asking_is_refused_unless_explicitly_allowed() {
    let demo = Demo::new();
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let mut body = json!({"verifier": "demo.parking", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city", "demo.utrecht.personal.bsn"]]]
    }});
    let v = assert_problem(create(&base, &body).await, 403, "beyond-registration").await;
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("demo.utrecht.personal.bsn"));
    body["allowUnregistered"] = json!(true);
    create_ok(&base, &body).await;

    // A pseudonym the parking desk is not registered for.
    let body = json!({"verifier": "demo.parking", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city"]]],
        "pseudonym": "permit"
    }});
    assert_problem(create(&base, &body).await, 403, "beyond-registration").await;

    // Unknown verifier, unknown attribute, issuance request, no verifier.
    let body = json!({"verifier": "demo.nobody", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city"]]]
    }});
    assert_problem(create(&base, &body).await, 422, "unknown-verifier").await;
    let body = json!({"verifier": "demo.parking", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.planet"]]]
    }});
    assert_problem(create(&base, &body).await, 422, "request-not-in-scheme").await;
    let body = json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city"]]]
    });
    assert_problem(create(&base, &body).await, 400, "no-verifier").await;
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn signing_session_and_stored_signature() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 3);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(
        &base,
        &json!({"verifier": "demo.parking", "request": {
            "@context": "https://irma.app/ld/request/signature/v2",
            "message": "I object to permit 2026-114",
            "disclose": [[["demo.utrecht.address.city"]]]
        }}),
    )
    .await;
    let fetched = fetch(&s).await;
    assert_eq!(
        fetched.context.message.as_deref(),
        Some("I object to permit 2026-114")
    );
    assert!(fetched.context.timestamp.is_some());
    let address_key = demo.key("demo.utrecht.address").public();
    let p = present(
        &resident.holder,
        &[(&resident.address, address_key, &[3])],
        &fetched,
    );
    let answer: Value = post(&s, message(p)).await.json().await.unwrap();
    assert_eq!(answer["proofStatus"], "VALID", "{answer}");
    let (_, result) = get_json(&format!("{base}/session/{}/result", s.token)).await;
    assert_eq!(result["type"], "signing");
    assert_eq!(result["message"], "I object to permit 2026-114");
    let signature = result["signature"].as_str().unwrap().to_owned();
    let ts = result["timestampSignature"].clone();
    assert_eq!(ts["timestamp"], fetched.context.timestamp.unwrap());

    // Anyone can check it later.
    let verify = |body: Value| {
        let url = format!("{base}/signature/verify");
        async move {
            let r = client().post(url).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let report = verify(json!({"signature": signature, "timestampSignature": ts})).await;
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["message"], "I object to permit 2026-114");
    assert_eq!(report["attributes"][0]["rawvalue"], "Utrecht");
    // Without the verifier's timestamp signature, or with a forged one: refused.
    let report = verify(json!({"signature": signature})).await;
    assert_eq!(report["valid"], false);
    assert_eq!(report["reason"], "UNTRUSTED_TIMESTAMP");
    let mut forged = ts.clone();
    forged["timestamp"] = json!(ts["timestamp"].as_u64().unwrap() - 86_400);
    let report = verify(json!({"signature": signature, "timestampSignature": forged})).await;
    assert_eq!(report["reason"], "UNTRUSTED_TIMESTAMP");
    // A tampered signature does not decode or does not verify.
    let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&signature)
        .unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    let r = client()
        .post(format!("{base}/signature/verify"))
        .json(&json!({"signature": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes), "timestampSignature": ts}))
        .send()
        .await
        .unwrap();
    if r.status() == 200 {
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["valid"], false, "{report}");
    } else {
        assert_problem(r, 400, "malformed-signature").await;
    }

    // The timestamp endpoint signs time and message digest.
    let r = client()
        .post(format!("{base}/timestamp"))
        .json(&json!({"message": "hello"}))
        .send()
        .await
        .unwrap();
    let ts: Value = r.json().await.unwrap();
    assert!(ts["timestamp"].as_u64().unwrap() >= now() - 5);
    let parsed: verifier::signature::SignedTimestamp = serde_json::from_value(ts.clone()).unwrap();
    assert!(verifier::signature::check_timestamp(
        &parsed,
        &d.sessions().signing_key().public_key(),
        "hello",
        parsed.timestamp
    ));
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn poll_pseudonyms_detect_a_second_vote() {
    let demo = Demo::new();
    let alice = Resident::new(&demo, 4);
    let bob = Resident::new(&demo, 5);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let poll = json!({"verifier": "demo.poll", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[[{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]]],
        "pseudonym": "park-2026"
    }});
    let key = demo.key("demo.utrecht.address").public();
    let mut pseudonyms = Vec::new();
    for who in [&alice, &alice, &bob] {
        let s = create_ok(&base, &poll).await;
        let fetched = fetch(&s).await;
        let p = present(&who.holder, &[(&who.address, key, &[4])], &fetched);
        let answer: Value = post(&s, message(p)).await.json().await.unwrap();
        assert_eq!(answer["proofStatus"], "VALID", "{answer}");
        let (_, result) = get_json(&format!("{base}/session/{}/result", s.token)).await;
        assert_eq!(result["pseudonym"]["scope"], "demo.poll/park-2026");
        pseudonyms.push(result["pseudonym"]["value"].as_str().unwrap().to_owned());
    }
    assert_eq!(pseudonyms[0], pseudonyms[1], "same resident, same scope");
    assert_ne!(pseudonyms[0], pseudonyms[2], "different residents");

    // A presentation without the requested pseudonym is MISSING_ATTRIBUTES.
    let s = create_ok(&base, &poll).await;
    let fetched = fetch(&s).await;
    let mut b =
        wallet_core::presentation::PresentationBuilder::new(&bob.holder, fetched.context.clone());
    b.token(&bob.address, key, &[4]);
    let p = b.prove(&mut rand_core::OsRng).unwrap();
    let answer: Value = post(&s, message(p)).await.json().await.unwrap();
    assert_eq!(answer["proofStatus"], "MISSING_ATTRIBUTES");
    assert_eq!(answer["reason"], "MISSING_ATTRIBUTES");
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn sessions_time_out() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 7);
    let d = daemon(&demo, |c| c.session_timeout = Duration::from_secs(2)).await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base, &parking_request_json()).await;
    let fetched = fetch(&s).await;
    let events = client()
        .get(format!("{base}/session/{}/statusevents", s.token))
        .send()
        .await
        .unwrap()
        .text();
    // The stream ends by itself with TIMEOUT (no other write happens).
    let text = tokio::time::timeout(Duration::from_secs(10), events)
        .await
        .expect("stream ends at the deadline")
        .unwrap();
    assert!(text.contains("\"TIMEOUT\""), "{text}");
    assert_eq!(
        get_json(&format!("{base}/session/{}/status", s.token))
            .await
            .1,
        json!("TIMEOUT")
    );
    let p = parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        demo.key("demo.rdw.vehicle").public(),
        &fetched,
    );
    assert_problem(post(&s, message(p)).await, 409, "session-finished").await;
    let (_, result) = get_json(&format!("{base}/session/{}/result", s.token)).await;
    assert_eq!(result["status"], "TIMEOUT");
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn cancel_and_decline() {
    let demo = Demo::new();
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base, &parking_request_json()).await;
    let r = client()
        .delete(format!("{base}/session/{}", s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        get_json(&format!("{base}/session/{}/status", s.token))
            .await
            .1,
        json!("CANCELLED")
    );
    assert_problem(
        client().get(&s.wallet_url).send().await.unwrap(),
        409,
        "session-finished",
    )
    .await;
    let s = create_ok(&base, &parking_request_json()).await;
    fetch(&s).await;
    let r = client().delete(&s.wallet_url).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        get_json(&format!("{base}/session/{}/status", s.token))
            .await
            .1,
        json!("CANCELLED")
    );
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_and_oversized_input() {
    let demo = Demo::new();
    // Enough wrong answers allowed to see each refusal on one session
    // (failing after a few is tests/refusal.rs's subject).
    let d = daemon(&demo, |c| {
        c.body_limit = 16 * 1024;
        c.max_wrong_answers = 10;
    })
    .await;
    let base = format!("http://{}", d.addr());
    let send = |body: Vec<u8>| {
        client()
            .post(format!("{base}/session"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_problem(
        send(b"{not json".to_vec()).await.unwrap(),
        400,
        "malformed-json",
    )
    .await;
    assert_problem(
        send(br#"{"@context": "https://example.org/nope"}"#.to_vec())
            .await
            .unwrap(),
        400,
        "invalid-request",
    )
    .await;
    assert_problem(
        send(br#"{"request": {}, "extra": 1}"#.to_vec())
            .await
            .unwrap(),
        400,
        "invalid-request",
    )
    .await;
    let issuing = json!({"verifier": "demo.parking", "request": {
        "@context": "https://irma.app/ld/request/issuance/v2",
        "credentials": [{"credential": "demo.utrecht.address", "attributes": {"city": "Utrecht"}}]
    }});
    let r = create(&base, &issuing).await;
    assert!(r.status() == 400, "{}", r.status());
    let mut big = b"{\"x\":\"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 64 * 1024));
    big.extend(b"\"}");
    assert_problem(send(big).await.unwrap(), 413, "body-too-large").await;

    let s = create_ok(&base, &parking_request_json()).await;
    fetch(&s).await;
    for garbage in [
        vec![],
        vec![0xff],
        vec![0xa1, 0x61, 0x76, 0x02],
        vec![0u8; 1000],
    ] {
        let v = assert_problem(post(&s, garbage).await, 400, "malformed-presentation").await;
        assert_eq!(v["reason"], "MALFORMED");
    }
    assert_problem(post(&s, vec![0u8; 20_000]).await, 413, "body-too-large").await;
    // Still open after all that.
    assert_eq!(
        get_json(&format!("{base}/session/{}/status", s.token))
            .await
            .1,
        json!("CONNECTED")
    );
    // Unknown and malformed tokens look the same.
    for t in ["nope", &"A".repeat(43), "..%2F..%2Fetc"] {
        let r = client()
            .get(format!("{base}/session/{t}/status"))
            .send()
            .await
            .unwrap();
        assert_problem(r, 404, "session-not-found").await;
    }
    let r = client()
        .get(format!(
            "{base}/wallet/{}",
            WalletToken::generate().as_str()
        ))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "session-not-found").await;
    let r = client()
        .get(format!("{base}/no/such/thing"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not-found").await;
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn offline_challenge_and_answer() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 8);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let r = client()
        .post(format!("{base}/offline/challenge"))
        .json(&json!({"verifier": "demo.poll", "request": {
            "@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[["demo.utrecht.address.municipality"]]]
        }}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert!(c["qr"].as_str().unwrap().contains("<svg"));
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c["payload"].as_str().unwrap())
        .unwrap();
    let fetched = decode_request(&payload);
    let key = demo.key("demo.utrecht.address").public();
    let p = present(
        &resident.holder,
        &[(&resident.address, key, &[4])],
        &fetched,
    );
    let answer = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message(p));
    let url = format!("{base}/offline/{}/answer", c["token"].as_str().unwrap());
    let r = client()
        .post(&url)
        .body(answer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let result: Value = r.json().await.unwrap();
    assert_eq!(result["proofStatus"], "VALID", "{result}");
    let r = client().post(&url).body(answer).send().await.unwrap();
    assert_problem(r, 409, "session-finished").await;
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn requestor_auth_cors_and_ops_endpoints() {
    use verifier::auth::{Credential, Requestor, RequestorAuth};
    let demo = Demo::new();
    let d = daemon(&demo, |c| {
        c.auth = RequestorAuth::Requestors(vec![Requestor {
            name: "desk".into(),
            verifier: Some("demo.parking".parse().unwrap()),
            credential: Credential::Token(zeroize::Zeroizing::new("desk-secret-0123456789".into())),
        }]);
        c.allowed_origins = vec!["https://desk.example".into()];
    })
    .await;
    let base = format!("http://{}", d.addr());
    let body = parking_request_json();
    let v = assert_problem(create(&base, &body).await, 401, "unauthorized").await;
    assert_eq!(v["reason"], "MISSING");
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "unauthorized").await;
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth("desk-secret-0123456789")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Bound to demo.parking: may not act as the poll.
    let mut as_poll = body.clone();
    as_poll["verifier"] = json!("demo.poll");
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth("desk-secret-0123456789")
        .json(&as_poll)
        .send()
        .await
        .unwrap();
    assert_problem(r, 403, "verifier-not-allowed").await;

    // Timestamps are for requestors only.
    let r = client()
        .post(format!("{base}/timestamp"))
        .json(&json!({"message": "hello"}))
        .send()
        .await
        .unwrap();
    assert_problem(r, 401, "unauthorized").await;
    let r = client()
        .post(format!("{base}/timestamp"))
        .bearer_auth("desk-secret-0123456789")
        .json(&json!({"message": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // CORS only for the configured origin.
    let preflight = |origin: &'static str| {
        client()
            .request(reqwest::Method::OPTIONS, format!("{base}/session"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = preflight("https://desk.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://desk.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    assert_eq!(get_json(&format!("{base}/healthz")).await.0, 200);
    let (code, ready) = get_json(&format!("{base}/readyz")).await;
    assert_eq!(code, 200);
    assert_eq!(ready["scheme"], "demo");
    let (code, doc) = get_json(&format!("{base}/openapi.json")).await;
    assert_eq!(code, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/session",
        "/session/{token}/statusevents",
        "/wallet/{token}/presentation",
        "/signature/verify",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
    let metrics = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains("kenmerk_verifier_sessions_created_total 1"));
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn scheme_from_file_with_a_bad_signature_does_not_start() {
    use verifier::config::SchemeLocation;
    use verifier::daemon::{start, SchemeConfig, StartError, VerifierConfig};
    use verifier::scheme_source::SchemeLoadError;
    use wallet_core::scheme::SchemeVerifyError;
    let demo = Demo::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scheme.json");
    std::fs::write(&path, demo.signed.to_json_pretty().unwrap()).unwrap();
    let config = |key| {
        let mut c = VerifierConfig::with_scheme(demo.scheme.clone());
        c.scheme = SchemeConfig::Location {
            location: SchemeLocation::File(path.clone()),
            key: Some(key),
            refresh: Duration::from_secs(60),
        };
        c
    };
    let good = start(config(demo.scheme_key.public_key())).await.unwrap();
    assert_eq!(
        get_json(&format!("http://{}/readyz", good.addr())).await.0,
        200
    );
    good.shutdown().await.unwrap();
    let wrong_key = wallet_core::scheme::SchemeSigningKey::generate()
        .unwrap()
        .public_key();
    match start(config(wrong_key)).await {
        Err(StartError::Scheme(SchemeLoadError::Verify(SchemeVerifyError::BadSignature))) => {}
        Err(e) => panic!("expected a bad-signature error, got {e}"),
        Ok(_) => panic!("started with a scheme signed by another key"),
    }
}

#[tokio::test]
async fn two_instances_share_sessions_through_redis() {
    let Some((url, prefix)) = test_kit::redis::test_redis("http") else {
        return;
    };
    let demo = Demo::new();
    let resident = Resident::new(&demo, 9);
    let key = verifier::signing::SigningKey::generate().unwrap();
    let pkcs8 = key.pkcs8_der().to_vec();
    let store = StoreConfig::Redis {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    let a = daemon(&demo, |c| {
        c.store = store.clone();
        c.signing_key = Some(verifier::signing::SigningKey::from_pkcs8_der(&pkcs8).unwrap());
    })
    .await;
    let b = daemon(&demo, |c| {
        c.store = store.clone();
        c.signing_key = Some(verifier::signing::SigningKey::from_pkcs8_der(&pkcs8).unwrap());
    })
    .await;
    let base_a = format!("http://{}", a.addr());
    let base_b = format!("http://{}", b.addr());
    let s = create_ok(&base_a, &parking_request_json()).await;
    let events = client()
        .get(format!("{base_a}/session/{}/statusevents", s.token))
        .send()
        .await
        .unwrap()
        .text();
    // The wallet talks to instance B.
    let on_b = Session {
        token: s.token.clone(),
        wallet_url: s.wallet_url.replace(&base_a, &base_b),
        page: s.page.replace(&base_a, &base_b),
    };
    let fetched = fetch(&on_b).await;
    let p = parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        demo.key("demo.rdw.vehicle").public(),
        &fetched,
    );
    let bytes = message(p);
    let answer: Value = post(&on_b, bytes.clone()).await.json().await.unwrap();
    assert_eq!(answer["proofStatus"], "VALID");
    // Instance A's stream saw it, and A serves the result.
    let text = tokio::time::timeout(Duration::from_secs(10), events)
        .await
        .expect("A's stream ends after B completed the session")
        .unwrap();
    assert!(text.contains("\"DONE\""), "{text}");
    let (_, result) = get_json(&format!("{base_a}/session/{}/result", s.token)).await;
    assert_eq!(result["proofStatus"], "VALID");
    // A replay on A is refused too.
    assert_problem(post(&s, bytes).await, 409, "session-finished").await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_ends_open_status_streams() {
    let demo = Demo::new();
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base, &parking_request_json()).await;
    let mut events = client()
        .get(format!("{base}/session/{}/statusevents", s.token))
        .send()
        .await
        .unwrap();
    let first = events.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("INITIALIZED"));
    let r = client()
        .put(format!("{base}/session"))
        .send()
        .await
        .unwrap();
    assert_problem(r, 405, "method-not-allowed").await;
    // The session is still waiting, yet shutdown does not wait for it.
    tokio::time::timeout(Duration::from_secs(5), d.shutdown())
        .await
        .expect("shutdown within 5 s despite an open event stream")
        .unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = events.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the event stream ended");
}

#[tokio::test]
async fn session_page_speaks_dutch_and_is_locked_down() {
    let demo = Demo::new();
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base, &parking_request_json()).await;
    let r = client()
        .get(&s.page)
        .header("accept-language", "nl-NL,nl;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"nl\">"));
    assert!(html.contains("Parkeervergunningen Utrecht (demo)"));
    assert!(html.contains("Leeftijd minstens 18 (Geboortedatum (Persoonsgegevens))"));
    assert!(
        html.contains(&s.wallet_url),
        "the pointer for wallets without a camera"
    );
    assert!(html.contains("role=\"status\""));
    for asset in ["page.css", "page.js"] {
        let r = client()
            .get(format!("{base}/assets/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // The page-result of a running session is a conflict, not an empty result.
    let r = client().get(s.page_result()).send().await.unwrap();
    assert_problem(r, 409, "session-not-finished").await;
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn requestor_jwt_authentication() {
    use verifier::auth::{Credential, Requestor, RequestorAuth};
    let demo = Demo::new();
    let requestor_key = verifier::signing::SigningKey::generate().unwrap();
    let d = daemon(&demo, |c| {
        c.auth = RequestorAuth::Requestors(vec![Requestor {
            name: "poll-office".into(),
            verifier: Some("demo.poll".parse().unwrap()),
            credential: Credential::JwtEdDsa(requestor_key.decoding_key()),
        }]);
    })
    .await;
    let base = format!("http://{}", d.addr());
    let body = json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.municipality"]]]
    });
    let post = |jwt: String| {
        client()
            .post(format!("{base}/session"))
            .bearer_auth(jwt)
            .json(&body)
            .send()
    };
    let good = requestor_key
        .jwt(&json!({"iss": "poll-office", "exp": now() + 60}))
        .unwrap();
    assert_eq!(post(good).await.unwrap().status(), 200);
    let expired = requestor_key
        .jwt(&json!({"iss": "poll-office", "exp": now() - 3600}))
        .unwrap();
    let v = assert_problem(post(expired).await.unwrap(), 401, "unauthorized").await;
    assert_eq!(v["reason"], "EXPIRED");
    let stranger = verifier::signing::SigningKey::generate()
        .unwrap()
        .jwt(&json!({"iss": "poll-office", "exp": now() + 60}))
        .unwrap();
    let v = assert_problem(post(stranger).await.unwrap(), 401, "unauthorized").await;
    assert_eq!(v["reason"], "INVALID");
    d.shutdown().await.unwrap();
}
