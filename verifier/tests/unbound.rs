//! Only a presentation proven to be made for a session may finish it. A
//! failure before wallet-core's challenge check (unknown key, expired or
//! broken token, rotated-out key) proves nothing about which session the
//! presentation was made for: it is refused like a wrong context, counted
//! toward `max_wrong_answers`, and the last reason is what the requestor
//! sees once the session has FAILED.

mod common;

use common::*;
use curve25519_dalek::scalar::Scalar;
use serde_json::{json, Value};

struct Session {
    token: String,
    wallet_url: String,
    page: String,
}

async fn create_ok(base: &str, body: &Value) -> Session {
    let r = client()
        .post(format!("{base}/session"))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    Session {
        token: v["token"].as_str().unwrap().to_owned(),
        wallet_url: v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
        page: v["page"].as_str().unwrap().to_owned(),
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

async fn get_json(url: &str) -> (u16, Value) {
    let r = client().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Refused as `wrong-context`, with `reason` in the problem document.
async fn wrong_context(r: reqwest::Response) -> Value {
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "urn:kenmerk:verifier:wrong-context", "{v}");
    v
}

async fn status(base: &str, s: &Session) -> Value {
    get_json(&format!("{base}/session/{}/status", s.token))
        .await
        .1
}

#[tokio::test]
async fn another_sessions_broken_presentation_does_not_finish_a_session() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 41);
    let d = daemon(&demo, |c| c.max_wrong_answers = 3).await;
    let base = format!("http://{}", d.addr());
    let vehicle_key = demo.key("demo.rdw.vehicle").public();

    // A presentation made for another session.
    let other = create_ok(&base, &parking_request_json()).await;
    let other_fetched = fetch(&other).await;
    let honest = parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        vehicle_key,
        &other_fetched,
    );

    let victim = create_ok(&base, &parking_request_json()).await;
    fetch(&victim).await;

    // Unmodified: wrong context, session untouched.
    wrong_context(post(&victim, message(honest.clone())).await).await;
    assert_eq!(status(&base, &victim).await, json!("CONNECTED"));

    // One token field broken: refused the same way, not DONE / INVALID.
    let mut broken = honest.clone();
    broken.tokens[0].token.sr = Scalar::ZERO;
    let v = wrong_context(post(&victim, message(broken)).await).await;
    assert_eq!(status(&base, &victim).await, json!("CONNECTED"), "{v}");
    // The wallet is told what failed, not only "wrong session".
    assert_eq!(v["reason"], "TOKEN_CHECK", "{v}");

    // The token's expiry changed (its information no longer matches).
    let mut expiry = honest.clone();
    expiry.tokens[0].token.ti.expiry -= 1;
    wrong_context(post(&victim, message(expiry)).await).await;
    // Third refusal: the session FAILED, and the requestor sees why.
    assert_eq!(status(&base, &victim).await, json!("FAILED"));
    let (code, result) = get_json(&format!("{base}/session/{}/result", victim.token)).await;
    assert_eq!(code, 200);
    assert_eq!(result["status"], "FAILED", "{result}");
    assert_ne!(result["reason"], "CHALLENGE", "{result}");
    assert!(result["reason"].is_string(), "{result}");
    assert_eq!(result["proofStatus"], "INVALID", "{result}");

    // The session the presentation was made for still completes with it.
    let r = post(&other, message(honest)).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["proofStatus"], "VALID", "{v}");
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unknown_key_from_another_session_is_refused() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 42);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let request = json!({"verifier": "demo.parking", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city"]]]
    }});
    let unknown = issue(
        &demo.unknown_address_key,
        &resident.holder,
        resident.address.attributes().to_vec(),
        now(),
        7 * DAY,
    );
    let other = create_ok(&base, &request).await;
    let fetched = fetch(&other).await;
    let p = present(
        &resident.holder,
        &[(&unknown, demo.unknown_address_key.public(), &[3])],
        &fetched,
    );
    let victim = create_ok(&base, &request).await;
    fetch(&victim).await;
    let v = wrong_context(post(&victim, message(p)).await).await;
    assert!(v["detail"].is_string(), "{v}");
    assert_eq!(status(&base, &victim).await, json!("CONNECTED"));
    d.shutdown().await.unwrap();
}

/// Formerly in `http.rs`, where each of these ended the session as DONE
/// with its own status. They fail before the challenge, so they no longer
/// finish the session; the intent (each keeps its own status and reason,
/// and the requestor and the page see it) holds once the session FAILED,
/// here after one refusal.
#[tokio::test]
async fn expired_unknown_and_rotated_out_keys_each_have_their_status() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 6);
    let d = daemon(&demo, |c| c.max_wrong_answers = 1).await;
    let base = format!("http://{}", d.addr());
    let request = json!({"verifier": "demo.parking", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.rdw.vehicle.licence_plate"]]]
    }});
    let vehicle_values = || {
        vec![
            wallet_core::encoding::AttributeValue::String("XX-999-Y".into()),
            wallet_core::encoding::AttributeValue::String("Fiat".into()),
            wallet_core::encoding::AttributeValue::String("123456782".into()),
        ]
    };
    // Expired (also what a revoked credential becomes): issued 30 days ago
    // for 7 days.
    let expired = issue(
        demo.key("demo.rdw.vehicle"),
        &resident.holder,
        vehicle_values(),
        now() - 30 * DAY,
        7 * DAY,
    );
    // Signed by the rotated-out key (its validity ended yesterday).
    let rotated = issue(
        &demo.rotated_vehicle_key,
        &resident.holder,
        vehicle_values(),
        now() - 20 * DAY,
        7 * DAY,
    );
    let unknown = issue(
        &demo.unknown_address_key,
        &resident.holder,
        resident.address.attributes().to_vec(),
        now(),
        7 * DAY,
    );
    let city = json!({"verifier": "demo.parking", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city"]]]
    }});
    let vehicle_key = demo.key("demo.rdw.vehicle").public();
    let cases: [(
        &Value,
        &wallet_core::token::CredentialToken,
        &wallet_core::keys::IssuerPublicKey,
        usize,
        &str,
        &str,
    ); 3] = [
        (
            &request,
            &expired,
            vehicle_key,
            0,
            "EXPIRED",
            "TOKEN_EXPIRED",
        ),
        (
            &request,
            &rotated,
            demo.rotated_vehicle_key.public(),
            0,
            "EXPIRED",
            "KEY_NOT_VALID",
        ),
        (
            &city,
            &unknown,
            demo.unknown_address_key.public(),
            3,
            "INVALID",
            "UNKNOWN_KEY",
        ),
    ];
    for (request, token, key, position, status, reason) in cases {
        let s = create_ok(&base, request).await;
        let fetched = fetch(&s).await;
        let p = present(&resident.holder, &[(token, key, &[position])], &fetched);
        wrong_context(post(&s, message(p)).await).await;
        let (_, result) = get_json(&format!("{base}/session/{}/result", s.token)).await;
        assert_eq!(result["status"], "FAILED", "{result}");
        assert_eq!(result["proofStatus"], status, "{result}");
        assert_eq!(result["reason"], reason, "{result}");
        // The page says why.
        let (_, view) = get_json(&s.page.replace("/view", "/page-result")).await;
        assert_eq!(view["valid"], false);
        assert!(
            view["reason"].as_str().unwrap().starts_with(reason),
            "{view}"
        );
    }
    d.shutdown().await.unwrap();
}
