//! PostgreSQL backend: for a real deployment, and for several issuer
//! instances behind one balancer (every state change is one conditional
//! statement inside a transaction, so instances never hand out two answers).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use super::checked::checked;
use super::sql::{impl_store, migrator, Embedded};
use super::StoreError;

const MIGRATIONS: Embedded = Embedded(&[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "finished sessions",
        include_str!("../../migrations/postgres/0002_finished_sessions.sql"),
    ),
    (
        3,
        "store health",
        include_str!("../../migrations/postgres/0003_store_health.sql"),
    ),
    (
        4,
        "open sessions per subject",
        include_str!("../../migrations/postgres/0004_open_subject_sessions.sql"),
    ),
    (
        5,
        "scheme versions",
        include_str!("../../migrations/postgres/0005_scheme_versions.sql"),
    ),
    (
        6,
        "keyring",
        include_str!("../../migrations/postgres/0006_keyring.sql"),
    ),
]);

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url`, optionally inside `schema` (created if missing;
    /// tests use a unique schema per run), and applies the migrations.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let mut options = PgConnectOptions::from_str(url)?;
        if let Some(schema) = schema {
            // The name is spliced into DDL, so only plain identifiers pass.
            if schema.is_empty()
                || !schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(StoreError::InvalidSchema);
            }
            let mut conn = sqlx::PgConnection::connect_with(&options).await?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        migrator(MIGRATIONS).await?.run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool (tests use it to inject failures and clean up).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Bytes the readiness probe writes per check. PostgreSQL fails every
/// write once its WAL cannot grow, so a small row suffices (below the
/// TOAST threshold); a large one would only add WAL at every probe.
const PROBE_BYTES: usize = 1024;

impl_store!(PostgresStore, sqlx::postgres::PgRow, PROBE_BYTES);
