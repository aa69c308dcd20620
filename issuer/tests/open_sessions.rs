//! One open issuance session per subject and credential type
//! (docs/security.md §4): over HTTP (first issuance and refresh alike), and
//! as a property of the store against a model.

mod common;

use std::collections::BTreeSet;

use common::*;
use issuer::session::{End, State};
use issuer::store::{
    InsertSession, NewSession, SessionCredential, SessionKind, SqliteStore, Store,
};
use proptest::prelude::*;
use reqwest::StatusCode;

async fn run(backend: Backend) {
    let Some(h) = Harness::start(backend, |_| {}).await else {
        return;
    };
    let subject = "999990123";
    let (_, first_token, _) = h
        .create_ok(&address_request("Domplein", Some(subject)))
        .await;

    // A second session for the same resident and type: 409, nothing stored.
    let r = h
        .client
        .post(h.url("/session"))
        .bearer_auth(TOKEN)
        .json(&address_request("Neude", Some(subject)))
        .send()
        .await
        .unwrap();
    let v = problem(r, StatusCode::CONFLICT).await;
    assert_eq!(v["type"], "urn:kenmerk:problem:session-in-progress", "{v}");
    // A session holding this type among others is refused as a whole.
    let (status, v) = h.create(TOKEN, &personal_and_address(subject)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");

    // Another resident, or no subject: unaffected.
    h.create_ok(&address_request("Neude", Some("999990124")))
        .await;
    h.create_ok(&address_request("Neude", None)).await;
    h.create_ok(&address_request("Neude", None)).await;

    // The back office cancels the open one; then a new one may start,
    // and the resident completes it.
    let r = h
        .client
        .delete(h.url(&format!("/session/{first_token}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (url, _, records) = h.create_ok(&address_request("Neude", Some(subject))).await;
    let wallet = Wallet::new(3, h.scheme().await);
    wallet.issue(&h, &url).await;

    // A refresh while a first issuance of that type is open: refused.
    let (open_url, _, _) = h
        .create_ok(&address_request("Vismarkt", Some(subject)))
        .await;
    let (status, _) = wallet.start_refresh(&h, &records[0]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Finishing the open session frees the subject and type again.
    wallet.issue(&h, &open_url).await;
    h.create_ok(&address_request("Lijnmarkt", Some(subject)))
        .await;
    h.stop().await;
}

#[tokio::test]
async fn sqlite_one_open_session_per_subject_and_type() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_one_open_session_per_subject_and_type() {
    run(Backend::Postgres).await;
}

const TYPES: [&str; 2] = ["demo.utrecht.address", "demo.utrecht.personal"];
const SUBJECTS: [&str; 2] = ["999990001", "999990002"];

#[derive(Debug, Clone)]
enum Op {
    /// A new session: subject (index, or none), types (bit set 1..=3),
    /// lifetime in seconds.
    Insert {
        subject: Option<usize>,
        types: u8,
        ttl: i64,
    },
    /// The requestor cancels the n-th session created (if any).
    Cancel(usize),
    /// Time passes.
    Tick(i64),
    /// The sweeper runs.
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::option::of(0..SUBJECTS.len()), 1u8..=3, 1i64..30)
            .prop_map(|(subject, types, ttl)| Op::Insert { subject, types, ttl }),
        2 => (0usize..16).prop_map(Op::Cancel),
        2 => (1i64..20).prop_map(Op::Tick),
        1 => Just(Op::Sweep),
    ]
}

/// A session as the model sees it.
struct Modelled {
    id: String,
    subject: Option<usize>,
    types: u8,
    expires_at: i64,
    cancelled: bool,
}

impl Modelled {
    /// Holds its subject and types at `now`: neither ended nor expired.
    fn holds(&self, now: i64) -> bool {
        !self.cancelled && self.expires_at > now
    }
}

async fn run_ops(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}", dir.path().join("p.db").display()))
        .await
        .unwrap();
    let mut now = 1_790_000_000i64;
    let mut model: Vec<Modelled> = Vec::new();
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Insert {
                subject,
                types,
                ttl,
            } => {
                let id = format!("p{n}");
                let credentials = (0..TYPES.len())
                    .filter(|t| types & (1 << t) != 0)
                    .map(|t| SessionCredential {
                        record_id: format!("rec-{id}-{t}"),
                        credential_type: TYPES[t].to_owned(),
                        key_counter: 1,
                        attributes: "{}".to_owned(),
                    })
                    .collect();
                let session = NewSession {
                    id: id.clone(),
                    requestor_token: format!("rt-{id}"),
                    requestor: "backoffice".to_owned(),
                    kind: SessionKind::Issue,
                    credentials,
                    subject: subject.map(|s| SUBJECTS[s].to_owned()),
                    offer: vec![1],
                    holder_public_key: None,
                    created_at: now,
                    expires_at: now + ttl,
                };
                let busy = subject.is_some()
                    && model
                        .iter()
                        .any(|m| m.holds(now) && m.subject == subject && m.types & types != 0);
                let got = store.insert_session(&session).await.unwrap();
                let want = if busy {
                    InsertSession::SubjectBusy
                } else {
                    InsertSession::Inserted
                };
                prop_assert_eq!(got, want, "op {} at {}", n, now);
                if !busy {
                    model.push(Modelled {
                        id,
                        subject,
                        types,
                        expires_at: now + ttl,
                        cancelled: false,
                    });
                } else {
                    prop_assert!(store.session(&id).await.unwrap().is_none());
                }
            }
            Op::Cancel(i) => {
                if let Some(m) = model.get_mut(i) {
                    store
                        .end_session(&m.id, &End::Cancelled, now)
                        .await
                        .unwrap();
                    m.cancelled = true;
                }
            }
            Op::Tick(d) => now += d,
            Op::Sweep => {
                store.expire_sessions(now).await.unwrap();
            }
        }
    }
    // No two sessions that are open and unexpired in the store share a
    // subject and type.
    let mut held = BTreeSet::new();
    for m in &model {
        let s = store.session(&m.id).await.unwrap().unwrap();
        if matches!(s.state, State::Answered(_) | State::Ended(_)) || s.expired(now) {
            continue;
        }
        if let Some(subject) = &s.subject {
            for c in &s.credentials {
                prop_assert!(
                    held.insert((subject.clone(), c.credential_type.clone())),
                    "two open sessions for {} {}",
                    subject,
                    c.credential_type
                );
            }
        }
    }
    store.pool().close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_keeps_one_open_session_per_subject_and_type(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run_ops(ops))?;
    }
}
