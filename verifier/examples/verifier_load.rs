//! Load driver: whole disclosure sessions against an embedded verifier
//! daemon over loopback (create, fetch the request, post a presentation made
//! with wallet-core's prover, fetch the result), for a bounded time.
//!
//! ```sh
//! cargo run --release -p verifier --example verifier_load -- [SECONDS] [CONCURRENCY]
//! KENMERK_LOAD_REDIS=redis://127.0.0.1:6379 cargo run --release -p verifier --example verifier_load
//! ```
//!
//! Prints sessions per second, p50/p99 per request type, and the process's
//! resident memory before and after (Linux), so that a leak shows. Results
//! are kept `KENMERK_LOAD_RESULT_TTL_SECS` (default 5) seconds, so memory
//! should level off after that.
//!
//! Flood mode (`KENMERK_LOAD_FLOOD=1`): the workers only create sessions,
//! never answer them, as fast as they can; prints how many were created and
//! refused (429 per-requestor cap, 503 total cap), the sessions held at the
//! end and the resident memory, which levels off at the cap. The caps are
//! the daemon's defaults unless `KENMERK_LOAD_MAX_SESSIONS` /
//! `KENMERK_LOAD_MAX_SESSIONS_PER_REQUESTOR` say otherwise.
//!
//! ```sh
//! KENMERK_LOAD_FLOOD=1 cargo run -p verifier --example verifier_load -- 10 8
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_core::OsRng;
use test_kit::load::percentile_ms as percentile;
use verifier::{start, StoreConfig, VerifierConfig};
use wallet_core::encoding::AttributeValue;
use wallet_core::holder::HolderSecret;
use wallet_core::presentation::PresentationBuilder;
use wallet_core::scheme::demo::generate_demo_scheme;
use wallet_core::token::CredentialToken;
use wallet_core::wire::{DisclosureRequestMessage, PresentationMessage, WireMessage as _};

const REQUEST: &str = r#"{"verifier": "demo.poll", "request": {
    "@context": "https://irma.app/ld/request/disclosure/v2",
    "disclose": [[["demo.utrecht.address.municipality"]]]}}"#;

/// Resident memory of this process (driver and daemon), KiB.
fn rss_kib() -> Option<u64> {
    test_kit::load::rss_kib(None)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .min(300);
    let concurrency: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(16)
        .clamp(1, 256);

    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let demo = generate_demo_scheme(&mut OsRng, now).unwrap();
    let scheme = demo
        .signed
        .verify(&demo.signing_key.public_key(), None, now)
        .unwrap();
    let address_key = demo
        .issuer_keys
        .iter()
        .find(|k| k.public().credential_type.as_str() == "demo.utrecht.address")
        .unwrap();

    // One credential (one-show tokens are reused here on purpose: the
    // verifier does not track token reuse, and issuing is not measured).
    let holder = HolderSecret::from_seed(&[42; 32]);
    let values = vec![
        AttributeValue::String("Domplein".into()),
        AttributeValue::Integer(29),
        AttributeValue::String("3512JE".into()),
        AttributeValue::String("Utrecht".into()),
        AttributeValue::String("Utrecht".into()),
    ];
    let token: Arc<CredentialToken> = Arc::new(test_kit::verifier::issue(
        address_key,
        &holder,
        values,
        now,
        7 * 86_400,
    ));
    let holder = Arc::new(holder);
    let key = Arc::new(address_key.public().clone());

    let mut config = VerifierConfig::with_scheme(scheme);
    // Short lifetimes so that finished sessions leave memory (and Redis)
    // during the run: a flat resident size then means no leak.
    config.session_timeout = Duration::from_secs(30);
    config.result_ttl = Duration::from_secs(
        std::env::var("KENMERK_LOAD_RESULT_TTL_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let env_u64 = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    if let Some(n) = env_u64("KENMERK_LOAD_MAX_SESSIONS") {
        config.limits.total = Some(n);
    }
    if let Some(n) = env_u64("KENMERK_LOAD_MAX_SESSIONS_PER_REQUESTOR") {
        config.limits.per_owner = Some(n);
    }
    let flood_mode = std::env::var("KENMERK_LOAD_FLOOD").is_ok_and(|v| v == "1");
    if flood_mode {
        // Unanswered sessions are held until their deadline plus the result
        // TTL: the caps, not expiry, must bound memory during the run.
        config.session_timeout = Duration::from_secs(300);
    }
    if let Ok(url) = std::env::var("KENMERK_LOAD_REDIS") {
        config.store = StoreConfig::Redis {
            url,
            prefix: format!("kenmerk-load:{}:", verifier::WalletToken::generate()),
        };
    }
    let daemon = start(config).await.unwrap();
    let base = format!("http://{}", daemon.addr());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let rss_before = rss_kib();
    if flood_mode {
        flood(&daemon, &client, &base, seconds, concurrency, rss_before).await;
        daemon.shutdown().await.unwrap();
        return;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let timings: Arc<Mutex<[Vec<u64>; 4]>> = Arc::new(Mutex::new(Default::default()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, stop, done, timings) = (
            client.clone(),
            base.clone(),
            stop.clone(),
            done.clone(),
            timings.clone(),
        );
        let (token, holder, key) = (token.clone(), holder.clone(), key.clone());
        workers.push(tokio::spawn(async move {
            let mut local: [Vec<u64>; 4] = Default::default();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let created: serde_json::Value = client
                    .post(format!("{base}/session"))
                    .header("content-type", "application/json")
                    .body(REQUEST)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                local[0].push(t.elapsed().as_micros() as u64);
                let wallet = created["sessionPtr"]["u"].as_str().unwrap().to_owned();
                let requestor = created["token"].as_str().unwrap().to_owned();
                let t = Instant::now();
                let bytes = client
                    .get(&wallet)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                local[1].push(t.elapsed().as_micros() as u64);
                let message = DisclosureRequestMessage::from_bytes(&bytes).unwrap();
                let (token, holder, key) = (token.clone(), holder.clone(), key.clone());
                let answer = tokio::task::spawn_blocking(move || {
                    let mut b = PresentationBuilder::new(&holder, message.context());
                    b.token(&token, &key, &[4]);
                    PresentationMessage::new(b.prove(&mut OsRng).unwrap()).to_bytes()
                })
                .await
                .unwrap();
                let t = Instant::now();
                let r = client
                    .post(format!("{wallet}/presentation"))
                    .body(answer)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                local[2].push(t.elapsed().as_micros() as u64);
                let t = Instant::now();
                let result: serde_json::Value = client
                    .get(format!("{base}/session/{requestor}/result"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                local[3].push(t.elapsed().as_micros() as u64);
                assert_eq!(result["proofStatus"], "VALID");
                done.fetch_add(1, Ordering::Relaxed);
            }
            let mut all = timings.lock().unwrap();
            for (a, l) in all.iter_mut().zip(local) {
                a.extend(l);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sessions = done.load(Ordering::Relaxed);
    println!(
        "{sessions} sessions in {elapsed:.1} s: {:.0} sessions/s (concurrency {concurrency}, store {})",
        sessions as f64 / elapsed,
        if std::env::var("KENMERK_LOAD_REDIS").is_ok() { "redis" } else { "memory" }
    );
    let mut all = std::mem::take(&mut *timings.lock().unwrap());
    for (name, t) in [
        "create",
        "fetch request",
        "post presentation",
        "fetch result",
    ]
    .iter()
    .zip(all.iter_mut())
    {
        t.sort_unstable();
        println!(
            "{name:>18}: p50 {:.2} ms, p99 {:.2} ms",
            percentile(t, 0.5),
            percentile(t, 0.99)
        );
    }
    if let (Some(a), Some(b)) = (rss_before, rss_kib()) {
        println!("resident memory: {a} KiB before, {b} KiB after");
    }
    daemon.shutdown().await.unwrap();
}

/// Create sessions as fast as `concurrency` workers can for `seconds`.
async fn flood(
    daemon: &verifier::VerifierHandle,
    client: &reqwest::Client,
    base: &str,
    seconds: u64,
    concurrency: usize,
    rss_before: Option<u64>,
) {
    // created, 429, 503, other
    let counts = Arc::new([
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
        AtomicU64::new(0),
    ]);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, base, stop, counts) = (
            client.clone(),
            base.to_owned(),
            stop.clone(),
            counts.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(format!("{base}/session"))
                    .header("content-type", "application/json")
                    .body(REQUEST)
                    .send()
                    .await
                    .unwrap();
                let i = match r.status().as_u16() {
                    200 => 0,
                    429 => 1,
                    503 => 2,
                    _ => 3,
                };
                counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut last = 0;
    for second in 1..=seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let held = daemon.sessions().store().held().await.unwrap_or(0);
        let rss = rss_kib().unwrap_or(0);
        println!(
            "{second:>4} s: {held} sessions held (+{}), resident {rss} KiB",
            held.saturating_sub(last)
        );
        last = held;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let [created, too_many, full, other] = counts.as_ref();
    println!(
        "flood {elapsed:.1} s, concurrency {concurrency}: {} created, {} refused 429, {} refused 503, {} other",
        created.load(Ordering::Relaxed),
        too_many.load(Ordering::Relaxed),
        full.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed)
    );
    if let (Some(a), Some(b)) = (rss_before, rss_kib()) {
        println!(
            "resident memory: {a} KiB before, {b} KiB after; {} sessions held",
            daemon.sessions().store().held().await.unwrap_or(0)
        );
    }
}
