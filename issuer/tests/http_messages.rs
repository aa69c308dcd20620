//! The issuer over real HTTP: replayed and out-of-order messages, bad
//! proofs, malformed input and requestor authentication (static tokens and
//! JWTs). Every failure is a problem document.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use wallet_core::wire::{ChallengesMessage, HolderCommitment, WireMessage};

/// Replayed and out-of-order messages, bad proofs, cancel.
#[tokio::test]
async fn replay_and_order() {
    let h = Harness::start(Backend::Sqlite, |_| {}).await.unwrap();
    let scheme = h.scheme().await;
    let wallet = Wallet::new(6, scheme.clone());
    let (url, token, _) = h.create_ok(&address_request("Domplein", None)).await;
    let offer = wallet.fetch_offer(&h, &url).await;

    // Challenges before the commitment.
    let fake = ChallengesMessage::new(vec![]);
    let r = h
        .post_cbor(&format!("{url}/challenges"), fake.to_bytes())
        .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "an empty set is malformed"
    );
    // A refresh proof on an issuance session.
    let proof = wallet_core::wire::RefreshProof::new(
        offer.credentials[0].record.clone(),
        wallet.holder.prove_possession(
            &mut rand_core::OsRng,
            &offer.nonce.0,
            &scheme.issuer_keys[0].key_id(),
        ),
    );
    let r = h
        .post_cbor(&format!("{url}/refresh-proof"), proof.to_bytes())
        .await;
    problem(r, StatusCode::CONFLICT).await;

    let commitment = wallet.commitment(&offer).to_bytes();
    let r = h
        .post_cbor(&format!("{url}/commitment"), commitment.clone())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let signer_bytes = r.bytes().await.unwrap().to_vec();
    // The same commitment again: the same signer commitments (a retry).
    let r = h
        .post_cbor(&format!("{url}/commitment"), commitment.clone())
        .await;
    assert_eq!(r.bytes().await.unwrap().to_vec(), signer_bytes);
    // Another commitment (fresh proof) for the same session: refused.
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&offer).to_bytes(),
        )
        .await;
    problem(r, StatusCode::CONFLICT).await;
    // Wrong number of challenge sets: refused, session unharmed.
    let signer = wallet_core::wire::SignerCommitmentsMessage::from_bytes(&signer_bytes).unwrap();
    let (pending, challenges) = wallet.challenges(&offer, &signer);
    let mut doubled = challenges.clone();
    doubled.challenges.push(challenges.challenges[0].clone());
    let r = h
        .post_cbor(&format!("{url}/challenges"), doubled.to_bytes())
        .await;
    problem(r, StatusCode::BAD_REQUEST).await;
    let r = h
        .post_cbor(&format!("{url}/challenges"), challenges.to_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    Wallet::finish(pending, &r.bytes().await.unwrap());
    // After DONE: the offer is gone, a commitment retry still answers.
    problem(h.client.get(&url).send().await.unwrap(), StatusCode::GONE).await;
    // Cancelling a finished session is a conflict.
    let r = h
        .client
        .delete(h.url(&format!("/session/{token}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::CONFLICT).await;

    // A holder proof for another nonce ends the session (rule 2).
    let (url, token, _) = h.create_ok(&address_request("Domplein", None)).await;
    let offer2 = wallet.fetch_offer(&h, &url).await;
    let mut wrong = offer2.clone();
    wrong.nonce = offer.nonce;
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&wrong).to_bytes(),
        )
        .await;
    let p = problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["type"], "urn:kenmerk:problem:issuance-refused");
    assert_eq!(h.status(&token).await, "CANCELLED");
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&offer2).to_bytes(),
        )
        .await;
    problem(r, StatusCode::GONE).await;
    assert_eq!(h.metric("kenmerk_issuer_sessions_failed_total").await, 1);

    // Cancel by the requestor.
    let (url, token, _) = h.create_ok(&address_request("Domplein", None)).await;
    let r = h
        .client
        .delete(h.url(&format!("/session/{token}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.status(&token).await, "CANCELLED");
    problem(h.client.get(&url).send().await.unwrap(), StatusCode::GONE).await;
    problem(
        h.client
            .get(h.url("/wallet/session/nope"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    h.stop().await;
}

/// Malformed CBOR and JSON, oversized bodies, invalid attribute values,
/// wrong authentication: every failure is a problem document.
#[tokio::test]
async fn bad_input() {
    let h = Harness::start(Backend::Sqlite, |c| c.max_body_bytes = 4096)
        .await
        .unwrap();
    let wallet = Wallet::new(7, h.scheme().await);
    let (url, _, _) = h.create_ok(&address_request("Domplein", None)).await;
    let offer = wallet.fetch_offer(&h, &url).await;
    for body in [
        vec![],
        vec![0xff, 0x00],
        b"{\"json\": true}".to_vec(),
        // Valid CBOR of the wrong message.
        offer.to_bytes(),
        // The right message with a trailing byte.
        [wallet.commitment(&offer).to_bytes(), vec![0]].concat(),
    ] {
        let r = h.post_cbor(&format!("{url}/commitment"), body).await;
        let p = problem(r, StatusCode::BAD_REQUEST).await;
        assert_eq!(p["type"], "urn:kenmerk:problem:malformed-message");
    }
    // A truncated commitment.
    let mut bytes = HolderCommitment::new(wallet.holder.public(), vec![]).to_bytes();
    bytes.truncate(bytes.len() / 2);
    problem(
        h.post_cbor(&format!("{url}/commitment"), bytes).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    // The session survives all of that.
    wallet.issue(&h, &url).await;

    let r = h
        .post_cbor(&format!("{url}/commitment"), vec![0u8; 5000])
        .await;
    problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    let r = h
        .client
        .post(h.url("/session"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(format!("{{\"x\": \"{}\"}}", "a".repeat(5000)))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;

    for (body, why) in [
        (json!({"credentials": []}), "no context"),
        (
            json!({"@context": "https://irma.app/ld/request/issuance/v2", "credentials": []}),
            "empty",
        ),
        (
            json!({"@context": "https://irma.app/ld/request/disclosure/v2", "credentials": [], "disclose": [[["demo.utrecht.address.city"]]]}),
            "not issuance",
        ),
        (
            json!({"@context": "https://irma.app/ld/request/issuance/v2", "credentials": [{"credential": "demo.utrecht.nope", "attributes": {}}]}),
            "unknown type",
        ),
        (address_request("", None), "required attribute empty"),
        (
            json!({"@context": "https://irma.app/ld/request/issuance/v2", "credentials": [{"credential": "demo.utrecht.address", "attributes": {"street": "x", "house_number": "one", "postal_code": "1", "city": "c", "municipality": "m"}}]}),
            "integer kind",
        ),
        (
            json!({"@context": "https://irma.app/ld/request/issuance/v2", "credentials": [{"credential": "demo.utrecht.address", "attributes": {"street": "x".repeat(5000), "house_number": "1", "postal_code": "1", "city": "c", "municipality": "m"}}]}),
            "too long (also body limit)",
        ),
        (address_request("Domplein", Some("not a bsn!")), "subject"),
        (
            {
                let mut v = address_request("Domplein", None);
                v["extra"] = json!(1);
                v
            },
            "unknown field",
        ),
        (
            json!({"@context": "https://irma.app/ld/request/issuance/v2", "credentials": [
            {"credential": "demo.utrecht.address", "attributes": {"street": "x", "house_number": "1", "postal_code": "1", "city": "c", "municipality": "m"}},
            {"credential": "demo.rdw.vehicle", "attributes": {"licence_plate": "AB-12-CD", "make": "Fiat", "owner_bsn": "1"}}]}),
            "two issuers",
        ),
    ] {
        let (status, v) = h.create(TOKEN, &body).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
            "{why}: {status} {v}"
        );
        assert!(v["detail"].is_string(), "{why}: {v}");
    }
    let r = h
        .client
        .post(h.url("/session"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let p = problem(r, StatusCode::BAD_REQUEST).await;
    assert_eq!(p["type"], "urn:kenmerk:problem:malformed-json");

    // Authentication.
    let body = address_request("Domplein", None);
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("Basic YTpi"),
        Some("Bearer a.b.c"),
    ] {
        let mut req = h.client.post(h.url("/session")).json(&body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert!(r.headers().contains_key("www-authenticate"));
        problem(r, StatusCode::UNAUTHORIZED).await;
    }
    for path in ["/session/x/status", "/session/x/result", "/admin/audit"] {
        problem(
            h.client.get(h.url(path)).send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let r = h
        .client
        .get(h.url("/admin/audit"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN).await;
    let r = h
        .client
        .get(h.url("/session/unknown/status"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::NOT_FOUND).await;
    // Unknown routes and methods are problems too.
    problem(
        h.client.get(h.url("/nope")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        h.client.put(h.url("/session")).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    h.stop().await;
}

/// JWT requestors: HS256 and EdDSA.
#[tokio::test]
async fn jwt_requestors() {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use ring::signature::{Ed25519KeyPair, KeyPair};

    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    // SubjectPublicKeyInfo for Ed25519: fixed prefix, then the 32 key bytes.
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(pair.public_key().as_ref());
    use base64::Engine;
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&spki)
    );
    let secret = "hs256-secret-0123456789abcdef0123456789";
    let h = Harness::start(Backend::Sqlite, |c| {
        c.requestors.push(issuer::RequestorConfig {
            name: "hs-office".to_owned(),
            jwt_hs256_secret: Some(secret.to_owned()),
            ..Default::default()
        });
        c.requestors.push(issuer::RequestorConfig {
            name: "ed-office".to_owned(),
            jwt_ed25519_public_key_pem: Some(pem.clone()),
            credential_types: vec!["demo.rdw.vehicle".to_owned()],
            ..Default::default()
        });
    })
    .await
    .unwrap();
    let exp = now() + 300;
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &json!({"iss": "hs-office", "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let (s, v) = h.create(&hs, &address_request("Domplein", None)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ed = encode(
        &Header::new(Algorithm::EdDSA),
        &json!({"iss": "ed-office", "exp": exp}),
        &EncodingKey::from_ed_der(pkcs8.as_ref()),
    )
    .unwrap();
    // This requestor may issue vehicles only.
    let (s, _) = h.create(&ed, &address_request("Domplein", None)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let vehicle = json!({"@context": "https://irma.app/ld/request/issuance/v2", "credentials": [
        {"credential": "demo.rdw.vehicle", "attributes": {"licence_plate": "AB-12-CD", "make": "Fiat", "owner_bsn": "999990019"}}]});
    let (s, v) = h.create(&ed, &vehicle).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Expired, wrong issuer claim, wrong key.
    for bad in [
        encode(
            &Header::new(Algorithm::HS256),
            &json!({"iss": "hs-office", "exp": now() - 600}),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap(),
        encode(
            &Header::new(Algorithm::HS256),
            &json!({"iss": "ed-office", "exp": exp}),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap(),
        encode(
            &Header::new(Algorithm::HS256),
            &json!({"iss": "hs-office", "exp": exp}),
            &EncodingKey::from_secret(b"another-secret-0123456789abcdef0123"),
        )
        .unwrap(),
    ] {
        let (s, _) = h.create(&bad, &vehicle).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    h.stop().await;
}
