//! The verifier daemon's HTTP edges (issue 12): slow clients, media types,
//! JWT `nbf`, over-long and badly encoded URIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use verifier::auth::{Credential, Requestor, RequestorAuth};

/// Connections that trickle a body, and connections that trickle their
/// headers and never finish them.
const SLOW_BODIES: usize = 300;
const SLOW_HEADERS: usize = 50;
/// The longest a slow connection may stay open in this test (the server's
/// timeouts are 2 s); the test ends by itself after this.
const GIVE_UP: Duration = Duration::from_secs(20);

async fn assert_problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], status);
    assert!(v["type"]
        .as_str()
        .unwrap()
        .starts_with("urn:kenmerk:verifier:"));
    assert!(v["title"].is_string() && v["detail"].is_string());
    v
}

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
async fn slow_clients_are_cut_off_and_health_answers() {
    let demo = Demo::new();
    let d = daemon(&demo, |c| {
        c.edge.header_timeout = Duration::from_secs(2);
        c.edge.body_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = d.addr();
    let head = format!(
        "POST /session HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: 4000\r\n\r\n{{"
    );
    let mut slow = Vec::new();
    for _ in 0..SLOW_BODIES {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        slow.push(tokio::spawn(until_closed(s, true)));
    }
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
    tokio::time::sleep(Duration::from_millis(500)).await;

    let quick = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let r = quick.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = quick
        .post(format!("{base}/session"))
        .json(&parking_request_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    for task in slow {
        let end = task.await.unwrap();
        assert!(end.closed, "slow body still open: {end:?}");
        assert!(end.answer.starts_with("HTTP/1.1 408"), "{end:?}");
        assert!(
            end.answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{end:?}"
        );
    }
    for task in stalled {
        let end = task.await.unwrap();
        assert!(end.closed, "unfinished headers still open: {end:?}");
    }
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn session_creation_requires_application_json() {
    let demo = Demo::new();
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let body = parking_request_json().to_string();
    let offline = json!({"verifier": "demo.poll", "request": {
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.municipality"]]]
    }})
    .to_string();
    for (path, body) in [("/session", &body), ("/offline/challenge", &offline)] {
        // What a web page can send cross-origin without a preflight, and
        // no media type at all.
        for content_type in [
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut request = client().post(format!("{base}{path}")).body(body.clone());
            if let Some(t) = content_type {
                request = request.header(CONTENT_TYPE, t);
            }
            let v = assert_problem(request.send().await.unwrap(), 415).await;
            assert_eq!(v["type"], "urn:kenmerk:verifier:unsupported-media-type");
        }
        let r = client()
            .post(format!("{base}{path}"))
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    // The other JSON endpoints already refused other media types.
    let r = client()
        .post(format!("{base}/signature/verify"))
        .header(CONTENT_TYPE, "text/plain")
        .body(r#"{"signature":"AA"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(r, 415).await;
    d.shutdown().await.unwrap();
}

/// Reading the body before the handlers keeps the 413 for a body over the
/// limit, also when it comes in chunks without a Content-Length.
#[tokio::test]
async fn oversized_chunked_body_is_still_413() {
    let demo = Demo::new();
    let d = daemon(&demo, |c| c.body_limit = 4096).await;
    let addr = d.addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let chunk = "a".repeat(1000);
    let mut request = format!(
        "POST /session HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
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
        answer.contains("urn:kenmerk:verifier:body-too-large"),
        "{answer}"
    );
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn jwt_not_before_is_honoured() {
    let demo = Demo::new();
    let secret = b"hs256-secret-0123456789abcdef0123456789";
    let d = daemon(&demo, |c| {
        c.auth = RequestorAuth::Requestors(vec![Requestor {
            name: "desk".into(),
            verifier: Some("demo.parking".parse().unwrap()),
            credential: Credential::JwtHs256(zeroize::Zeroizing::new(secret.to_vec())),
        }]);
    })
    .await;
    let base = format!("http://{}", d.addr());
    let now = now();
    let jwt = |nbf: u64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &json!({"iss": "desk", "exp": now + 7200, "nbf": nbf}),
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap()
    };
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth(jwt(now + 3600))
        .json(&parking_request_json())
        .send()
        .await
        .unwrap();
    let v = assert_problem(r, 401).await;
    assert_eq!(v["reason"], "NOT_YET_VALID");
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth(jwt(now - 60))
        .json(&parking_request_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn long_and_badly_encoded_uris_get_problems() {
    let demo = Demo::new();
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let long = "a".repeat(verifier::edge::MAX_URI_BYTES + 1);
    for path in [
        format!("/session/{long}/status"),
        format!("/wallet/{long}"),
        format!("/healthz?{long}"),
    ] {
        let r = client().get(format!("{base}{path}")).send().await.unwrap();
        let v = assert_problem(r, 414).await;
        assert_eq!(v["type"], "urn:kenmerk:verifier:uri-too-long");
    }
    // Percent-encoding that is not UTF-8, in the path parameters of the
    // requestor, page and wallet routes.
    for path in [
        "/session/%ff%fe/status",
        "/session/%C3%28/result",
        "/session/%ff/page",
        "/wallet/%ff%fe",
        "/offline/%ff/answer",
    ] {
        let request = if path.starts_with("/offline") {
            client().post(format!("{base}{path}")).body("x")
        } else {
            client().get(format!("{base}{path}"))
        };
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
        assert_problem(r, status).await;
    }
    d.shutdown().await.unwrap();
}
