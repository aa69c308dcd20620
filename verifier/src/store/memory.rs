//! In-memory [`SessionStore`]: the default for one daemon instance.
//!
//! Two maps behind one mutex (so the wallet index and the sessions never
//! disagree); the mutex is held only for map operations, never across an
//! await. Expired sessions are dropped lazily on read and swept at most every
//! few seconds on insert, which keeps memory flat under load without a
//! background task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use super::{
    now_ms, SessionId, SessionStore, StoreError, StoredSession, UpdateOutcome, WalletToken,
};

/// How often, at most, an insert sweeps out purgeable sessions.
const SWEEP_INTERVAL_MS: u64 = 5_000;
/// Capacity of the change channel; lagging receivers re-read.
const EVENT_CAPACITY: usize = 1024;

#[derive(Default)]
struct Tables {
    sessions: HashMap<SessionId, StoredSession>,
    wallets: HashMap<WalletToken, SessionId>,
    last_sweep_ms: u64,
}

impl Tables {
    fn remove(&mut self, id: &SessionId) -> bool {
        match self.sessions.remove(id) {
            Some(s) => {
                self.wallets.remove(&s.wallet_token);
                true
            }
            None => false,
        }
    }

    fn sweep(&mut self, now: u64) {
        let dead: Vec<SessionId> = self
            .sessions
            .values()
            .filter(|s| s.is_purgeable(now))
            .map(|s| s.id.clone())
            .collect();
        for id in dead {
            self.remove(&id);
        }
        self.last_sweep_ms = now;
    }

    fn live(&mut self, id: &SessionId, now: u64) -> Option<&StoredSession> {
        if self.sessions.get(id).is_some_and(|s| s.is_purgeable(now)) {
            self.remove(id);
        }
        self.sessions.get(id)
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
    fn insert(&self, session: StoredSession) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let now = now_ms();
            let id = session.id.clone();
            {
                let mut t = self.lock();
                if now.saturating_sub(t.last_sweep_ms) >= SWEEP_INTERVAL_MS {
                    t.sweep(now);
                }
                if t.live(&session.id, now).is_some() {
                    return Err(StoreError::Duplicate);
                }
                if let Some(other) = t.wallets.get(&session.wallet_token).cloned() {
                    if t.live(&other, now).is_some() {
                        return Err(StoreError::Duplicate);
                    }
                }
                t.wallets
                    .insert(session.wallet_token.clone(), session.id.clone());
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
                let Some(current) = t.live(&next.id, now_ms()) else {
                    return Ok(UpdateOutcome::Missing);
                };
                if current.version != expected_version {
                    return Ok(UpdateOutcome::Conflict);
                }
                // The wallet token is a lookup key; it never changes.
                next.wallet_token = current.wallet_token.clone();
                next.version = expected_version + 1;
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
            body: Vec::new(),
        }
    }

    #[tokio::test]
    async fn sweep_drops_purgeable_sessions_and_their_wallet_index() {
        let store = MemoryStore::new();
        let now = now_ms();
        let dead = session(now.saturating_sub(1));
        store.lock().sessions.insert(dead.id.clone(), dead.clone());
        store
            .lock()
            .wallets
            .insert(dead.wallet_token.clone(), dead.id.clone());
        store.insert(session(now + 60_000)).await.unwrap();
        // The first insert sweeps (no sweep happened yet).
        assert_eq!(store.len(), 1);
        assert!(!store.lock().wallets.contains_key(&dead.wallet_token));
    }
}
