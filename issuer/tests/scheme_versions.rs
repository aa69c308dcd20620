//! A scheme version number is signed once: the issuer never re-signs an
//! existing version with other content, and refuses a stored document
//! that differs from what the store recorded under its version.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use issuer::{IssuerConfig, StartError};
use reqwest::StatusCode;
use serde_json::json;
use wallet_core::scheme::SignedScheme;

/// An issuer config on one shared SQLite file and shared keys, with its own
/// data directory (as a second instance with its own `data_dir` would be).
fn config(shared: &Path, data: &str) -> IssuerConfig {
    let mut config = base_config(shared);
    config.data_dir = shared.join(data);
    config.key_dir = Some(shared.join("keys"));
    config.scheme_key_file = Some(shared.join("scheme-signing.key"));
    config.database_url = Some(format!("sqlite://{}", shared.join("issuer.db").display()));
    config
}

async fn start(config: IssuerConfig) -> Harness {
    let issuer = issuer::start(config).await.unwrap();
    Harness::around(issuer, String::new())
}

/// Version and document an instance serves now.
async fn served(h: &Harness) -> (u64, Vec<u8>) {
    let cbor = h.running().signed_scheme_cbor();
    let version = SignedScheme::from_cbor(&cbor)
        .unwrap()
        .unverified_version()
        .unwrap();
    (version, cbor)
}

/// Every document seen, by version: one version, one document.
#[derive(Default)]
struct Seen(BTreeMap<u64, Vec<u8>>);

impl Seen {
    fn add(&mut self, (version, cbor): (u64, Vec<u8>)) -> u64 {
        let first = self.0.entry(version).or_insert_with(|| cbor.clone());
        assert!(
            *first == cbor,
            "scheme version {version} was signed twice with different content"
        );
        version
    }
}

#[tokio::test]
async fn lost_scheme_file_continues_after_the_recorded_version() {
    let shared = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let h = start(config(shared.path(), "a")).await;
    let first = seen.add(served(&h).await);
    let (status, v) = h
        .admin_post("/admin/keys/demo.utrecht.address/rotate", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let rotated = seen.add(served(&h).await);
    assert!(rotated > first);
    h.stop().await;

    // scheme.cbor is lost (an empty data_dir): the store holds the
    // document of the newest version, which is served again, byte for
    // byte (`seen`), and written back.
    let file = shared.path().join("a/scheme.cbor");
    std::fs::remove_file(&file).unwrap();
    let h = start(config(shared.path(), "a")).await;
    let again = seen.add(served(&h).await);
    assert_eq!(again, rotated, "the recorded document again");
    assert_eq!(std::fs::read(&file).unwrap(), served(&h).await.1);
    h.stop().await;

    // Lost as well in the store (a database from before documents were
    // stored): the next version is above every recorded one, never the
    // description's version again.
    std::fs::remove_file(&file).unwrap();
    let db = issuer::store::SqliteStore::connect(&format!(
        "sqlite://{}",
        shared.path().join("issuer.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DELETE FROM scheme_documents")
        .execute(db.pool())
        .await
        .unwrap();
    db.pool().close().await;
    let h = start(config(shared.path(), "a")).await;
    let again = seen.add(served(&h).await);
    assert!(again > rotated, "version {again} after {rotated}");
    h.stop().await;
}

#[tokio::test]
async fn two_instances_never_sign_one_version_twice() {
    let shared = tempfile::tempdir().unwrap();
    let mut seen = Seen::default();
    let a = start(config(shared.path(), "a")).await;
    seen.add(served(&a).await);
    // A second instance with its own data_dir (the set-up operations.md
    // warns against, made harmless).
    let b = start(config(shared.path(), "b")).await;
    seen.add(served(&b).await);
    for h in [&a, &b, &a] {
        let (status, v) = h
            .admin_post("/admin/keys/demo.utrecht.personal/rotate", &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        seen.add(served(h).await);
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn stored_document_with_other_content_is_refused() {
    let shared = tempfile::tempdir().unwrap();
    let h = start(config(shared.path(), "a")).await;
    let (version, original) = served(&h).await;
    let scheme = h.scheme().await;
    h.stop().await;

    // Same version, same keys, signed a moment later: other content.
    let (signing_key, generated) =
        issuer::keys::load_or_generate_scheme_key(&shared.path().join("scheme-signing.key"))
            .unwrap();
    assert!(!generated);
    let forged = issuer::publish::sign(
        wallet_core::scheme::demo::DEMO_SCHEME_TOML,
        &scheme.issuer_keys,
        &signing_key,
        version,
        now() + 100,
    )
    .unwrap();
    assert_ne!(forged.cbor, original);
    let path = shared.path().join("a/scheme.cbor");
    std::fs::write(&path, &forged.cbor).unwrap();
    match issuer::start(config(shared.path(), "a")).await {
        Err(StartError::Publish(issuer::publish::PublishError::VersionConflict(v))) => {
            assert_eq!(v, version)
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(running) => {
            running.shutdown().await.unwrap();
            panic!("served a second document under version {version}");
        }
    }
    // The file was not replaced by the refused start.
    assert_eq!(std::fs::read(&path).unwrap(), forged.cbor);
}
