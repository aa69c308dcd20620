//! The keyring's part of the store: key material sealed under the
//! operator's key-encryption key, the signed document of every scheme
//! version, one lock that serialises key generation and rotation across
//! instances, and a notification when the keyring changed.
//!
//! Why a lock: two instances that start at once on an empty database, or
//! rotate the same credential type at once, would otherwise both compute
//! the same next key counter from what they read and both generate a key
//! for it. Under the lock exactly one generates; the others wait, then read
//! what it wrote. PostgreSQL takes a session-level advisory lock (named
//! after the schema, so test schemas in one database do not wait for each
//! other) on a connection held for the whole critical section; if the
//! instance dies the connection closes and the lock is free again. SQLite
//! is single-instance: its lock is only process-wide.
//!
//! Trait style (shared with [`super::Store`]): methods are written as
//! `async fn` in the implementations and declared `-> impl Future + Send`,
//! and every operation has its own error enum.

use std::future::Future;
use std::sync::{Arc, LazyLock};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgListener;
use sqlx::Postgres;

use super::{AnyStore, PostgresStore, SqliteStore, StoreError};

/// The advisory lock's and the notification's name (per schema).
const KEYRING: &str = "kenmerk_issuer_keyring";

/// Sealed key material as stored: a name (`scheme-signing-key`,
/// `state-key`, `issuer-key/<type>/<counter>`) and its ciphertext.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedMaterial {
    pub name: String,
    /// `version ‖ nonce ‖ ciphertext ‖ tag` under the key-encryption key,
    /// with the name as associated data (see [`crate::keyring`]).
    pub sealed: Vec<u8>,
    pub created_at: i64,
}

impl std::fmt::Debug for SealedMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedMaterial")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why the keyring lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("cannot take the keyring lock: {0}")]
pub struct LockKeyringError(#[from] pub StoreError);

/// Why the keyring lock could not be given back (its connection is
/// closed instead, which frees the lock too).
#[derive(Debug, thiserror::Error)]
#[error("cannot release the keyring lock: {0}")]
pub struct ReleaseKeyringError(#[from] pub StoreError);

/// Why the sealed key material could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the sealed key material: {0}")]
pub struct LoadMaterialError(#[from] pub StoreError);

/// Why sealed key material could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("cannot store sealed key material: {0}")]
pub struct InsertMaterialError(#[from] pub StoreError);

/// Why a scheme document could not be stored.
#[derive(Debug, thiserror::Error)]
#[error("cannot store the scheme document: {0}")]
pub struct RecordDocumentError(#[from] pub StoreError);

/// Why the latest scheme document could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the latest scheme document: {0}")]
pub struct LatestDocumentError(#[from] pub StoreError);

/// Why other instances could not be told about a change (they still see
/// it at their next poll).
#[derive(Debug, thiserror::Error)]
#[error("cannot announce the keyring change: {0}")]
pub struct AnnounceError(#[from] pub StoreError);

/// Why the change notifications could not be followed.
#[derive(Debug, thiserror::Error)]
#[error("cannot follow keyring changes: {0}")]
pub struct FollowError(#[from] pub StoreError);

/// The keyring lock, held until [`KeyringLock::release`] (or drop, which
/// closes the connection and so frees the lock as well).
pub struct KeyringLock {
    held: Held,
}

enum Held {
    Postgres(Option<PoolConnection<Postgres>>),
    Local(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>),
}

impl KeyringLock {
    /// Gives the lock back.
    pub async fn release(mut self) -> Result<(), ReleaseKeyringError> {
        if let Held::Postgres(conn) = &mut self.held {
            if let Some(mut conn) = conn.take() {
                let unlocked = sqlx::query(
                    "SELECT pg_advisory_unlock(hashtextextended(coalesce(current_schema(), '') || $1, 0))",
                )
                .bind(KEYRING)
                .execute(&mut *conn)
                .await;
                if let Err(e) = unlocked {
                    conn.close_on_drop();
                    return Err(ReleaseKeyringError(e.into()));
                }
            }
        }
        Ok(())
    }
}

impl Drop for KeyringLock {
    fn drop(&mut self) {
        if let Held::Postgres(Some(conn)) = &mut self.held {
            // Not released (an error on the way): closing the session
            // frees its advisory lock; the pool must not hand it out.
            conn.close_on_drop();
        }
    }
}

/// Notifications that another instance changed the keyring.
pub struct KeyringChanges {
    listener: Option<(PgListener, String)>,
}

impl KeyringChanges {
    /// Waits for the next change announced in this schema. With SQLite
    /// (one instance) it never resolves.
    pub async fn next(&mut self) -> Result<(), FollowError> {
        let Some((listener, schema)) = &mut self.listener else {
            return std::future::pending().await;
        };
        loop {
            let n = listener.recv().await.map_err(|e| FollowError(e.into()))?;
            if n.payload() == schema.as_str() {
                return Ok(());
            }
        }
    }
}

/// The keyring's storage boundary.
pub trait KeyStore: Send + Sync + 'static {
    /// Takes the keyring lock, waiting for another instance that holds it.
    fn lock_keyring(&self) -> impl Future<Output = Result<KeyringLock, LockKeyringError>> + Send;

    /// All sealed key material, by name.
    fn sealed_material(
        &self,
    ) -> impl Future<Output = Result<Vec<SealedMaterial>, LoadMaterialError>> + Send;

    /// Stores sealed key material; false if that name exists (it is never
    /// replaced).
    fn insert_sealed_material(
        &self,
        material: &SealedMaterial,
    ) -> impl Future<Output = Result<bool, InsertMaterialError>> + Send;

    /// Stores the signed document of a version already recorded with
    /// [`super::Store::record_scheme_version`] (kept if present).
    fn record_scheme_document(
        &self,
        version: i64,
        document: &[u8],
    ) -> impl Future<Output = Result<(), RecordDocumentError>> + Send;

    /// The newest stored scheme document with its version.
    fn latest_scheme_document(
        &self,
    ) -> impl Future<Output = Result<Option<(i64, Vec<u8>)>, LatestDocumentError>> + Send;

    /// Tells the other instances that the keyring changed.
    fn announce_keyring_change(&self) -> impl Future<Output = Result<(), AnnounceError>> + Send;

    /// Subscribes to the other instances' announcements.
    fn keyring_changes(&self) -> impl Future<Output = Result<KeyringChanges, FollowError>> + Send;
}

/// The statements both backends share ($n placeholders work in both).
macro_rules! shared_queries {
    ($store:ty) => {
        impl $store {
            async fn load_material(&self) -> Result<Vec<SealedMaterial>, StoreError> {
                super::checked::checked!(self.pool(), |conn| {
                    use sqlx::Row;
                    let rows = sqlx::query(
                        "SELECT name, sealed, created_at FROM key_material ORDER BY name",
                    )
                    .fetch_all(&mut *conn)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(SealedMaterial {
                                name: r.try_get("name")?,
                                sealed: r.try_get("sealed")?,
                                created_at: r.try_get("created_at")?,
                            })
                        })
                        .collect()
                })
            }

            async fn insert_material(&self, m: &SealedMaterial) -> Result<bool, StoreError> {
                super::checked::checked!(self.pool(), |conn| {
                    let done = sqlx::query(
                        "INSERT INTO key_material (name, sealed, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(&m.name)
                    .bind(&m.sealed)
                    .bind(m.created_at)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            async fn insert_document(
                &self,
                version: i64,
                document: &[u8],
            ) -> Result<(), StoreError> {
                super::checked::checked!(self.pool(), |conn| {
                    sqlx::query(
                        "INSERT INTO scheme_documents (version, document) VALUES ($1, $2) \
                         ON CONFLICT (version) DO NOTHING",
                    )
                    .bind(version)
                    .bind(document)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            }

            async fn latest_document(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
                super::checked::checked!(self.pool(), |conn| {
                    let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
                        "SELECT version, document FROM scheme_documents \
                         ORDER BY version DESC LIMIT 1",
                    )
                    .fetch_optional(&mut *conn)
                    .await?;
                    Ok(row)
                })
            }
        }
    };
}

shared_queries!(PostgresStore);
shared_queries!(SqliteStore);

impl KeyStore for PostgresStore {
    async fn lock_keyring(&self) -> Result<KeyringLock, LockKeyringError> {
        let mut conn = self.pool().acquire().await.map_err(StoreError::from)?;
        let locked = sqlx::query(
            "SELECT pg_advisory_lock(hashtextextended(coalesce(current_schema(), '') || $1, 0))",
        )
        .bind(KEYRING)
        .execute(&mut *conn)
        .await;
        match locked {
            Ok(_) => Ok(KeyringLock {
                held: Held::Postgres(Some(conn)),
            }),
            Err(e) => {
                conn.close_on_drop();
                Err(LockKeyringError(e.into()))
            }
        }
    }
    async fn sealed_material(&self) -> Result<Vec<SealedMaterial>, LoadMaterialError> {
        Ok(self.load_material().await?)
    }
    async fn insert_sealed_material(
        &self,
        m: &SealedMaterial,
    ) -> Result<bool, InsertMaterialError> {
        Ok(self.insert_material(m).await?)
    }
    async fn record_scheme_document(
        &self,
        version: i64,
        document: &[u8],
    ) -> Result<(), RecordDocumentError> {
        Ok(self.insert_document(version, document).await?)
    }
    async fn latest_scheme_document(&self) -> Result<Option<(i64, Vec<u8>)>, LatestDocumentError> {
        Ok(self.latest_document().await?)
    }
    async fn announce_keyring_change(&self) -> Result<(), AnnounceError> {
        sqlx::query("SELECT pg_notify($1, coalesce(current_schema(), ''))")
            .bind(KEYRING)
            .execute(self.pool())
            .await
            .map_err(|e| AnnounceError(e.into()))?;
        Ok(())
    }
    async fn keyring_changes(&self) -> Result<KeyringChanges, FollowError> {
        let schema: String = sqlx::query_scalar("SELECT coalesce(current_schema(), '')")
            .fetch_one(self.pool())
            .await
            .map_err(|e| FollowError(e.into()))?;
        let mut listener = PgListener::connect_with(self.pool())
            .await
            .map_err(|e| FollowError(e.into()))?;
        listener
            .listen(KEYRING)
            .await
            .map_err(|e| FollowError(e.into()))?;
        Ok(KeyringChanges {
            listener: Some((listener, schema)),
        })
    }
}

/// SQLite serves one instance; this lock only orders the issuers of one
/// process (tests start several on one file).
static LOCAL_KEYRING: LazyLock<Arc<tokio::sync::Mutex<()>>> =
    LazyLock::new(|| Arc::new(tokio::sync::Mutex::new(())));

impl KeyStore for SqliteStore {
    async fn lock_keyring(&self) -> Result<KeyringLock, LockKeyringError> {
        Ok(KeyringLock {
            held: Held::Local(LOCAL_KEYRING.clone().lock_owned().await),
        })
    }
    async fn sealed_material(&self) -> Result<Vec<SealedMaterial>, LoadMaterialError> {
        Ok(self.load_material().await?)
    }
    async fn insert_sealed_material(
        &self,
        m: &SealedMaterial,
    ) -> Result<bool, InsertMaterialError> {
        Ok(self.insert_material(m).await?)
    }
    async fn record_scheme_document(
        &self,
        version: i64,
        document: &[u8],
    ) -> Result<(), RecordDocumentError> {
        Ok(self.insert_document(version, document).await?)
    }
    async fn latest_scheme_document(&self) -> Result<Option<(i64, Vec<u8>)>, LatestDocumentError> {
        Ok(self.latest_document().await?)
    }
    async fn announce_keyring_change(&self) -> Result<(), AnnounceError> {
        Ok(())
    }
    async fn keyring_changes(&self) -> Result<KeyringChanges, FollowError> {
        Ok(KeyringChanges { listener: None })
    }
}

macro_rules! forward {
    ($self:ident, $call:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$call($($arg),*).await,
            AnyStore::Postgres(s) => s.$call($($arg),*).await,
        }
    };
}

impl KeyStore for AnyStore {
    async fn lock_keyring(&self) -> Result<KeyringLock, LockKeyringError> {
        forward!(self, lock_keyring())
    }
    async fn sealed_material(&self) -> Result<Vec<SealedMaterial>, LoadMaterialError> {
        forward!(self, sealed_material())
    }
    async fn insert_sealed_material(
        &self,
        m: &SealedMaterial,
    ) -> Result<bool, InsertMaterialError> {
        forward!(self, insert_sealed_material(m))
    }
    async fn record_scheme_document(
        &self,
        version: i64,
        document: &[u8],
    ) -> Result<(), RecordDocumentError> {
        forward!(self, record_scheme_document(version, document))
    }
    async fn latest_scheme_document(&self) -> Result<Option<(i64, Vec<u8>)>, LatestDocumentError> {
        forward!(self, latest_scheme_document())
    }
    async fn announce_keyring_change(&self) -> Result<(), AnnounceError> {
        forward!(self, announce_keyring_change())
    }
    async fn keyring_changes(&self) -> Result<KeyringChanges, FollowError> {
        forward!(self, keyring_changes())
    }
}
