//! Fault test: the issuer's PostgreSQL connections are killed
//! (`pg_terminate_backend`) while issuance sessions are in flight.
//!
//! The issuer's pool connects with a unique `application_name`, so the test
//! kills exactly the issuer's backends and never another test's. Three
//! phases run against one issuer, without a restart:
//!
//! 1. Deterministic in-flight kill: a side transaction locks the sessions
//!    table, one request of every kind (create, offer, commitment,
//!    challenges) blocks on it inside the issuer, the issuer's backends are
//!    killed, and every blocked request must answer 503 problem+json. The
//!    same requests retried then succeed.
//! 2. Kill storm: sessions run concurrently while the issuer's backends are
//!    killed every 50 ms; the wallet and requestor retry a 5xx
//!    (which must be a clean 503 problem+json) with the same bytes.
//! 3. Recovery: after the storm, new sessions complete at the first try.
//!
//! Afterwards the database must hold exactly what the clients were told:
//! every finished session has its credential records, stores the one answer
//! the wallet received (rule 3: never a second answer), holds no nonces, and
//! the audit log has exactly one `issued` entry per record.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use reqwest::header::CONTENT_TYPE;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use wallet_core::token::CredentialToken;
use wallet_core::wire::{ChallengesMessage, IssuanceOffer, SignerCommitmentsMessage, WireMessage};

/// Longest a single request may keep failing before the issuer counts as
/// not recovering.
const RETRY_WINDOW: Duration = Duration::from_secs(15);
/// Upper bound on the kill storm, whatever the sessions do.
const STORM_MAX: Duration = Duration::from_secs(5);
const STORM_SESSIONS: usize = 24;
/// Pause between two kills in the storm: short enough that most sessions
/// meet a dead connection, long enough that they also make progress.
const KILL_EVERY: Duration = Duration::from_millis(50);

/// How often the issuer answered 503 while its database was being killed.
#[derive(Default)]
struct Stats {
    unavailable: AtomicU64,
}

/// Kills the issuer's backends: only those with its `application_name`,
/// in this database, never the killing connection itself.
async fn kill_issuer_backends(side: &PgPool, app: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT COALESCE(SUM(CASE WHEN pg_terminate_backend(pid) THEN 1 ELSE 0 END), 0)::BIGINT \
         FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND application_name = $1",
    )
    .bind(app)
    .fetch_one(side)
    .await
    .unwrap()
}

/// Asserts the clean failure the issuer owes a client while its database
/// is gone: 503 with an `unavailable` problem document.
async fn assert_unavailable(r: reqwest::Response) {
    let v = problem(r, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(v["type"], "urn:kenmerk:problem:unavailable", "{v}");
}

/// Sends the request `build` makes until it gets something other than a
/// server error; each server error must be a clean 503 problem+json.
async fn retrying(stats: &Stats, build: impl Fn() -> RequestBuilder) -> reqwest::Response {
    let start = Instant::now();
    loop {
        let r = build().send().await.expect("the issuer keeps answering");
        if !r.status().is_server_error() {
            return r;
        }
        assert_unavailable(r).await;
        stats.unavailable.fetch_add(1, Ordering::Relaxed);
        assert!(
            start.elapsed() < RETRY_WINDOW,
            "the issuer did not recover within {RETRY_WINDOW:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the clients were told about one finished session.
struct Finished {
    session_id: String,
    records: Vec<String>,
    challenges: Vec<u8>,
    responses: Vec<u8>,
}

/// A session as the requestor created it.
struct Created {
    url: String,
    token: String,
    records: Vec<String>,
}

fn request_for(i: usize, run: &str) -> Value {
    // Unique subjects: rule 9 (one holder key per subject) stays out of the
    // way, so every record must end up active.
    let subject = format!("f{run}{i}");
    if i % 4 == 0 {
        // Two credentials in one session: both records or neither.
        json!({
            "@context": "https://irma.app/ld/request/issuance/v2",
            "subject": subject,
            "credentials": [
                {"credential": "demo.utrecht.personal", "attributes": {
                    "given_names": "Anna", "family_name": "de Vries",
                    "date_of_birth": "1990-04-01", "bsn": "999990019"}},
                {"credential": "demo.utrecht.address", "attributes": {
                    "street": "Domplein", "house_number": "29", "postal_code": "3512JE",
                    "city": "Utrecht", "municipality": "Utrecht"}}
            ]
        })
    } else {
        address_request(&format!("Straat {i}"), Some(&subject))
    }
}

fn create_request(h: &Harness, body: &Value) -> RequestBuilder {
    h.client
        .post(h.url("/session"))
        .bearer_auth(TOKEN)
        .json(body)
}

fn cbor_request(h: &Harness, url: &str, body: &[u8]) -> RequestBuilder {
    h.client
        .post(url)
        .header(CONTENT_TYPE, CBOR)
        .body(body.to_vec())
}

async fn created(r: reqwest::Response) -> Created {
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    Created {
        url: v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        records: v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect(),
    }
}

async fn create_retrying(h: &Harness, stats: &Stats, body: &Value) -> Created {
    created(retrying(stats, || create_request(h, body)).await).await
}

async fn offer_retrying(h: &Harness, stats: &Stats, url: &str) -> IssuanceOffer {
    let r = retrying(stats, || h.client.get(url)).await;
    assert_eq!(r.status(), StatusCode::OK);
    IssuanceOffer::from_bytes(&r.bytes().await.unwrap()).unwrap()
}

/// Checks every token of a finished issuance as a verifier would.
fn check_tokens(wallet: &Wallet, offer: &IssuanceOffer, tokens: &[Vec<CredentialToken>]) {
    assert_eq!(tokens.len(), offer.credentials.len());
    for (batch, offered) in tokens.iter().zip(&offer.credentials) {
        assert_eq!(batch.len(), 2, "configured batch size");
        let key = wallet
            .scheme
            .issuer_key_by_counter(
                &offered.token_info.credential_type,
                offered.token_info.key_counter,
            )
            .unwrap();
        for t in batch {
            t.token().check(key).unwrap();
            assert_eq!(t.attributes(), offered.attributes.as_slice());
        }
    }
}

/// The wallet's commitment, challenges and unblinding for a created
/// session, every step retried on 503 with the very same bytes.
async fn finish_retrying(
    h: &Harness,
    stats: &Stats,
    wallet: &Wallet,
    session: Created,
) -> Finished {
    let offer = offer_retrying(h, stats, &session.url).await;
    let commitment = wallet.commitment(&offer).to_bytes();
    let commit_url = format!("{}/commitment", session.url);
    let r = retrying(stats, || cbor_request(h, &commit_url, &commitment)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let signer = SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
    let (pending, challenges) = wallet.challenges(&offer, &signer);
    let challenges = challenges.to_bytes();
    let answer_url = format!("{}/challenges", session.url);
    let r = retrying(stats, || cbor_request(h, &answer_url, &challenges)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let responses = r.bytes().await.unwrap().to_vec();
    check_tokens(wallet, &offer, &Wallet::finish(pending, &responses));
    let r = retrying(stats, || {
        h.client
            .get(h.url(&format!("/session/{}/status", session.token)))
            .bearer_auth(TOKEN)
    })
    .await;
    let status: Value = r.json().await.unwrap();
    assert_eq!(status["status"], "DONE");
    Finished {
        session_id: session_id(&session.url),
        records: session.records,
        challenges,
        responses,
    }
}

fn session_id(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

/// Waits (bounded) until `n` of the issuer's request backends wait for a
/// lock. The session sweeper's timeout update does not count: it is not
/// one of the test's requests.
async fn wait_for_lock_waiters(side: &PgPool, app: &str, n: i64) {
    let start = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = $1 AND wait_event_type = 'Lock' \
             AND query NOT LIKE '%SET state = ''timeout''%'",
        )
        .bind(app)
        .fetch_one(side)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "only {waiting} of {n} requests reached the database"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Phase 1: one request of every kind blocked inside the database when the
/// connections die. Returns the sessions, finished after the retry.
async fn in_flight_kill(
    h: &Harness,
    side: &PgPool,
    app: &str,
    schema: &str,
    run: &str,
    wallets: &[Wallet],
) -> Vec<Finished> {
    let stats = Stats::default();
    // Sessions at three different steps, plus three not yet created.
    let mut at_offer = Vec::new();
    let mut at_commit = Vec::new();
    let mut at_answer = Vec::new();
    for (i, wallet) in wallets.iter().enumerate().take(9) {
        let body = request_for(i, run);
        let s = created(create_request(h, &body).send().await.unwrap()).await;
        match i % 3 {
            0 => at_offer.push(s),
            1 => {
                let offer = wallet_offer(h, &s.url).await;
                let bytes = wallet.commitment(&offer).to_bytes();
                at_commit.push((s, offer, bytes));
            }
            _ => {
                let offer = wallet_offer(h, &s.url).await;
                let r = cbor_request(
                    h,
                    &format!("{}/commitment", s.url),
                    &wallet.commitment(&offer).to_bytes(),
                )
                .send()
                .await
                .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                let signer =
                    SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
                let (pending, challenges) = wallet.challenges(&offer, &signer);
                at_answer.push((s, offer, pending, challenges.to_bytes()));
            }
        }
    }
    let new_bodies: Vec<Value> = (9..12).map(|i| request_for(i, run)).collect();

    let mut lock = side.begin().await.unwrap();
    sqlx::query(&format!(
        "LOCK TABLE {schema}.sessions IN ACCESS EXCLUSIVE MODE"
    ))
    .execute(&mut *lock)
    .await
    .unwrap();

    let mut blocked: Vec<tokio::task::JoinHandle<reqwest::Response>> = Vec::new();
    let mut spawn = |request: RequestBuilder| {
        blocked.push(tokio::spawn(async move { request.send().await.unwrap() }));
    };
    for body in &new_bodies {
        spawn(create_request(h, body));
    }
    for s in &at_offer {
        spawn(h.client.get(&s.url));
    }
    for (s, _, bytes) in &at_commit {
        spawn(cbor_request(h, &format!("{}/commitment", s.url), bytes));
    }
    for (s, _, _, bytes) in &at_answer {
        spawn(cbor_request(h, &format!("{}/challenges", s.url), bytes));
    }
    let n = i64::try_from(blocked.len()).unwrap();
    wait_for_lock_waiters(side, app, n).await;
    let killed = kill_issuer_backends(side, app).await;
    assert!(killed >= n, "killed {killed} backends, {n} were busy");
    lock.rollback().await.unwrap();
    for task in blocked {
        assert_unavailable(task.await.unwrap()).await;
    }

    // Nothing was written by the killed requests: no session answered,
    // no record created.
    for (s, _, _, _) in &at_answer {
        for record in &s.records {
            let (status, _) = h.admin_get(&format!("/admin/credentials/{record}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "no half-written record");
        }
    }

    // The very same requests again: the issuer recovered by itself.
    let mut finished = Vec::new();
    for (i, body) in new_bodies.iter().enumerate() {
        let s = create_retrying(h, &stats, body).await;
        finished.push(finish_retrying(h, &stats, &wallets[9 + i], s).await);
    }
    for (k, s) in at_offer.into_iter().enumerate() {
        finished.push(finish_retrying(h, &stats, &wallets[3 * k], s).await);
    }
    for (k, (s, offer, bytes)) in at_commit.into_iter().enumerate() {
        // The retried commitment is the same message: it is accepted as
        // the first one (its earlier attempt never reached the database).
        let wallet = &wallets[3 * k + 1];
        let url = format!("{}/commitment", s.url);
        let r = retrying(&stats, || cbor_request(h, &url, &bytes)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let signer = SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
        let (pending, challenges) = wallet.challenges(&offer, &signer);
        let challenges = challenges.to_bytes();
        let url = format!("{}/challenges", s.url);
        let r = retrying(&stats, || cbor_request(h, &url, &challenges)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let responses = r.bytes().await.unwrap().to_vec();
        check_tokens(wallet, &offer, &Wallet::finish(pending, &responses));
        finished.push(Finished {
            session_id: session_id(&s.url),
            records: s.records,
            challenges,
            responses,
        });
    }
    for (k, (s, offer, pending, bytes)) in at_answer.into_iter().enumerate() {
        let url = format!("{}/challenges", s.url);
        let r = retrying(&stats, || cbor_request(h, &url, &bytes)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let responses = r.bytes().await.unwrap().to_vec();
        check_tokens(
            &wallets[3 * k + 2],
            &offer,
            &Wallet::finish(pending, &responses),
        );
        finished.push(Finished {
            session_id: session_id(&s.url),
            records: s.records,
            challenges: bytes,
            responses,
        });
    }
    finished
}

/// `GET` of the offer; the session must still be open.
async fn wallet_offer(h: &Harness, url: &str) -> IssuanceOffer {
    let r = h.client.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    IssuanceOffer::from_bytes(&r.bytes().await.unwrap()).unwrap()
}

/// Phase 2: sessions run while the issuer's backends are killed again and
/// again. Returns the sessions, the number of 503s and of kills.
async fn kill_storm(
    h: &Harness,
    side: &PgPool,
    app: &str,
    run: &str,
    wallets: &[Wallet],
) -> (Vec<Finished>, u64, i64) {
    let stats = Stats::default();
    let stop = Arc::new(AtomicBool::new(false));
    let storm = {
        let (side, app, stop) = (side.clone(), app.to_owned(), stop.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            let mut killed = 0;
            while !stop.load(Ordering::Relaxed) && start.elapsed() < STORM_MAX {
                killed += kill_issuer_backends(&side, &app).await;
                tokio::time::sleep(KILL_EVERY).await;
            }
            // From here on the sessions no longer count as finished in it.
            stop.store(true, Ordering::Relaxed);
            killed
        })
    };
    let stats_ref = &stats;
    let (stop_ref, during) = (&stop, &AtomicU64::new(0));
    let finished: Vec<Finished> = futures::stream::iter(0..STORM_SESSIONS)
        .map(|i| async move {
            let body = request_for(100 + i, run);
            let s = create_retrying(h, stats_ref, &body).await;
            let f = finish_retrying(h, stats_ref, &wallets[i], s).await;
            if !stop_ref.load(Ordering::Relaxed) {
                during.fetch_add(1, Ordering::Relaxed);
            }
            f
        })
        .buffer_unordered(8)
        .collect()
        .await;
    stop.store(true, Ordering::Relaxed);
    let killed = storm.await.unwrap();
    println!(
        "kill storm: {} of {STORM_SESSIONS} sessions finished while it raged",
        during.load(Ordering::Relaxed),
    );
    (finished, stats.unavailable.load(Ordering::Relaxed), killed)
}

/// Finally: the database holds exactly what the clients were told.
async fn check_consistency(h: &Harness, check: &PgPool, finished: &[Finished], wallets: &[Wallet]) {
    let holders: BTreeSet<Vec<u8>> = wallets
        .iter()
        .map(|w| wallet_core::cbor::to_cbor(&w.holder.public()))
        .collect();
    let mut expected_records = BTreeSet::new();
    for f in finished {
        let row = sqlx::query(
            "SELECT state, secret_state IS NULL AS no_nonces, challenge_digest, responses \
             FROM sessions WHERE id = $1",
        )
        .bind(&f.session_id)
        .fetch_one(check)
        .await
        .unwrap();
        assert_eq!(row.get::<String, _>("state"), "done");
        assert!(row.get::<bool, _>("no_nonces"), "nonces deleted (rule 3)");
        // Rule 3: the one stored answer is wallet-core's answered batch of
        // exactly the challenges the wallet sent, and it replays the very
        // responses the wallet got.
        assert_eq!(row.get::<Option<Vec<u8>>, _>("challenge_digest"), None);
        let stored = wallet_core::issuance::batch::AnsweredBatch::from_bytes(
            &row.get::<Option<Vec<u8>>, _>("responses").unwrap(),
        )
        .unwrap();
        let sent = ChallengesMessage::from_bytes(&f.challenges).unwrap();
        assert_eq!(
            wallet_core::wire::ResponsesMessage::new(stored.replay(&sent.challenges).unwrap())
                .to_bytes(),
            f.responses
        );
        for record in &f.records {
            assert!(expected_records.insert(record.clone()), "record ids unique");
        }
        // A finished session cannot be made to answer other challenges.
        let mut other = ChallengesMessage::from_bytes(&f.challenges).unwrap();
        other.challenges.reverse();
        if other.to_bytes() != f.challenges {
            let r = h
                .post_cbor(
                    &h.url(&format!("/wallet/session/{}/challenges", f.session_id)),
                    other.to_bytes(),
                )
                .await;
            problem(r, StatusCode::CONFLICT).await;
        }
    }

    // Every record a client was promised exists, is active and bound to
    // that wallet's holder key; no other record exists.
    let rows = sqlx::query("SELECT id, status, holder_public_key FROM credentials")
        .fetch_all(check)
        .await
        .unwrap();
    let mut found = BTreeSet::new();
    for r in &rows {
        assert_eq!(r.get::<String, _>("status"), "active");
        assert!(holders.contains(&r.get::<Vec<u8>, _>("holder_public_key")));
        found.insert(r.get::<String, _>("id"));
    }
    assert_eq!(found, expected_records, "no record lost, none extra");

    // Every done session has all its records; no session outside `done`
    // keeps a record or an answer; only committed sessions hold nonces.
    let sessions = sqlx::query(
        "SELECT id, state, credentials, secret_state IS NOT NULL AS has_nonces, \
         responses IS NOT NULL AS answered FROM sessions",
    )
    .fetch_all(check)
    .await
    .unwrap();
    for s in &sessions {
        let state: String = s.get("state");
        let credentials: Vec<Value> =
            serde_json::from_str(&s.get::<String, _>("credentials")).unwrap();
        let ids: Vec<String> = credentials
            .iter()
            .map(|c| c["record_id"].as_str().unwrap().to_owned())
            .collect();
        let present = ids.iter().filter(|id| found.contains(*id)).count();
        if state == "done" {
            assert_eq!(present, ids.len(), "a done session has all its records");
            assert!(s.get::<bool, _>("answered"));
        } else {
            assert_eq!(present, 0, "a session that is not done has no record");
            assert!(!s.get::<bool, _>("answered"));
        }
        assert_eq!(s.get::<bool, _>("has_nonces"), state == "committed");
    }

    // The audit log: exactly one `issued` entry per record, by the
    // requestor, and no other record events (nothing revoked or refreshed).
    let audit = sqlx::query("SELECT event, actor, credential_id FROM audit_log")
        .fetch_all(check)
        .await
        .unwrap();
    let mut issued: BTreeMap<String, usize> = BTreeMap::new();
    for a in &audit {
        let event: String = a.get("event");
        match event.as_str() {
            "issued" => {
                assert_eq!(a.get::<String, _>("actor"), "backoffice");
                let id: Option<String> = a.get("credential_id");
                *issued.entry(id.unwrap()).or_default() += 1;
            }
            "key-added" => {}
            other => panic!("unexpected audit event {other}"),
        }
    }
    assert_eq!(
        issued.keys().cloned().collect::<BTreeSet<_>>(),
        expected_records
    );
    assert!(
        issued.values().all(|n| *n == 1),
        "one issued entry per record"
    );
}

#[tokio::test]
async fn postgres_connections_killed_during_issuance() {
    let Some(url) = postgres_url() else {
        return;
    };
    let started = Instant::now();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let app = format!("kenmerk-fault-{run}");
    let app_for_config = app.clone();
    let h = Harness::start(Backend::Postgres, move |c| {
        c.batch_size = 2;
        // Marks the issuer's own connections so that only they get killed.
        if let Some(db) = c.database_url.as_mut() {
            db.push_str(&format!("&application_name={app_for_config}"));
        }
    })
    .await
    .unwrap();
    let schema = h.schema.clone().unwrap();
    // Side connections (no application name of the issuer's) to kill, lock
    // and inspect.
    let side = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .unwrap();
    let check = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&h.database_url)
        .await
        .unwrap();
    // The discriminator works: the issuer's pool is visible under its name.
    let visible: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(&app)
            .fetch_one(&side)
            .await
            .unwrap();
    assert!(visible >= 1, "the issuer's connections carry {app}");

    let scheme = h.scheme().await;
    let wallets: Vec<Wallet> = (0..STORM_SESSIONS)
        .map(|i| Wallet::new(u8::try_from(i + 1).unwrap(), scheme.clone()))
        .collect();

    let mut finished = in_flight_kill(&h, &side, &app, &schema, &run, &wallets).await;
    let (stormed, unavailable, killed) = kill_storm(&h, &side, &app, &run, &wallets).await;
    assert_eq!(stormed.len(), STORM_SESSIONS);
    assert!(killed > 0, "the storm killed the issuer's connections");
    assert!(unavailable > 0, "the storm reached requests in flight");
    println!("kill storm: {killed} backends killed, {unavailable} answers 503, all retried");
    finished.extend(stormed);

    // Recovery without restart: the next sessions succeed at once.
    let (status, _) = h.admin_get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    for (i, wallet) in wallets.iter().enumerate().take(4) {
        let (session_url, token, records) = h.create_ok(&request_for(200 + i, &run)).await;
        let issued = wallet.issue(&h, &session_url).await;
        check_tokens(wallet, &issued.offer, &issued.tokens);
        assert_eq!(h.status(&token).await, "DONE");
        finished.push(Finished {
            session_id: session_id(&session_url),
            records,
            challenges: issued.challenges,
            responses: issued.responses,
        });
    }

    check_consistency(&h, &check, &finished, &wallets).await;
    check.close().await;
    side.close().await;
    h.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded: took {:?}",
        started.elapsed()
    );
}
