//! SQLite backend: the default, one file in the data directory, zero setup.
//!
//! WAL journal so readers never wait for the writer; a busy timeout so
//! concurrent writers queue instead of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::checked::checked;
use super::sql::{impl_store, migrator, Embedded};
use super::StoreError;

const MIGRATIONS: Embedded = Embedded(&[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "finished sessions",
        include_str!("../../migrations/sqlite/0002_finished_sessions.sql"),
    ),
    (
        3,
        "store health",
        include_str!("../../migrations/sqlite/0003_store_health.sql"),
    ),
    (
        4,
        "open sessions per subject",
        include_str!("../../migrations/sqlite/0004_open_subject_sessions.sql"),
    ),
    (
        5,
        "scheme versions",
        include_str!("../../migrations/sqlite/0005_scheme_versions.sql"),
    ),
    (
        6,
        "keyring",
        include_str!("../../migrations/sqlite/0006_keyring.sql"),
    ),
]);

/// Pages of WAL after which a commit checkpoints (4 KiB pages: 1 MiB).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 256;
/// Bytes the WAL file is cut back to after a checkpoint.
const WAL_SIZE_LIMIT_BYTES: u64 = 1024 * 1024;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite:PATH` or
    /// `sqlite://PATH`) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(SqliteConnectOptions::from_str(url)?).await
    }

    /// Opens the database `options` name with the store's own settings on
    /// top (journal, durability, timeouts) and applies the migrations. Tests
    /// add pragmas here (for example `max_page_count` to fill the file).
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the answer leaves. With
            // NORMAL a power loss could undo the deletion of the nonces `w`
            // after their answer was sent, and a second answer for the same
            // `w` would reveal the issuer key (rule 3).
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // The WAL is checkpointed after 1 MiB of frames (SQLite's
            // default is 1,000 pages, 4 MiB, too much for a small volume)
            // and cut back to 1 MiB after a checkpoint that let it grow
            // beyond: with the readiness probe's 64 KiB on top, the store
            // needs about 1.2 MiB free beyond the database file itself
            // (docs/operations.md, "Full disk").
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        migrator(MIGRATIONS).await?.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool (tests use it to inject failures).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Bytes the readiness probe writes (and frees again) per check, more than
/// one issuance step writes at the default batch size. A one-row update
/// still passed on the full disk of `tests/disk_full.rs` while issuance
/// steps failed (the WAL file keeps the space a failed transaction
/// allocated, so small writes can still fit).
const PROBE_BYTES: usize = 64 * 1024;

impl_store!(SqliteStore, sqlx::sqlite::SqliteRow, PROBE_BYTES);
