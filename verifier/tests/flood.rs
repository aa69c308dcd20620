//! A flood of session creations against a daemon on 127.0.0.1: the caps on
//! held sessions hold (429 with `Retry-After` for the requestor over its
//! own cap, 503 when the verifier is full, both problem+json) and the store
//! holds no more than the cap, in memory and in Redis. Bounded in count.

mod common;

use common::*;
use serde_json::Value;
use verifier::auth::{Credential, Requestor, RequestorAuth};
use verifier::config::StoreConfig;
use verifier::store::Limits;
use zeroize::Zeroizing;

const DESK: &str = "desk-secret-0123456789";
const POLL: &str = "poll-secret-0123456789";
const KIOSK: &str = "kiosk-secret-0123456789";

/// Per requestor 30, in total 50.
const LIMITS: Limits = Limits {
    total: Some(50),
    per_owner: Some(30),
};

fn requestor(name: &str, token: &str) -> Requestor {
    Requestor {
        name: name.into(),
        verifier: Some("demo.parking".parse().unwrap()),
        credential: Credential::Token(Zeroizing::new(token.into())),
    }
}

#[derive(Default, Debug)]
struct Tally {
    created: usize,
    too_many: usize,
    full: usize,
}

/// `count` creations by `token`, 8 at a time; every refusal is checked.
async fn flood(base: &str, token: &str, count: usize) -> Tally {
    let mut tally = Tally::default();
    let client = client();
    for chunk in 0..count.div_ceil(8) {
        let mut tasks = Vec::new();
        for _ in 0..8.min(count - chunk * 8) {
            let request = client
                .post(format!("{base}/session"))
                .bearer_auth(token)
                .json(&parking_request_json());
            tasks.push(tokio::spawn(async move { request.send().await.unwrap() }));
        }
        for t in tasks {
            let r = t.await.unwrap();
            let status = r.status().as_u16();
            if status == 200 {
                tally.created += 1;
                continue;
            }
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            let retry_after: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1);
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["status"], status);
            match status {
                429 => {
                    assert_eq!(v["type"], "urn:kenmerk:verifier:too-many-sessions", "{v}");
                    // The cap frees when the first session goes: not before
                    // the session timeout plus result TTL of the config.
                    assert!(retry_after > 60, "{retry_after}");
                    tally.too_many += 1;
                }
                503 => {
                    assert_eq!(v["type"], "urn:kenmerk:verifier:verifier-full", "{v}");
                    tally.full += 1;
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
    }
    tally
}

async fn caps_hold_under_flood(store: StoreConfig) -> verifier::VerifierHandle {
    let demo = Demo::new();
    let d = daemon(&demo, |c| {
        c.store = store;
        c.limits = LIMITS;
        c.auth = RequestorAuth::Requestors(vec![
            requestor("desk", DESK),
            requestor("poll", POLL),
            requestor("kiosk", KIOSK),
        ]);
    })
    .await;
    let base = format!("http://{}", d.addr());

    // One requestor floods: it gets its own cap, then 429s.
    let desk = flood(&base, DESK, 120).await;
    assert_eq!(desk.created, 30, "{desk:?}");
    assert_eq!(desk.too_many, 90, "{desk:?}");
    assert_eq!(d.sessions().store().held().await.unwrap(), 30);
    // Others still get sessions until the verifier is full, then 503s.
    let poll = flood(&base, POLL, 40).await;
    assert_eq!(poll.created, 20, "{poll:?}");
    assert_eq!(poll.full, 20, "{poll:?}");
    let kiosk = flood(&base, KIOSK, 16).await;
    assert_eq!(kiosk.full, 16, "{kiosk:?}");
    // The store holds exactly the cap: memory stays bounded.
    assert_eq!(d.sessions().store().held().await.unwrap(), 50);
    d
}

#[tokio::test]
async fn memory_caps_hold_under_a_flood() {
    let d = caps_hold_under_flood(StoreConfig::Memory).await;
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn redis_caps_hold_under_a_flood() {
    let Some((url, prefix)) = test_kit::redis::test_redis("flood") else {
        return;
    };
    let d = caps_hold_under_flood(StoreConfig::Redis {
        url: url.clone(),
        prefix: prefix.clone(),
    })
    .await;
    // Redis holds one record and one wallet index per session, nothing per
    // refused request.
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (pattern, want) in [("s:*", 50), ("w:*", 50)] {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}{pattern}"))
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(keys.len(), want, "{pattern}");
    }
    d.shutdown().await.unwrap();
}
