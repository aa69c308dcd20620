//! Status streams: the status of a session now and at every change, by
//! requestor token or page token, for server-sent events.

use std::time::Duration;

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

    pub(super) fn watch_handle(
        &self,
        handle: Handle,
        id: SessionId,
    ) -> impl Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static {
        struct State {
            sessions: Sessions,
            handle: Handle,
            id: SessionId,
            events: broadcast::Receiver<SessionId>,
            last: Option<SessionStatus>,
            done: bool,
            closing: tokio::sync::watch::Receiver<bool>,
        }
        let state = State {
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
            if st.done || *st.closing.borrow() {
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
                let until_deadline =
                    Duration::from_millis(loaded.body.deadline_ms.saturating_sub(now_ms()) + 5);
                let wait = WATCH_RECHECK.min(until_deadline);
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
