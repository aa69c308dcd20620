//! The issuer over real HTTP on loopback, driven by wallet-core's wallet
//! side. Protocol flows run against SQLite always and PostgreSQL when
//! `KENMERK_TEST_POSTGRES` is set.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use wallet_core::encoding::AttributeValue;
use wallet_core::wire::{ChallengesMessage, HolderCommitment, IssuanceOffer, WireMessage};

/// Issuance of two credentials, replay, refresh, attribute update picked up
/// at refresh, rule 9, revocation refusing refresh.
async fn lifecycle(backend: Backend) {
    let Some(h) = Harness::start(backend, |_| {}).await else {
        return;
    };
    let scheme = h.scheme().await;
    let wallet = Wallet::new(1, scheme.clone());
    let (url, token, records) = h.create_ok(&personal_and_address("999990019")).await;
    assert_eq!(records.len(), 2);
    assert_eq!(h.status(&token).await, "INITIALIZED");

    let issued = wallet.issue(&h, &url).await;
    assert_eq!(issued.tokens.len(), 2);
    for (batch, offered) in issued.tokens.iter().zip(&issued.offer.credentials) {
        assert_eq!(batch.len(), 3, "configured batch size");
        let key = scheme
            .issuer_key_by_counter(
                &offered.token_info.credential_type,
                offered.token_info.key_counter,
            )
            .unwrap();
        for t in batch {
            // The public token check, as any verifier runs it.
            t.token().check(key).unwrap();
            assert_eq!(t.attributes(), offered.attributes.as_slice());
        }
        assert_eq!(
            offered.record.as_str(),
            records[issued
                .offer
                .credentials
                .iter()
                .position(|c| c == offered)
                .unwrap()]
        );
    }
    assert_eq!(h.status(&token).await, "DONE");
    let result: Value = h
        .client
        .get(h.url(&format!("/session/{token}/result")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(result["status"], "DONE");
    assert_eq!(
        result["credentials"][1]["credential"],
        "demo.utrecht.address"
    );

    // Rule 3: the identical challenges get the stored answer, others 409.
    let again = h
        .post_cbor(&format!("{url}/challenges"), issued.challenges.clone())
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.bytes().await.unwrap().to_vec(), issued.responses);
    let mut other = ChallengesMessage::from_bytes(&issued.challenges).unwrap();
    other.challenges.swap(0, 1);
    let r = h
        .post_cbor(&format!("{url}/challenges"), other.to_bytes())
        .await;
    problem(r, StatusCode::CONFLICT).await;

    // The admin sees both records, active, with their audit trail.
    let address = &records[1];
    let (s, rec) = h.admin_get(&format!("/admin/credentials/{address}")).await;
    assert_eq!(s, StatusCode::OK, "{rec}");
    assert_eq!(rec["status"], "active");
    assert_eq!(rec["subject"], "999990019");
    assert_eq!(rec["audit"][0]["event"], "issued");
    assert_eq!(rec["audit"][0]["actor"], "backoffice");

    // Refresh gives a fresh batch with the same values.
    let refreshed = wallet.refresh(&h, address).await;
    assert_eq!(refreshed.tokens[0].len(), 3);
    assert_eq!(
        refreshed.tokens[0][0].attributes(),
        issued.tokens[1][0].attributes()
    );

    // The resident moved: the next refresh carries the new street.
    let r = h
        .client
        .patch(h.url(&format!("/admin/credentials/{address}/attributes")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"attributes": {"street": "Oudegracht", "house_number": "12"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let moved = wallet.refresh(&h, address).await;
    let values = moved.tokens[0][0].attributes();
    assert_eq!(values[0], AttributeValue::String("Oudegracht".to_owned()));
    assert_eq!(values[1], AttributeValue::Integer(12));
    // An invalid update is refused and changes nothing.
    let r = h
        .client
        .patch(h.url(&format!("/admin/credentials/{address}/attributes")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"attributes": {"house_number": "twelve"}}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::BAD_REQUEST).await;

    // Another wallet's proof for this record is refused (rule 2).
    let intruder = Wallet::new(9, scheme.clone());
    let (status, started) = intruder.start_refresh(&h, address).await;
    assert_eq!(status, StatusCode::CREATED);
    let (refresh_url, offer) = started.unwrap();
    let c = &offer.credentials[0];
    let key = c.check(&offer.issuer, &scheme, now()).unwrap();
    let proof = wallet_core::wire::RefreshProof::new(
        c.record.clone(),
        intruder
            .holder
            .prove_possession(&mut rand_core::OsRng, &offer.nonce.0, &key.key_id()),
    );
    let r = h
        .post_cbor(&format!("{refresh_url}/refresh-proof"), proof.to_bytes())
        .await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;

    // Rule 9: a new holder key for the same subject supersedes the records.
    let (url2, _, records2) = h
        .create_ok(&address_request("Domplein", Some("999990019")))
        .await;
    let wallet2 = Wallet::new(2, scheme.clone());
    wallet2.issue(&h, &url2).await;
    let (_, old) = h.admin_get(&format!("/admin/credentials/{address}")).await;
    assert_eq!(old["status"], "revoked");
    assert!(old["status_reason"]
        .as_str()
        .unwrap()
        .contains("superseded"));
    let (status, _) = wallet.start_refresh(&h, address).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The personal data record (another type) was bound to the old holder
    // key: superseded too, so the resident has one live holder key (rule 9
    // across types).
    let (_, personal) = h
        .admin_get(&format!("/admin/credentials/{}", records[0]))
        .await;
    assert_eq!(personal["status"], "revoked");
    assert!(personal["status_reason"]
        .as_str()
        .unwrap()
        .contains("superseded"));
    let (status, _) = wallet.start_refresh(&h, &records[0]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another type under the new holder key leaves the live record alone.
    let mut personal_only = personal_and_address("999990019");
    personal_only["credentials"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let (url3, _, records3) = h.create_ok(&personal_only).await;
    wallet2.issue(&h, &url3).await;
    let (_, address2) = h
        .admin_get(&format!("/admin/credentials/{}", records2[0]))
        .await;
    assert_eq!(address2["status"], "active");

    // Revocation by id refuses refresh from then on.
    let (s, v) = h
        .admin_post(
            &format!("/admin/credentials/{}/revoke", records2[0]),
            &json!({"reason": "moved abroad"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["revoked"][0], records2[0].as_str());
    let (status, _) = wallet2.start_refresh(&h, &records2[0]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (s, _) = h
        .admin_post(
            &format!("/admin/credentials/{}/revoke", records2[0]),
            &json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Revocation by subject.
    let (s, v) = h
        .admin_post(
            "/admin/subjects/999990019/revoke",
            &json!({"reason": "deceased"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["revoked"], json!([records3[0]]));
    let (status, _) = wallet2.start_refresh(&h, &records3[0]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An unknown record answers like a revoked one.
    let (status, _) = wallet.start_refresh(&h, "0123456789abcdef").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, audit) = h.admin_get("/admin/audit").await;
    let events: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "key-added",
        "issued",
        "refreshed",
        "attributes-updated",
        "revoked",
    ] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }
    assert!(h.metric("kenmerk_issuer_sessions_completed_total").await >= 4);
    assert!(h.metric("kenmerk_issuer_refresh_refused_total").await >= 4);
    assert_eq!(
        h.metric("kenmerk_issuer_tokens_issued_total").await,
        // ... plus the personal-only issuance under the new holder key.
        3 * 2 + 3 + 3 + 3 + 3
    );
    h.stop().await;
}

#[tokio::test]
async fn lifecycle_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test]
async fn lifecycle_postgres() {
    lifecycle(Backend::Postgres).await;
}

/// Key rotation: a new counter in a new scheme version; new batches use
/// it; tokens under the old key still verify.
async fn rotation(backend: Backend) {
    let Some(h) = Harness::start(backend, |_| {}).await else {
        return;
    };
    let scheme_v1 = h.scheme().await;
    let key: Value = h
        .client
        .get(h.url("/scheme/key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(key["key"], h.running().scheme_public_key().to_string());
    let r = h.client.get(h.url("/scheme")).send().await.unwrap();
    let etag_v1 = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let r = h
        .client
        .get(h.url("/scheme"))
        .header("if-none-match", &etag_v1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    let wallet = Wallet::new(3, scheme_v1.clone());
    let (url, _, records) = h.create_ok(&address_request("Domplein", None)).await;
    let old = wallet.issue(&h, &url).await;
    assert_eq!(old.offer.credentials[0].token_info.key_counter, 1);

    let (s, v) = h
        .admin_post("/admin/keys/demo.utrecht.address/rotate", &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["counter"], 2);
    let r = h.client.get(h.url("/scheme")).send().await.unwrap();
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag_v1);
    let scheme_v2 = h.scheme().await;
    assert_eq!(scheme_v2.version, scheme_v1.version + 1);
    assert_eq!(v["scheme_version"], scheme_v2.version);
    let keys: Value = h
        .client
        .get(h.url("/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counters: Vec<u64> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["credential_type"] == "demo.utrecht.address")
        .map(|k| k["counter"].as_u64().unwrap())
        .collect();
    assert_eq!(counters, [1, 2]);

    // A wallet that updated its scheme gets tokens under the new key...
    let wallet = Wallet::new(3, scheme_v2.clone());
    let (url, _, _) = h.create_ok(&address_request("Domplein", None)).await;
    let new = wallet.issue(&h, &url).await;
    assert_eq!(new.offer.credentials[0].token_info.key_counter, 2);
    // ...also at refresh...
    let refreshed = wallet.refresh(&h, &records[0]).await;
    assert_eq!(refreshed.offer.credentials[0].token_info.key_counter, 2);
    // ...and the old tokens still verify against the new scheme.
    let ct = "demo.utrecht.address".parse().unwrap();
    let key1 = scheme_v2.issuer_key_by_counter(&ct, 1).unwrap();
    old.tokens[0][0].token().check(key1).unwrap();
    let key2 = scheme_v2.issuer_key_by_counter(&ct, 2).unwrap();
    assert!(old.tokens[0][0].token().check(key2).is_err());
    assert_eq!(h.metric("kenmerk_issuer_keys_rotated_total").await, 1);

    // Non-admins cannot rotate; unknown types are refused.
    let r = h
        .client
        .post(h.url("/admin/keys/demo.utrecht.address/rotate"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN).await;
    let (s, _) = h
        .admin_post("/admin/keys/demo.nope.x/rotate", &json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    h.stop().await;
}

#[tokio::test]
async fn rotation_sqlite() {
    rotation(Backend::Sqlite).await;
}

#[tokio::test]
async fn rotation_postgres() {
    rotation(Backend::Postgres).await;
}

/// Restarting on the same data keeps keys, scheme version and records.
#[tokio::test]
async fn restart_keeps_state() {
    let h = Harness::start(Backend::Sqlite, |_| {}).await.unwrap();
    let scheme = h.scheme().await;
    let wallet = Wallet::new(4, scheme.clone());
    let (url, _, records) = h.create_ok(&address_request("Domplein", None)).await;
    wallet.issue(&h, &url).await;
    // A session committed before the restart: its sealed nonces must open
    // under the state key the new process loads from the key directory.
    let (open_url, _, _) = h.create_ok(&address_request("Oudegracht", None)).await;
    let offer = wallet.fetch_offer(&h, &open_url).await;
    let r = h
        .post_cbor(
            &format!("{open_url}/commitment"),
            wallet.commitment(&offer).to_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let signer =
        wallet_core::wire::SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
    let open_path = open_url.strip_prefix(&h.base).unwrap().to_owned();
    let data = h.dir.path().join("data");
    let db = h.database_url.clone();
    let pin = h.running().scheme_public_key();
    let Harness { issuer, dir, .. } = h;
    issuer.unwrap().shutdown().await.unwrap();

    let mut config = base_config(dir.path());
    config.data_dir = data;
    config.database_url = Some(db);
    let again = issuer::start(config).await.unwrap();
    assert_eq!(again.scheme_public_key(), pin);
    let mut h2 = Harness::around(again, String::new());
    h2.dir = dir;
    let scheme2 = h2.scheme().await;
    assert_eq!(scheme2.version, scheme.version, "same keys: same version");
    wallet.refresh(&h2, &records[0]).await;
    let (pending, challenges) = wallet.challenges(&offer, &signer);
    let r = h2
        .post_cbor(
            &h2.url(&format!("{open_path}/challenges")),
            challenges.to_bytes(),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "sealed state opens after restart"
    );
    assert_eq!(
        Wallet::finish(pending, &r.bytes().await.unwrap())[0].len(),
        3
    );
    h2.stop().await;
}

/// Sessions time out: the wallet gets 410, the requestor TIMEOUT.
#[tokio::test]
async fn timeout() {
    // 2 s, not 1: expiry is in whole seconds, so a 1 s session created
    // just before a second boundary could already be over at the first
    // status check.
    let h = Harness::start(Backend::Sqlite, |c| c.session_timeout_secs = 2)
        .await
        .unwrap();
    let wallet = Wallet::new(5, h.scheme().await);
    let (url, token, _) = h.create_ok(&address_request("Domplein", None)).await;
    let offer = wallet.fetch_offer(&h, &url).await;
    assert_eq!(h.status(&token).await, "CONNECTED");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(h.status(&token).await, "TIMEOUT");
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&offer).to_bytes(),
        )
        .await;
    problem(r, StatusCode::GONE).await;
    let r = h.client.get(&url).send().await.unwrap();
    problem(r, StatusCode::GONE).await;
    let result: Value = h
        .client
        .get(h.url(&format!("/session/{token}/result")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(result["status"], "TIMEOUT");
    assert!(h.metric("kenmerk_issuer_sessions_timed_out_total").await >= 1);

    // A committed session that times out refuses its challenges.
    let (url, _, _) = h.create_ok(&address_request("Domplein", None)).await;
    let offer = wallet.fetch_offer(&h, &url).await;
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&offer).to_bytes(),
        )
        .await;
    let signer =
        wallet_core::wire::SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
    let (_, challenges) = wallet.challenges(&offer, &signer);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let r = h
        .post_cbor(&format!("{url}/challenges"), challenges.to_bytes())
        .await;
    problem(r, StatusCode::GONE).await;
    h.stop().await;
}

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

/// Many sessions at once (bounded client concurrency): every one completes.
async fn concurrent(backend: Backend) {
    let Some(h) = Harness::start(backend, |c| c.batch_size = 2).await else {
        return;
    };
    let scheme = h.scheme().await;
    let hr = &h;
    let results: Vec<usize> = futures::stream::iter(0..100u8)
        .map(|i| {
            let scheme = scheme.clone();
            async move {
                let wallet = Wallet::new(i, scheme);
                let (url, token, _) = hr.create_ok(&address_request("Domplein", None)).await;
                let issued = wallet.issue(hr, &url).await;
                assert_eq!(hr.status(&token).await, "DONE");
                issued.tokens[0].len()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(|n| *n == 2));
    assert_eq!(
        h.metric("kenmerk_issuer_sessions_completed_total").await,
        100
    );
    assert_eq!(h.metric("kenmerk_issuer_tokens_issued_total").await, 200);
    h.stop().await;
}

#[tokio::test]
async fn concurrent_sqlite() {
    concurrent(Backend::Sqlite).await;
}

#[tokio::test]
async fn concurrent_postgres() {
    concurrent(Backend::Postgres).await;
}

/// Racing answers with different challenges: exactly one succeeds (rule 3).
#[tokio::test]
async fn racing_challenges() {
    let h = Harness::start(Backend::Sqlite, |_| {}).await.unwrap();
    let wallet = Wallet::new(8, h.scheme().await);
    let (url, _, _) = h.create_ok(&address_request("Domplein", None)).await;
    let offer = wallet.fetch_offer(&h, &url).await;
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&offer).to_bytes(),
        )
        .await;
    let signer =
        wallet_core::wire::SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
    let attempts: Vec<_> = (0..8).map(|_| wallet.challenges(&offer, &signer)).collect();
    let hr = &h;
    let url = &url;
    let statuses: Vec<StatusCode> =
        futures::future::join_all(attempts.iter().map(|(_, c)| async move {
            hr.post_cbor(&format!("{url}/challenges"), c.to_bytes())
                .await
                .status()
        }))
        .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT));
    h.stop().await;
}

/// A store failure while the answer is recorded leaves no record, keeps the
/// session answerable, and the retry then succeeds.
#[tokio::test]
async fn store_failure_mid_issuance() {
    let h = Harness::start(Backend::Sqlite, |_| {}).await.unwrap();
    let wallet = Wallet::new(10, h.scheme().await);
    let (url, token, records) = h
        .create_ok(&address_request("Domplein", Some("111222333")))
        .await;
    let offer: IssuanceOffer = wallet.fetch_offer(&h, &url).await;
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&offer).to_bytes(),
        )
        .await;
    let signer =
        wallet_core::wire::SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
    let (pending, challenges) = wallet.challenges(&offer, &signer);

    // A second connection to the same database file injects the failure.
    let side = issuer::store::SqliteStore::connect(&h.database_url)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER fail_issued BEFORE INSERT ON audit_log WHEN NEW.event = 'issued' \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .execute(side.pool())
    .await
    .unwrap();
    let r = h
        .post_cbor(&format!("{url}/challenges"), challenges.to_bytes())
        .await;
    problem(r, StatusCode::SERVICE_UNAVAILABLE).await;
    let (s, _) = h
        .admin_get(&format!("/admin/credentials/{}", records[0]))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no half-written record");
    assert_eq!(h.status(&token).await, "CONNECTED");

    sqlx::query("DROP TRIGGER fail_issued")
        .execute(side.pool())
        .await
        .unwrap();
    let r = h
        .post_cbor(&format!("{url}/challenges"), challenges.to_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens = Wallet::finish(pending, &r.bytes().await.unwrap());
    assert_eq!(tokens[0].len(), 3);
    let (s, rec) = h
        .admin_get(&format!("/admin/credentials/{}", records[0]))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(rec["status"], "active");
    h.stop().await;
}

/// Status events, health, OpenAPI, and a graceful shutdown that ends open
/// event streams.
#[tokio::test]
async fn events_health_openapi_shutdown() {
    let h = Harness::start(Backend::Sqlite, |_| {}).await.unwrap();
    let wallet = Wallet::new(11, h.scheme().await);
    let (url, token, _) = h.create_ok(&address_request("Domplein", None)).await;
    let r = h
        .client
        .get(h.url(&format!("/session/{token}/statusevents")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = r;
    let issuing = async {
        wallet.issue(&h, &url).await;
    };
    let reading = async {
        let mut text = String::new();
        while let Some(chunk) = body.chunk().await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("\"DONE\"") {
                break;
            }
        }
        text
    };
    let (_, text) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(issuing, reading)
    })
    .await
    .unwrap();
    let statuses: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(statuses.first(), Some(&"\"INITIALIZED\""));
    assert_eq!(statuses.last(), Some(&"\"DONE\""));

    let v: Value = h
        .client
        .get(h.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ok");
    let v: Value = h
        .client
        .get(h.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["store"], "sqlite");
    let v: Value = h
        .client
        .get(h.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/session",
        "/session/{token}/statusevents",
        "/wallet/session/{id}/challenges",
        "/admin/keys/{credential_type}/rotate",
        "/scheme",
    ] {
        assert!(v["paths"][path].is_object(), "{path} in OpenAPI");
    }
    let text = h
        .client
        .get(h.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("# TYPE kenmerk_issuer_sessions_started_total counter"));

    // An open event stream must not keep the server from stopping.
    let (_, token2, _) = h.create_ok(&address_request("Domplein", None)).await;
    let open = h
        .client
        .get(h.url(&format!("/session/{token2}/statusevents")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), StatusCode::OK);
    let addr = h.running().local_addr();
    h.stop().await;
    drop(open);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

/// The service starts with no configuration at all beyond a data
/// directory, and writes a local requestor token (mode 0600).
#[tokio::test]
async fn zero_config_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = issuer::IssuerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        ..Default::default()
    };
    let running = issuer::start(config).await.unwrap();
    assert_eq!(running.store_kind(), "sqlite");
    let token_file = dir.path().join("data/requestor-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let db = std::fs::metadata(dir.path().join("data/issuer.db"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(db, 0o600, "the database holds personal data");
    }
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/session", running.public_url()))
        .bearer_auth(token.trim())
        .json(&address_request("Domplein", None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    running.shutdown().await.unwrap();
}

/// Reads `sessions.secret_state` of session `id` straight from the database.
async fn stored_secret(h: &Harness, id: &str) -> Option<Vec<u8>> {
    if h.schema.is_some() {
        let store = issuer::store::PostgresStore::connect(&h.database_url, None)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT secret_state FROM sessions WHERE id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap()
    } else {
        let store = issuer::store::SqliteStore::connect(&h.database_url)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT secret_state FROM sessions WHERE id = ?")
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap()
    }
}

/// Overwrites `sessions.secret_state` of session `id`.
async fn overwrite_secret(h: &Harness, id: &str, bytes: &[u8]) {
    if h.schema.is_some() {
        let store = issuer::store::PostgresStore::connect(&h.database_url, None)
            .await
            .unwrap();
        sqlx::query("UPDATE sessions SET secret_state = $1 WHERE id = $2")
            .bind(bytes)
            .bind(id)
            .execute(store.pool())
            .await
            .unwrap();
    } else {
        let store = issuer::store::SqliteStore::connect(&h.database_url)
            .await
            .unwrap();
        sqlx::query("UPDATE sessions SET secret_state = ? WHERE id = ?")
            .bind(bytes)
            .bind(id)
            .execute(store.pool())
            .await
            .unwrap();
    }
}

/// Creates a two-credential session and sends the holder commitment; returns
/// the session URL, its id, the offer and the issuer's commitments.
async fn committed(
    h: &Harness,
    wallet: &Wallet,
    subject: &str,
) -> (
    String,
    String,
    IssuanceOffer,
    wallet_core::wire::SignerCommitmentsMessage,
) {
    let (url, _, _) = h.create_ok(&personal_and_address(subject)).await;
    let id = url.rsplit('/').next().unwrap().to_owned();
    let offer = wallet.fetch_offer(h, &url).await;
    let r = h
        .post_cbor(
            &format!("{url}/commitment"),
            wallet.commitment(&offer).to_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let signer =
        wallet_core::wire::SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
    (url, id, offer, signer)
}

/// The nonces `w` are sealed at rest: the stored secret state is version 1
/// ciphertext that opens only under the state key in the key directory and
/// only for its own session, contains no plaintext issuer session, a
/// flipped bit makes the answer fail (500, no record), and issuance with
/// untouched state completes.
async fn secret_state_sealed(backend: Backend) {
    let Some(h) = Harness::start(backend, |_| {}).await else {
        return;
    };
    let wallet = Wallet::new(21, h.scheme().await);
    let (url, id, offer, signer) = committed(&h, &wallet, "999990020").await;

    let stored = stored_secret(&h, &id)
        .await
        .expect("committed: state stored");
    let key_file = h
        .dir
        .path()
        .join("data")
        .join("keys")
        .join(issuer::sealed::STATE_KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let raw: [u8; 32] = std::fs::read(&key_file).unwrap().try_into().unwrap();
    let key = issuer::sealed::StateKey::from_bytes(&raw);
    let framed = key.open(&id, &stored).unwrap();
    assert!(key.open("another-session", &stored).is_err());
    let (other, _) = issuer::sealed::StateKey::generate();
    assert!(other.open(&id, &stored).is_err());

    // The plaintext is the framed CBOR of one issuer session per credential.
    let mut rest: &[u8] = &framed;
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let one = &rest[4..4 + len];
        wallet_core::issuance::issuer::IssuerSession::from_secret_bytes(one).unwrap();
        frames.push(one.to_vec());
        rest = &rest[4 + len..];
    }
    assert_eq!(frames.len(), offer.credentials.len());
    for frame in &frames {
        assert!(frame.len() > 64);
        // Not the session, nor any 32-byte piece of it (a nonce or more).
        assert!(
            !stored
                .windows(32)
                .any(|w| frame.windows(32).any(|f| f == w)),
            "plaintext issuer session found in the database"
        );
    }

    // A flipped bit: the answer is refused as an internal error and
    // nothing is issued; the session stays open.
    let (_, challenges) = wallet.challenges(&offer, &signer);
    let mut flipped = stored.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x80;
    overwrite_secret(&h, &id, &flipped).await;
    let r = h
        .post_cbor(&format!("{url}/challenges"), challenges.to_bytes())
        .await;
    problem(r, StatusCode::INTERNAL_SERVER_ERROR).await;

    // State moved to another session's row does not open either.
    let (url2, id2, offer2, signer2) = committed(&h, &wallet, "999990021").await;
    let stored2 = stored_secret(&h, &id2).await.unwrap();
    overwrite_secret(&h, &id2, &stored).await;
    let (_, challenges2) = wallet.challenges(&offer2, &signer2);
    let r = h
        .post_cbor(&format!("{url2}/challenges"), challenges2.to_bytes())
        .await;
    problem(r, StatusCode::INTERNAL_SERVER_ERROR).await;

    // Restored state: the issuance completes, and the nonces are gone.
    overwrite_secret(&h, &id2, &stored2).await;
    let (pending, challenges2) = wallet.challenges(&offer2, &signer2);
    let r = h
        .post_cbor(&format!("{url2}/challenges"), challenges2.to_bytes())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens = Wallet::finish(pending, &r.bytes().await.unwrap());
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t.len() == 3));
    assert_eq!(stored_secret(&h, &id2).await, None);

    // A fresh full issuance works end to end.
    let (url3, _, _) = h.create_ok(&address_request("Domplein", None)).await;
    wallet.issue(&h, &url3).await;
    h.stop().await;
}

#[tokio::test]
async fn secret_state_sealed_sqlite() {
    secret_state_sealed(Backend::Sqlite).await;
}

#[tokio::test]
async fn secret_state_sealed_postgres() {
    secret_state_sealed(Backend::Postgres).await;
}

/// Fetches a session result as the requestor.
async fn result(h: &Harness, token: &str) -> reqwest::Response {
    h.client
        .get(h.url(&format!("/session/{token}/result")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

/// The sweep deletes finished sessions past the retention: the requestor
/// then gets the very 404 of an unknown session, the wallet's URL is
/// unknown, and the credential record and audit log stay (refresh works).
async fn finished_sessions_purged(backend: Backend) {
    let Some(h) = Harness::start(backend, |c| {
        // A 4 s timeout sweeps every second.
        c.session_timeout_secs = 4;
        c.finished_session_retention_secs = 1;
    })
    .await
    else {
        return;
    };
    let wallet = Wallet::new(22, h.scheme().await);
    let (url, token, records) = h
        .create_ok(&address_request("Domplein", Some("999990030")))
        .await;
    wallet.issue(&h, &url).await;
    let r = result(&h, &token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["status"], "DONE");
    let (_, cancelled_token, _) = h.create_ok(&address_request("Oudegracht", None)).await;
    let r = h
        .client
        .delete(h.url(&format!("/session/{cancelled_token}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (_, audit_before) = h.admin_get("/admin/audit").await;

    let unknown = problem(
        result(&h, "0123456789abcdef0123456789abcdef").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let purged = loop {
        let r = result(&h, &token).await;
        if r.status() == StatusCode::NOT_FOUND {
            break problem(r, StatusCode::NOT_FOUND).await;
        }
        assert_eq!(r.status(), StatusCode::OK);
        assert!(std::time::Instant::now() < deadline, "never purged");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(purged, unknown, "a purged session looks unknown");
    problem(result(&h, &cancelled_token).await, StatusCode::NOT_FOUND).await;
    problem(
        h.client.get(&url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;

    let (s, record) = h
        .admin_get(&format!("/admin/credentials/{}", records[0]))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(record["status"], "active");
    let (_, audit_after) = h.admin_get("/admin/audit").await;
    assert_eq!(audit_after, audit_before, "audit log kept, nothing added");
    wallet.refresh(&h, &records[0]).await;
    h.stop().await;
}

#[tokio::test]
async fn finished_sessions_purged_sqlite() {
    finished_sessions_purged(Backend::Sqlite).await;
}

#[tokio::test]
async fn finished_sessions_purged_postgres() {
    finished_sessions_purged(Backend::Postgres).await;
}
