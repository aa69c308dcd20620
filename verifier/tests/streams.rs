//! Status streams (server-sent events) are capped per session (429) and in
//! total (503), both with `Retry-After`, give their place back when they
//! end or the client goes, and end after their maximum lifetime; with the
//! total cap reached, `/healthz` and `POST /session` still answer.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use verifier::session::StreamLimits;

struct Session {
    token: String,
    page: String,
}

async fn create_ok(base: &str) -> Session {
    let r = client()
        .post(format!("{base}/session"))
        .json(&parking_request_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    Session {
        token: v["token"].as_str().unwrap().to_owned(),
        page: v["page"].as_str().unwrap().to_owned(),
    }
}

fn page_stream(s: &Session) -> String {
    s.page.replace("/view", "/statusevents")
}

fn requestor_stream(base: &str, s: &Session) -> String {
    format!("{base}/session/{}/statusevents", s.token)
}

async fn open(url: &str) -> reqwest::Response {
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r
}

async fn refused(url: &str, status: u16, kind: &str) {
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), status, "{url}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], format!("urn:kenmerk:verifier:{kind}"), "{v}");
}

#[tokio::test]
async fn streams_per_session_are_capped_and_given_back() {
    let demo = Demo::new();
    let d = daemon(&demo, |c| {
        c.streams = StreamLimits {
            per_session: 4,
            total: Some(64),
            ..StreamLimits::default()
        }
    })
    .await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(open(&page_stream(&s)).await);
    }
    held.push(open(&requestor_stream(&base, &s)).await);
    // The fifth, by either token, is refused.
    refused(&page_stream(&s), 429, "too-many-streams").await;
    refused(&requestor_stream(&base, &s), 429, "too-many-streams").await;
    // Another session is not affected.
    let other = create_ok(&base).await;
    let _other_stream = open(&page_stream(&other)).await;

    // A client that goes away gives its place back.
    drop(held.pop());
    let start = Instant::now();
    loop {
        let r = client().get(page_stream(&s)).send().await.unwrap();
        if r.status() == 200 {
            break;
        }
        assert_eq!(r.status(), 429);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the slot of a closed stream was not given back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(held);
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_total_cap_leaves_room_for_health_and_sessions() {
    let demo = Demo::new();
    let d = daemon(&demo, |c| {
        c.streams = StreamLimits {
            per_session: 4,
            total: Some(3),
            ..StreamLimits::default()
        }
    })
    .await;
    let base = format!("http://{}", d.addr());
    let mut held = Vec::new();
    for _ in 0..3 {
        let s = create_ok(&base).await;
        held.push(open(&page_stream(&s)).await);
    }
    let s = create_ok(&base).await;
    refused(&page_stream(&s), 503, "streams-exhausted").await;
    refused(&requestor_stream(&base, &s), 503, "streams-exhausted").await;
    // The daemon still answers everything else.
    let r = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    create_ok(&base).await;
    drop(held);
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stream_ends_after_its_maximum_lifetime() {
    let demo = Demo::new();
    let d = daemon(&demo, |c| {
        c.streams = StreamLimits {
            max_lifetime: Duration::from_secs(1),
            ..StreamLimits::default()
        }
    })
    .await;
    let base = format!("http://{}", d.addr());
    let s = create_ok(&base).await;
    let start = Instant::now();
    let body = tokio::time::timeout(Duration::from_secs(10), open(&page_stream(&s)).await.text())
        .await
        .expect("the stream did not end")
        .unwrap();
    assert!(body.contains("INITIALIZED"), "{body}");
    assert!(start.elapsed() >= Duration::from_millis(900));
    d.shutdown().await.unwrap();
}
