//! One store test suite, run against SQLite always and against PostgreSQL
//! when `KENMERK_TEST_POSTGRES` is set (in a schema unique to this run).

mod answers;

use std::sync::Arc;

use answers::{answer_of, answered, commit, nonces_of, state_name};
use issuer::session::{End, Session, State};
use issuer::store::{
    AuditEntry, CredentialStatus, FinishIssuance, FinishOutcome, InsertSession, KeyRecord,
    NewSession, PostgresStore, RecordScheme, SessionCredential, SessionKind, SqliteStore, Store,
    StoreError,
};

const NOW: i64 = 1_790_000_000;

fn new_session(id: &str, kind: SessionKind, credential: &str, subject: Option<&str>) -> NewSession {
    NewSession {
        id: id.to_owned(),
        requestor_token: format!("rt-{id}"),
        requestor: "backoffice".to_owned(),
        kind,
        credentials: vec![SessionCredential {
            record_id: credential.to_owned(),
            credential_type: "demo.utrecht.address".to_owned(),
            key_counter: 1,
            attributes: r#"{"city":"Utrecht"}"#.to_owned(),
        }],
        subject: subject.map(str::to_owned),
        offer: vec![7; 16],
        // A refresh session carries its record's holder key.
        holder_public_key: (kind == SessionKind::Refresh).then(|| b"hd".to_vec()),
        created_at: NOW,
        expires_at: NOW + 300,
    }
}

fn finish(id: &str, n: u8) -> FinishIssuance {
    FinishIssuance {
        session_id: id.to_owned(),
        answered: answered(n, 1),
        tokens: 20,
        now: NOW + 10,
    }
}

/// Inserts and commits a session, as the wallet API would.
async fn committed<S: Store>(store: &S, s: &NewSession, holder: &[u8]) {
    let mut s = s.clone();
    if s.kind == SessionKind::Refresh {
        s.holder_public_key = Some(holder.to_vec());
    }
    let s = &s;
    assert_eq!(
        store.insert_session(s).await.unwrap(),
        InsertSession::Inserted
    );
    assert!(store.mark_connected(&s.id, NOW + 1).await.unwrap());
    assert!(store
        .commit_session(
            &s.id,
            &commit(holder, b"cd", b"signer", b"secret-w"),
            NOW + 2
        )
        .await
        .unwrap());
}

/// Makes the store fail when the issuance audit entry is written, i.e. in
/// the middle of `finish_session`, after the session row was claimed and the
/// record inserted.
trait InjectFailure {
    async fn fail_issued_audit(&self, on: bool);
    /// Runs `sql` straight on the database (to break a row on purpose).
    async fn raw(&self, sql: &str);
}

impl InjectFailure for SqliteStore {
    async fn raw(&self, sql: &str) {
        sqlx::query(sql).execute(self.pool()).await.unwrap();
    }
    async fn fail_issued_audit(&self, on: bool) {
        let sql = if on {
            "CREATE TRIGGER fail_issued BEFORE INSERT ON audit_log WHEN NEW.event = 'issued' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        } else {
            "DROP TRIGGER fail_issued"
        };
        sqlx::query(sql).execute(self.pool()).await.unwrap();
    }
}

impl InjectFailure for PostgresStore {
    async fn raw(&self, sql: &str) {
        sqlx::query(sql).execute(self.pool()).await.unwrap();
    }
    async fn fail_issued_audit(&self, on: bool) {
        if on {
            sqlx::query(
                "CREATE FUNCTION fail_issued() RETURNS trigger AS $$ BEGIN \
                 IF NEW.event = 'issued' THEN RAISE EXCEPTION 'injected failure'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
            )
            .execute(self.pool())
            .await
            .unwrap();
            sqlx::query(
                "CREATE TRIGGER fail_issued BEFORE INSERT ON audit_log FOR EACH ROW \
                 EXECUTE FUNCTION fail_issued()",
            )
            .execute(self.pool())
            .await
            .unwrap();
        } else {
            sqlx::query("DROP TRIGGER fail_issued ON audit_log")
                .execute(self.pool())
                .await
                .unwrap();
        }
    }
}

async fn suite<S: Store + InjectFailure>(store: Arc<S>) {
    store.ping().await.unwrap();
    lifecycle(&*store).await;
    one_open_session_per_record(&*store).await;
    one_open_session_per_subject_and_type(&*store).await;
    expiry(&*store).await;
    rule_nine(&*store).await;
    rule_nine_across_types(&*store).await;
    refresh_and_revocation(&*store).await;
    subject_revocation_and_update(&*store).await;
    keys(&*store).await;
    scheme_versions(&*store).await;
    failure_mid_finish(&*store).await;
    racing_answers(store.clone()).await;
    rows_that_fit_no_state(&*store).await;
    // Last: it deletes every finished session of the suite.
    purge_finished(&*store).await;
}

async fn lifecycle<S: Store>(store: &S) {
    let s = new_session("life", SessionKind::Issue, "cred-life", None);
    assert_eq!(
        store.insert_session(&s).await.unwrap(),
        InsertSession::Inserted
    );
    let loaded = store.session("life").await.unwrap().unwrap();
    assert_eq!(state_name(&loaded), "initialized");
    assert_eq!(loaded.offer, vec![7; 16]);
    assert_eq!(loaded.credentials, s.credentials);
    let by_token = store.session_by_requestor_token("rt-life").await.unwrap();
    assert_eq!(by_token.map(|s| s.id), Some("life".to_owned()));
    assert!(store.session("nope").await.unwrap().is_none());

    // A commitment before anything else is allowed (mark_connected is only
    // informative), but only once.
    assert!(store
        .commit_session(
            "life",
            &commit(b"hd", b"cd", b"signer", b"secret-w"),
            NOW + 1
        )
        .await
        .unwrap());
    assert!(!store
        .commit_session("life", &commit(b"hd2", b"cd2", b"signer2", b"w2"), NOW + 1)
        .await
        .unwrap());
    assert!(!store.mark_connected("life", NOW + 1).await.unwrap());
    let loaded = store.session("life").await.unwrap().unwrap();
    let State::Committed(c) = &loaded.state else {
        panic!("not committed: {loaded:?}")
    };
    assert_eq!(c.holder_public_key(), b"hd");
    assert_eq!(c.commitment().replay(b"cd"), Some(&b"signer"[..]));
    assert_eq!(nonces_of(&loaded), Some(&b"secret-w"[..]));

    let out = store.finish_session(&finish("life", 1)).await.unwrap();
    assert_eq!(out, FinishOutcome::Finished { superseded: vec![] });
    let loaded = store.session("life").await.unwrap().unwrap();
    // Answered: the row conversion refuses an answered row with nonces
    // (rule 3), so loading it proves they were deleted.
    assert_eq!(state_name(&loaded), "done");
    assert_eq!(answer_of(&loaded), Some(&answered(1, 1)));

    // A second answer is never recorded.
    let again = store.finish_session(&finish("life", 2)).await.unwrap();
    assert_eq!(again, FinishOutcome::NotCommitted);
    let loaded = store.session("life").await.unwrap().unwrap();
    assert_eq!(answer_of(&loaded), Some(&answered(1, 1)));
    // A finished session cannot be cancelled.
    assert!(!store
        .end_session("life", &End::Cancelled, NOW + 20)
        .await
        .unwrap());

    let record = store.credential("cred-life").await.unwrap().unwrap();
    assert_eq!(record.status, CredentialStatus::Active);
    assert_eq!(record.holder_public_key, b"hd");
    assert_eq!(record.credential_type, "demo.utrecht.address");
    assert_eq!(record.attributes, r#"{"city":"Utrecht"}"#);
    assert_eq!(record.created_at, NOW + 10);
    assert_eq!(record.refreshed_at, None);
    let audit = store.audit(Some("cred-life")).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event, "issued");
    assert_eq!(audit[0].actor, "backoffice");
}

async fn one_open_session_per_record<S: Store>(store: &S) {
    let a = new_session("busy-a", SessionKind::Refresh, "cred-busy", None);
    let b = new_session("busy-b", SessionKind::Refresh, "cred-busy", None);
    assert_eq!(
        store.insert_session(&a).await.unwrap(),
        InsertSession::Inserted
    );
    assert_eq!(
        store.insert_session(&b).await.unwrap(),
        InsertSession::RecordBusy
    );
    assert!(store.session("busy-b").await.unwrap().is_none());
    assert!(store
        .end_session("busy-a", &End::Cancelled, NOW + 1)
        .await
        .unwrap());
    assert_eq!(
        store.insert_session(&b).await.unwrap(),
        InsertSession::Inserted
    );
    assert_eq!(
        state_name(&store.session("busy-a").await.unwrap().unwrap()),
        "cancelled"
    );
}

/// Security.md §4: at most one open issuance session per subject and
/// credential type, for first issuance as for refresh.
async fn one_open_session_per_subject_and_type<S: Store>(store: &S) {
    let subject = Some("555000111");
    let insert = |id: &str, kind, record: &str, subject| new_session(id, kind, record, subject);
    let a = insert("subj-a", SessionKind::Issue, "cred-subj-a", subject);
    assert_eq!(
        store.insert_session(&a).await.unwrap(),
        InsertSession::Inserted
    );
    // A second first issuance of the same type for the same subject.
    let b = insert("subj-b", SessionKind::Issue, "cred-subj-b", subject);
    assert_eq!(
        store.insert_session(&b).await.unwrap(),
        InsertSession::SubjectBusy
    );
    assert!(store.session("subj-b").await.unwrap().is_none());
    // Nor a refresh of that type for that subject.
    let r = insert("subj-r", SessionKind::Refresh, "cred-subj-old", subject);
    assert_eq!(
        store.insert_session(&r).await.unwrap(),
        InsertSession::SubjectBusy
    );
    assert!(store.session("subj-r").await.unwrap().is_none());
    // Another type, another subject, or no subject: not affected.
    let mut other_type = insert("subj-t", SessionKind::Issue, "cred-subj-t", subject);
    other_type.credentials[0].credential_type = "demo.utrecht.personal".to_owned();
    assert_eq!(
        store.insert_session(&other_type).await.unwrap(),
        InsertSession::Inserted
    );
    let other = insert(
        "subj-o",
        SessionKind::Issue,
        "cred-subj-o",
        Some("555000222"),
    );
    assert_eq!(
        store.insert_session(&other).await.unwrap(),
        InsertSession::Inserted
    );
    for (id, record) in [("subj-n1", "cred-subj-n1"), ("subj-n2", "cred-subj-n2")] {
        let s = insert(id, SessionKind::Issue, record, None);
        assert_eq!(
            store.insert_session(&s).await.unwrap(),
            InsertSession::Inserted
        );
    }
    // A session holding both types blocks each of them.
    let mut both = insert(
        "subj-both",
        SessionKind::Issue,
        "cred-subj-both",
        Some("555000222"),
    );
    both.credentials.push(SessionCredential {
        record_id: "cred-subj-both-2".to_owned(),
        credential_type: "demo.utrecht.personal".to_owned(),
        key_counter: 1,
        attributes: "{}".to_owned(),
    });
    assert_eq!(
        store.insert_session(&both).await.unwrap(),
        InsertSession::SubjectBusy
    );
    // Once the holder ends (cancel), the next one may start.
    assert!(store
        .end_session("subj-a", &End::Cancelled, NOW + 1)
        .await
        .unwrap());
    assert_eq!(
        store.insert_session(&b).await.unwrap(),
        InsertSession::Inserted
    );
    // Once it finishes (answered), too.
    committed(
        store,
        &insert(
            "subj-c",
            SessionKind::Issue,
            "cred-subj-c",
            Some("555000333"),
        ),
        b"hd-subj",
    )
    .await;
    let d = insert(
        "subj-d",
        SessionKind::Issue,
        "cred-subj-d",
        Some("555000333"),
    );
    assert_eq!(
        store.insert_session(&d).await.unwrap(),
        InsertSession::SubjectBusy
    );
    store.finish_session(&finish("subj-c", 3)).await.unwrap();
    assert_eq!(
        store.insert_session(&d).await.unwrap(),
        InsertSession::Inserted
    );
    // A holder past its expiry, not yet swept, times out and gives way.
    let mut e = insert(
        "subj-e",
        SessionKind::Issue,
        "cred-subj-e",
        Some("555000444"),
    );
    e.expires_at = NOW + 5;
    assert_eq!(
        store.insert_session(&e).await.unwrap(),
        InsertSession::Inserted
    );
    let mut f = insert(
        "subj-f",
        SessionKind::Issue,
        "cred-subj-f",
        Some("555000444"),
    );
    f.created_at = NOW + 6;
    f.expires_at = NOW + 600;
    assert_eq!(
        store.insert_session(&f).await.unwrap(),
        InsertSession::Inserted
    );
    assert_eq!(
        state_name(&store.session("subj-e").await.unwrap().unwrap()),
        "timeout"
    );
    // Clean up the open ones so later parts of the suite see no holders.
    for id in [
        "subj-b", "subj-t", "subj-o", "subj-n1", "subj-n2", "subj-d", "subj-f",
    ] {
        store
            .end_session(id, &End::Cancelled, NOW + 7)
            .await
            .unwrap();
    }
}

/// One version number, one document.
async fn scheme_versions<S: Store>(store: &S) {
    assert_eq!(store.latest_scheme_version().await.unwrap(), None);
    let record =
        |v, d: u8| async move { store.record_scheme_version(v, &[d; 32], NOW).await.unwrap() };
    assert_eq!(record(1, 1).await, RecordScheme::Recorded);
    assert_eq!(record(1, 1).await, RecordScheme::Same);
    assert_eq!(record(1, 2).await, RecordScheme::Conflict);
    assert_eq!(record(3, 3).await, RecordScheme::Recorded);
    assert_eq!(record(2, 2).await, RecordScheme::Recorded);
    assert_eq!(store.latest_scheme_version().await.unwrap(), Some(3));
    assert_eq!(record(3, 1).await, RecordScheme::Conflict);
}

async fn expiry<S: Store>(store: &S) {
    let mut s = new_session("exp", SessionKind::Refresh, "cred-exp", None);
    s.expires_at = NOW + 5;
    committed(store, &s, b"hd").await;
    // Past the expiry nothing moves any more.
    let late = FinishIssuance {
        now: NOW + 6,
        ..finish("exp", 1)
    };
    assert_eq!(
        store.finish_session(&late).await.unwrap(),
        FinishOutcome::NotCommitted
    );
    // An expired but unswept session does not block a new one for the record.
    let mut next = new_session("exp-2", SessionKind::Refresh, "cred-exp", None);
    next.created_at = NOW + 6;
    next.expires_at = NOW + 100;
    assert_eq!(
        store.insert_session(&next).await.unwrap(),
        InsertSession::Inserted
    );
    let old = store.session("exp").await.unwrap().unwrap();
    // Ended: the row conversion refuses an ended row with nonces.
    assert_eq!(state_name(&old), "timeout");

    let mut other = new_session("exp-3", SessionKind::Issue, "cred-exp-3", None);
    other.expires_at = NOW + 5;
    store.insert_session(&other).await.unwrap();
    let expired = store.expire_sessions(NOW + 5).await.unwrap();
    assert!(expired.contains(&"exp-3".to_owned()), "{expired:?}");
    assert!(!expired.contains(&"exp-2".to_owned()));
    assert!(!store.mark_connected("exp-3", NOW + 6).await.unwrap());
    assert_eq!(
        state_name(&store.session("exp-3").await.unwrap().unwrap()),
        "timeout"
    );
}

async fn rule_nine<S: Store>(store: &S) {
    let first = new_session("r9-a", SessionKind::Issue, "cred-r9-a", Some("999990019"));
    committed(store, &first, b"hd-old").await;
    store.finish_session(&finish("r9-a", 1)).await.unwrap();
    // Another subject's record must stay untouched.
    let other = new_session("r9-o", SessionKind::Issue, "cred-r9-o", Some("999990020"));
    committed(store, &other, b"hd-other").await;
    store.finish_session(&finish("r9-o", 1)).await.unwrap();

    let second = new_session("r9-b", SessionKind::Issue, "cred-r9-b", Some("999990019"));
    committed(store, &second, b"hd-new").await;
    let out = store.finish_session(&finish("r9-b", 2)).await.unwrap();
    assert_eq!(
        out,
        FinishOutcome::Finished {
            superseded: vec!["cred-r9-a".to_owned()]
        }
    );
    let old = store.credential("cred-r9-a").await.unwrap().unwrap();
    assert_eq!(old.status, CredentialStatus::Revoked);
    assert!(old.status_reason.unwrap().contains("superseded"));
    let audit = store.audit(Some("cred-r9-a")).await.unwrap();
    assert_eq!(
        audit.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["issued", "revoked"]
    );
    assert_eq!(
        store.credential("cred-r9-o").await.unwrap().unwrap().status,
        CredentialStatus::Active
    );
    assert_eq!(
        store.credential("cred-r9-b").await.unwrap().unwrap().status,
        CredentialStatus::Active
    );
}

async fn refresh_and_revocation<S: Store>(store: &S) {
    let issue = new_session("rf-0", SessionKind::Issue, "cred-rf", None);
    committed(store, &issue, b"hd-rf").await;
    store.finish_session(&finish("rf-0", 1)).await.unwrap();

    let refresh = new_session("rf-1", SessionKind::Refresh, "cred-rf", None);
    committed(store, &refresh, b"hd-rf").await;
    let out = store.finish_session(&finish("rf-1", 3)).await.unwrap();
    assert_eq!(out, FinishOutcome::Finished { superseded: vec![] });
    let record = store.credential("cred-rf").await.unwrap().unwrap();
    assert_eq!(record.refreshed_at, Some(NOW + 10));

    // A refresh session commits only for the record's holder key.
    let mut wrong = new_session("rf-w", SessionKind::Refresh, "cred-rf", None);
    wrong.holder_public_key = Some(b"hd-rf".to_vec());
    store.insert_session(&wrong).await.unwrap();
    assert!(!store
        .commit_session("rf-w", &commit(b"hd-intruder", b"cd", b"sg", b"w"), NOW + 2)
        .await
        .unwrap());
    assert!(store
        .end_session("rf-w", &End::Failed("bad proof".to_owned()), NOW + 3)
        .await
        .unwrap());
    let s = store.session("rf-w").await.unwrap().unwrap();
    assert!(
        matches!(&s.state, State::Ended(e) if *e.end() == End::Failed("bad proof".to_owned())),
        "{s:?}"
    );

    // Revoked while a refresh is running: the refresh hands out nothing.
    let refresh = new_session("rf-2", SessionKind::Refresh, "cred-rf", None);
    committed(store, &refresh, b"hd-rf").await;
    assert!(store
        .revoke_credential("cred-rf", "admin", "moved abroad", NOW + 5)
        .await
        .unwrap());
    assert!(!store
        .revoke_credential("cred-rf", "admin", "twice", NOW + 6)
        .await
        .unwrap());
    let out = store.finish_session(&finish("rf-2", 5)).await.unwrap();
    assert_eq!(out, FinishOutcome::CredentialRevoked);
    let s = store.session("rf-2").await.unwrap().unwrap();
    // Failed, without nonces or answer (the row conversion checks both).
    assert_eq!(state_name(&s), "failed");
    let record = store.credential("cred-rf").await.unwrap().unwrap();
    assert_eq!(record.status, CredentialStatus::Revoked);
    assert_eq!(record.status_reason.as_deref(), Some("moved abroad"));
    assert_eq!(record.refreshed_at, Some(NOW + 10));
    let events: Vec<String> = store
        .audit(Some("cred-rf"))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["issued", "refreshed", "revoked"]);
}

async fn subject_revocation_and_update<S: Store>(store: &S) {
    // One session issuing two credentials creates two records.
    let mut s = new_session("sr", SessionKind::Issue, "cred-sr-a", Some("123456782"));
    s.credentials.push(SessionCredential {
        record_id: "cred-sr-b".to_owned(),
        credential_type: "demo.utrecht.personal".to_owned(),
        key_counter: 3,
        attributes: "{}".to_owned(),
    });
    committed(store, &s, b"hd-sr").await;
    store.finish_session(&finish("sr", 1)).await.unwrap();
    let b = store.credential("cred-sr-b").await.unwrap().unwrap();
    assert_eq!(b.credential_type, "demo.utrecht.personal");
    assert_eq!(b.holder_public_key, b"hd-sr");
    assert!(store
        .update_attributes("cred-sr-a", r#"{"city":"Amersfoort"}"#, "admin", NOW + 20)
        .await
        .unwrap());
    let rec = store.credential("cred-sr-a").await.unwrap().unwrap();
    assert_eq!(rec.attributes, r#"{"city":"Amersfoort"}"#);
    assert!(!store
        .update_attributes("missing", "{}", "admin", NOW + 20)
        .await
        .unwrap());

    let revoked = store
        .revoke_subject("123456782", "admin", "deceased", NOW + 30)
        .await
        .unwrap();
    assert_eq!(revoked, ["cred-sr-a", "cred-sr-b"]);
    assert!(store
        .revoke_subject("123456782", "admin", "again", NOW + 31)
        .await
        .unwrap()
        .is_empty());
    // Revoked records keep their attributes.
    assert!(!store
        .update_attributes("cred-sr-a", "{}", "admin", NOW + 32)
        .await
        .unwrap());
    let audit = store.audit(Some("cred-sr-b")).await.unwrap();
    assert_eq!(
        audit.last().map(|e| e.detail.as_str()),
        Some("by subject: deceased")
    );

    store
        .append_audit(&AuditEntry {
            at: NOW,
            actor: "admin".to_owned(),
            event: "note".to_owned(),
            credential_id: None,
            credential_type: None,
            detail: "free text".to_owned(),
        })
        .await
        .unwrap();
    let all = store.audit(None).await.unwrap();
    assert_eq!(all.last().map(|e| e.event.as_str()), Some("note"));
}

async fn keys<S: Store>(store: &S) {
    let key = |ty: &str, counter: i64| KeyRecord {
        credential_type: ty.to_owned(),
        counter,
        key_id: vec![counter as u8; 32],
        public_key: vec![1, 2, 3],
        valid_from: NOW,
        valid_until: NOW + 1000,
        created_at: NOW,
    };
    assert!(store
        .insert_key(&key("demo.x.b", 2), "system")
        .await
        .unwrap());
    assert!(store
        .insert_key(&key("demo.x.b", 1), "system")
        .await
        .unwrap());
    assert!(store
        .insert_key(&key("demo.x.a", 1), "system")
        .await
        .unwrap());
    assert!(!store
        .insert_key(&key("demo.x.a", 1), "system")
        .await
        .unwrap());
    let keys = store.keys().await.unwrap();
    let order: Vec<(String, i64)> = keys
        .iter()
        .map(|k| (k.credential_type.clone(), k.counter))
        .collect();
    assert_eq!(
        order,
        [
            ("demo.x.a".to_owned(), 1),
            ("demo.x.b".to_owned(), 1),
            ("demo.x.b".to_owned(), 2)
        ]
    );
    assert_eq!(keys[2], key("demo.x.b", 2));
}

async fn failure_mid_finish<S: Store + InjectFailure>(store: &S) {
    let s = new_session("fail", SessionKind::Issue, "cred-fail", Some("111222333"));
    let keep = new_session(
        "fail-keep",
        SessionKind::Issue,
        "cred-fail-keep",
        Some("111222333"),
    );
    committed(store, &keep, b"hd-keep").await;
    store.finish_session(&finish("fail-keep", 1)).await.unwrap();
    committed(store, &s, b"hd-fail").await;

    store.fail_issued_audit(true).await;
    let err = store.finish_session(&finish("fail", 1)).await;
    assert!(err.is_err(), "injected failure must surface: {err:?}");
    // Nothing half-written: no record, the older record not revoked, the
    // session still committed with its nonces, no answer stored.
    assert!(store.credential("cred-fail").await.unwrap().is_none());
    assert_eq!(
        store
            .credential("cred-fail-keep")
            .await
            .unwrap()
            .unwrap()
            .status,
        CredentialStatus::Active
    );
    let loaded = store.session("fail").await.unwrap().unwrap();
    // Committed, so with its nonces and without an answer.
    assert_eq!(state_name(&loaded), "committed");
    assert!(nonces_of(&loaded).is_some());
    assert!(store.audit(Some("cred-fail")).await.unwrap().is_empty());

    store.fail_issued_audit(false).await;
    let out = store.finish_session(&finish("fail", 1)).await.unwrap();
    assert_eq!(
        out,
        FinishOutcome::Finished {
            superseded: vec!["cred-fail-keep".to_owned()]
        }
    );
}

async fn racing_answers<S: Store>(store: Arc<S>) {
    let s = new_session("race", SessionKind::Issue, "cred-race", None);
    committed(&*store, &s, b"hd-race").await;
    let mut tasks = Vec::new();
    for digest in 1..=8u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            (digest, store.finish_session(&finish("race", digest)).await)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (digest, out) = t.await.unwrap();
        match out.unwrap() {
            FinishOutcome::Finished { .. } => winners.push(digest),
            FinishOutcome::NotCommitted => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one answer recorded: {winners:?}");
    let loaded = store.session("race").await.unwrap().unwrap();
    assert_eq!(answer_of(&loaded), Some(&answered(winners[0], 1)));
}

/// A row edited into a shape no state has loads as a store error (by id
/// and by token alike), never as a session with missing parts.
async fn rows_that_fit_no_state<S: Store + InjectFailure>(store: &S) {
    let corrupt = |r: Result<Option<Session>, StoreError>| {
        assert!(
            matches!(
                r,
                Err(StoreError::Corrupt {
                    table: "sessions",
                    ..
                })
            ),
            "{r:?}"
        )
    };
    let s = new_session("bad-row", SessionKind::Issue, "cred-bad-row", None);
    committed(store, &s, b"hd-bad").await;
    // Committed without its nonces.
    store
        .raw("UPDATE sessions SET secret_state = NULL WHERE id = 'bad-row'")
        .await;
    corrupt(store.session("bad-row").await);
    corrupt(store.session_by_requestor_token("rt-bad-row").await);
    // Done with an answer that is not wallet-core's answered batch.
    store
        .raw("UPDATE sessions SET state = 'done', responses = offer WHERE id = 'bad-row'")
        .await;
    corrupt(store.session("bad-row").await);
    // A state no version wrote.
    store
        .raw("UPDATE sessions SET state = 'answered', responses = NULL WHERE id = 'bad-row'")
        .await;
    corrupt(store.session("bad-row").await);
    // Put back into a shape that fits: it loads again.
    store
        .raw("UPDATE sessions SET state = 'cancelled' WHERE id = 'bad-row'")
        .await;
    let s = store.session("bad-row").await.unwrap().unwrap();
    assert_eq!(state_name(&s), "cancelled");
}

#[tokio::test]
async fn sqlite_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("issuer.db").display());
    let store = Arc::new(SqliteStore::connect(&url).await.unwrap());
    suite(store).await;
    // Reopening applies no migration twice and keeps the data.
    let again = SqliteStore::connect(&url).await.unwrap();
    assert!(again.credential("cred-life").await.unwrap().is_some());
}

#[tokio::test]
async fn postgres_store_suite() {
    let Some(url) = test_kit::services::postgres_url() else {
        return;
    };
    // Not created beforehand: `connect` with a schema creates it.
    let schema = format!("kenmerk_issuer_test_{}", test_kit::unique());
    let store = Arc::new(PostgresStore::connect(&url, Some(&schema)).await.unwrap());
    suite(store.clone()).await;
    let again = PostgresStore::connect(&url, Some(&schema)).await.unwrap();
    assert!(again.credential("cred-life").await.unwrap().is_some());
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(store.pool())
        .await
        .unwrap();
}

/// Finished sessions past the cutoff go, with everything they held; open
/// sessions (however old), later finished ones, records and the audit log
/// stay.
async fn purge_finished<S: Store>(store: &S) {
    let t = NOW + 1_000_000;
    let at = |id: &str, credential: &str| {
        let mut s = new_session(id, SessionKind::Issue, credential, Some("999990050"));
        s.created_at = t;
        s.expires_at = t + 300;
        s
    };
    let done = at("pf-done", "cred-pf-done");
    committed(store, &done, b"hd-pf").await;
    let out = store
        .finish_session(&FinishIssuance {
            now: t + 10,
            ..finish("pf-done", 1)
        })
        .await
        .unwrap();
    assert!(matches!(out, FinishOutcome::Finished { .. }));
    let cancelled = at("pf-cancel", "cred-pf-cancel");
    store.insert_session(&cancelled).await.unwrap();
    assert!(store
        .end_session("pf-cancel", &End::Cancelled, t + 20)
        .await
        .unwrap());
    let failed = at("pf-failed", "cred-pf-failed");
    store.insert_session(&failed).await.unwrap();
    assert!(store
        .end_session("pf-failed", &End::Failed("bad proof".to_owned()), t + 30)
        .await
        .unwrap());
    // Open since long before the cutoff: never purged.
    let mut open = at("pf-open", "cred-pf-open");
    // Another subject: one open session per subject and type (§4).
    open.subject = Some("999990051".to_owned());
    committed(store, &open, b"hd-pf-open").await;
    let late = at("pf-late", "cred-pf-late");
    store.insert_session(&late).await.unwrap();
    assert!(store
        .end_session("pf-late", &End::Cancelled, t + 100)
        .await
        .unwrap());
    let audit_before = store.audit(None).await.unwrap();

    let purged = store.purge_finished_sessions(t + 50).await.unwrap();
    // The suite's earlier finished sessions (all before `t`) go too.
    assert!(purged >= 3, "{purged}");
    for id in ["pf-done", "pf-cancel", "pf-failed"] {
        assert!(store.session(id).await.unwrap().is_none(), "{id} purged");
        assert!(store
            .session_by_requestor_token(&format!("rt-{id}"))
            .await
            .unwrap()
            .is_none());
    }
    assert!(store.session("life").await.unwrap().is_none());
    let open = store.session("pf-open").await.unwrap().unwrap();
    assert_eq!(state_name(&open), "committed");
    assert!(nonces_of(&open).is_some());
    assert!(store.session("pf-late").await.unwrap().is_some());
    // Records and the audit log are kept.
    let record = store.credential("cred-pf-done").await.unwrap().unwrap();
    assert_eq!(record.status, CredentialStatus::Active);
    assert!(store.credential("cred-life").await.unwrap().is_some());
    assert_eq!(store.audit(None).await.unwrap(), audit_before);

    // The cutoff is exclusive: finished exactly at it stays.
    assert_eq!(store.purge_finished_sessions(t + 100).await.unwrap(), 0);
    assert_eq!(store.purge_finished_sessions(t + 101).await.unwrap(), 1);
    assert!(store.session("pf-late").await.unwrap().is_none());
    assert!(store.session("pf-open").await.unwrap().is_some());
}

/// Issues one credential of `credential_type` for `subject` under `holder`;
/// returns the records rule 9 superseded, sorted.
async fn issue_typed<S: Store>(
    store: &S,
    id: &str,
    credential_type: &str,
    subject: &str,
    holder: &[u8],
) -> Vec<String> {
    let mut s = new_session(id, SessionKind::Issue, &format!("cred-{id}"), Some(subject));
    s.credentials[0].credential_type = credential_type.to_owned();
    committed(store, &s, holder).await;
    match store.finish_session(&finish(id, 1)).await.unwrap() {
        FinishOutcome::Finished { mut superseded } => {
            superseded.sort();
            superseded
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// Rule 9 across credential types: a new holder key revokes the subject's
/// records of every type under another holder key; records of other types
/// under the same holder key, and other subjects' records, stay.
async fn rule_nine_across_types<S: Store>(store: &S) {
    const PERSONAL: &str = "demo.utrecht.personal";
    const ADDRESS: &str = "demo.utrecht.address";
    const AGE: &str = "demo.utrecht.age";
    let subject = "999990040";
    let status = |id: &'static str| async move {
        store
            .credential(&format!("cred-{id}"))
            .await
            .unwrap()
            .unwrap()
            .status
    };

    // One holder key, two types: both live.
    assert!(issue_typed(store, "r9x-a", PERSONAL, subject, b"hd-1")
        .await
        .is_empty());
    assert!(issue_typed(store, "r9x-b", ADDRESS, subject, b"hd-1")
        .await
        .is_empty());
    // Another subject under the same holder key bytes is none of our business.
    assert!(issue_typed(store, "r9x-o", PERSONAL, "999990041", b"hd-1")
        .await
        .is_empty());

    // A new holder key for a third type: both older records go.
    let superseded = issue_typed(store, "r9x-c", AGE, subject, b"hd-2").await;
    assert_eq!(superseded, ["cred-r9x-a", "cred-r9x-b"]);
    assert_eq!(status("r9x-a").await, CredentialStatus::Revoked);
    assert_eq!(status("r9x-b").await, CredentialStatus::Revoked);
    assert_eq!(status("r9x-c").await, CredentialStatus::Active);
    assert_eq!(status("r9x-o").await, CredentialStatus::Active);
    let old = store.credential("cred-r9x-a").await.unwrap().unwrap();
    assert!(old.status_reason.unwrap().starts_with("superseded"));
    let audit = store.audit(Some("cred-r9x-b")).await.unwrap();
    assert_eq!(
        audit.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["issued", "revoked"]
    );
    assert_eq!(audit[1].actor, "system");
    assert_eq!(audit[1].credential_type.as_deref(), Some(ADDRESS));
    assert!(audit[1].detail.contains("other holder key"));
    assert!(audit[1].detail.contains("cred-r9x-c"));

    // The same new holder key for another type: the live record stays.
    assert!(issue_typed(store, "r9x-d", ADDRESS, subject, b"hd-2")
        .await
        .is_empty());
    assert_eq!(status("r9x-c").await, CredentialStatus::Active);
    assert_eq!(status("r9x-d").await, CredentialStatus::Active);

    // Same type, same holder key: still superseded by type (the earlier
    // rule), and reported once.
    let superseded = issue_typed(store, "r9x-e", AGE, subject, b"hd-2").await;
    assert_eq!(superseded, ["cred-r9x-c"]);
    assert_eq!(status("r9x-d").await, CredentialStatus::Active);
    assert_eq!(
        store.audit(Some("cred-r9x-c")).await.unwrap().len(),
        2,
        "one revocation entry"
    );
}
