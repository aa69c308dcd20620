//! Bounded load driver for a running `kenmerk-issuer` (see docs/performance.md).
//!
//! ```text
//! cargo run -p issuer --example issuer_load -- --url http://127.0.0.1:8700 \
//!     --token-file kenmerk-issuer-data/requestor-token --sessions 2000 --concurrency 32 --pid PID
//! ```
//!
//! or let it start the binary as a child process (`--spawn
//! target/debug/kenmerk-issuer [--database-url URL]`).
//!
//! Each session runs the four requests of an issuance (create, offer,
//! holder commitment, challenges). To measure the issuer rather than the
//! wallet, most sessions send random challenge scalars: the issuer cannot
//! tell them from blinded ones (that is the point of blind issuance) and
//! does exactly the same work. Every `--verify-every`-th session runs the
//! real wallet side and checks every token, so the run also proves the
//! answers are correct.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use test_kit::load::percentile_ms as percentile;
use test_kit::now;
use wallet_core::holder::HolderSecret;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::issuance::IssuanceChallenges;
use wallet_core::scheme::{SchemePublicKey, SignedScheme, VerifiedScheme};
use wallet_core::wire::{
    ChallengesMessage, HolderCommitment, IssuanceOffer, ResponsesMessage, SignerCommitmentsMessage,
    WireMessage,
};

const CBOR: &str = "application/cbor";

struct Args {
    url: String,
    token: String,
    sessions: usize,
    concurrency: usize,
    verify_every: usize,
    pid: Option<u32>,
    /// `--spawn BIN`: the issuer binary to start as a child process.
    spawn: Option<String>,
    /// `--database-url URL` for the spawned issuer.
    database_url: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:8700".to_owned(),
        token: String::new(),
        sessions: 1000,
        concurrency: 32,
        verify_every: 50,
        pid: None,
        spawn: None,
        database_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--url" => a.url = value,
            "--token" => a.token = value,
            "--token-file" => a.token = std::fs::read_to_string(value).unwrap().trim().to_owned(),
            "--sessions" => a.sessions = value.parse().unwrap(),
            "--concurrency" => a.concurrency = value.parse().unwrap(),
            "--verify-every" => a.verify_every = value.parse().unwrap(),
            "--pid" => a.pid = Some(value.parse().unwrap()),
            "--spawn" => a.spawn = Some(value),
            "--database-url" => a.database_url = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// Resident memory of the issuer process (not of this driver).
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    test_kit::load::rss_kib(Some(pid?))
}

/// Latencies of the four requests of one session, microseconds.
type Timings = [u64; 4];

async fn session(client: &reqwest::Client, a: &Args, scheme: &VerifiedScheme, i: usize) -> Timings {
    let mut t = [0u64; 4];
    let body = json!({
        "@context": "https://irma.app/ld/request/issuance/v2",
        "credentials": [{"credential": "demo.utrecht.address", "attributes": {
            "street": "Domplein", "house_number": (i % 500 + 1).to_string(),
            "postal_code": "3512JE", "city": "Utrecht", "municipality": "Utrecht"}}]
    });
    let start = Instant::now();
    let created: Value = client
        .post(format!("{}/session", a.url))
        .bearer_auth(&a.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    t[0] = start.elapsed().as_micros() as u64;
    let url = created["sessionPtr"]["u"].as_str().unwrap().to_owned();

    let start = Instant::now();
    let offer = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    t[1] = start.elapsed().as_micros() as u64;
    let offer = IssuanceOffer::from_bytes(&offer).unwrap();

    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
    let holder = HolderSecret::from_seed(&seed);
    let c = &offer.credentials[0];
    let key = c.check(&offer.issuer, scheme, now()).unwrap();
    let proof = holder.prove_possession(&mut OsRng, &offer.nonce.0, &key.key_id());
    let commitment = HolderCommitment::new(holder.public(), vec![proof]).to_bytes();
    let start = Instant::now();
    let r = client
        .post(format!("{url}/commitment"))
        .header("content-type", CBOR)
        .body(commitment)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let signer = r.bytes().await.unwrap();
    t[2] = start.elapsed().as_micros() as u64;
    let signer = SignerCommitmentsMessage::from_bytes(&signer).unwrap();

    let verify = a.verify_every > 0 && i % a.verify_every == 0;
    let (pending, challenges) = if verify {
        let (p, ch) = PendingIssuance::start(
            &mut OsRng,
            key,
            &holder,
            c.attributes.clone(),
            c.token_info.clone(),
            now(),
            &signer.commitments[0],
        )
        .unwrap();
        (Some(p), ChallengesMessage::new(vec![ch]))
    } else {
        // Random scalars: indistinguishable from blinded challenges.
        let sc: Vec<[u8; 32]> = (0..signer.commitments[0].sa.len())
            .map(|_| {
                let mut b = [0u8; 32];
                OsRng.fill_bytes(&mut b);
                // Below 2^252 < q: always a canonical scalar.
                b[31] &= 0x0f;
                b
            })
            .collect();
        let ch: IssuanceChallenges =
            wallet_core::cbor::from_cbor(&wallet_core::cbor::to_cbor(&challenges_shape(&sc)))
                .unwrap();
        (None, ChallengesMessage::new(vec![ch]))
    };
    let start = Instant::now();
    let r = client
        .post(format!("{url}/challenges"))
        .header("content-type", CBOR)
        .body(challenges.to_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let responses = r.bytes().await.unwrap();
    t[3] = start.elapsed().as_micros() as u64;
    if let Some(p) = pending {
        let responses = ResponsesMessage::from_bytes(&responses).unwrap();
        let tokens = p.finish(&responses.responses[0]).unwrap();
        assert_eq!(tokens.len(), usize::from(offer.batch));
    }
    t
}

/// The CBOR shape of `IssuanceChallenges` (`{"v": 1, "sc": [bytes]}`), built
/// from public serde so the driver needs no crate-private constructor.
fn challenges_shape(sc: &[[u8; 32]]) -> ChallengesShape {
    ChallengesShape {
        v: 1,
        sc: sc.iter().map(|s| Bytes32(*s)).collect(),
    }
}

#[derive(serde::Serialize)]
struct ChallengesShape {
    v: u16,
    sc: Vec<Bytes32>,
}

struct Bytes32([u8; 32]);

impl serde::Serialize for Bytes32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

#[tokio::main]
async fn main() {
    let mut a = args();
    // With --spawn the driver starts the issuer itself: port 0, a fresh
    // data directory, its local requestor token, its pid for the RSS.
    let _data = tempfile::tempdir().unwrap();
    let _daemon = a.spawn.clone().map(|bin| {
        let mut command = std::process::Command::new(bin);
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log-json",
                "--data-dir",
            ])
            .arg(_data.path());
        if let Some(url) = &a.database_url {
            command.args(["--database-url", url]);
        }
        let daemon = test_kit::process::ChildDaemon::spawn(
            command,
            "kenmerk-issuer listening",
            Duration::from_secs(60),
        );
        a.url = daemon.base_url();
        a.pid = Some(daemon.id());
        a.token = std::fs::read_to_string(_data.path().join("requestor-token"))
            .unwrap()
            .trim()
            .to_owned();
        daemon
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let key: Value = client
        .get(format!("{}/scheme/key", a.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pin: SchemePublicKey = key["key"].as_str().unwrap().parse().unwrap();
    let signed = client
        .get(format!("{}/scheme", a.url))
        .header("accept", CBOR)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let scheme = SignedScheme::from_cbor(&signed)
        .unwrap()
        .verify(&pin, None, now())
        .unwrap();

    // Warm-up (connections, caches), not measured.
    for i in 0..a.concurrency.min(a.sessions) {
        session(&client, &a, &scheme, i + 1).await;
    }
    let rss_before = rss_kib(a.pid);
    let start = Instant::now();
    let timings: Vec<Timings> = futures::stream::iter(0..a.sessions)
        .map(|i| session(&client, &a, &scheme, i))
        .buffer_unordered(a.concurrency)
        .collect()
        .await;
    let elapsed = start.elapsed();
    let rss_after = rss_kib(a.pid);

    println!(
        "{} issuances (batch 20 unless configured otherwise) in {:.2} s: {:.0} issuances/s, concurrency {}",
        timings.len(),
        elapsed.as_secs_f64(),
        timings.len() as f64 / elapsed.as_secs_f64(),
        a.concurrency
    );
    println!("| request | p50 ms | p99 ms |");
    println!("|---|---|---|");
    for (k, name) in [
        "POST /session",
        "GET offer",
        "POST commitment",
        "POST challenges",
    ]
    .iter()
    .enumerate()
    {
        let mut v: Vec<u64> = timings.iter().map(|t| t[k]).collect();
        v.sort_unstable();
        println!(
            "| {name} | {:.2} | {:.2} |",
            percentile(&v, 0.5),
            percentile(&v, 0.99)
        );
    }
    if let (Some(b), Some(a)) = (rss_before, rss_after) {
        println!("issuer RSS: {b} KiB before, {a} KiB after");
    }
}
