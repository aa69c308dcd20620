//! A PostgreSQL schema of its own per test, in the database
//! `KENMERK_TEST_POSTGRES` names, so tests (and checkouts) running at once
//! never see each other's rows or migrations.

use sqlx::Connection;

/// A schema created for one test; [`TestSchema::drop`] removes it.
#[derive(Debug, Clone)]
pub struct TestSchema {
    /// The server URL as configured (the `public` schema's).
    pub server_url: String,
    /// The schema name: `<label>_<32 hex digits>`.
    pub name: String,
}

impl TestSchema {
    /// Creates a fresh schema named after `label` (lower-case letters,
    /// digits, `_`), or returns `None` after the skip note when
    /// `KENMERK_TEST_POSTGRES` is not set.
    pub async fn create(label: &str) -> Option<Self> {
        let server_url = crate::services::postgres_url()?;
        Some(Self::create_in(&server_url, label).await)
    }

    /// Creates a fresh schema in the database at `server_url`.
    pub async fn create_in(server_url: &str, label: &str) -> Self {
        assert!(
            label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "schema label {label:?}"
        );
        let name = format!("{label}_{}", crate::unique());
        // A plain connection: no migrations on the public schema, which is
        // not this test's and may belong to another checkout.
        let mut conn = sqlx::PgConnection::connect(server_url).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        TestSchema {
            server_url: server_url.to_owned(),
            name,
        }
    }

    /// The database URL that works inside this schema (its `search_path`).
    pub fn database_url(&self) -> String {
        let sep = if self.server_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.server_url, self.name
        )
    }

    /// A pool on the server (not inside the schema) for checks and fault
    /// injection.
    pub async fn server_pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.server_url).await.unwrap()
    }

    /// A pool inside the schema.
    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.database_url()).await.unwrap()
    }

    /// Drops the schema with everything in it.
    pub async fn drop(self) {
        let mut conn = sqlx::PgConnection::connect(&self.server_url).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}
