//! The daemon as deployed: the scheme fetched from an issuer URL and
//! re-fetched when it changes (never rolled back, never from another key),
//! and the `kenmerk-verifier serve` binary configured by file and
//! environment, shut down gracefully by SIGTERM.

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::*;
use serde_json::{json, Value};
use test_kit::process::ChildDaemon;
use verifier::config::SchemeLocation;
use verifier::daemon::{start, SchemeConfig, VerifierConfig};
use wallet_core::keys::IssuerPublicKey;
use wallet_core::scheme::demo::build_demo_scheme;
use wallet_core::scheme::{SchemeSigningKey, SignedScheme};

#[derive(Clone)]
struct Published {
    json: Arc<Mutex<(String, String)>>,
    key: String,
}

async fn scheme(State(p): State<Published>, headers: HeaderMap) -> Response {
    let (body, etag) = p.json.lock().unwrap().clone();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::ETAG, etag)], body).into_response()
}

async fn key(State(p): State<Published>) -> Response {
    axum::Json(json!({"key": p.key})).into_response()
}

fn publish(p: &Published, signed: &SignedScheme) {
    let json = signed.to_json_pretty().unwrap();
    let etag = format!(
        "\"{}\"",
        json.len() ^ (signed.unverified_version().unwrap() as usize)
    );
    *p.json.lock().unwrap() = (json, etag);
}

async fn scheme_version(base: &str) -> u64 {
    let v: Value = client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["schemeVersion"].as_u64().unwrap()
}

#[tokio::test]
async fn scheme_is_refetched_when_it_changes() {
    let demo = Demo::new();
    let publics: Vec<IssuerPublicKey> = demo.keys.iter().map(|k| k.public().clone()).collect();
    let published = Published {
        json: Arc::new(Mutex::new((String::new(), String::new()))),
        key: demo.scheme_key.public_key().to_string(),
    };
    publish(&published, &demo.signed);
    let issuer = Router::new()
        .route("/scheme", get(scheme))
        .route("/scheme/key", get(key))
        .with_state(published.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, issuer).await });

    let mut config = VerifierConfig::with_scheme(demo.scheme.clone());
    config.scheme = SchemeConfig::Location {
        location: SchemeLocation::Url(format!("http://{issuer_addr}/scheme")),
        // Not pinned: trusted on first use from the loopback issuer.
        key: None,
        refresh: Duration::from_secs(1),
    };
    let d = start(config).await.unwrap();
    let base = format!("http://{}", d.addr());
    assert_eq!(scheme_version(&base).await, 1);

    let wait_for = |want: u64| {
        let base = base.clone();
        async move {
            let start = Instant::now();
            while scheme_version(&base).await != want {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "no scheme v{want}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let v2 = build_demo_scheme(&demo.scheme_key, &publics, 2, demo.base).unwrap();
    publish(&published, &v2);
    wait_for(2).await;

    // A rollback to version 1 and a version 3 under another key are refused.
    publish(&published, &demo.signed);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(scheme_version(&base).await, 2);
    let other = SchemeSigningKey::generate().unwrap();
    let forged = build_demo_scheme(&other, &publics, 3, demo.base).unwrap();
    publish(&published, &forged);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(scheme_version(&base).await, 2);
    let metrics = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("kenmerk_verifier_scheme_loads_total 2"),
        "{metrics}"
    );
    d.shutdown().await.unwrap();
    server.abort();
}

#[tokio::test]
async fn binary_serves_from_config_and_stops_on_sigterm() {
    let demo = Demo::new();
    let dir = tempfile::tempdir().unwrap();
    let scheme_path = dir.path().join("scheme.json");
    std::fs::write(&scheme_path, demo.signed.to_json_pretty().unwrap()).unwrap();
    let config_path = dir.path().join("verifier.toml");
    std::fs::write(
        &config_path,
        format!(
            "listen = \"127.0.0.1:0\"\nscheme = \"{}\"\nscheme_key = \"{}\"\nsession_timeout_secs = 120\n",
            scheme_path.display(),
            demo.scheme_key.public_key()
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kenmerk-verifier"));
    command
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .env("KENMERK_VERIFIER_LOG_JSON", "true")
        .env("KENMERK_VERIFIER_DEFAULT_VERIFIER", "demo.parking")
        .env(
            "KENMERK_VERIFIER_REQUESTOR_TOKENS",
            "desk=desk-secret-0123456789",
        )
        .env("RUST_LOG", "info")
        .stderr(Stdio::null());
    // The start line (JSON) names the bound address.
    let child = ChildDaemon::spawn(
        command,
        "kenmerk-verifier listening",
        Duration::from_secs(20),
    );
    let addr = child.addr().to_owned();
    let base = format!("http://{addr}");
    let health: Value = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let body = json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city"]]]
    });
    let r = client()
        .post(format!("{base}/session"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "requestor tokens from the environment apply"
    );
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth("desk-secret-0123456789")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "default verifier from the environment applies"
    );

    // Graceful shutdown on SIGTERM: exit status 0, promptly.
    let status = child.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn start_waits_for_a_scheme_url_that_comes_up_later() {
    let demo = Demo::new();
    let published = Published {
        json: Arc::new(Mutex::new((String::new(), String::new()))),
        key: demo.scheme_key.public_key().to_string(),
    };
    publish(&published, &demo.signed);
    // A free port, with nothing listening yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = VerifierConfig::with_scheme(demo.scheme.clone());
    config.scheme = SchemeConfig::Location {
        location: SchemeLocation::Url(format!("http://127.0.0.1:{port}/scheme")),
        key: Some(demo.scheme_key.public_key()),
        refresh: Duration::from_secs(60),
    };
    let starting = tokio::spawn(start(config));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!starting.is_finished(), "still waiting for the issuer");
    let issuer = Router::new()
        .route("/scheme", get(scheme))
        .with_state(published.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, issuer).await });
    let d = tokio::time::timeout(Duration::from_secs(10), starting)
        .await
        .expect("started once the scheme was reachable")
        .unwrap()
        .unwrap();
    assert_eq!(scheme_version(&format!("http://{}", d.addr())).await, 1);
    d.shutdown().await.unwrap();
    server.abort();
}
