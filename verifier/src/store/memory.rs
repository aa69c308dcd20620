//! In-memory [`SessionStore`]: the default for one daemon instance.
//!
//! Maps behind one mutex (so the wallet index, the expiry index and the
//! sessions never disagree); the mutex is held only for map operations,
//! never across an await. Sessions are ordered by purge time, so every
//! insert drops the ones that are due in `O(k log n)` for `k` dropped: memory
//! stays flat under load without a background task, and the caps of
//! [`Limits`] count exactly the sessions that are still held.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use super::{
    now_ms, AtCapacity, Limits, SessionId, SessionStore, StoreError, StoredSession, UpdateOutcome,
    WalletToken,
};

/// Capacity of the change channel; lagging receivers re-read.
const EVENT_CAPACITY: usize = 1024;

/// Sessions of one owner (or all), by purge time.
type ByPurge = BTreeSet<(u64, SessionId)>;

#[derive(Default)]
struct Tables {
    sessions: HashMap<SessionId, StoredSession>,
    wallets: HashMap<WalletToken, SessionId>,
    expiry: ByPurge,
    owners: HashMap<String, ByPurge>,
}

impl Tables {
    fn remove(&mut self, id: &SessionId) -> bool {
        match self.sessions.remove(id) {
            Some(s) => {
                self.wallets.remove(&s.wallet_token);
                self.unindex(&s);
                true
            }
            None => false,
        }
    }

    fn index(&mut self, s: &StoredSession) {
        self.expiry.insert((s.purge_at_ms, s.id.clone()));
        self.owners
            .entry(s.owner.clone())
            .or_default()
            .insert((s.purge_at_ms, s.id.clone()));
    }

    fn unindex(&mut self, s: &StoredSession) {
        let key = (s.purge_at_ms, s.id.clone());
        self.expiry.remove(&key);
        if let Some(set) = self.owners.get_mut(&s.owner) {
            set.remove(&key);
            if set.is_empty() {
                self.owners.remove(&s.owner);
            }
        }
    }

    /// Drop every session whose purge time has come.
    fn sweep(&mut self, now: u64) {
        while let Some((purge, id)) = self.expiry.first().cloned() {
            if purge > now {
                break;
            }
            if !self.remove(&id) {
                // Not in the map (cannot happen; keeps the loop finite).
                self.expiry.remove(&(purge, id));
            }
        }
    }

    fn live(&mut self, id: &SessionId, now: u64) -> Option<&StoredSession> {
        if self.sessions.get(id).is_some_and(|s| s.is_purgeable(now)) {
            self.remove(id);
        }
        self.sessions.get(id)
    }

    /// Whether one more session of `owner` fits `limits` (after a sweep).
    fn admit(&self, owner: &str, limits: Limits) -> Result<(), AtCapacity> {
        if let Some(limit) = limits.per_owner {
            if let Some(held) = self.owners.get(owner) {
                if held.len() as u64 >= limit {
                    let retry_at_ms = held.first().map_or(0, |(purge, _)| *purge);
                    return Err(AtCapacity::Owner { limit, retry_at_ms });
                }
            }
        }
        if let Some(limit) = limits.total {
            if self.sessions.len() as u64 >= limit {
                return Err(AtCapacity::Total { limit });
            }
        }
        Ok(())
    }
}

/// Sessions in this process's memory. Cheap to clone (shared state).
#[derive(Clone)]
pub struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
    events: broadcast::Sender<SessionId>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Self {
            tables: Arc::new(Mutex::new(Tables::default())),
            events,
        }
    }

    /// Number of sessions held (live or not yet swept); for tests and metrics.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters (each operation is a few map calls), so a
        // poisoned lock is still usable.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn announce(&self, id: SessionId) {
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(id);
    }
}

impl SessionStore for MemoryStore {
    fn insert(
        &self,
        session: StoredSession,
        limits: Limits,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let now = now_ms();
            let id = session.id.clone();
            {
                let mut t = self.lock();
                t.sweep(now);
                if t.live(&session.id, now).is_some() {
                    return Err(StoreError::Duplicate);
                }
                if let Some(other) = t.wallets.get(&session.wallet_token).cloned() {
                    if t.live(&other, now).is_some() {
                        return Err(StoreError::Duplicate);
                    }
                }
                t.admit(&session.owner, limits)
                    .map_err(StoreError::AtCapacity)?;
                t.wallets
                    .insert(session.wallet_token.clone(), session.id.clone());
                t.index(&session);
                t.sessions.insert(session.id.clone(), session);
            }
            self.announce(id);
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move { Ok(self.lock().live(id, now_ms()).cloned()) })
    }

    fn get_by_wallet<'a>(
        &'a self,
        wallet: &'a WalletToken,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let mut t = self.lock();
            let Some(id) = t.wallets.get(wallet).cloned() else {
                return Ok(None);
            };
            Ok(t.live(&id, now_ms()).cloned())
        })
    }

    fn update(
        &self,
        expected_version: u64,
        mut next: StoredSession,
    ) -> BoxFuture<'_, Result<UpdateOutcome, StoreError>> {
        Box::pin(async move {
            let id = next.id.clone();
            {
                let mut t = self.lock();
                let Some(current) = t.live(&next.id, now_ms()).cloned() else {
                    return Ok(UpdateOutcome::Missing);
                };
                if current.version != expected_version {
                    return Ok(UpdateOutcome::Conflict);
                }
                // The wallet token is a lookup key and the owner is what the
                // caps count; neither changes.
                next.wallet_token = current.wallet_token.clone();
                next.owner = current.owner.clone();
                next.version = expected_version + 1;
                t.unindex(&current);
                t.index(&next);
                t.sessions.insert(next.id.clone(), next);
            }
            self.announce(id);
            Ok(UpdateOutcome::Updated)
        })
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let removed = self.lock().remove(id);
            if removed {
                self.announce(id.clone());
            }
            Ok(removed)
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<SessionId> {
        self.events.subscribe()
    }

    fn held(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut t = self.lock();
            t.sweep(now_ms());
            Ok(t.sessions.len() as u64)
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RequestorToken, SessionStatus};

    fn session(purge_at_ms: u64) -> StoredSession {
        StoredSession {
            id: SessionId::for_token(&RequestorToken::generate()),
            wallet_token: WalletToken::generate(),
            status: SessionStatus::Initialized,
            version: 0,
            purge_at_ms,
            owner: "desk".into(),
            body: Vec::new(),
        }
    }

    #[tokio::test]
    async fn sweep_drops_purgeable_sessions_and_their_wallet_index() {
        let store = MemoryStore::new();
        let now = now_ms();
        let dead = session(now.saturating_sub(1));
        {
            let mut t = store.lock();
            t.sessions.insert(dead.id.clone(), dead.clone());
            t.wallets.insert(dead.wallet_token.clone(), dead.id.clone());
            t.index(&dead);
        }
        store
            .insert(session(now + 60_000), Limits::NONE)
            .await
            .unwrap();
        // Every insert sweeps what is due.
        assert_eq!(store.len(), 1);
        assert!(!store.lock().wallets.contains_key(&dead.wallet_token));
        assert!(!store.lock().owners["desk"]
            .iter()
            .any(|(_, id)| *id == dead.id));
        assert_eq!(store.lock().expiry.len(), 1);
    }

    #[tokio::test]
    async fn caps_count_held_sessions_and_free_with_purge() {
        let store = MemoryStore::new();
        let now = now_ms();
        let limits = Limits {
            total: Some(3),
            per_owner: Some(2),
        };
        store.insert(session(now + 60_000), limits).await.unwrap();
        store.insert(session(now + 30_000), limits).await.unwrap();
        match store.insert(session(now + 60_000), limits).await {
            Err(StoreError::AtCapacity(AtCapacity::Owner { limit, retry_at_ms })) => {
                assert_eq!(limit, 2);
                assert_eq!(retry_at_ms, now + 30_000, "the earliest purge frees a slot");
            }
            other => panic!("per-owner cap expected, got {other:?}"),
        }
        let mut other = session(now + 60_000);
        other.owner = "poll".into();
        store.insert(other, limits).await.unwrap();
        let mut third = session(now + 60_000);
        third.owner = "kiosk".into();
        assert!(matches!(
            store.insert(third.clone(), limits).await,
            Err(StoreError::AtCapacity(AtCapacity::Total { limit: 3 }))
        ));
        // A session whose purge time passes frees its slot.
        let short = {
            let t = store.lock();
            t.owners["desk"].first().unwrap().1.clone()
        };
        let mut expiring = store.get(&short).await.unwrap().unwrap();
        expiring.purge_at_ms = now.saturating_sub(1);
        assert_eq!(
            store.update(0, expiring).await.unwrap(),
            UpdateOutcome::Updated
        );
        store.insert(third, limits).await.unwrap();
        assert_eq!(store.len(), 3);
    }
}
