//! Restarts that have nothing new to record write nothing:
//!
//! - `restart_on_a_full_store_serves_reads`: the SQLite store on a full
//!   tmpfs (needs root for the mount; elsewhere it says that it skipped).
//!   A restart with the same keys and scheme comes up, serves `/scheme`
//!   and `/keys` as before, and `/readyz` says 503 while writes fail.
//! - `restart_after_rotation_serves_the_same_version`: a rotation's scheme
//!   document and the one start-up builds list the keys in the same
//!   order, so a restart does not sign a new version with the same keys.

mod common;

use std::path::Path;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use wallet_core::scheme::SignedScheme;

/// A tmpfs mounted for the test; unmounted on drop (also on panic).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                println!(
                    "skipped: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("skipped: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the filesystem of `path`'s directory with `path` (no space left).
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xa5u8; 16 * 1024];
    // Bounded: the tmpfs is a few MiB.
    for _ in 0..100_000 {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    // Whatever single bytes are left.
    while let Ok(1) = f.write(&[0]) {}
    let _ = f.sync_all();
}

/// An issuer on `database_url`, with data (keys, scheme) in `dir`.
async fn start(dir: &Path, database_url: String) -> Harness {
    let mut config = base_config(dir);
    config.database_url = Some(database_url.clone());
    let issuer = issuer::start(config)
        .await
        .unwrap_or_else(|e| panic!("could not start: {e}"));
    Harness::around(issuer, database_url)
}

/// `GET path`: status, ETag, body.
async fn get(h: &Harness, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let r = h.client.get(h.url(path)).send().await.unwrap();
    let status = r.status();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, r.bytes().await.unwrap().to_vec())
}

fn version(h: &Harness) -> u64 {
    SignedScheme::from_cbor(&h.running().signed_scheme_cbor())
        .unwrap()
        .unverified_version()
        .unwrap()
}

#[tokio::test]
async fn restart_on_a_full_store_serves_reads() {
    let Some(fs) = Tmpfs::mount() else { return };
    let data = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", fs.dir.path().join("issuer.db").display());
    let h = start(data.path(), url.clone()).await;
    // After a rotation, as in the report: the restart must not re-sign.
    let (status, v) = h
        .admin_post("/admin/keys/demo.utrecht.address/rotate", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, scheme_etag, scheme) = get(&h, "/scheme").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, keys) = get(&h, "/keys").await;
    assert_eq!(status, StatusCode::OK);
    // Another connection keeps the WAL index (`-shm`) in place across the
    // restart, as after a `kill -9`: the last connection to close would
    // delete it, and reopening on a full disk would then fail to create
    // it (an I/O error no start-up can avoid).
    let held = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    sqlx::query("SELECT COUNT(*) FROM scheme_versions")
        .fetch_one(&held)
        .await
        .unwrap();
    h.stop().await;
    // An empty WAL: any write needs new space.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&held)
        .await
        .unwrap();

    fill(&fs.dir.path().join("filler"));
    // Nothing new to record: the restart writes nothing and comes up.
    let h = start(data.path(), url).await;
    assert_eq!(
        get(&h, "/scheme").await,
        (StatusCode::OK, scheme_etag, scheme)
    );
    assert_eq!(get(&h, "/keys").await.2, keys);
    assert_eq!(
        get(&h, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "/readyz must report a store that cannot write"
    );
    h.stop().await;
    held.close().await;
    drop(fs);
}

#[tokio::test]
async fn restart_after_rotation_serves_the_same_version() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("issuer.db").display());
    let h = start(dir.path(), url.clone()).await;
    for ct in ["demo.utrecht.address", "demo.utrecht.personal"] {
        let (status, v) = h
            .admin_post(&format!("/admin/keys/{ct}/rotate"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let rotated = version(&h);
    let (_, etag, cbor) = get(&h, "/scheme").await;
    h.stop().await;

    for _ in 0..2 {
        let h = start(dir.path(), url.clone()).await;
        assert_eq!(version(&h), rotated, "a restart re-signed the same keys");
        assert_eq!(
            get(&h, "/scheme").await,
            (StatusCode::OK, etag.clone(), cbor.clone())
        );
        h.stop().await;
    }
}
