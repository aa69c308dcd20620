//! The session page's view of a session, by [`PageToken`]: status, status
//! stream and result summary, never the requestor's handles.

use futures::stream::Stream;

use super::watch::Handle;
use super::{LoadedSession, LookupError, SessionResult, SessionStatus, Sessions};
use crate::store::PageToken;

impl Sessions {
    /// Load by page token: the wallet token it carries finds the session,
    /// then its secret part must match the session's (constant time). A
    /// wrong secret is [`LookupError::NotFound`], like an unknown session.
    pub async fn load_page(&self, token: &PageToken) -> Result<LoadedSession, LookupError> {
        let stored = self
            .inner
            .store
            .get_by_wallet(token.wallet_token())
            .await?
            .ok_or(LookupError::NotFound)?;
        let loaded = Self::decode(stored).ok_or(LookupError::Corrupt)?;
        match &loaded.body.page {
            Some(digest) if token.matches(digest) => {}
            _ => return Err(LookupError::NotFound),
        }
        Ok(self.expire_if_due(loaded).await?)
    }

    /// The result of a final session, for the page's summary.
    pub async fn page_result(&self, token: &PageToken) -> Result<SessionResult, LookupError> {
        let loaded = self.load_page(token).await?;
        loaded
            .body
            .result
            .clone()
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
        Ok(self.watch_handle(Handle::Page(token.clone()), loaded.stored.id.clone()))
    }
}
