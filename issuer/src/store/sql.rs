//! The SQL both backends share.
//!
//! SQLite and PostgreSQL run the very same query texts: `$n` placeholders
//! work in both (sqlx numbers SQLite's `$n` parameters by their digits), as
//! do `RETURNING` and `ON CONFLICT … DO NOTHING`. Only the column types in
//! the migrations differ. [`impl_store!`] writes the [`Store`] impl once for
//! each backend, so a query cannot drift between them.
//!
//! [`Store`]: super::Store

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// Migrations compiled into the binary (no files needed at run time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(pub(crate) &'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Builds the migrator for one backend's embedded migrations.
pub(crate) async fn migrator(source: Embedded) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(source).await
}

/// Session columns in the order [`impl_store!`]'s row reader expects.
pub(crate) const SESSION_COLUMNS: &str = "id, requestor_token, requestor, kind, credentials, \
     subject, offer, state, holder_public_key, \
     commitment_digest, signer_commitments, secret_state, challenge_digest, responses, failure, \
     created_at, updated_at, expires_at";

/// Credential columns in the order the row reader expects.
pub(crate) const CREDENTIAL_COLUMNS: &str = "id, credential_type, subject, attributes, \
     holder_public_key, status, status_reason, created_at, refreshed_at, updated_at";

/// The states in which a session is still open.
pub(crate) const OPEN_STATES: &str = "('initialized', 'connected', 'committed')";

/// The states in which a session is finished (and may be purged).
pub(crate) const FINISHED_STATES: &str = "('done', 'cancelled', 'timeout', 'failed')";

/// Why older records of a subject were revoked (protocol rule 9).
pub(crate) const SUPERSEDED: &str = "superseded: a new holder key was issued for this subject";

/// Implements [`super::Store`] for `$store` (a struct with a `pool` field of
/// type `sqlx::Pool<$db>`) whose rows are `$row`; the readiness probe
/// writes `$probe_bytes` per check (see each backend's `PROBE_BYTES`).
macro_rules! impl_store {
    ($store:ty, $row:ty, $probe_bytes:expr) => {
        impl $store {
            /// Reads the columns; [`Session::try_from`] checks which state they form.
            ///
            /// [`Session::try_from`]: $crate::session::Session
            fn session_from_row(row: &$row) -> Result<$crate::session::Session, $crate::store::StoreError> {
                use sqlx::Row;
                let secret: Option<Vec<u8>> = row.try_get("secret_state")?;
                $crate::session::Session::try_from($crate::store::SessionRow {
                    id: row.try_get("id")?,
                    requestor_token: row.try_get("requestor_token")?,
                    requestor: row.try_get("requestor")?,
                    kind: row.try_get("kind")?,
                    credentials: row.try_get("credentials")?,
                    subject: row.try_get("subject")?,
                    offer: row.try_get("offer")?,
                    state: row.try_get("state")?,
                    holder_public_key: row.try_get("holder_public_key")?,
                    commitment_digest: row.try_get("commitment_digest")?,
                    signer_commitments: row.try_get("signer_commitments")?,
                    secret_state: secret.map(zeroize::Zeroizing::new),
                    challenge_digest: row.try_get("challenge_digest")?,
                    responses: row.try_get("responses")?,
                    failure: row.try_get("failure")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                    expires_at: row.try_get("expires_at")?,
                })
            }

            fn credential_from_row(row: &$row) -> Result<$crate::store::CredentialRecord, $crate::store::StoreError> {
                use sqlx::Row;
                let status: String = row.try_get("status")?;
                Ok($crate::store::CredentialRecord {
                    id: row.try_get("id")?,
                    credential_type: row.try_get("credential_type")?,
                    subject: row.try_get("subject")?,
                    attributes: row.try_get("attributes")?,
                    holder_public_key: row.try_get("holder_public_key")?,
                    status: $crate::store::CredentialStatus::parse(&status)?,
                    status_reason: row.try_get("status_reason")?,
                    created_at: row.try_get("created_at")?,
                    refreshed_at: row.try_get("refreshed_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }
        }

        /// One change to an active credential record (`set_clause` binds
        /// `value` as `$1`), audited in the same transaction.
        struct ActiveCredentialChange<'a> {
            set_clause: &'static str,
            value: &'a str,
            id: &'a str,
            now: i64,
            actor: &'a str,
            event: &'static str,
            detail: &'a str,
        }

        /// Applies `change` if the record is active; false when no active
        /// record has that id (nothing written).
        async fn change_active_credential(
            conn: &mut <<$row as sqlx::Row>::Database as sqlx::Database>::Connection,
            change: ActiveCredentialChange<'_>,
        ) -> Result<bool, $crate::store::StoreError> {
            use sqlx::Row;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let sql = format!(
                "UPDATE credentials SET {}, updated_at = $2 \
                 WHERE id = $3 AND status = 'active' RETURNING credential_type",
                change.set_clause
            );
            let row = sqlx::query(&sql)
                .bind(change.value)
                .bind(change.now)
                .bind(change.id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(false);
            };
            insert_audit(
                &mut *tx,
                &$crate::store::AuditEntry {
                    at: change.now,
                    actor: change.actor.to_owned(),
                    event: change.event.to_owned(),
                    credential_id: Some(change.id.to_owned()),
                    credential_type: Some(row.try_get("credential_type")?),
                    detail: change.detail.to_owned(),
                },
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        /// Writes one audit entry inside an open transaction or on the pool.
        async fn insert_audit<'e, E>(executor: E, entry: &$crate::store::AuditEntry) -> Result<(), sqlx::Error>
        where
            E: sqlx::Executor<'e, Database = <$row as sqlx::Row>::Database>,
        {
            sqlx::query(
                "INSERT INTO audit_log (at, actor, event, credential_id, credential_type, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(entry.at)
            .bind(&entry.actor)
            .bind(&entry.event)
            .bind(&entry.credential_id)
            .bind(&entry.credential_type)
            .bind(&entry.detail)
            .execute(executor)
            .await?;
            Ok(())
        }

        /// Claims every (subject, credential type) of a new session inside
        /// its transaction; false if another open session holds one
        /// (security.md §4: one open issuance session per subject and
        /// type, so batches of one `gamma` cannot be pooled). A holder that
        /// expired or ended no longer counts.
        async fn claim_subject_types(
            conn: &mut <<$row as sqlx::Row>::Database as sqlx::Database>::Connection,
            s: &$crate::store::NewSession,
        ) -> Result<bool, sqlx::Error> {
            let Some(subject) = &s.subject else {
                return Ok(true);
            };
            let types: std::collections::BTreeSet<&str> =
                s.credentials.iter().map(|c| c.credential_type.as_str()).collect();
            for credential_type in types {
                // Past its expiry but not swept yet: it ends now.
                sqlx::query(&format!(
                    "UPDATE sessions SET state = 'timeout', open_credential = NULL, \
                     secret_state = NULL, updated_at = $1 \
                     WHERE expires_at <= $1 AND state IN {} AND id IN \
                     (SELECT session_id FROM open_subject_sessions \
                      WHERE subject = $2 AND credential_type = $3)",
                    $crate::store::sql::OPEN_STATES
                ))
                .bind(s.created_at)
                .bind(subject)
                .bind(credential_type)
                .execute(&mut *conn)
                .await?;
                sqlx::query(&format!(
                    "DELETE FROM open_subject_sessions WHERE subject = $1 \
                     AND credential_type = $2 AND NOT EXISTS (SELECT 1 FROM sessions \
                     WHERE sessions.id = open_subject_sessions.session_id AND sessions.state IN {})",
                    $crate::store::sql::OPEN_STATES
                ))
                .bind(subject)
                .bind(credential_type)
                .execute(&mut *conn)
                .await?;
                // DO NOTHING, not a unique violation: PostgreSQL would abort
                // the transaction, and a racing claim waits for the other
                // transaction and then sees its row.
                let claimed = sqlx::query(
                    "INSERT INTO open_subject_sessions (subject, credential_type, session_id) \
                     VALUES ($1, $2, $3) ON CONFLICT (subject, credential_type) DO NOTHING",
                )
                .bind(subject)
                .bind(credential_type)
                .bind(&s.id)
                .execute(&mut *conn)
                .await?;
                if claimed.rows_affected() != 1 {
                    return Ok(false);
                }
            }
            Ok(true)
        }

        impl $crate::store::Store for $store {
            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                // A write, not `SELECT 1`: a full disk still answers reads
                // and even small updates in place. The probe writes
                // `$probe_bytes` and frees them in the same transaction.
                let mut probe = vec![0u8; $probe_bytes];
                // Random, so PostgreSQL cannot compress it away.
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut probe);
                checked!(&self.pool, |conn| {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    sqlx::query(
                        "INSERT INTO store_health (id, checked_at, probe) VALUES (1, $1, $2) \
                         ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at, \
                         probe = excluded.probe",
                    )
                    .bind(time::OffsetDateTime::now_utc().unix_timestamp())
                    .bind(&probe)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE store_health SET probe = NULL WHERE id = 1")
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                })
            }

            async fn insert_session(
                &self,
                s: &$crate::store::NewSession,
            ) -> Result<$crate::store::InsertSession, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    // A session past its expiry that the sweeper has not reached
                    // yet must not block a new one for the same record.
                    if let Some(record) = s.open_credential() {
                        sqlx::query(&format!(
                            "UPDATE sessions SET state = 'timeout', open_credential = NULL, \
                             secret_state = NULL, updated_at = $1 \
                             WHERE open_credential = $2 AND expires_at <= $1 AND state IN {}",
                            $crate::store::sql::OPEN_STATES
                        ))
                        .bind(s.created_at)
                        .bind(record)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let inserted = sqlx::query(
                        "INSERT INTO sessions (id, requestor_token, requestor, kind, credentials, \
                         subject, offer, state, open_credential, holder_public_key, created_at, \
                         updated_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'initialized', $8, $9, $10, $10, $11)",
                    )
                    .bind(&s.id)
                    .bind(&s.requestor_token)
                    .bind(&s.requestor)
                    .bind(s.kind.as_str())
                    .bind($crate::store::encode_credentials(&s.credentials))
                    .bind(&s.subject)
                    .bind(&s.offer)
                    .bind(s.open_credential())
                    .bind(&s.holder_public_key)
                    .bind(s.created_at)
                    .bind(s.expires_at)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Ok(_) => {}
                        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                            tx.rollback().await?;
                            return Ok($crate::store::InsertSession::RecordBusy);
                        }
                        Err(e) => return Err(e.into()),
                    }
                    if !claim_subject_types(&mut *tx, s).await? {
                        tx.rollback().await?;
                        return Ok($crate::store::InsertSession::SubjectBusy);
                    }
                    tx.commit().await?;
                    Ok($crate::store::InsertSession::Inserted)
                })
            }

            async fn session(
                &self,
                id: &str,
            ) -> Result<Option<$crate::session::Session>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let row = sqlx::query(&format!(
                        "SELECT {} FROM sessions WHERE id = $1",
                        $crate::store::sql::SESSION_COLUMNS
                    ))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    row.as_ref().map(Self::session_from_row).transpose()
                })
            }

            async fn session_by_requestor_token(
                &self,
                token: &str,
            ) -> Result<Option<$crate::session::Session>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let row = sqlx::query(&format!(
                        "SELECT {} FROM sessions WHERE requestor_token = $1",
                        $crate::store::sql::SESSION_COLUMNS
                    ))
                    .bind(token)
                    .fetch_optional(&mut *conn)
                    .await?;
                    row.as_ref().map(Self::session_from_row).transpose()
                })
            }

            async fn mark_connected(&self, id: &str, now: i64) -> Result<bool, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let done = sqlx::query(
                        "UPDATE sessions SET state = 'connected', updated_at = $1 \
                         WHERE id = $2 AND state = 'initialized' AND expires_at > $1",
                    )
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            async fn commit_session(
                &self,
                id: &str,
                commit: &$crate::session::Commit,
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let done = sqlx::query(
                        "UPDATE sessions SET state = 'committed', holder_public_key = $1, \
                         commitment_digest = $2, signer_commitments = $3, secret_state = $4, \
                         updated_at = $5 \
                         WHERE id = $6 AND state IN ('initialized', 'connected') AND expires_at > $5 \
                         AND (kind = 'issue' OR holder_public_key = $1)",
                    )
                    .bind(&commit.holder_public_key)
                    .bind(&commit.commitment.digest)
                    .bind(&commit.commitment.signer_commitments)
                    .bind(&commit.sealed_nonces)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            async fn finish_session(
                &self,
                f: &$crate::store::FinishIssuance,
            ) -> Result<$crate::store::FinishOutcome, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    use sqlx::Row;
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    // Claim the session first: only a committed, unexpired
                    // session moves to done, and its nonces go in this same
                    // statement (rule 3). Writing first also makes SQLite take
                    // its write lock at once instead of failing on upgrade.
                    // `responses` holds wallet-core's answered batch (an
                    // identical retry replays it); `challenge_digest` stays
                    // empty, which marks that form (store::row).
                    let claimed = sqlx::query(
                        "UPDATE sessions SET state = 'done', open_credential = NULL, \
                         secret_state = NULL, challenge_digest = NULL, responses = $1, updated_at = $2 \
                         WHERE id = $3 AND state = 'committed' AND expires_at > $2 \
                         RETURNING kind, credentials, subject, holder_public_key, requestor",
                    )
                    .bind(f.answered.to_bytes())
                    .bind(f.now)
                    .bind(&f.session_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = claimed else {
                        tx.rollback().await?;
                        return Ok($crate::store::FinishOutcome::NotCommitted);
                    };
                    let kind: String = row.try_get("kind")?;
                    let credentials: String = row.try_get("credentials")?;
                    let credentials = $crate::store::decode_credentials(&credentials)?;
                    let subject: Option<String> = row.try_get("subject")?;
                    let holder: Option<Vec<u8>> = row.try_get("holder_public_key")?;
                    let requestor: String = row.try_get("requestor")?;
                    let Some(holder) = holder else {
                        return Err($crate::store::corrupt(
                            "sessions",
                            "committed session without holder key".to_owned(),
                        ));
                    };
                    let mut superseded = Vec::new();
                    match $crate::store::SessionKind::parse(&kind)? {
                        $crate::store::SessionKind::Issue => {
                            for c in &credentials {
                                sqlx::query(
                                    "INSERT INTO credentials (id, credential_type, subject, attributes, \
                                     holder_public_key, status, status_reason, created_at, refreshed_at, \
                                     updated_at) VALUES ($1, $2, $3, $4, $5, 'active', NULL, $6, NULL, $6)",
                                )
                                .bind(&c.record_id)
                                .bind(&c.credential_type)
                                .bind(&subject)
                                .bind(&c.attributes)
                                .bind(&holder)
                                .bind(f.now)
                                .execute(&mut *tx)
                                .await?;
                                insert_audit(
                                    &mut *tx,
                                    &$crate::store::AuditEntry {
                                        at: f.now,
                                        actor: requestor.clone(),
                                        event: "issued".to_owned(),
                                        credential_id: Some(c.record_id.clone()),
                                        credential_type: Some(c.credential_type.clone()),
                                        detail: format!("{} tokens, key counter {}", f.tokens, c.key_counter),
                                    },
                                )
                                .await?;
                            }
                            if let Some(subject) = &subject {
                                // Rule 9: one live holder key per subject and type:
                                // every older record of these types is superseded.
                                for c in &credentials {
                                    let rows = sqlx::query(
                                        "UPDATE credentials SET status = 'revoked', status_reason = $1, \
                                         updated_at = $2 WHERE subject = $3 AND credential_type = $4 \
                                         AND status = 'active' AND created_at <= $2 AND id <> $5 RETURNING id",
                                    )
                                    .bind($crate::store::sql::SUPERSEDED)
                                    .bind(f.now)
                                    .bind(subject)
                                    .bind(&c.credential_type)
                                    .bind(&c.record_id)
                                    .fetch_all(&mut *tx)
                                    .await?;
                                    for r in rows {
                                        let old: String = r.try_get("id")?;
                                        insert_audit(
                                            &mut *tx,
                                            &$crate::store::AuditEntry {
                                                at: f.now,
                                                actor: "system".to_owned(),
                                                event: "revoked".to_owned(),
                                                credential_id: Some(old.clone()),
                                                credential_type: Some(c.credential_type.clone()),
                                                detail: format!(
                                                    "{}; successor {}",
                                                    $crate::store::sql::SUPERSEDED,
                                                    c.record_id
                                                ),
                                            },
                                        )
                                        .await?;
                                        superseded.push(old);
                                    }
                                }
                                // Rule 9 across types: one live holder key per
                                // subject. Records of any other type bound to
                                // another holder key go too, so a poll accepting
                                // either type cannot be answered under two
                                // pseudonyms. Records with this holder key stay.
                                let rows = sqlx::query(
                                    "UPDATE credentials SET status = 'revoked', status_reason = $1, \
                                     updated_at = $2 WHERE subject = $3 AND status = 'active' \
                                     AND holder_public_key <> $4 AND created_at <= $2 \
                                     RETURNING id, credential_type",
                                )
                                .bind($crate::store::sql::SUPERSEDED)
                                .bind(f.now)
                                .bind(subject)
                                .bind(&holder)
                                .fetch_all(&mut *tx)
                                .await?;
                                let successors = credentials
                                    .iter()
                                    .map(|c| c.record_id.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ");
                                for r in rows {
                                    let old: String = r.try_get("id")?;
                                    let credential_type: String = r.try_get("credential_type")?;
                                    insert_audit(
                                        &mut *tx,
                                        &$crate::store::AuditEntry {
                                            at: f.now,
                                            actor: "system".to_owned(),
                                            event: "revoked".to_owned(),
                                            credential_id: Some(old.clone()),
                                            credential_type: Some(credential_type),
                                            detail: format!(
                                                "{} (other holder key); successor {}",
                                                $crate::store::sql::SUPERSEDED,
                                                successors
                                            ),
                                        },
                                    )
                                    .await?;
                                    superseded.push(old);
                                }
                            }
                        }
                        $crate::store::SessionKind::Refresh => {
                            for c in &credentials {
                                let refreshed = sqlx::query(
                                    "UPDATE credentials SET refreshed_at = $1, updated_at = $1 \
                                     WHERE id = $2 AND status = 'active' AND holder_public_key = $3",
                                )
                                .bind(f.now)
                                .bind(&c.record_id)
                                .bind(&holder)
                                .execute(&mut *tx)
                                .await?;
                                if refreshed.rows_affected() != 1 {
                                    // Revoked while the refresh ran: hand out nothing.
                                    tx.rollback().await?;
                                    self.end_session_inner(
                                        &f.session_id,
                                        &$crate::session::End::Failed("credential revoked".to_owned()),
                                        f.now,
                                    )
                                    .await?;
                                    return Ok($crate::store::FinishOutcome::CredentialRevoked);
                                }
                                insert_audit(
                                    &mut *tx,
                                    &$crate::store::AuditEntry {
                                        at: f.now,
                                        actor: "wallet".to_owned(),
                                        event: "refreshed".to_owned(),
                                        credential_id: Some(c.record_id.clone()),
                                        credential_type: Some(c.credential_type.clone()),
                                        detail: format!("{} tokens, key counter {}", f.tokens, c.key_counter),
                                    },
                                )
                                .await?;
                            }
                        }
                    }
                    tx.commit().await?;
                    Ok($crate::store::FinishOutcome::Finished { superseded })
                })
            }

            async fn end_session(
                &self,
                id: &str,
                end: &$crate::session::End,
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                self.end_session_inner(id, end, now).await
            }

            async fn purge_finished_sessions(
                &self,
                finished_before: i64,
            ) -> Result<u64, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let done = sqlx::query(&format!(
                        "DELETE FROM sessions WHERE updated_at < $1 AND state IN {}",
                        $crate::store::sql::FINISHED_STATES
                    ))
                    .bind(finished_before)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected())
                })
            }

            async fn expire_sessions(&self, now: i64) -> Result<Vec<String>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    use sqlx::Row;
                    let rows = sqlx::query(&format!(
                        "UPDATE sessions SET state = 'timeout', open_credential = NULL, \
                         secret_state = NULL, updated_at = $1 \
                         WHERE expires_at <= $1 AND state IN {} RETURNING id",
                        $crate::store::sql::OPEN_STATES
                    ))
                    .bind(now)
                    .fetch_all(&mut *conn)
                    .await?;
                    rows.iter()
                        .map(|r| r.try_get::<String, _>("id").map_err(Into::into))
                        .collect()
                })
            }

            async fn credential(
                &self,
                id: &str,
            ) -> Result<Option<$crate::store::CredentialRecord>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let row = sqlx::query(&format!(
                        "SELECT {} FROM credentials WHERE id = $1",
                        $crate::store::sql::CREDENTIAL_COLUMNS
                    ))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    row.as_ref().map(Self::credential_from_row).transpose()
                })
            }

            async fn update_attributes(
                &self,
                id: &str,
                attributes: &str,
                actor: &str,
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    change_active_credential(
                        conn,
                        ActiveCredentialChange {
                            set_clause: "attributes = $1",
                            value: attributes,
                            id,
                            now,
                            actor,
                            event: "attributes-updated",
                            // No values: the audit log holds no personal data.
                            detail: "attributes replaced; effective at next refresh",
                        },
                    )
                    .await
                })
            }

            async fn revoke_credential(
                &self,
                id: &str,
                actor: &str,
                reason: &str,
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    change_active_credential(
                        conn,
                        ActiveCredentialChange {
                            set_clause: "status = 'revoked', status_reason = $1",
                            value: reason,
                            id,
                            now,
                            actor,
                            event: "revoked",
                            detail: reason,
                        },
                    )
                    .await
                })
            }

            async fn revoke_subject(
                &self,
                subject: &str,
                actor: &str,
                reason: &str,
                now: i64,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    use sqlx::Row;
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    let rows = sqlx::query(
                        "UPDATE credentials SET status = 'revoked', status_reason = $1, updated_at = $2 \
                         WHERE subject = $3 AND status = 'active' RETURNING id, credential_type",
                    )
                    .bind(reason)
                    .bind(now)
                    .bind(subject)
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut ids = Vec::with_capacity(rows.len());
                    for r in rows {
                        let id: String = r.try_get("id")?;
                        insert_audit(
                            &mut *tx,
                            &$crate::store::AuditEntry {
                                at: now,
                                actor: actor.to_owned(),
                                event: "revoked".to_owned(),
                                credential_id: Some(id.clone()),
                                credential_type: Some(r.try_get("credential_type")?),
                                detail: format!("by subject: {reason}"),
                            },
                        )
                        .await?;
                        ids.push(id);
                    }
                    tx.commit().await?;
                    ids.sort();
                    Ok(ids)
                })
            }

            async fn insert_key(
                &self,
                k: &$crate::store::KeyRecord,
                actor: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    let done = sqlx::query(
                        "INSERT INTO issuer_keys (credential_type, counter, key_id, public_key, \
                         valid_from, valid_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (credential_type, counter) DO NOTHING",
                    )
                    .bind(&k.credential_type)
                    .bind(k.counter)
                    .bind(&k.key_id)
                    .bind(&k.public_key)
                    .bind(k.valid_from)
                    .bind(k.valid_until)
                    .bind(k.created_at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    insert_audit(
                        &mut *tx,
                        &$crate::store::AuditEntry {
                            at: k.created_at,
                            actor: actor.to_owned(),
                            event: "key-added".to_owned(),
                            credential_id: None,
                            credential_type: Some(k.credential_type.clone()),
                            detail: format!("counter {}, key id {}", k.counter, hex::encode(&k.key_id)),
                        },
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                })
            }

            async fn keys(&self) -> Result<Vec<$crate::store::KeyRecord>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    use sqlx::Row;
                    let rows = sqlx::query(
                        "SELECT credential_type, counter, key_id, public_key, valid_from, valid_until, \
                         created_at FROM issuer_keys ORDER BY credential_type, counter",
                    )
                    .fetch_all(&mut *conn)
                    .await?;
                    rows.iter()
                        .map(|r| {
                            Ok($crate::store::KeyRecord {
                                credential_type: r.try_get("credential_type")?,
                                counter: r.try_get("counter")?,
                                key_id: r.try_get("key_id")?,
                                public_key: r.try_get("public_key")?,
                                valid_from: r.try_get("valid_from")?,
                                valid_until: r.try_get("valid_until")?,
                                created_at: r.try_get("created_at")?,
                            })
                        })
                        .collect()
                })
            }

            async fn record_scheme_version(
                &self,
                version: i64,
                digest: &[u8],
                now: i64,
            ) -> Result<$crate::store::RecordScheme, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    let inserted = sqlx::query(
                        "INSERT INTO scheme_versions (version, digest, published_at) \
                         VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
                    )
                    .bind(version)
                    .bind(digest)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if inserted.rows_affected() == 1 {
                        // The table itself is the record (no audit entry:
                        // the audit log is about credentials and keys).
                        tx.commit().await?;
                        return Ok($crate::store::RecordScheme::Recorded);
                    }
                    let stored: Vec<u8> =
                        sqlx::query_scalar("SELECT digest FROM scheme_versions WHERE version = $1")
                            .bind(version)
                            .fetch_one(&mut *tx)
                            .await?;
                    tx.commit().await?;
                    Ok(if stored.as_slice() == digest {
                        $crate::store::RecordScheme::Same
                    } else {
                        $crate::store::RecordScheme::Conflict
                    })
                })
            }

            async fn latest_scheme_version(&self) -> Result<Option<i64>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM scheme_versions")
                        .fetch_one(&mut *conn)
                        .await?;
                    Ok(latest)
                })
            }

            async fn append_audit(&self, entry: &$crate::store::AuditEntry) -> Result<(), $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    insert_audit(&mut *conn, entry).await?;
                    Ok(())
                })
            }

            async fn audit(
                &self,
                credential_id: Option<&str>,
            ) -> Result<Vec<$crate::store::AuditEntry>, $crate::store::StoreError> {
                checked!(&self.pool, |conn| {
                    use sqlx::Row;
                    let columns = "at, actor, event, credential_id, credential_type, detail";
                    let rows = match credential_id {
                        Some(id) => {
                            sqlx::query(&format!(
                                "SELECT {columns} FROM audit_log WHERE credential_id = $1 ORDER BY id"
                            ))
                            .bind(id)
                            .fetch_all(&mut *conn)
                            .await?
                        }
                        None => {
                            sqlx::query(&format!("SELECT {columns} FROM audit_log ORDER BY id"))
                                .fetch_all(&mut *conn)
                                .await?
                        }
                    };
                    rows.iter()
                        .map(|r| {
                            Ok($crate::store::AuditEntry {
                                at: r.try_get("at")?,
                                actor: r.try_get("actor")?,
                                event: r.try_get("event")?,
                                credential_id: r.try_get("credential_id")?,
                                credential_type: r.try_get("credential_type")?,
                                detail: r.try_get("detail")?,
                            })
                        })
                        .collect()
                })
            }
        }

        impl $store {
            async fn end_session_inner(
                &self,
                id: &str,
                end: &$crate::session::End,
                now: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let (state, failure) = $crate::store::end_columns(end);
                checked!(&self.pool, |conn| {
                    let done = sqlx::query(&format!(
                        "UPDATE sessions SET state = $1, open_credential = NULL, secret_state = NULL, \
                         failure = $2, updated_at = $3 WHERE id = $4 AND state IN {}",
                        $crate::store::sql::OPEN_STATES
                    ))
                    .bind(state)
                    .bind(failure)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            }
        }
    };
}

pub(crate) use impl_store;
