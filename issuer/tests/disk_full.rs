//! Disk-full test: the SQLite store on a filesystem that runs out of space.
//!
//! Two variants of one scenario:
//!
//! - `sqlite_tmpfs_full_disk` (HTTP, the daemon in-process): the database
//!   lives on a tmpfs of a few MiB that a filler file nearly fills. Needs
//!   root (mount); elsewhere it says that it skipped.
//! - `sqlite_page_limit_full` (store level, runs everywhere): the same
//!   `SQLITE_FULL` from `PRAGMA max_page_count`, the free pages taken by a
//!   filler table in the same file.
//!
//! Both drive issuance until writes fail, and then check what the issuer
//! promised against what is on disk: every 2xx (or `Ok`) is committed,
//! no session's nonces are answered twice (also after a restart on the same
//! file), readiness says "not ready" while writes fail, and service resumes
//! without a restart once space is back.

mod answers;
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use answers::{answer_of, answered, commit, nonces_of, state_name};
use common::*;
use issuer::session::State;
use issuer::store::{
    FinishIssuance, FinishOutcome, InsertSession, NewSession, SessionCredential, SessionKind,
    SqliteStore, Store,
};
use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use wallet_core::wire::{IssuanceOffer, SignerCommitmentsMessage, WireMessage};

/// Size of the tmpfs: a few MiB, as the issue describes.
const TMPFS_SIZE: &str = "4m";
/// Free space left after the filler: room for a few sessions, so the disk
/// fills in the middle of the run and not before it.
const HEADROOM: u64 = 192 * 1024;
/// Sessions committed before the disk fills, answered while it fills.
const PREPARED: usize = 6;
/// Upper bound on sessions driven, whatever happens.
const MAX_SESSIONS: usize = 80;
/// Failed steps to see before the disk counts as full for good.
const FAILURES_WANTED: usize = 8;

/// A tmpfs mounted for the test; unmounted on drop (also on panic).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE}"), "tmpfs"])
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

    fn path(&self) -> &Path {
        self.dir.path()
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

/// Fills the filesystem of `path`'s directory with `path`, then gives back
/// `headroom` bytes.
fn fill(path: &Path, headroom: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0xa5u8; 16 * 1024];
    let mut written = 0u64;
    // Bounded: the tmpfs is a few MiB.
    for _ in 0..100_000 {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    f.set_len(written.saturating_sub(headroom)).unwrap();
    f.sync_all().unwrap();
}

/// An issuer whose SQLite file is `db`, with data (keys, scheme) in `dir`.
async fn start_issuer(dir: &Path, db: &Path) -> Harness {
    let mut config = base_config(dir);
    let database_url = format!("sqlite://{}", db.display());
    config.database_url = Some(database_url.clone());
    let issuer = issuer::start(config).await.unwrap();
    // The harness's own directory is unused: `dir` outlives it.
    Harness::around(issuer, database_url)
}

/// Challenges sent and responses received.
type Answer = (Vec<u8>, Vec<u8>);

/// What the wallet and requestor were told, per session id.
#[derive(Default)]
struct Told {
    /// 201 from `POST /session`: session id → requestor token.
    created: BTreeMap<String, String>,
    /// 200 on the commitment: session id → (commitment message, signer
    /// commitments).
    committed: BTreeMap<String, (Vec<u8>, Vec<u8>)>,
    /// 200 on the challenges: session id → every distinct (challenges,
    /// responses) pair answered. Rule 3: at most one per session.
    answered: BTreeMap<String, Vec<Answer>>,
    /// Sessions with signer commitments, for later challenges.
    open: BTreeMap<String, (String, IssuanceOffer, SignerCommitmentsMessage)>,
    failures: usize,
    /// Failed steps by name, to show where the disk ran out.
    failed_steps: BTreeMap<&'static str, usize>,
}

impl Told {
    fn answer(&mut self, id: &str, challenges: Vec<u8>, responses: Vec<u8>) {
        let all = self.answered.entry(id.to_owned()).or_default();
        if !all.iter().any(|(c, r)| *c == challenges && *r == responses) {
            all.push((challenges, responses));
        }
        assert_eq!(
            all.len(),
            1,
            "session {id}: two different answers on one set of nonces (rule 3)"
        );
    }
}

fn session_id(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

async fn post_cbor(h: &Harness, url: &str, body: &[u8]) -> reqwest::Response {
    h.client
        .post(url)
        .header(CONTENT_TYPE, CBOR)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// A failed step must be a clean 503 problem+json, never a half answer.
async fn failed_step(told: &mut Told, step: &'static str, r: reqwest::Response) {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{step}: only a clean 503 may fail a step: {text}"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "urn:kenmerk:problem:unavailable", "{v}");
    told.failures += 1;
    *told.failed_steps.entry(step).or_default() += 1;
}

/// Sends fresh challenges for a committed session and records a 200; any
/// other answer is returned unread.
async fn challenge_response(
    h: &Harness,
    wallet: &Wallet,
    told: &mut Told,
    id: &str,
) -> Option<reqwest::Response> {
    let (_, offer, signer) = told.open[id].clone_parts();
    // From the current harness: a restarted issuer has another port.
    let url = h.url(&format!("/wallet/session/{id}"));
    let (_pending, challenges) = wallet.challenges(&offer, &signer);
    let challenges = challenges.to_bytes();
    let r = post_cbor(h, &format!("{url}/challenges"), &challenges).await;
    if r.status() != StatusCode::OK {
        return Some(r);
    }
    let responses = r.bytes().await.unwrap().to_vec();
    told.answer(id, challenges, responses);
    None
}

async fn challenge(h: &Harness, wallet: &Wallet, told: &mut Told, id: &str) -> StatusCode {
    match challenge_response(h, wallet, told, id).await {
        None => StatusCode::OK,
        Some(r) => r.status(),
    }
}

trait CloneParts {
    fn clone_parts(&self) -> (String, IssuanceOffer, SignerCommitmentsMessage);
}

impl CloneParts for (String, IssuanceOffer, SignerCommitmentsMessage) {
    fn clone_parts(&self) -> (String, IssuanceOffer, SignerCommitmentsMessage) {
        (
            self.0.clone(),
            self.1.clone(),
            SignerCommitmentsMessage::from_bytes(&self.2.to_bytes()).unwrap(),
        )
    }
}

/// One issuance, step by step (without the challenges unless `answer`);
/// stops at the first failed step.
async fn drive_one(h: &Harness, wallet: &Wallet, told: &mut Told, i: usize, answer: bool) {
    let r = h
        .client
        .post(h.url("/session"))
        .bearer_auth(TOKEN)
        .json(&address_request(&format!("Vol {i}"), None))
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::CREATED {
        return failed_step(told, "create", r).await;
    }
    let v: Value = r.json().await.unwrap();
    let url = v["sessionPtr"]["u"].as_str().unwrap().to_owned();
    let id = session_id(&url);
    told.created
        .insert(id.clone(), v["token"].as_str().unwrap().to_owned());

    let r = h.client.get(&url).send().await.unwrap();
    if r.status() != StatusCode::OK {
        return failed_step(told, "offer", r).await;
    }
    let offer = IssuanceOffer::from_bytes(&r.bytes().await.unwrap()).unwrap();
    let commitment = wallet.commitment(&offer).to_bytes();
    let r = post_cbor(h, &format!("{url}/commitment"), &commitment).await;
    if r.status() != StatusCode::OK {
        return failed_step(told, "commitment", r).await;
    }
    let signer_bytes = r.bytes().await.unwrap().to_vec();
    told.committed
        .insert(id.clone(), (commitment.clone(), signer_bytes.clone()));
    let signer = SignerCommitmentsMessage::from_bytes(&signer_bytes).unwrap();
    told.open.insert(id.clone(), (url, offer, signer));
    if answer {
        answer_step(h, wallet, told, &id).await;
    }
}

async fn answer_step(h: &Harness, wallet: &Wallet, told: &mut Told, id: &str) {
    if let Some(r) = challenge_response(h, wallet, told, id).await {
        failed_step(told, "challenges", r).await;
    }
}

async fn readyz(h: &Harness) -> StatusCode {
    h.client
        .get(h.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Everything the clients were told is in the file, read by a connection
/// of its own (which sees committed data only).
async fn check_on_disk(db: &Path, told: &Told) {
    let store = SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for (id, token) in &told.created {
        let s = store
            .session(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("session {id} answered 201 but is not on disk"));
        assert_eq!(&s.requestor_token, token);
    }
    for (id, (message, signer)) in &told.committed {
        let s = store.session(id).await.unwrap().unwrap();
        let commitment = match &s.state {
            State::Committed(c) => c.commitment(),
            State::Answered(a) => a.commitment(),
            _ => panic!("session {id}: commitments sent but not on disk"),
        };
        assert_eq!(
            commitment.replay(&ring_sha256(message)),
            Some(signer.as_slice()),
            "session {id}: commitments sent but not on disk"
        );
    }
    for (id, answers) in &told.answered {
        let s = store.session(id).await.unwrap().unwrap();
        // Done, and so without nonces (the row conversion refuses an
        // answered row that still holds them).
        let State::Answered(a) = &s.state else {
            panic!("session {id} answered, not done: {s:?}")
        };
        // The answer on disk is the one the wallet got: replaying the
        // challenges it sent gives the very responses it received.
        let (challenges, responses) = &answers[0];
        let message = wallet_core::wire::ChallengesMessage::from_bytes(challenges).unwrap();
        assert_eq!(
            a.replay(&message.challenges, &ring_sha256(challenges))
                .as_ref(),
            Some(responses),
            "session {id}"
        );
        let record = &s.credentials[0].record_id;
        assert!(
            store.credential(record).await.unwrap().is_some(),
            "record of answered session {id} missing"
        );
    }
    store.pool().close().await;
}

fn ring_sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

/// Every answered session refuses other challenges and repeats its answer
/// for the same ones; every committed session is answered at most once.
async fn check_rule_three(h: &Harness, wallet: &Wallet, told: &mut Told) {
    let ids: Vec<String> = told.open.keys().cloned().collect();
    for id in &ids {
        // Different challenges on the same nonces: never a second answer
        // (`Told::answer` panics on one).
        let status = challenge(h, wallet, told, id).await;
        if told.answered.contains_key(id) {
            assert_ne!(status, StatusCode::SERVICE_UNAVAILABLE, "session {id}");
        }
        if let Some(answers) = told.answered.get(id) {
            let (challenges, responses) = answers[0].clone();
            let url = h.url(&format!("/wallet/session/{id}"));
            let r = post_cbor(h, &format!("{url}/challenges"), &challenges).await;
            assert_eq!(r.status(), StatusCode::OK, "session {id}: retry refused");
            assert_eq!(r.bytes().await.unwrap().to_vec(), responses);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tmpfs_full_disk() {
    let Some(fs) = Tmpfs::mount() else { return };
    let data = tempfile::tempdir().unwrap();
    let db = fs.path().join("issuer.db");
    let h = start_issuer(data.path(), &db).await;
    let wallet = Wallet::new(7, h.scheme().await);
    // One issuance on an empty disk: the issuer works.
    let (url, _, _) = h.create_ok(&address_request("Leeg", None)).await;
    wallet.issue(&h, &url).await;
    assert_eq!(readyz(&h).await, StatusCode::OK);

    // Sessions waiting for their challenges when the disk fills, so the
    // answer step (nonces deleted, record written) meets the full disk too.
    let mut told = Told::default();
    for i in 0..PREPARED {
        drive_one(&h, &wallet, &mut told, 1000 + i, false).await;
    }
    assert_eq!(told.open.len(), PREPARED);
    let mut waiting: Vec<String> = told.open.keys().cloned().collect();

    let filler = fs.path().join("filler");
    fill(&filler, HEADROOM);
    for i in 0..MAX_SESSIONS {
        if let Some(id) = waiting.pop() {
            answer_step(&h, &wallet, &mut told, &id).await;
        }
        drive_one(&h, &wallet, &mut told, i, true).await;
        if told.failures >= FAILURES_WANTED {
            break;
        }
    }
    assert!(
        told.failures >= FAILURES_WANTED,
        "the disk never filled ({} failures)",
        told.failures
    );
    assert!(
        !told.created.is_empty(),
        "no session before the disk filled"
    );
    println!(
        "disk full: {} sessions created, {} committed, {} answered; failed steps {:?}",
        told.created.len(),
        told.committed.len(),
        told.answered.len(),
        told.failed_steps
    );

    // Full: not ready, and what was confirmed is on disk.
    assert_eq!(
        readyz(&h).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "/readyz must report a store that cannot write"
    );
    check_on_disk(&db, &told).await;
    check_rule_three(&h, &wallet, &mut told).await;

    // Space returns: service resumes without a restart.
    std::fs::remove_file(&filler).unwrap();
    let mut ready = false;
    // Bounded: a pool that recovers needs one fresh connection.
    for _ in 0..50 {
        if readyz(&h).await == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz stays not-ready after space came back");
    let (url, _, _) = h.create_ok(&address_request("Weer", None)).await;
    wallet.issue(&h, &url).await;
    check_rule_three(&h, &wallet, &mut told).await;
    check_on_disk(&db, &told).await;

    // Restart on the same file: still one answer per session.
    h.stop().await;
    check_on_disk(&db, &told).await;
    let h = start_issuer(data.path(), &db).await;
    check_rule_three(&h, &wallet, &mut told).await;
    check_on_disk(&db, &told).await;
    h.stop().await;
    drop(fs);
}

// ---------------------------------------------------------------------
// Store level: `PRAGMA max_page_count` fails writes with SQLITE_FULL the
// same way, on any machine.
// ---------------------------------------------------------------------

const NOW: i64 = 1_790_000_000;

fn new_session(id: &str) -> NewSession {
    NewSession {
        id: id.to_owned(),
        requestor_token: format!("rt-{id}"),
        requestor: "backoffice".to_owned(),
        kind: SessionKind::Issue,
        credentials: vec![SessionCredential {
            record_id: format!("rec-{id}"),
            credential_type: "demo.utrecht.address".to_owned(),
            key_counter: 1,
            attributes: format!(r#"{{"street":"{}"}}"#, "x".repeat(600)),
        }],
        subject: None,
        // About a page per session: the limit is reached within a few.
        offer: vec![7; 3000],
        holder_public_key: None,
        created_at: NOW,
        expires_at: NOW + 3600,
    }
}

fn finish(id: &str, n: u8) -> FinishIssuance {
    FinishIssuance {
        session_id: id.to_owned(),
        // 30 tokens: about 2 KB of challenges and responses, as a real
        // batch writes.
        answered: answered(n, 30),
        tokens: 3,
        now: NOW + 10,
    }
}

/// What the store confirmed (`Ok`).
#[derive(Default)]
struct Confirmed {
    inserted: Vec<String>,
    committed: Vec<String>,
    finished: Vec<String>,
    failures: usize,
}

async fn drive_store(store: &SqliteStore, c: &mut Confirmed, from: usize, to: usize) {
    for i in from..to {
        let id = format!("s{i}");
        match store.insert_session(&new_session(&id)).await {
            Ok(InsertSession::Inserted) => c.inserted.push(id.clone()),
            Ok(other) => panic!("{other:?}"),
            Err(_) => {
                c.failures += 1;
                continue;
            }
        }
        match store
            .commit_session(
                &id,
                &commit(b"holder", b"cd", &[9; 1500], &[5; 1500]),
                NOW + 1,
            )
            .await
        {
            Ok(true) => c.committed.push(id.clone()),
            Ok(false) => panic!("commit refused"),
            Err(_) => {
                c.failures += 1;
                continue;
            }
        }
        match store.finish_session(&finish(&id, 1)).await {
            Ok(FinishOutcome::Finished { .. }) => c.finished.push(id.clone()),
            Ok(other) => panic!("{other:?}"),
            Err(_) => c.failures += 1,
        }
    }
}

async fn check_store(db: &Path, c: &Confirmed) {
    let store = SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    for id in &c.inserted {
        assert!(
            store.session(id).await.unwrap().is_some(),
            "{id}: insert confirmed, not on disk"
        );
    }
    for id in &c.committed {
        let s = store.session(id).await.unwrap().unwrap();
        assert_ne!(state_name(&s), "initialized", "{id}: commit not on disk");
    }
    for id in &c.finished {
        let s = store.session(id).await.unwrap().unwrap();
        // Done (so without nonces), with this very answer.
        assert_eq!(state_name(&s), "done", "{id}: answer not on disk");
        assert_eq!(answer_of(&s), Some(&answered(1, 30)));
        assert!(nonces_of(&s).is_none());
    }
    // Rule 3 after a "restart": another answer for a finished session is
    // refused; one for a committed, unanswered session is the first.
    for id in &c.committed {
        let out = store.finish_session(&finish(id, 2)).await.unwrap();
        if c.finished.contains(id) {
            assert_eq!(out, FinishOutcome::NotCommitted, "{id}: answered twice");
        }
    }
    store.pool().close().await;
}

fn limited_options(db: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
        .unwrap()
        .pragma("max_page_count", "150")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_page_limit_full() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("issuer.db");
    // Schema first, without a limit.
    SqliteStore::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
        .pool()
        .close()
        .await;
    let store = SqliteStore::connect_with(limited_options(&db))
        .await
        .unwrap();
    store.ping().await.unwrap();
    // A filler table takes what is left but a few pages.
    sqlx::query("CREATE TABLE filler (b BLOB)")
        .execute(store.pool())
        .await
        .unwrap();
    for _ in 0..1000 {
        if sqlx::query("INSERT INTO filler (b) VALUES (zeroblob(3500))")
            .execute(store.pool())
            .await
            .is_err()
        {
            break;
        }
    }
    sqlx::query("DELETE FROM filler WHERE rowid IN (SELECT rowid FROM filler LIMIT 6)")
        .execute(store.pool())
        .await
        .unwrap();

    let mut c = Confirmed::default();
    drive_store(&store, &mut c, 0, 40).await;
    assert!(c.failures >= 5, "the page limit was never reached");
    assert!(!c.inserted.is_empty(), "nothing fit before the limit");
    check_store(&db, &c).await;
    assert!(
        store.ping().await.is_err(),
        "readiness must report a store that cannot write"
    );

    // Space returns (the filler goes); the same store resumes.
    sqlx::query("DELETE FROM filler")
        .execute(store.pool())
        .await
        .expect("the store recovers without a restart");
    store.ping().await.expect("ready once space returns");
    let before = c.finished.len();
    drive_store(&store, &mut c, 100, 104).await;
    assert_eq!(c.finished.len(), before + 4, "service resumes");
    store.pool().close().await;
    check_store(&db, &c).await;
}
