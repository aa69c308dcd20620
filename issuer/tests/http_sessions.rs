//! The issuer over real HTTP: status events, health, OpenAPI and graceful
//! shutdown; a start with no configuration; the nonces sealed at rest; the
//! purge of finished sessions. Against SQLite always and PostgreSQL when
//! `KENMERK_TEST_POSTGRES` is set.

mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use wallet_core::wire::{IssuanceOffer, WireMessage};

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
