//! The issuer over real HTTP on loopback, driven by wallet-core's wallet
//! side: the protocol flows (issuance, refresh, rotation, restart, timeout,
//! concurrency, racing answers, a store failure mid-answer). They run
//! against SQLite always and PostgreSQL when `KENMERK_TEST_POSTGRES` is set.
//! Malformed and out-of-order messages and authentication are in
//! `http_messages.rs`; events, health, sealed state and the purge in
//! `http_sessions.rs`.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use wallet_core::encoding::AttributeValue;
use wallet_core::wire::{ChallengesMessage, IssuanceOffer, WireMessage};

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
