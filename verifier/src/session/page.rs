//! The session page's view of a session, by [`PageToken`]: status, status
//! stream and result summary, never the requestor's handles.

use futures::stream::Stream;

use super::transition::Key;
use super::watch::Handle;
use super::{LoadedSession, LookupError, SessionStatus, Sessions, StoredResult};
use crate::store::PageToken;

impl Sessions {
    /// Load by page token: the wallet token it carries finds the session,
    /// then its secret part must match the session's (constant time). A
    /// wrong secret is [`LookupError::NotFound`], like an unknown session.
    pub async fn load_page(&self, token: &PageToken) -> Result<LoadedSession, LookupError> {
        self.transition(
            Key::Wallet(token.wallet_token()),
            |terms, state| match terms.page_digest() {
                Some(digest) if token.matches(digest) => Ok(LoadedSession::read(terms, state)),
                _ => Err(LookupError::NotFound),
            },
        )
        .await
    }

    /// The result of a final session, for the page's summary.
    pub async fn page_result(&self, token: &PageToken) -> Result<StoredResult, LookupError> {
        let loaded = self.load_page(token).await?;
        loaded
            .result()
            .cloned()
            .ok_or(LookupError::NotFinished(loaded.status()))
    }

    /// [`Sessions::watch`] by page token; fails at once if the token opens
    /// no session.
    pub async fn watch_page(
        &self,
        token: &PageToken,
    ) -> Result<impl Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static, LookupError>
    {
        let loaded = self.load_page(token).await?;
        Ok(self.watch_handle(Handle::Page(token.clone()), loaded.terms().id().clone()))
    }
}
