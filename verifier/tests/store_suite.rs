//! One test suite for every [`SessionStore`] backend: memory always, Redis
//! when `KENMERK_TEST_REDIS` is set (each run under its own key prefix).

use std::sync::Arc;
use std::time::Duration;

use verifier::store::{
    now_ms, AtCapacity, Limits, MemoryStore, RedisStore, RequestorToken, SessionId, SessionStatus,
    SessionStore, StoreError, StoredSession, UpdateOutcome, WalletToken,
};

type Store = Arc<dyn SessionStore>;

fn session(purge_in_ms: u64) -> StoredSession {
    StoredSession {
        id: SessionId::for_token(&RequestorToken::generate()),
        wallet_token: WalletToken::generate(),
        status: SessionStatus::Initialized,
        version: 0,
        purge_at_ms: now_ms() + purge_in_ms,
        owner: "desk".into(),
        body: b"body-0".to_vec(),
    }
}

async fn next_event(rx: &mut tokio::sync::broadcast::Receiver<SessionId>, want: &SessionId) {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(id) if &id == want => return,
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event channel closed: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("no change event within 5 s");
}

async fn round_trip(store: Store) {
    let s = session(60_000);
    store.insert(s.clone(), Limits::NONE).await.unwrap();
    assert_eq!(store.get(&s.id).await.unwrap(), Some(s.clone()));
    assert_eq!(
        store.get_by_wallet(&s.wallet_token).await.unwrap(),
        Some(s.clone())
    );
    let other = session(60_000);
    assert_eq!(store.get(&other.id).await.unwrap(), None);
    assert_eq!(
        store.get_by_wallet(&other.wallet_token).await.unwrap(),
        None
    );
}

async fn duplicates_refused(store: Store) {
    let s = session(60_000);
    store.insert(s.clone(), Limits::NONE).await.unwrap();
    assert!(matches!(
        store.insert(s.clone(), Limits::NONE).await,
        Err(StoreError::Duplicate)
    ));
    let mut same_wallet = session(60_000);
    same_wallet.wallet_token = s.wallet_token.clone();
    assert!(matches!(
        store.insert(same_wallet.clone(), Limits::NONE).await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(store.get(&same_wallet.id).await.unwrap(), None);
}

async fn compare_and_set(store: Store) {
    let s = session(60_000);
    store.insert(s.clone(), Limits::NONE).await.unwrap();
    let mut next = s.clone();
    next.status = SessionStatus::Connected;
    next.body = b"body-1".to_vec();
    assert_eq!(
        store.update(0, next.clone()).await.unwrap(),
        UpdateOutcome::Updated
    );
    let stored = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.status, SessionStatus::Connected);
    assert_eq!(stored.body, b"body-1");
    // A writer that read version 0 lost the race.
    assert_eq!(
        store.update(0, next.clone()).await.unwrap(),
        UpdateOutcome::Conflict
    );
    assert_eq!(store.get(&s.id).await.unwrap().unwrap().version, 1);
    let missing = session(60_000);
    assert_eq!(
        store.update(0, missing).await.unwrap(),
        UpdateOutcome::Missing
    );
}

async fn one_winner_among_racers(stores: Vec<Store>) {
    let s = session(60_000);
    stores[0].insert(s.clone(), Limits::NONE).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16usize {
        let store = stores[i % stores.len()].clone();
        let mut next = s.clone();
        next.status = SessionStatus::Done;
        next.body = format!("winner-{i}").into_bytes();
        tasks.push(tokio::spawn(
            async move { store.update(0, next).await.unwrap() },
        ));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap() == UpdateOutcome::Updated {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one completion must win");
    let stored = stores[stores.len() - 1].get(&s.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.status, SessionStatus::Done);
}

async fn delete_removes_both_keys(store: Store) {
    let s = session(60_000);
    store.insert(s.clone(), Limits::NONE).await.unwrap();
    assert!(store.delete(&s.id).await.unwrap());
    assert!(!store.delete(&s.id).await.unwrap());
    assert_eq!(store.get(&s.id).await.unwrap(), None);
    assert_eq!(store.get_by_wallet(&s.wallet_token).await.unwrap(), None);
    // The wallet token is free again.
    let mut again = session(60_000);
    again.wallet_token = s.wallet_token.clone();
    store.insert(again, Limits::NONE).await.unwrap();
}

async fn purged_after_deadline(store: Store) {
    let s = session(1_000);
    store.insert(s.clone(), Limits::NONE).await.unwrap();
    assert!(store.get(&s.id).await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(store.get(&s.id).await.unwrap(), None);
    assert_eq!(store.get_by_wallet(&s.wallet_token).await.unwrap(), None);
    let mut next = s.clone();
    next.status = SessionStatus::Done;
    assert_eq!(store.update(0, next).await.unwrap(), UpdateOutcome::Missing);
}

/// Events cross instances: a write on `writer` wakes a subscriber of `reader`.
async fn events_reach_subscribers(writer: Store, reader: Store) {
    let mut rx = reader.subscribe();
    let s = session(60_000);
    writer.insert(s.clone(), Limits::NONE).await.unwrap();
    next_event(&mut rx, &s.id).await;
    let mut next = s.clone();
    next.status = SessionStatus::Connected;
    assert_eq!(
        writer.update(0, next).await.unwrap(),
        UpdateOutcome::Updated
    );
    next_event(&mut rx, &s.id).await;
    assert_eq!(
        reader.get(&s.id).await.unwrap().unwrap().status,
        SessionStatus::Connected
    );
    assert!(writer.delete(&s.id).await.unwrap());
    next_event(&mut rx, &s.id).await;
}

fn owned(owner: &str, purge_in_ms: u64) -> StoredSession {
    StoredSession {
        owner: owner.into(),
        ..session(purge_in_ms)
    }
}

fn owner_cap(r: Result<(), StoreError>) -> (u64, u64) {
    match r {
        Err(StoreError::AtCapacity(AtCapacity::Owner { limit, retry_at_ms })) => {
            (limit, retry_at_ms)
        }
        other => panic!("per-owner cap expected, got {other:?}"),
    }
}

fn total_cap(r: Result<(), StoreError>) -> u64 {
    match r {
        Err(StoreError::AtCapacity(AtCapacity::Total { limit })) => limit,
        other => panic!("total cap expected, got {other:?}"),
    }
}

/// The caps count the sessions held, per owner and in total, stay right
/// when sessions expire by TTL, are deleted or change purge time, and hold
/// under racing inserts from two instances. `a` and `b` share one empty
/// store.
async fn caps_hold(a: Store, b: Store) {
    let limits = Limits {
        total: Some(5),
        per_owner: Some(3),
    };
    // "desk" fills its cap with short-lived sessions.
    let mut desk = Vec::new();
    for _ in 0..3 {
        let s = owned("desk", 1_000);
        a.insert(s.clone(), limits).await.unwrap();
        desk.push(s);
    }
    let first_purge = desk.iter().map(|s| s.purge_at_ms).min().unwrap();
    let (limit, retry_at) = owner_cap(b.insert(owned("desk", 60_000), limits).await);
    assert_eq!(limit, 3);
    assert_eq!(retry_at, first_purge, "retry when the first one goes");
    // Others still fit, up to the total.
    let poll = owned("poll", 60_000);
    b.insert(poll.clone(), limits).await.unwrap();
    b.insert(owned("poll", 60_000), limits).await.unwrap();
    assert_eq!(total_cap(a.insert(owned("kiosk", 60_000), limits).await), 5);
    // Deleting frees a slot, in total and for its owner.
    assert!(a.delete(&poll.id).await.unwrap());
    a.insert(owned("kiosk", 60_000), limits).await.unwrap();
    assert_eq!(total_cap(a.insert(owned("poll", 60_000), limits).await), 5);
    // Expiry by TTL frees desk's three slots without anyone deleting them.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    for _ in 0..2 {
        b.insert(owned("desk", 60_000), limits).await.unwrap();
    }
    // An update that moves the purge time (a session finished with no
    // result to keep) moves it in the count too.
    let other = owned("other", 60_000);
    a.insert(other.clone(), limits).await.unwrap();
    assert_eq!(total_cap(b.insert(owned("desk", 60_000), limits).await), 5);
    let mut finished = other.clone();
    finished.status = SessionStatus::Done;
    finished.purge_at_ms = now_ms().saturating_sub(1);
    assert_eq!(b.update(0, finished).await.unwrap(), UpdateOutcome::Updated);
    b.insert(owned("desk", 60_000), limits).await.unwrap();
    assert_eq!(total_cap(a.insert(owned("poll", 60_000), limits).await), 5);
    // Racers for the last slots: exactly as many win as there are slots.
    let racers_limits = Limits {
        total: None,
        per_owner: Some(4),
    };
    let mut tasks = Vec::new();
    for i in 0..16usize {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .insert(owned("racer", 60_000), racers_limits)
                .await
                .is_ok()
        }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 4, "the per-owner cap holds under racing inserts");
}

async fn run_suite(a: Store, b: Store) {
    a.ping().await.unwrap();
    round_trip(a.clone()).await;
    duplicates_refused(a.clone()).await;
    compare_and_set(a.clone()).await;
    one_winner_among_racers(vec![a.clone(), b.clone()]).await;
    delete_removes_both_keys(a.clone()).await;
    purged_after_deadline(a.clone()).await;
    events_reach_subscribers(a.clone(), b.clone()).await;
}

#[tokio::test]
async fn memory_store() {
    let store = MemoryStore::new();
    run_suite(Arc::new(store.clone()), Arc::new(store.clone())).await;
    // Sessions of the suite that were not deleted are still held; the sweep
    // keeps this bounded (checked in the unit tests of the memory store).
    assert!(!store.is_empty());
}

#[tokio::test]
async fn memory_store_caps() {
    let store = MemoryStore::new();
    caps_hold(Arc::new(store.clone()), Arc::new(store.clone())).await;
    assert_eq!(store.held().await.unwrap(), 5 + 4);
}

#[tokio::test]
async fn redis_store_caps() {
    let Some((url, prefix)) = test_kit::redis::test_redis("caps") else {
        return;
    };
    let a = RedisStore::connect(&url, &prefix).await.unwrap();
    let b = RedisStore::connect(&url, &prefix).await.unwrap();
    caps_hold(Arc::new(a.clone()), Arc::new(b)).await;
    // The held set counts what is really there.
    assert_eq!(a.held().await.unwrap(), 5 + 4);
    // And holds no session whose key expired by TTL: the keys agree.
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}s:*"))
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(keys.len(), 5 + 4);
    // The counting sets expire with their last member (no key lives
    // forever once the sessions are gone).
    for set in ["live".to_owned(), format!("o:{}", hex::encode("racer"))] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}{set}"))
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(ttl > 50_000 && ttl <= 60_000, "{set}: {ttl}");
    }
}

#[tokio::test]
async fn redis_store() {
    let Some((url, prefix)) = test_kit::redis::test_redis("store") else {
        return;
    };
    // Two connections with one prefix behave as two daemon instances.
    let a = RedisStore::connect(&url, &prefix).await.unwrap();
    let b = RedisStore::connect(&url, &prefix).await.unwrap();
    run_suite(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test]
async fn redis_prefixes_are_isolated() {
    let Some(url) = test_kit::services::redis_url() else {
        return;
    };
    let a = RedisStore::connect(&url, &test_kit::redis::prefix("isolated"))
        .await
        .unwrap();
    let b = RedisStore::connect(&url, &test_kit::redis::prefix("isolated"))
        .await
        .unwrap();
    let s = session(60_000);
    a.insert(s.clone(), Limits::NONE).await.unwrap();
    assert_eq!(b.get(&s.id).await.unwrap(), None);
    assert!(a.get(&s.id).await.unwrap().is_some());
}
