//! Several issuer instances on one PostgreSQL database (behind one
//! balancer) share all state through it: they start at the same moment on
//! an empty database and end up with the same keys and scheme version
//! (exactly one generated them), a rotation on one is picked up by the
//! other, two rotations at once never clash, an issuance started before a
//! rotation finishes, and missing key material is refused, never
//! regenerated. Needs `KENMERK_TEST_POSTGRES` (skipped with a note
//! otherwise); the SQLite test at the end runs everywhere.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use issuer::{IssuerConfig, RunningIssuer, StartError};
use reqwest::StatusCode;
use serde_json::{json, Value};
use test_kit::postgres::TestSchema;
use wallet_core::scheme::SignedScheme;
use wallet_core::wire::{SignerCommitmentsMessage, WireMessage as _};

/// An instance's configuration: its own data directory on `database_url`.
fn instance(dir: &Path, name: &str, database_url: &str) -> IssuerConfig {
    let mut config = base_config(dir);
    config.data_dir = dir.join(name);
    config.database_url = Some(database_url.to_owned());
    config
}

fn version(running: &RunningIssuer) -> u64 {
    SignedScheme::from_cbor(&running.signed_scheme_cbor())
        .unwrap()
        .unverified_version()
        .unwrap()
}

/// Waits until `running` serves `at_least` (another instance's rotation);
/// returns how long that took.
async fn serves(running: &RunningIssuer, at_least: u64) -> Duration {
    let start = Instant::now();
    while version(running) < at_least {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "instance still serves version {} after 10 s (wanted {at_least})",
            version(running)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

/// `url` (a session pointer of one instance) on another instance.
fn on(h: &Harness, url: &str, from: &Harness) -> String {
    url.replacen(&from.base, &h.base, 1)
}

fn key_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "key"))
                .collect()
        })
        .unwrap_or_default()
}

async fn rotate(h: &Harness, credential_type: &str) -> Value {
    let (status, v) = h
        .admin_post(&format!("/admin/keys/{credential_type}/rotate"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

/// Rows of `sql` (one BIGINT column) in the schema.
async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn two_instances_share_keys_sealed_in_the_database() {
    let Some(schema) = TestSchema::create("kenmerk_issuer_instances").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kek = dir.path().join("kek.hex");
    std::fs::write(&kek, format!("{}\n", "5a".repeat(32))).unwrap();
    let url = schema.database_url();
    let config = |name: &str| {
        let mut c = instance(dir.path(), name, &url);
        c.key_encryption_key_file = Some(kek.clone());
        c
    };

    // The same moment, an empty database: exactly one generates.
    let (a, b) = tokio::join!(issuer::start(config("a")), issuer::start(config("b")));
    let (a, b) = (
        Harness::around(a.unwrap(), url.clone()),
        Harness::around(b.unwrap(), url.clone()),
    );
    assert_eq!(
        a.running().scheme_public_key(),
        b.running().scheme_public_key()
    );
    assert_eq!(
        a.running().signed_scheme_cbor(),
        b.running().signed_scheme_cbor(),
        "one scheme document"
    );
    let pool = schema.pool().await;
    let types = a.scheme().await.credential_types.len() as i64;
    assert_eq!(
        count(&pool, "SELECT count(*) FROM issuer_keys").await,
        types
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM scheme_versions").await,
        1
    );
    // Scheme key, state key and one key per type, sealed; no key files.
    assert_eq!(
        count(&pool, "SELECT count(*) FROM key_material").await,
        types + 2
    );
    assert!(key_files(&dir.path().join("a/keys")).is_empty());
    assert!(key_files(&dir.path().join("b/keys")).is_empty());
    let first = version(a.running());

    // An issuance on B that starts before the rotation.
    let wallet = Wallet::new(41, b.scheme().await);
    let (early_url, _, _) = b.create_ok(&address_request("Oudegracht", None)).await;
    let early_offer = wallet.fetch_offer(&b, &early_url).await;
    assert_eq!(early_offer.credentials[0].token_info.key_counter, 1);
    let r = b
        .post_cbor(
            &format!("{early_url}/commitment"),
            wallet.commitment(&early_offer).to_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let early_signer = SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();

    // Rotate on A; B picks it up (announcement, or its poll).
    let rotated = rotate(&a, "demo.utrecht.address").await;
    assert_eq!(rotated["counter"], 2);
    assert_eq!(rotated["scheme_version"], first + 1);
    let took = serves(b.running(), first + 1).await;
    println!("B served the rotated version after {took:?}");
    assert_eq!(
        a.running().signed_scheme_cbor(),
        b.running().signed_scheme_cbor()
    );

    // The pre-rotation issuance finishes (on A, under the old key).
    let (pending, challenges) = wallet.challenges(&early_offer, &early_signer);
    let r = a
        .post_cbor(
            &format!("{}/challenges", on(&a, &early_url, &b)),
            challenges.to_bytes(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens = Wallet::finish(pending, &r.bytes().await.unwrap());
    assert_eq!(tokens[0].len(), 3);

    // New sessions on B issue under the new key.
    let wallet = Wallet::new(42, b.scheme().await);
    let (url_b, _, _) = b.create_ok(&address_request("Neude", None)).await;
    let issued = wallet.issue(&b, &url_b).await;
    assert_eq!(issued.offer.credentials[0].token_info.key_counter, 2);
    // Created on A, continued on B at once.
    let (url_a, _, _) = a.create_ok(&address_request("Janskerkhof", None)).await;
    let issued = wallet.issue(&b, &on(&b, &url_a, &a)).await;
    assert_eq!(issued.offer.credentials[0].token_info.key_counter, 2);

    // Two rotations of one type at once, one on each: no clash, two
    // counters, two versions, and both instances end on the later one.
    let (ra, rb) = tokio::join!(
        rotate(&a, "demo.utrecht.personal"),
        rotate(&b, "demo.utrecht.personal")
    );
    let mut counters = [
        ra["counter"].as_u64().unwrap(),
        rb["counter"].as_u64().unwrap(),
    ];
    counters.sort_unstable();
    assert_eq!(counters, [2, 3]);
    let versions = [
        ra["scheme_version"].as_u64().unwrap(),
        rb["scheme_version"].as_u64().unwrap(),
    ];
    assert_ne!(versions[0], versions[1], "one version per rotation");
    let last = versions[0].max(versions[1]);
    serves(a.running(), last).await;
    serves(b.running(), last).await;
    assert_eq!(
        a.running().signed_scheme_cbor(),
        b.running().signed_scheme_cbor()
    );
    let scheme = a.scheme().await;
    let personal: Vec<u32> = scheme
        .issuer_keys
        .iter()
        .filter(|k| k.credential_type.as_str() == "demo.utrecht.personal")
        .map(|k| k.counter)
        .collect();
    assert_eq!(personal, [1, 2, 3], "every key in the last version");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM scheme_versions").await,
        i64::try_from(last - first + 1).unwrap(),
        "every version signed once, none skipped"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM scheme_versions v JOIN scheme_documents d USING (version)"
        )
        .await,
        count(&pool, "SELECT count(*) FROM scheme_versions").await
    );

    // A restart of B with a fresh data directory serves the same version.
    let b_cbor = b.running().signed_scheme_cbor();
    b.stop().await;
    let b = issuer::start(config("b2")).await.unwrap();
    assert_eq!(b.signed_scheme_cbor(), b_cbor, "no re-signing on restart");
    b.shutdown().await.unwrap();

    // Missing key material is refused, never generated: no key-encryption
    // key file, a wrong one, or key files that are not there.
    let mut absent = config("c");
    absent.key_encryption_key_file = Some(dir.path().join("missing-kek"));
    assert!(matches!(
        issuer::start(absent).await,
        Err(StartError::Keys(_))
    ));
    let wrong = dir.path().join("wrong-kek");
    std::fs::write(&wrong, [7u8; 32]).unwrap();
    let mut wrong_kek = config("c");
    wrong_kek.key_encryption_key_file = Some(wrong);
    match issuer::start(wrong_kek).await {
        Err(StartError::Keyring(e)) => assert!(e.to_string().contains("does not open"), "{e}"),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("started with a wrong key-encryption key"),
    }
    match issuer::start(instance(dir.path(), "files", &url)).await {
        Err(StartError::Keyring(e)) => assert!(e.to_string().contains("missing"), "{e}"),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("generated new keys next to the database's"),
    }
    assert_eq!(
        count(&pool, "SELECT count(*) FROM scheme_versions").await,
        i64::try_from(last - first + 1).unwrap(),
        "the refused starts signed nothing"
    );
    a.stop().await;
    pool.close().await;
    schema.drop().await;
}

#[tokio::test]
async fn two_instances_on_a_shared_key_directory() {
    let Some(schema) = TestSchema::create("kenmerk_issuer_instances").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = schema.database_url();
    // Shared keys (one volume), separate data directories.
    let config = |name: &str| {
        let mut c = instance(dir.path(), name, &url);
        c.key_dir = Some(dir.path().join("keys"));
        c.scheme_key_file = Some(dir.path().join("scheme-signing.key"));
        c
    };
    let (a, b) = tokio::join!(issuer::start(config("a")), issuer::start(config("b")));
    let (a, b) = (
        Harness::around(a.unwrap(), url.clone()),
        Harness::around(b.unwrap(), url.clone()),
    );
    let types = a.scheme().await.credential_types.len();
    assert_eq!(
        key_files(&dir.path().join("keys")).len(),
        types,
        "one key each"
    );
    assert_eq!(
        a.running().signed_scheme_cbor(),
        b.running().signed_scheme_cbor()
    );
    let first = version(a.running());
    let rotated = rotate(&b, "demo.utrecht.address").await;
    assert_eq!(rotated["scheme_version"], first + 1);
    serves(a.running(), first + 1).await;
    let wallet = Wallet::new(43, a.scheme().await);
    let (url_a, _, _) = a.create_ok(&address_request("Lijnmarkt", None)).await;
    let issued = wallet.issue(&a, &url_a).await;
    assert_eq!(issued.offer.credentials[0].token_info.key_counter, 2);
    assert_eq!(key_files(&dir.path().join("keys")).len(), types + 1);
    a.stop().await;
    b.stop().await;
    schema.drop().await;
}

/// SQLite serves one instance; still, a restart that finds its scheme
/// signing key gone is refused instead of creating a new trust root.
#[tokio::test]
async fn missing_scheme_key_is_refused_after_the_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("issuer.db").display());
    let running = issuer::start(instance(dir.path(), "a", &url))
        .await
        .unwrap();
    running.shutdown().await.unwrap();
    std::fs::remove_file(dir.path().join("a/scheme-signing.key")).unwrap();
    match issuer::start(instance(dir.path(), "a", &url)).await {
        Err(StartError::Keyring(e)) => assert!(e.to_string().contains("scheme signing key"), "{e}"),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("generated a new scheme signing key"),
    }
    assert!(!dir.path().join("a/scheme-signing.key").exists());
}
