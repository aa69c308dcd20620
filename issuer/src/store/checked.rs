//! Store connections that go back to the pool only after success.
//!
//! Both backends run every [`super::Store`] operation through
//! [`checked!`]; see [`Checked`] for why.

/// A pooled connection that goes back to the pool only after an operation
/// that succeeded.
///
/// After an error (or when the request is dropped half-way) the connection
/// may be in a state the pool cannot see. On a full disk SQLite rolls back
/// a failed transaction by itself or not, depending on where the write
/// failed; sqlx's queued `ROLLBACK` then fails ("no transaction is
/// active") and its transaction depth stays one too high. From then on
/// that connection's `BEGIN` is a `SAVEPOINT` and its commit only a
/// `RELEASE`, and after the next partial failure (`ROLLBACK TO` keeps the
/// transaction open) a real transaction stays open under it: writes
/// reported as committed that never reach the disk, and the write lock
/// held ("database is locked" for everyone else) until a restart. Closing
/// the connection instead rolls back whatever it held, in both backends.
pub(crate) struct Checked<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    healthy: bool,
}

impl<DB: sqlx::Database> Checked<DB> {
    /// Takes a connection from the pool.
    pub(crate) async fn acquire(pool: &sqlx::Pool<DB>) -> Result<Self, sqlx::Error> {
        Ok(Checked {
            conn: pool.acquire().await?,
            healthy: false,
        })
    }

    /// Ends the operation: the connection returns to the pool only if
    /// `result` is a success; otherwise it is closed.
    pub(crate) fn finish<T>(
        mut self,
        result: Result<T, super::StoreError>,
    ) -> Result<T, super::StoreError> {
        self.healthy = result.is_ok();
        if let Err(e) = &result {
            tracing::warn!(error = %e, "store operation failed; its connection is closed");
        }
        result
    }
}

impl<DB: sqlx::Database> std::ops::Deref for Checked<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for Checked<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: sqlx::Database> Drop for Checked<DB> {
    fn drop(&mut self) {
        if !self.healthy {
            // Closing rolls back an open transaction and frees its locks.
            self.conn.close_on_drop();
        }
    }
}

/// Runs `$body` (an operation's statements, `?` allowed) on one
/// [`Checked`] connection of `$pool`, bound as `$conn`.
macro_rules! checked {
    ($pool:expr, |$conn:ident| $body:block) => {{
        let mut guard = $crate::store::checked::Checked::acquire($pool).await?;
        let result: Result<_, $crate::store::StoreError> = async {
            let $conn = &mut *guard;
            $body
        }
        .await;
        guard.finish(result)
    }};
}

pub(crate) use checked;
