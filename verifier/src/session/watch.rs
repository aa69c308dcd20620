//! Status streams: the status of a session now and at every change, by
//! requestor token or page token, for server-sent events.
//!
//! Streams are not bound by the edge's header and body timeouts, so they
//! are capped here: at most [`StreamLimits::per_session`] at once per
//! session and [`StreamLimits::total`] in all (a fraction of the edge's
//! connection cap, so that streams cannot starve `/healthz` or
//! `POST /session`), each ending after [`StreamLimits::max_lifetime`] (a
//! browser's `EventSource` reconnects). A [`StreamSlot`] holds the place
//! and gives it back when it drops: when the stream ends, or when the
//! server drops it because the client went away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, Stream};
use tokio::sync::broadcast;

use super::{LoadedSession, LookupError, Sessions, WATCH_RECHECK};
use crate::store::{now_ms, PageToken, RequestorToken, SessionId, SessionStatus};

impl Sessions {
    /// The session's status now and at every change, ending after a final
    /// status (or when the session disappears). For server-sent events.
    pub fn watch(
        &self,
        token: &RequestorToken,
    ) -> impl Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static {
        self.watch_handle(
            Handle::Requestor(token.clone()),
            SessionId::for_token(token),
        )
    }

    /// [`Sessions::watch`] within the stream caps: refused beyond them,
    /// the slot held until the stream drops.
    pub fn watch_limited(
        &self,
        token: &RequestorToken,
    ) -> Result<
        impl Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static,
        StreamRefused,
    > {
        let id = SessionId::for_token(token);
        let slot = self.stream_slot(&id)?;
        Ok(self.watch_slot(Handle::Requestor(token.clone()), id, Some(slot)))
    }

    /// [`Sessions::watch_page`] within the stream caps.
    pub async fn watch_page_limited(
        &self,
        token: &PageToken,
    ) -> Result<impl Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static, WatchError>
    {
        let loaded = self.load_page(token).await?;
        let id = loaded.terms().id().clone();
        let slot = self.stream_slot(&id)?;
        Ok(self.watch_slot(Handle::Page(token.clone()), id, Some(slot)))
    }

    /// Take a status-stream place for session `id`, or say which cap is
    /// reached.
    pub fn stream_slot(&self, id: &SessionId) -> Result<StreamSlot, StreamRefused> {
        self.inner.streams.acquire(id)
    }

    /// Set the stream caps (the daemon does, from its configuration;
    /// otherwise [`StreamLimits::default`]). Applies to streams opened
    /// from now on.
    pub fn set_stream_limits(&self, limits: StreamLimits) {
        let s = &self.inner.streams;
        s.per_session
            .store(limits.per_session.max(1), Ordering::Relaxed);
        s.total.store(
            limits.total.unwrap_or(DEFAULT_TOTAL).max(1),
            Ordering::Relaxed,
        );
        s.lifetime_ms.store(
            u64::try_from(limits.max_lifetime.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            Ordering::Relaxed,
        );
    }

    pub(super) fn watch_handle(
        &self,
        handle: Handle,
        id: SessionId,
    ) -> impl Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static {
        self.watch_slot(handle, id, None)
    }

    fn watch_slot(
        &self,
        handle: Handle,
        id: SessionId,
        slot: Option<StreamSlot>,
    ) -> impl Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static {
        struct State {
            _slot: Option<StreamSlot>,
            ends: Instant,
            sessions: Sessions,
            handle: Handle,
            id: SessionId,
            events: broadcast::Receiver<SessionId>,
            last: Option<SessionStatus>,
            done: bool,
            closing: tokio::sync::watch::Receiver<bool>,
        }
        let lifetime =
            Duration::from_millis(self.inner.streams.lifetime_ms.load(Ordering::Relaxed));
        let state = State {
            _slot: slot,
            ends: Instant::now() + lifetime,
            sessions: self.clone(),
            handle,
            id,
            // Subscribe before the first read so that no change between the
            // read and the wait is lost.
            events: self.inner.store.subscribe(),
            last: None,
            done: false,
            closing: self.inner.closing.subscribe(),
        };
        stream::unfold(state, |mut st| async move {
            if st.done || *st.closing.borrow() || Instant::now() >= st.ends {
                return None;
            }
            loop {
                let loaded = match st.handle.load(&st.sessions).await {
                    Ok(l) => l,
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                };
                let status = loaded.status();
                if st.last != Some(status) {
                    st.last = Some(status);
                    st.done = status.is_final();
                    return Some((Ok(status), st));
                }
                let until_deadline = Duration::from_millis(
                    loaded.terms().deadline_ms().saturating_sub(now_ms()) + 5,
                );
                let left = st.ends.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    // Its maximum lifetime: the client reconnects.
                    return None;
                }
                let wait = WATCH_RECHECK.min(until_deadline).min(left);
                let id = st.id.clone();
                let events = &mut st.events;
                let closing = &mut st.closing;
                let changed = tokio::time::timeout(wait, async {
                    loop {
                        match events.recv().await {
                            Ok(changed) if changed == id => return,
                            Ok(_) => continue,
                            // Lagged: something may have changed; re-read.
                            Err(broadcast::error::RecvError::Lagged(_)) => return,
                            Err(broadcast::error::RecvError::Closed) => {
                                tokio::time::sleep(WATCH_RECHECK).await;
                                return;
                            }
                        }
                    }
                });
                tokio::select! {
                    _ = changed => {}
                    _ = closing.wait_for(|c| *c) => return None,
                }
            }
        })
    }
}

/// What a status stream re-reads the session by.
pub(super) enum Handle {
    Requestor(RequestorToken),
    Page(PageToken),
}

impl Handle {
    async fn load(&self, sessions: &Sessions) -> Result<LoadedSession, LookupError> {
        match self {
            Self::Requestor(t) => sessions.load(t).await,
            Self::Page(t) => sessions.load_page(t).await,
        }
    }
}

/// Caps on status streams (server-sent events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams open at once for one session (beyond: `429`).
    pub per_session: usize,
    /// Streams open at once in all (beyond: `503`); `None`: a quarter of
    /// the connection cap (the daemon), or [`DEFAULT_TOTAL`].
    pub total: Option<usize>,
    /// Longest a stream stays open; the client reconnects after it.
    pub max_lifetime: Duration,
}

/// Default streams per session.
pub const DEFAULT_PER_SESSION: usize = 4;
/// Default streams in all: a quarter of the default connection cap.
pub const DEFAULT_TOTAL: usize = service_edge::DEFAULT_MAX_CONNECTIONS / 4;
/// Default longest stream.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(600);

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            per_session: DEFAULT_PER_SESSION,
            total: None,
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }
}

/// Why no stream was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamRefused {
    /// The session has its maximum of streams open.
    #[error("this session already has {0} status streams open")]
    PerSession(usize),
    /// The verifier has its maximum of streams open.
    #[error("{0} status streams are open, the most this verifier serves")]
    Total(usize),
}

/// Opening a page stream failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The page token opens no session (or the store failed).
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// A stream cap is reached.
    #[error(transparent)]
    Refused(#[from] StreamRefused),
}

/// Open streams, per session and in total, with their caps.
pub(super) struct StreamSlots {
    open: Mutex<HashMap<SessionId, usize>>,
    all: Arc<AtomicUsize>,
    per_session: AtomicUsize,
    total: AtomicUsize,
    lifetime_ms: AtomicU64,
}

impl Default for StreamSlots {
    fn default() -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
            all: Arc::new(AtomicUsize::new(0)),
            per_session: AtomicUsize::new(DEFAULT_PER_SESSION),
            total: AtomicUsize::new(DEFAULT_TOTAL),
            lifetime_ms: AtomicU64::new(DEFAULT_MAX_LIFETIME.as_millis() as u64),
        }
    }
}

impl StreamSlots {
    fn acquire(self: &Arc<Self>, id: &SessionId) -> Result<StreamSlot, StreamRefused> {
        let (per, total) = (
            self.per_session.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        );
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let here = open.get(id).copied().unwrap_or(0);
        if here >= per {
            return Err(StreamRefused::PerSession(per));
        }
        // Under the lock, so that two racing opens cannot both pass.
        if self.all.load(Ordering::Relaxed) >= total {
            return Err(StreamRefused::Total(total));
        }
        self.all.fetch_add(1, Ordering::Relaxed);
        open.insert(id.clone(), here + 1);
        Ok(StreamSlot {
            slots: self.clone(),
            id: id.clone(),
        })
    }
}

/// A held status-stream place; dropping it gives the place back.
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    id: SessionId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.id);
            }
        }
        self.slots.all.fetch_sub(1, Ordering::Relaxed);
    }
}
