//! The one place a session changes: load its [`State`], apply a transition,
//! write the next state with compare-and-set, and on a conflict (another
//! task or instance wrote first) load again and decide again, a bounded
//! number of times.
//!
//! Every change of the session manager (connect, cancel, decline, complete,
//! count a refusal, time out) and every read (which applies the deadline)
//! goes through [`run`], on any [`SessionStore`] (memory or Redis), so the
//! guarantees are proven once:
//! - the transition sees the state as stored, past its deadline already
//!   TIMEOUT ([`State::expire`]);
//! - its next state is written only if the stored version is still the
//!   one it saw: of concurrent transitions on one session, each write is
//!   based on the state before it, so exactly one of several racing
//!   completions wins and no counted refusal is lost;
//! - a refusal writes nothing: the session stays as it was;
//! - a next state equal to the stored one writes nothing either (reads,
//!   a wallet fetching the request again).

use super::state::{self, State, Terms};
use crate::store::{
    now_ms, SessionId, SessionStatus, SessionStore, StoreError, UpdateOutcome, WalletToken,
};

/// Writes tried before giving up: each failed one means another writer
/// succeeded, so this is only reached under pathological contention.
pub const ATTEMPTS: usize = 8;

/// Which lookup key finds the session.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// The store key (from the requestor token).
    Id(&'a SessionId),
    /// The wallet token (from the QR code or the page token).
    Wallet(&'a WalletToken),
}

/// Why a transition was not applied, besides its own refusal.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// No live session under the key.
    #[error("session not found")]
    NotFound,
    /// The stored session does not decode into a state.
    #[error("stored session is corrupt")]
    Corrupt,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// [`ATTEMPTS`] writes lost to other writers.
    #[error("the session changed too often; retry")]
    Contention,
}

/// What [`run`] did.
#[derive(Debug)]
pub struct Applied<T> {
    /// The transition's answer.
    pub answer: T,
    /// The final status written, when this transition finished the session.
    pub finished: Option<SessionStatus>,
}

/// Apply `f` to the session under `key` and write its next state (see the
/// module docs). `f` gets the session's terms and its state (consumed) and
/// returns the next state with an answer, or a refusal. It may run more than
/// once (after a conflict), each time on the state as stored then. A
/// session finished by the write is kept `result_ttl_ms` from now.
pub async fn run<T, E>(
    store: &dyn SessionStore,
    result_ttl_ms: u64,
    key: Key<'_>,
    f: impl Fn(&Terms, State) -> Result<(State, T), E>,
) -> Result<Applied<T>, E>
where
    E: From<TransitionError>,
{
    for _ in 0..ATTEMPTS {
        let stored = match key {
            Key::Id(id) => store.get(id).await,
            Key::Wallet(wallet) => store.get_by_wallet(wallet).await,
        }
        .map_err(TransitionError::Store)?
        .ok_or(TransitionError::NotFound)?;
        let (terms, current) = state::decode(&stored).ok_or(TransitionError::Corrupt)?;
        let now = now_ms();
        let (next, answer) = f(&terms, current.clone().expire(&terms, now))?;
        if next == current {
            return Ok(Applied {
                answer,
                finished: None,
            });
        }
        let finishing = next.status().is_final() && !current.status().is_final();
        let mut record = stored.clone();
        record.status = next.status();
        record.body = state::encode(&terms, &next).map_err(TransitionError::Store)?;
        if finishing {
            // The result outlives the deadline by the result TTL from now.
            record.purge_at_ms = now.saturating_add(result_ttl_ms);
        }
        match store
            .update(stored.version, record)
            .await
            .map_err(TransitionError::Store)?
        {
            UpdateOutcome::Updated => {
                return Ok(Applied {
                    answer,
                    finished: finishing.then(|| next.status()),
                })
            }
            // Someone wrote first: decide again on what they wrote.
            UpdateOutcome::Conflict => continue,
            UpdateOutcome::Missing => return Err(TransitionError::NotFound.into()),
        }
    }
    Err(TransitionError::Contention.into())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::session::state::NewTerms;
    use crate::store::{Limits, MemoryStore, RedisStore, RequestorToken, StoredSession};
    use crate::verify::Reason;

    #[derive(Debug, thiserror::Error)]
    enum Refused {
        #[error("refused: session is {0}")]
        Final(SessionStatus),
        #[error(transparent)]
        Machine(#[from] TransitionError),
    }

    type Store = Arc<dyn SessionStore>;

    const TTL: u64 = 60_000;

    /// A new session in `store`, due at `deadline_ms`.
    async fn insert(store: &Store, deadline_ms: u64) -> Terms {
        let today = time::OffsetDateTime::now_utc().date();
        let request = wallet_core::request::demo::parking_request(today).unwrap();
        let terms = Terms::new(NewTerms {
            id: SessionId::for_token(&RequestorToken::generate()),
            wallet_token: WalletToken::generate(),
            verifier: "demo.parking".parse().unwrap(),
            request,
            nonce: wallet_core::wire::Nonce::random(&mut rand_core::OsRng),
            timestamp: None,
            deadline_ms,
            requestor: "desk".into(),
            page: "digest".into(),
        });
        let record = StoredSession {
            id: terms.id().clone(),
            wallet_token: terms.wallet_token().clone(),
            status: SessionStatus::Initialized,
            version: 0,
            purge_at_ms: deadline_ms + TTL,
            owner: "desk".into(),
            body: state::encode(&terms, &State::new()).unwrap(),
        };
        store.insert(record, Limits::NONE).await.unwrap();
        terms
    }

    async fn stored(store: &Store, terms: &Terms) -> StoredSession {
        store.get(terms.id()).await.unwrap().unwrap()
    }

    async fn state_of(store: &Store, terms: &Terms) -> State {
        state::decode(&stored(store, terms).await).unwrap().1
    }

    fn cancel(terms: &Terms, s: State) -> Result<(State, ()), Refused> {
        s.cancel(terms).map(|n| (n, ())).map_err(Refused::Final)
    }

    fn refuse(max: u32) -> impl Fn(&Terms, State) -> Result<(State, ()), Refused> + Clone {
        move |terms, s| {
            s.refuse(terms, max, Reason::Challenge, "wrong nonce")
                .map(|n| (n, ()))
                .map_err(Refused::Final)
        }
    }

    fn later() -> u64 {
        now_ms() + 60_000
    }

    /// Racers on one session, spread over `stores` (instances): exactly one
    /// finishing transition wins, the rest are refused with its status.
    async fn one_of_racing_transitions_wins(stores: &[Store]) {
        let terms = insert(&stores[0], later()).await;
        let mut tasks = Vec::new();
        for i in 0..16usize {
            let store = stores[i % stores.len()].clone();
            let (id, wallet) = (terms.id().clone(), terms.wallet_token().clone());
            tasks.push(tokio::spawn(async move {
                // Half cancel by store key, half fail the session by
                // wallet token (one refusal is the maximum).
                if i % 2 == 0 {
                    run(store.as_ref(), TTL, Key::Id(&id), cancel).await
                } else {
                    run(store.as_ref(), TTL, Key::Wallet(&wallet), refuse(1)).await
                }
            }));
        }
        let mut won = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(applied) => won.push(applied.finished.unwrap()),
                Err(Refused::Final(s)) => assert!(s.is_final()),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(won.len(), 1, "exactly one transition finishes the session");
        let last = stored(&stores[stores.len() - 1], &terms).await;
        assert_eq!(last.version, 1, "one write only");
        assert_eq!(last.status, won[0]);
        assert!(
            last.purge_at_ms >= now_ms() + TTL - 5_000,
            "kept for the result TTL"
        );
    }

    /// Concurrent counted refusals: none is lost (each write is based on
    /// the count before it).
    async fn racing_refusals_are_all_counted(stores: &[Store]) {
        let terms = insert(&stores[0], later()).await;
        let mut tasks = Vec::new();
        for i in 0..12usize {
            let store = stores[i % stores.len()].clone();
            let wallet = terms.wallet_token().clone();
            tasks.push(tokio::spawn(async move {
                run(store.as_ref(), TTL, Key::Wallet(&wallet), refuse(100)).await
            }));
        }
        let mut counted = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(applied) => {
                    assert_eq!(applied.finished, None);
                    counted += 1;
                }
                // Allowed under contention, but then it wrote nothing.
                Err(Refused::Machine(TransitionError::Contention)) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(counted > 0);
        match state_of(&stores[0], &terms).await {
            State::Initialized(open) => assert_eq!(open.wrong_answers(), counted),
            other => panic!("still open expected, got {other:?}"),
        }
        assert_eq!(stored(&stores[0], &terms).await.version, u64::from(counted));
    }

    /// A refused transition writes nothing: version, status and body stay.
    async fn refusal_leaves_the_state_unchanged(store: &Store) {
        // An open session refused by the transition itself.
        let terms = insert(store, later()).await;
        let before = stored(store, &terms).await;
        let refused: Result<Applied<()>, Refused> =
            run(store.as_ref(), TTL, Key::Id(terms.id()), |_, s| {
                Err(Refused::Final(s.status()))
            })
            .await;
        assert!(matches!(
            refused,
            Err(Refused::Final(SessionStatus::Initialized))
        ));
        assert_eq!(stored(store, &terms).await, before);
        // A finished session refuses every transition, unchanged.
        run(store.as_ref(), TTL, Key::Id(terms.id()), cancel)
            .await
            .unwrap();
        let finished = stored(store, &terms).await;
        assert_eq!(finished.status, SessionStatus::Cancelled);
        let again = run(store.as_ref(), TTL, Key::Id(terms.id()), cancel).await;
        assert!(matches!(
            again,
            Err(Refused::Final(SessionStatus::Cancelled))
        ));
        let connect = run(
            store.as_ref(),
            TTL,
            Key::Wallet(terms.wallet_token()),
            |_, s| s.connect().map(|n| (n, ())).map_err(Refused::Final),
        )
        .await;
        assert!(matches!(
            connect,
            Err(Refused::Final(SessionStatus::Cancelled))
        ));
        let counted = run(
            store.as_ref(),
            TTL,
            Key::Wallet(terms.wallet_token()),
            refuse(1),
        )
        .await;
        assert!(matches!(
            counted,
            Err(Refused::Final(SessionStatus::Cancelled))
        ));
        assert_eq!(stored(store, &terms).await, finished);
        // Connecting twice writes once.
        let terms = insert(store, later()).await;
        for _ in 0..2 {
            run(store.as_ref(), TTL, Key::Id(terms.id()), |_, s| {
                s.connect().map(|n| (n, ())).map_err(Refused::Final)
            })
            .await
            .unwrap();
        }
        let connected = stored(store, &terms).await;
        assert_eq!(
            (connected.status, connected.version),
            (SessionStatus::Connected, 1)
        );
    }

    /// Past its deadline a session is TIMEOUT to every transition; a read
    /// writes it, a refused transition does not.
    async fn deadline_is_applied_first(store: &Store) {
        let terms = insert(store, now_ms().saturating_sub(1)).await;
        let before = stored(store, &terms).await;
        let complete = run(store.as_ref(), TTL, Key::Id(terms.id()), cancel).await;
        assert!(matches!(
            complete,
            Err(Refused::Final(SessionStatus::Timeout))
        ));
        assert_eq!(
            stored(store, &terms).await,
            before,
            "refused: nothing written"
        );
        let read: Applied<SessionStatus> =
            run(store.as_ref(), TTL, Key::Id(terms.id()), |_, s: State| {
                Ok::<_, Refused>((s.clone(), s.status()))
            })
            .await
            .unwrap();
        assert_eq!(read.answer, SessionStatus::Timeout);
        assert_eq!(read.finished, Some(SessionStatus::Timeout));
        let after = stored(store, &terms).await;
        assert_eq!((after.status, after.version), (SessionStatus::Timeout, 1));
    }

    async fn missing_and_corrupt(store: &Store) {
        let unknown = SessionId::for_token(&RequestorToken::generate());
        let r = run(store.as_ref(), TTL, Key::Id(&unknown), cancel).await;
        assert!(matches!(
            r,
            Err(Refused::Machine(TransitionError::NotFound))
        ));
        let terms = insert(store, later()).await;
        let mut broken = stored(store, &terms).await;
        // A final status without its result contradicts itself.
        broken.status = SessionStatus::Done;
        store.update(0, broken).await.unwrap();
        let r = run(store.as_ref(), TTL, Key::Id(terms.id()), cancel).await;
        assert!(matches!(r, Err(Refused::Machine(TransitionError::Corrupt))));
    }

    async fn suite(stores: &[Store]) {
        one_of_racing_transitions_wins(stores).await;
        racing_refusals_are_all_counted(stores).await;
        refusal_leaves_the_state_unchanged(&stores[0]).await;
        deadline_is_applied_first(&stores[0]).await;
        missing_and_corrupt(&stores[0]).await;
    }

    /// A memory store that yields to the scheduler before every operation,
    /// so that racing tasks interleave between their read and their write
    /// (the plain memory store answers without ever yielding).
    struct Yielding(MemoryStore);

    impl SessionStore for Yielding {
        fn insert(
            &self,
            session: StoredSession,
            limits: Limits,
        ) -> futures::future::BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async move {
                tokio::task::yield_now().await;
                self.0.insert(session, limits).await
            })
        }
        fn get<'a>(
            &'a self,
            id: &'a SessionId,
        ) -> futures::future::BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
            Box::pin(async move {
                tokio::task::yield_now().await;
                self.0.get(id).await
            })
        }
        fn get_by_wallet<'a>(
            &'a self,
            wallet: &'a WalletToken,
        ) -> futures::future::BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
            Box::pin(async move {
                tokio::task::yield_now().await;
                self.0.get_by_wallet(wallet).await
            })
        }
        fn update(
            &self,
            expected_version: u64,
            next: StoredSession,
        ) -> futures::future::BoxFuture<'_, Result<UpdateOutcome, StoreError>> {
            Box::pin(async move {
                tokio::task::yield_now().await;
                self.0.update(expected_version, next).await
            })
        }
        fn delete<'a>(
            &'a self,
            id: &'a SessionId,
        ) -> futures::future::BoxFuture<'a, Result<bool, StoreError>> {
            self.0.delete(id)
        }
        fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SessionId> {
            self.0.subscribe()
        }
        fn held(&self) -> futures::future::BoxFuture<'_, Result<u64, StoreError>> {
            self.0.held()
        }
        fn ping(&self) -> futures::future::BoxFuture<'_, Result<(), StoreError>> {
            self.0.ping()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn transitions_on_the_memory_store() {
        let store: Store = Arc::new(MemoryStore::new());
        suite(&[store.clone(), store]).await;
        let interleaving: Store = Arc::new(Yielding(MemoryStore::new()));
        suite(&[interleaving.clone(), interleaving]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn transitions_on_redis_across_instances() {
        let Ok(url) = std::env::var("KENMERK_TEST_REDIS") else {
            println!("skipped: KENMERK_TEST_REDIS not set");
            return;
        };
        let prefix = format!("kenmerk-test-transition:{}:", WalletToken::generate());
        // Two connections with one prefix behave as two daemon instances.
        let a: Store = Arc::new(RedisStore::connect(&url, &prefix).await.unwrap());
        let b: Store = Arc::new(RedisStore::connect(&url, &prefix).await.unwrap());
        suite(&[a, b]).await;
    }
}
