//! Fault test: Redis becomes unreachable under a running verifier daemon
//! and comes back.
//!
//! The daemon's Redis store talks to a small TCP proxy on 127.0.0.1 that
//! the test controls and that forwards to the real Redis. "Down" drops every
//! forwarded connection and drops each new one as soon as it is accepted;
//! "up" forwards again. While Redis is down the requestor and wallet APIs
//! answer 503 `application/problem+json` (never hang, never 500), `/readyz`
//! answers 503 and `/healthz` stays 200. Once the proxy forwards again the
//! same daemon, not restarted, serves the session created before the outage
//! and new ones through a full disclosure with wallet-core's prover.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use verifier::config::StoreConfig;

/// Longest any single answer may take while Redis is down: the store's
/// connect and response timeouts are 3 s, so a 503 must come before this.
const ANSWER_BOUND: Duration = Duration::from_secs(8);

/// A TCP proxy to Redis that can be switched off and on.
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let state = up.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                if !*state.borrow() {
                    // Refused: closed before a byte is read.
                    drop(client);
                    continue;
                }
                let mut switch = state.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    // Forward until either side closes or the proxy goes
                    // down; dropping both streams then cuts the connection.
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = switch.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up, task }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The proxy's URL for `url`'s Redis, and `url`'s `host:port`.
fn proxied(url: &str, proxy: SocketAddr) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    parsed.set_host(Some(&proxy.ip().to_string())).unwrap();
    parsed.set_port(Some(proxy.port())).unwrap();
    parsed.to_string()
}

fn upstream(url: &str) -> String {
    let parsed = reqwest::Url::parse(url).unwrap();
    format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(6379)
    )
}

struct Session {
    token: String,
    wallet_url: String,
}

async fn timed(request: reqwest::RequestBuilder) -> reqwest::Response {
    let start = Instant::now();
    let r = tokio::time::timeout(ANSWER_BOUND, request.send())
        .await
        .expect("an answer in bounded time")
        .unwrap();
    assert!(start.elapsed() < ANSWER_BOUND);
    r
}

/// 503 problem+json saying the store is unavailable.
async fn assert_store_unavailable(r: reqwest::Response, what: &str) {
    assert_eq!(r.status().as_u16(), 503, "{what}");
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], 503, "{what}: {v}");
    assert_eq!(
        v["type"], "urn:kenmerk:verifier:store-unavailable",
        "{what}: {v}"
    );
    assert!(
        v["title"].is_string() && v["detail"].is_string(),
        "{what}: {v}"
    );
}

async fn create(base: &str) -> Session {
    let r = timed(
        client()
            .post(format!("{base}/session"))
            .json(&parking_request_json()),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    Session {
        token: v["token"].as_str().unwrap().to_owned(),
        wallet_url: v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
    }
}

async fn status(base: &str, s: &Session) -> reqwest::Response {
    timed(client().get(format!("{base}/session/{}/status", s.token))).await
}

/// The wallet's side up to the presentation: fetch the request, prove.
async fn prove(demo: &Demo, resident: &Resident, s: &Session) -> Vec<u8> {
    let r = timed(client().get(&s.wallet_url)).await;
    assert_eq!(r.status(), 200);
    let fetched = decode_request(&r.bytes().await.unwrap());
    message(parking_presentation(
        demo,
        resident,
        &resident.vehicle,
        demo.key("demo.rdw.vehicle").public(),
        &fetched,
    ))
}

async fn post_presentation(s: &Session, presentation: Vec<u8>) -> reqwest::Response {
    timed(
        client()
            .post(format!("{}/presentation", s.wallet_url))
            .header("content-type", "application/cbor")
            .body(presentation),
    )
    .await
}

/// Posts the presentation; the requestor then reads a VALID result.
async fn answer(base: &str, s: &Session, presentation: Vec<u8>) {
    let r = post_presentation(s, presentation).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["proofStatus"], "VALID", "{answer}");
    let r = timed(client().get(format!("{base}/session/{}/result", s.token))).await;
    assert_eq!(r.status(), 200);
    let result: Value = r.json().await.unwrap();
    assert_eq!(result["status"], "DONE");
    assert_eq!(result["proofStatus"], "VALID");
    assert!(result["disclosed"].to_string().contains("AB-123-C"));
}

/// A full disclosure with wallet-core's prover.
async fn disclose(base: &str, demo: &Demo, resident: &Resident, s: &Session) {
    let presentation = prove(demo, resident, s).await;
    answer(base, s, presentation).await;
}

#[tokio::test]
async fn redis_outage_answers_503_and_recovers() {
    let Some((url, prefix)) = test_kit::redis::test_redis("fault") else {
        return;
    };
    let started = Instant::now();
    let proxy = Proxy::start(upstream(&url)).await;
    let demo = Demo::new();
    let resident = Resident::new(&demo, 21);
    let store = StoreConfig::Redis {
        url: proxied(&url, proxy.addr),
        prefix,
    };
    let d = daemon(&demo, |c| c.store = store).await;
    let base = format!("http://{}", d.addr());

    // Healthy through the proxy.
    let first = create(&base).await;
    disclose(&base, &demo, &resident, &first).await;
    // Created before the outage: one untouched, one whose wallet has its
    // presentation ready when Redis goes away.
    let untouched = create(&base).await;
    let proving = create(&base).await;
    let presentation = prove(&demo, &resident, &proving).await;
    let r = status(&base, &proving).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!("CONNECTED"));

    // Redis down.
    proxy.set_up(false);
    // Let the forwarding tasks see the switch and close their sockets.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for round in 0..2 {
        let what = |w: &str| format!("{w} (round {round})");
        let r = timed(
            client()
                .post(format!("{base}/session"))
                .json(&parking_request_json()),
        )
        .await;
        assert_store_unavailable(r, &what("POST /session")).await;
        for s in [&untouched, &proving] {
            assert_store_unavailable(status(&base, s).await, &what("status")).await;
            let r = timed(client().get(format!("{base}/session/{}/result", s.token))).await;
            assert_store_unavailable(r, &what("result")).await;
            let r = timed(client().get(format!("{base}/session/{}/statusevents", s.token))).await;
            assert_store_unavailable(r, &what("statusevents")).await;
            let r = timed(client().get(&s.wallet_url)).await;
            assert_store_unavailable(r, &what("wallet GET")).await;
        }
        let r = post_presentation(&proving, presentation.clone()).await;
        assert_store_unavailable(r, &what("presentation")).await;
        let r = timed(client().get(format!("{base}/readyz"))).await;
        assert_store_unavailable(r, &what("readyz")).await;
        let r = timed(client().get(format!("{base}/healthz"))).await;
        assert_eq!(r.status(), 200, "{}", what("healthz"));
    }

    // Redis back: the same daemon recovers without a restart.
    proxy.set_up(true);
    let r = timed(client().get(format!("{base}/readyz"))).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    // The sessions from before the outage are intact and finish: the
    // presentation refused during the outage is accepted now.
    let r = status(&base, &untouched).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!("INITIALIZED"));
    let r = status(&base, &proving).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!("CONNECTED"));
    answer(&base, &proving, presentation).await;
    disclose(&base, &demo, &resident, &untouched).await;
    for _ in 0..3 {
        let s = create(&base).await;
        disclose(&base, &demo, &resident, &s).await;
    }

    // Status events travel over Redis pub/sub again once the store has
    // resubscribed (it retries every 500 ms): a stream then sees DONE at
    // once, not only at its 5 s re-check.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let s = create(&base).await;
        let events = timed(client().get(format!("{base}/session/{}/statusevents", s.token))).await;
        assert_eq!(events.status(), 200);
        disclose(&base, &demo, &resident, &s).await;
        let waited = Instant::now();
        let text = tokio::time::timeout(Duration::from_secs(10), events.text())
            .await
            .expect("the stream ends after DONE")
            .unwrap();
        assert!(text.contains("\"DONE\""), "{text}");
        if waited.elapsed() < Duration::from_secs(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "status events did not come back over pub/sub"
        );
    }

    d.shutdown().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded: took {:?}",
        started.elapsed()
    );
}
