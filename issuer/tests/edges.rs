//! The issuer's HTTP edges (issue 12): slow clients, media types, JWT
//! `nbf`, requestor isolation, over-long and badly encoded URIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{address_request, problem, Backend, Harness, ADMIN_TOKEN, TOKEN};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Slow-body connections: more than the issuer's default concurrency
/// limit (512), so on a server that reads bodies inside the limit they
/// hold every slot.
const SLOW_BODIES: usize = 600;
/// Connections that trickle their headers and never finish them.
const SLOW_HEADERS: usize = 50;
/// The longest a slow connection may stay open in this test (the server's
/// timeouts are 2 s); the test ends by itself after this.
const GIVE_UP: Duration = Duration::from_secs(20);

/// What happened to one slow connection.
#[derive(Debug)]
struct SlowEnd {
    closed: bool,
    answer: String,
}

/// Reads until the server closes the connection or `GIVE_UP` passes;
/// between reads, `trickle` (if any) sends one more body byte.
async fn until_closed(mut stream: TcpStream, trickle: bool) -> SlowEnd {
    let deadline = tokio::time::Instant::now() + GIVE_UP;
    let mut answer = Vec::new();
    let mut buf = [0u8; 2048];
    let mut trickling = trickle;
    while tokio::time::Instant::now() < deadline {
        // A failed write means the server closed; its answer may still be
        // waiting to be read, so stop writing and read on.
        if trickling && answer.is_empty() && stream.write_all(b" ").await.is_err() {
            trickling = false;
        }
        match tokio::time::timeout(Duration::from_millis(250), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return SlowEnd {
                    closed: true,
                    answer: String::from_utf8_lossy(&answer).into_owned(),
                }
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    SlowEnd {
        closed: false,
        answer: String::from_utf8_lossy(&answer).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_neither_block_health_nor_the_api() {
    let h = Harness::start(Backend::Sqlite, |c| {
        c.header_timeout_secs = 2;
        c.body_timeout_secs = 2;
    })
    .await
    .unwrap();
    let addr = h.running().local_addr();

    // Headers complete, then a body that trickles in one byte at a time
    // and never reaches its Content-Length.
    let head = format!(
        "POST /session HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{"
    );
    let mut slow = Vec::new();
    for _ in 0..SLOW_BODIES {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        slow.push(tokio::spawn(until_closed(s, true)));
    }
    // Headers that never end.
    let mut stalled = Vec::new();
    for _ in 0..SLOW_HEADERS {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // A header value that keeps growing, one byte at a time: the
        // timeout counts from the start, not from the last byte.
        s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: a").as_bytes())
            .await
            .unwrap();
        stalled.push(tokio::spawn(until_closed(s, true)));
    }
    // Give the server a moment to start a handler for every slow request.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // While they are all open: health, readiness and the API answer.
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = quick
        .get(h.url("/healthz"))
        .send()
        .await
        .expect("/healthz answers");
    assert_eq!(r.status(), StatusCode::OK);
    let r = quick
        .get(h.url("/readyz"))
        .send()
        .await
        .expect("/readyz answers");
    assert_eq!(r.status(), StatusCode::OK);
    let r = quick
        .get(h.url("/scheme"))
        .send()
        .await
        .expect("/scheme answers");
    assert_eq!(r.status(), StatusCode::OK);
    let r = quick
        .post(h.url("/session"))
        .bearer_auth(TOKEN)
        .json(&address_request("Oudegracht", None))
        .send()
        .await
        .expect("POST /session answers");
    assert_eq!(r.status(), StatusCode::CREATED);

    // Every slow body got 408 problem+json and its connection closed.
    for task in slow {
        let end = task.await.unwrap();
        assert!(end.closed, "slow body still open: {end:?}");
        assert!(
            end.answer.starts_with("HTTP/1.1 408"),
            "slow body answer: {end:?}"
        );
        assert!(
            end.answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{end:?}"
        );
    }
    // Every connection with unfinished headers was closed.
    for task in stalled {
        let end = task.await.unwrap();
        assert!(end.closed, "unfinished headers still open: {end:?}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_every_slot_is_taken() {
    use sqlx::Connection as _;
    const SLOTS: usize = 4;
    let h = Harness::start(Backend::Sqlite, |c| c.max_concurrent_requests = SLOTS)
        .await
        .unwrap();
    // Hold SQLite's write lock: session creations then wait for the
    // database (up to its 10 s busy timeout), each holding a slot.
    let mut lock = sqlx::SqliteConnection::connect(&h.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .unwrap();
    let stuck: Vec<_> = (0..SLOTS)
        .map(|_| {
            let request = h
                .client
                .post(h.url("/session"))
                .bearer_auth(TOKEN)
                .json(&address_request("Oudegracht", None));
            tokio::spawn(request.send())
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    // The premise: the API is saturated, a further API request waits.
    assert!(
        tokio::time::timeout(
            Duration::from_millis(500),
            quick.get(h.url("/scheme")).send()
        )
        .await
        .is_err(),
        "the API should be saturated"
    );
    // Health, readiness and metrics do not wait for a slot.
    for path in ["/healthz", "/metrics"] {
        let r = quick.get(h.url(path)).send().await.expect(path);
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    // Readiness answers too, without a slot, and tells the truth: its write
    // probe cannot get the write lock held above, so the store cannot write
    // now (503 problem, within the probe's own 2 s bound).
    let r = quick.get(h.url("/readyz")).send().await.expect("/readyz");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.headers()[reqwest::header::CONTENT_TYPE],
        "application/problem+json"
    );
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    for task in stuck {
        let r = task.await.unwrap().unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    h.stop().await;
}

#[tokio::test]
async fn json_endpoints_require_application_json() {
    let h = Harness::start(Backend::Sqlite, |_| {}).await.unwrap();
    let body = serde_json::to_string(&address_request("Oudegracht", None)).unwrap();
    // What a web page can send cross-origin without a preflight, and no
    // media type at all.
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        None,
    ] {
        let mut request = h
            .client
            .post(h.url("/session"))
            .bearer_auth(TOKEN)
            .body(body.clone());
        if let Some(t) = content_type {
            request = request.header(CONTENT_TYPE, t);
        }
        let v = problem(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
        assert_eq!(v["type"], "urn:kenmerk:problem:unsupported-media-type");
        // The admin API's JSON endpoints too.
        let mut request = h
            .client
            .post(h.url("/admin/subjects/someone/revoke"))
            .bearer_auth(ADMIN_TOKEN)
            .body(r#"{"reason":"test"}"#);
        if let Some(t) = content_type {
            request = request.header(CONTENT_TYPE, t);
        }
        problem(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
    }
    // application/json with parameters, in any case, is accepted.
    for content_type in ["application/json", "Application/JSON; charset=utf-8"] {
        let r = h
            .client
            .post(h.url("/session"))
            .bearer_auth(TOKEN)
            .header(CONTENT_TYPE, content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{content_type}");
    }
    h.stop().await;
}

/// Reading the body before the handlers must keep the 413 for a body over
/// the limit, also when it comes in chunks without a Content-Length.
#[tokio::test]
async fn oversized_chunked_body_is_still_413() {
    let h = Harness::start(Backend::Sqlite, |c| c.max_body_bytes = 4096)
        .await
        .unwrap();
    let addr = h.running().local_addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let chunk = "a".repeat(1000);
    let mut request = format!(
        "POST /session HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    for _ in 0..6 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(
        answer.contains("urn:kenmerk:problem:body-too-large"),
        "{answer}"
    );
    h.stop().await;
}

#[tokio::test]
async fn jwt_not_before_is_honoured() {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let secret = "hs256-secret-0123456789abcdef0123456789";
    let h = Harness::start(Backend::Sqlite, |c| {
        c.requestors.push(issuer::RequestorConfig {
            name: "hs-office".to_owned(),
            jwt_hs256_secret: Some(secret.to_owned()),
            ..Default::default()
        });
    })
    .await
    .unwrap();
    let now = common::now();
    let jwt = |nbf: u64| {
        encode(
            &Header::new(Algorithm::HS256),
            &json!({"iss": "hs-office", "exp": now + 7200, "nbf": nbf}),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    // Valid only from an hour from now.
    let (status, v) = h
        .create(&jwt(now + 3600), &address_request("Oudegracht", None))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["type"], "urn:kenmerk:problem:unauthorized");
    // Valid since a minute ago.
    let (status, v) = h
        .create(&jwt(now - 60), &address_request("Oudegracht", None))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    h.stop().await;
}

#[tokio::test]
async fn requestor_sees_and_cancels_only_its_own_sessions() {
    const OTHER: &str = "other-office-token-0123456789";
    let h = Harness::start(Backend::Sqlite, |c| {
        c.requestors.push(issuer::RequestorConfig {
            name: "other-office".to_owned(),
            token: Some(OTHER.to_owned()),
            ..Default::default()
        });
    })
    .await
    .unwrap();
    let (_, token, _) = h.create_ok(&address_request("Oudegracht", None)).await;
    let unknown = "0".repeat(token.len());

    // Another requestor (an admin one included) learns nothing: the same
    // 404 as for a token that does not exist.
    for who in [OTHER, ADMIN_TOKEN] {
        for (path, delete) in [
            (format!("/session/{token}/status"), false),
            (format!("/session/{token}/result"), false),
            (format!("/session/{token}/statusevents"), false),
            (format!("/session/{token}"), true),
        ] {
            let request = if delete {
                h.client.delete(h.url(&path))
            } else {
                h.client.get(h.url(&path))
            };
            let v = problem(
                request.bearer_auth(who).send().await.unwrap(),
                StatusCode::NOT_FOUND,
            )
            .await;
            let unknown_path = path.replace(&token, &unknown);
            let request = if delete {
                h.client.delete(h.url(&unknown_path))
            } else {
                h.client.get(h.url(&unknown_path))
            };
            let w = problem(
                request.bearer_auth(who).send().await.unwrap(),
                StatusCode::NOT_FOUND,
            )
            .await;
            assert_eq!(v, w, "{path}");
        }
    }
    // The other requestor's cancel did nothing; the owner still sees and
    // cancels its session.
    assert_eq!(h.status(&token).await, "INITIALIZED");
    let r = h
        .client
        .delete(h.url(&format!("/session/{token}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(h.status(&token).await, "CANCELLED");
    h.stop().await;
}

#[tokio::test]
async fn long_and_badly_encoded_uris_get_problems() {
    let h = Harness::start(Backend::Sqlite, |_| {}).await.unwrap();
    let long = "a".repeat(issuer::edge::MAX_URI_BYTES + 1);
    for path in [
        format!("/session/{long}/status"),
        format!("/scheme?x={long}"),
        format!("/healthz?{long}"),
    ] {
        let r = h
            .client
            .get(h.url(&path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let v = problem(r, StatusCode::URI_TOO_LONG).await;
        assert_eq!(v["type"], "urn:kenmerk:problem:uri-too-long");
    }
    // Percent-encoding that is not UTF-8 or not hex, in path parameters
    // (refused) and in a query (decoded leniently: an answer or a problem,
    // never a text page).
    for (path, must_fail) in [
        ("/session/%ff%fe/status", true),
        ("/admin/credentials/%C3%28", true),
        ("/admin/subjects/%ff/revoke", true),
        ("/admin/audit?credential=%ff", false),
        ("/admin/audit?credential=%zz&credential=1", false),
    ] {
        let request = if path.ends_with("/revoke") {
            h.client.post(h.url(path)).json(&json!({"reason": "x"}))
        } else {
            h.client.get(h.url(path))
        };
        let r = request.bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        let status = r.status();
        if status.is_success() && !must_fail {
            continue;
        }
        assert!(status.is_client_error(), "{path}: {status}");
        let v = problem(r, status).await;
        assert!(v["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:kenmerk:problem:"));
    }
    h.stop().await;
}
