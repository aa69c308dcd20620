//! The issuer's state in SQL: issuance sessions (with the issuer's secret
//! per-session state), credential records, the audit log and the public
//! halves of the issuer keys.
//!
//! [`Store`] is the storage boundary. Two implementations share every query
//! text (see [`sql`]): [`sqlite::SqliteStore`] (the default, one file in the
//! data directory) and [`postgres::PostgresStore`] (for a real deployment
//! and several issuer instances behind one balancer). The same test suite
//! (`tests/store.rs`) runs against both. The keyring's part (sealed key
//! material, scheme documents, the lock several instances share) is
//! [`keyring::KeyStore`], written in the same style (async fn in the
//! implementations, `impl Future + Send` in the trait) with one error type
//! per operation.
//!
//! Protocol rule 3 lives here: [`Store::finish_session`] deletes the issuer's
//! secret nonces in the same transaction that records the answer and the
//! credential record, and only when the session is still waiting for that
//! answer. A second, different answer for the same nonces can therefore
//! never be handed out, even by two issuer instances racing each other.

pub mod checked;
pub mod keyring;
pub mod postgres;
mod row;
pub mod sql;
pub mod sqlite;

use std::future::Future;

use wallet_core::issuance::batch::AnsweredBatch;
use zeroize::Zeroizing;

pub use crate::session::{Commit, End, Session, SessionCredential, SessionKind};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A row holds a value this version does not understand (hand-edited
    /// database or a newer schema).
    #[error("corrupt row in table {table}: {detail}")]
    Corrupt { table: &'static str, detail: String },
    /// The database URL names no backend we support.
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    /// A PostgreSQL schema name that is not a plain lower-case identifier.
    #[error("invalid schema name (allowed: a-z 0-9 _)")]
    InvalidSchema,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Issue => "issue",
            SessionKind::Refresh => "refresh",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "issue" => Ok(SessionKind::Issue),
            "refresh" => Ok(SessionKind::Refresh),
            other => Err(corrupt("sessions", format!("unknown kind {other:?}"))),
        }
    }
}

/// How [`End`] is stored: the state name and the failure text.
pub(crate) fn end_columns(end: &End) -> (&'static str, Option<&str>) {
    match end {
        End::Cancelled => ("cancelled", None),
        End::TimedOut => ("timeout", None),
        End::Failed(reason) => ("failed", Some(reason.as_str())),
    }
}

/// A session as the requestor (or a refreshing wallet) creates it.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Wallet-facing identifier (in the QR code).
    pub id: String,
    /// Requestor-facing token (status, result, cancel).
    pub requestor_token: String,
    /// Name of the authenticated requestor (or `wallet` for a refresh).
    pub requestor: String,
    pub kind: SessionKind,
    /// What is issued; a refresh session holds exactly one.
    pub credentials: Vec<SessionCredential>,
    /// The resident the credentials are about (for example a BSN), if known.
    pub subject: Option<String>,
    /// The encoded offer the wallet fetches (values, token information,
    /// nonce, batch size).
    pub offer: Vec<u8>,
    /// For a refresh: the holder key stored in the record.
    pub holder_public_key: Option<Vec<u8>>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl NewSession {
    /// The record whose open session this is (refresh only).
    fn open_credential(&self) -> Option<&str> {
        match self.kind {
            SessionKind::Refresh => self.credentials.first().map(|c| c.record_id.as_str()),
            SessionKind::Issue => None,
        }
    }
}

/// A session row as stored: the flat columns before [`row`] checks which
/// state they form.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub id: String,
    pub requestor_token: String,
    pub requestor: String,
    pub kind: String,
    pub credentials: String,
    pub subject: Option<String>,
    pub offer: Vec<u8>,
    pub state: String,
    pub holder_public_key: Option<Vec<u8>>,
    pub commitment_digest: Option<Vec<u8>>,
    pub signer_commitments: Option<Vec<u8>>,
    pub secret_state: Option<Zeroizing<Vec<u8>>>,
    pub challenge_digest: Option<Vec<u8>>,
    pub responses: Option<Vec<u8>>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

/// Status of a credential record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStatus {
    /// Refresh allowed.
    Active,
    /// Refresh refused from now on.
    Revoked,
}

impl CredentialStatus {
    /// Lower-case name, as stored and as shown on the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Active => "active",
            CredentialStatus::Revoked => "revoked",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(CredentialStatus::Active),
            "revoked" => Ok(CredentialStatus::Revoked),
            other => Err(corrupt("credentials", format!("unknown status {other:?}"))),
        }
    }
}

/// A credential record: what was issued to whom, kept for refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    pub id: String,
    pub credential_type: String,
    pub subject: Option<String>,
    /// Attribute values as JSON.
    pub attributes: String,
    pub holder_public_key: Vec<u8>,
    pub status: CredentialStatus,
    /// Why it was revoked, if it was.
    pub status_reason: Option<String>,
    pub created_at: i64,
    pub refreshed_at: Option<i64>,
    pub updated_at: i64,
}

/// The issuer's answer, recorded together with its consequences.
#[derive(Debug, Clone)]
pub struct FinishIssuance {
    pub session_id: String,
    /// wallet-core's answered batch: what was asked and answered, for an
    /// identical retry ([`crate::session::Answered::replay`]).
    pub answered: AnsweredBatch,
    /// Tokens signed per credential (for the audit log).
    pub tokens: u32,
    pub now: i64,
}

/// What [`Store::finish_session`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishOutcome {
    /// Answer recorded, nonces deleted, record created or refreshed.
    /// `superseded` lists records revoked by protocol rule 9 (same type,
    /// or any type under another holder key).
    Finished { superseded: Vec<String> },
    /// The session is no longer waiting for an answer (already answered,
    /// cancelled, timed out, or another request won the race). Nothing was
    /// written.
    NotCommitted,
    /// The record to refresh was revoked meanwhile. Nothing was written
    /// except the session's failure.
    CredentialRevoked,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    /// Who did it: a requestor name, `wallet` or `system`.
    pub actor: String,
    /// What happened, e.g. `issued`, `refreshed`, `revoked`, `key-rotated`.
    pub event: String,
    pub credential_id: Option<String>,
    pub credential_type: Option<String>,
    /// Free text without personal data beyond the record id.
    pub detail: String,
}

/// Public part of an issuer key as the store remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub credential_type: String,
    pub counter: i64,
    pub key_id: Vec<u8>,
    /// Encoded public key.
    pub public_key: Vec<u8>,
    pub valid_from: i64,
    pub valid_until: i64,
    pub created_at: i64,
}

/// Outcome of inserting a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertSession {
    Inserted,
    /// Another open session exists for the same credential record.
    RecordBusy,
    /// Another open session exists for the same subject and credential
    /// type (first issuance or refresh alike).
    SubjectBusy,
}

/// Outcome of recording a signed scheme version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordScheme {
    /// First time this version is seen: recorded.
    Recorded,
    /// This version is already recorded with this very content.
    Same,
    /// This version is recorded with other content: publishing this
    /// document would give one version number two meanings.
    Conflict,
}

/// The storage boundary of the issuer. Every method is one transaction.
pub trait Store: Send + Sync + 'static {
    /// Whether the database accepts a durable write of about one issuance
    /// step (for /readyz): a full disk or a read-only database fails it.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a new session; refuses a second open session for one record,
    /// or for one subject and credential type.
    fn insert_session(
        &self,
        session: &NewSession,
    ) -> impl Future<Output = Result<InsertSession, StoreError>> + Send;

    /// Loads a session by its wallet-facing id.
    fn session(&self, id: &str)
        -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Loads a session by its requestor token.
    fn session_by_requestor_token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Initialized → Connected, if still open and not expired. True if it moved.
    fn mark_connected(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Open → Committed with the issuer's sealed nonces, if not expired.
    /// True if it moved. For a refresh the holder key must equal the one
    /// stored with the session.
    fn commit_session(
        &self,
        id: &str,
        commit: &Commit,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Committed → Done in one transaction: deletes the secret state,
    /// stores the answer, creates (issue) or refreshes (refresh) the
    /// credential record, revokes the subject's older records of the same
    /// type and its records of any type under another holder key (rule 9)
    /// and writes the audit log.
    fn finish_session(
        &self,
        finish: &FinishIssuance,
    ) -> impl Future<Output = Result<FinishOutcome, StoreError>> + Send;

    /// Ends an open or committed session (cancel, timeout, failure) and
    /// deletes its secret state. True if it ended now.
    fn end_session(
        &self,
        id: &str,
        end: &End,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Times out every open session past its expiry; returns their ids.
    fn expire_sessions(
        &self,
        now: i64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Deletes finished sessions (done, cancelled, timed out, failed) that
    /// last changed before `finished_before`, with their attribute values
    /// and responses; returns how many. Records and the audit log stay.
    fn purge_finished_sessions(
        &self,
        finished_before: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Loads a credential record.
    fn credential(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<CredentialRecord>, StoreError>> + Send;

    /// Replaces the attributes of an active record (picked up at the next
    /// refresh). True if the record exists and is active.
    fn update_attributes(
        &self,
        id: &str,
        attributes: &str,
        actor: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes one record. True if it was active.
    fn revoke_credential(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every active record of a subject; returns their ids.
    fn revoke_subject(
        &self,
        subject: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Records a new issuer key (audit-logged). False if that counter exists.
    fn insert_key(
        &self,
        key: &KeyRecord,
        actor: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// All known issuer keys, by credential type and counter.
    fn keys(&self) -> impl Future<Output = Result<Vec<KeyRecord>, StoreError>> + Send;

    /// Records that scheme `version` was published with content `digest`,
    /// unless that version is already recorded (then compares).
    fn record_scheme_version(
        &self,
        version: i64,
        digest: &[u8],
        now: i64,
    ) -> impl Future<Output = Result<RecordScheme, StoreError>> + Send;

    /// The highest scheme version ever recorded, if any.
    fn latest_scheme_version(&self)
        -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Appends to the audit log.
    fn append_audit(
        &self,
        entry: &AuditEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The audit log, oldest first, optionally of one record.
    fn audit(
        &self,
        credential_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<AuditEntry>, StoreError>> + Send;
}

/// The store chosen by the database URL.
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Connects to `url` and applies the migrations: `postgres://…` or
    /// `postgresql://…` selects PostgreSQL, `sqlite:…` SQLite.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(PostgresStore::connect(url, None).await?))
        } else if url.starts_with("sqlite:") {
            Ok(AnyStore::Sqlite(SqliteStore::connect(url).await?))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// Human-readable backend name for the start-up log line.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

/// Forwards each call to the selected backend.
macro_rules! forward {
    ($self:ident, $call:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(s) => s.$call($($arg),*).await,
            AnyStore::Postgres(s) => s.$call($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        forward!(self, ping())
    }
    async fn insert_session(&self, session: &NewSession) -> Result<InsertSession, StoreError> {
        forward!(self, insert_session(session))
    }
    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        forward!(self, session(id))
    }
    async fn session_by_requestor_token(&self, token: &str) -> Result<Option<Session>, StoreError> {
        forward!(self, session_by_requestor_token(token))
    }
    async fn mark_connected(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        forward!(self, mark_connected(id, now))
    }
    async fn commit_session(
        &self,
        id: &str,
        commit: &Commit,
        now: i64,
    ) -> Result<bool, StoreError> {
        forward!(self, commit_session(id, commit, now))
    }
    async fn finish_session(&self, finish: &FinishIssuance) -> Result<FinishOutcome, StoreError> {
        forward!(self, finish_session(finish))
    }
    async fn end_session(&self, id: &str, end: &End, now: i64) -> Result<bool, StoreError> {
        forward!(self, end_session(id, end, now))
    }
    async fn expire_sessions(&self, now: i64) -> Result<Vec<String>, StoreError> {
        forward!(self, expire_sessions(now))
    }
    async fn purge_finished_sessions(&self, finished_before: i64) -> Result<u64, StoreError> {
        forward!(self, purge_finished_sessions(finished_before))
    }
    async fn credential(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        forward!(self, credential(id))
    }
    async fn update_attributes(
        &self,
        id: &str,
        attributes: &str,
        actor: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        forward!(self, update_attributes(id, attributes, actor, now))
    }
    async fn revoke_credential(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        forward!(self, revoke_credential(id, actor, reason, now))
    }
    async fn revoke_subject(
        &self,
        subject: &str,
        actor: &str,
        reason: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        forward!(self, revoke_subject(subject, actor, reason, now))
    }
    async fn insert_key(&self, key: &KeyRecord, actor: &str) -> Result<bool, StoreError> {
        forward!(self, insert_key(key, actor))
    }
    async fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        forward!(self, keys())
    }
    async fn record_scheme_version(
        &self,
        version: i64,
        digest: &[u8],
        now: i64,
    ) -> Result<RecordScheme, StoreError> {
        forward!(self, record_scheme_version(version, digest, now))
    }
    async fn latest_scheme_version(&self) -> Result<Option<i64>, StoreError> {
        forward!(self, latest_scheme_version())
    }
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        forward!(self, append_audit(entry))
    }
    async fn audit(&self, credential_id: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        forward!(self, audit(credential_id))
    }
}

pub(crate) fn encode_credentials(c: &[SessionCredential]) -> String {
    serde_json::to_string(c).unwrap_or_default()
}

pub(crate) fn decode_credentials(text: &str) -> Result<Vec<SessionCredential>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("sessions", format!("credentials: {e}")))
}

pub(crate) fn corrupt(table: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt { table, detail }
}
