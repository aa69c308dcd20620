//! Fault test: Redis runs a write but its reply is lost.
//!
//! The daemon's Redis store talks to a TCP proxy on 127.0.0.1 that forwards
//! to the real Redis. Armed, the proxy lets the next script call (`EVALSHA`)
//! through, waits for Redis's reply, and then cuts the connection instead of
//! delivering it: the write happened, the daemon does not know. The store
//! retries on a new connection; the retry must recognise its own write. So
//! a session creation answers 200 with a session that works (not 500, not a
//! second session), and a wallet whose presentation was accepted hears
//! VALID, never "replay"; a cancel whose reply was lost is a cancel.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use verifier::config::StoreConfig;

/// A proxy to Redis that can lose the reply to one script call.
struct LossyProxy {
    addr: SocketAddr,
    armed: Arc<AtomicBool>,
    lost: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl LossyProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let armed = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicUsize::new(0));
        let (a, l) = (armed.clone(), lost.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                tokio::spawn(pump(client, server, a.clone(), l.clone()));
            }
        });
        Self {
            addr,
            armed,
            lost,
            task,
        }
    }

    /// Lose the reply to the next script call (on whichever connection).
    fn lose_next_script_reply(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forward both ways; on a doomed connection, read Redis's reply and then
/// close both sides without delivering it.
async fn pump(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicBool>,
    lost: Arc<AtomicUsize>,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let doomed = Arc::new(AtomicBool::new(false));
    let d = doomed.clone();
    let up = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if chunk.windows(7).any(|w| w == b"EVALSHA")
                && armed
                    .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                d.store(true, Ordering::SeqCst);
            }
            if sw.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let down = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if doomed.load(Ordering::SeqCst) {
                // Redis answered: the write is done. The client never
                // hears it.
                lost.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    // Whichever side ends, both halves drop: the connection is cut.
    tokio::select! {
        () = up => {}
        () = down => {}
    }
}

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

async fn create(base: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/session"))
        .json(&parking_request_json())
        .send()
        .await
        .unwrap()
}

async fn created(r: reqwest::Response) -> Session {
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let v: Value = r.json().await.unwrap();
    Session {
        token: v["token"].as_str().unwrap().to_owned(),
        wallet_url: v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
    }
}

async fn status(base: &str, s: &Session) -> Value {
    let r = client()
        .get(format!("{base}/session/{}/status", s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn fetch(s: &Session) -> Fetched {
    let r = client().get(&s.wallet_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    decode_request(&r.bytes().await.unwrap())
}

fn answer(demo: &Demo, resident: &Resident, fetched: &Fetched) -> Vec<u8> {
    message(parking_presentation(
        demo,
        resident,
        &resident.vehicle,
        demo.key("demo.rdw.vehicle").public(),
        fetched,
    ))
}

async fn prove(demo: &Demo, resident: &Resident, s: &Session) -> Vec<u8> {
    answer(demo, resident, &fetch(s).await)
}

async fn post_presentation(s: &Session, presentation: &[u8]) -> reqwest::Response {
    client()
        .post(format!("{}/presentation", s.wallet_url))
        .header("content-type", "application/cbor")
        .body(presentation.to_vec())
        .send()
        .await
        .unwrap()
}

async fn assert_valid(r: reqwest::Response, what: &str) {
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{what}: {v}");
    assert_eq!(v["proofStatus"], "VALID", "{what}: {v}");
}

#[tokio::test]
async fn lost_redis_replies_are_recognised_on_retry() {
    let Some((url, prefix)) = test_kit::redis::test_redis("retry") else {
        return;
    };
    let proxy = LossyProxy::start(upstream(&url)).await;
    let demo = Demo::new();
    let resident = Resident::new(&demo, 31);
    let store = StoreConfig::Redis {
        url: proxied(&url, proxy.addr),
        prefix: prefix.clone(),
    };
    let d = daemon(&demo, |c| c.store = store).await;
    let base = format!("http://{}", d.addr());

    // Healthy first: the scripts are loaded in Redis, so the next script
    // call is the write itself (not a NOSCRIPT round trip).
    let warm = created(create(&base).await).await;
    let presentation = prove(&demo, &resident, &warm).await;
    assert_valid(post_presentation(&warm, &presentation).await, "warm-up").await;
    let held = d.sessions().store().held().await.unwrap();

    // The insert's reply is lost: the retry sees its own session.
    proxy.lose_next_script_reply();
    let r = create(&base).await;
    assert_eq!(proxy.lost(), 1, "the fault was injected");
    let s = created(r).await;
    assert_eq!(status(&base, &s).await, json!("INITIALIZED"));
    assert_eq!(
        d.sessions().store().held().await.unwrap(),
        held + 1,
        "one session, not two"
    );

    // The completion's reply is lost: the wallet still hears VALID.
    let fetched = fetch(&s).await;
    let presentation = answer(&demo, &resident, &fetched);
    proxy.lose_next_script_reply();
    let r = post_presentation(&s, &presentation).await;
    assert_eq!(proxy.lost(), 2, "the fault was injected");
    assert_valid(r, "presentation whose completion reply was lost").await;
    let result: Value = client()
        .get(format!("{base}/session/{}/result", s.token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(result["status"], "DONE");
    assert_eq!(result["proofStatus"], "VALID");

    // The session completed once: a presentation posted now, even one
    // made by the same wallet for the same context, is a replay.
    let r = post_presentation(&s, &answer(&demo, &resident, &fetched)).await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["reason"], "REPLAY_OR_LATE", "{v}");

    // A cancel whose reply is lost is a cancel, not "already final".
    let c = created(create(&base).await).await;
    proxy.lose_next_script_reply();
    let r = client()
        .delete(format!("{base}/session/{}", c.token))
        .send()
        .await
        .unwrap();
    assert_eq!(proxy.lost(), 3, "the fault was injected");
    assert_eq!(r.status(), 204, "{:?}", r.text().await);
    assert_eq!(status(&base, &c).await, json!("CANCELLED"));

    tokio::time::timeout(Duration::from_secs(10), d.shutdown())
        .await
        .unwrap()
        .unwrap();
}
