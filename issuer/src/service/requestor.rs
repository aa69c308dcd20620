//! Requestor side: create an issuance session, follow it, read its result,
//! cancel it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wallet_core::encoding::AttributeValue;
use wallet_core::ids::{CredentialTypeId, IssuerId};
use wallet_core::request::{CredentialRequest, SessionKind as RequestKind, SessionRequest};
use wallet_core::wire::{
    IssuanceOffer, Nonce, OfferedCredential, RecordId, SessionPointer, WireMessage,
};

use super::Service;
use crate::auth::{AuthError, Requestor};
use crate::clock::{now, now_i64};
use crate::metrics::inc;
use crate::publish::Published;
use crate::random::random_hex;
use crate::session::{End, Session, SessionCredential, SessionKind, State};
use crate::store::{InsertSession, NewSession, Store, StoreError};

/// Longest subject identifier (a BSN has 9 digits; other registers differ).
pub const MAX_SUBJECT: usize = 64;

// Session status as the requestor sees it (IRMA's names): the contract type
// both services share, defined once in wallet-core. The issuer never
// reports `FAILED`: a protocol failure is `CANCELLED` with the result's
// `error`.
pub use wallet_core::wire::SessionStatus;

/// The status a requestor sees for `session` at `now`: an open or
/// committed session past its expiry has timed out, swept or not.
pub(crate) fn status_of(session: &Session, now: i64) -> SessionStatus {
    if session.expired(now) {
        return SessionStatus::Timeout;
    }
    match &session.state {
        State::Open(open) if !open.connected() => SessionStatus::Initialized,
        State::Open(_) | State::Committed(_) => SessionStatus::Connected,
        State::Answered(_) => SessionStatus::Done,
        State::Ended(ended) => match ended.end() {
            End::Cancelled | End::Failed(_) => SessionStatus::Cancelled,
            End::TimedOut => SessionStatus::Timeout,
        },
    }
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateSessionError {
    #[error("credential type {0} is not in this issuer's scheme")]
    UnknownCredentialType(String),
    #[error("{0}")]
    Attributes(String),
    #[error("subject must be 1-{MAX_SUBJECT} characters of A-Z a-z 0-9 - _")]
    Subject,
    #[error("no valid issuer key for {0}; rotate the key")]
    NoKey(String),
    #[error(
        "an issuance session for this subject and credential type is still open; \
         cancel it or wait until it expires"
    )]
    SubjectBusy,
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a session's status, events or result could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Unknown token, or another requestor's session.
    #[error("no session with this token")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a session could not be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// Unknown token, or another requestor's session.
    #[error("no session with this token")]
    NotFound,
    #[error("the session already ended ({0:?})")]
    Ended(SessionStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Body of `POST /session`: an IRMA-style issuance request plus the subject.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionBody {
    /// `https://irma.app/ld/request/issuance/v2`.
    #[serde(rename = "@context")]
    pub context: String,
    /// Credentials to issue: type and attribute values by local name.
    #[schema(value_type = Vec<Object>)]
    pub credentials: Vec<serde_json::Value>,
    /// The resident (for example a BSN): binds one holder key per subject
    /// and credential type (a new one revokes the old record) and allows
    /// revocation by subject.
    #[serde(default)]
    pub subject: Option<String>,
}

/// A created session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    /// For the QR code: `{"u": url, "irmaqr": "issuing"}`.
    #[serde(rename = "sessionPtr")]
    #[schema(value_type = Object)]
    pub session_ptr: SessionPointer,
    /// The requestor's token for status, result and cancel.
    pub token: String,
    /// The credential record ids, in request order (for admin calls later).
    pub records: Vec<String>,
}

/// One issued credential in a result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResultCredential {
    /// Credential record id.
    pub record: String,
    /// Credential type.
    pub credential: String,
}

/// `GET /session/{token}/result`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionResult {
    /// The requestor token.
    pub token: String,
    /// Always `issuing`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status.
    pub status: SessionStatus,
    /// What the session issues (issued when status is DONE).
    pub credentials: Vec<ResultCredential>,
    /// Why the session failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn valid_subject(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SUBJECT
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a credential request against the scheme: type known, values
/// parse by kind and fit their limits, required attributes present.
pub(crate) fn validated_values(
    published: &Published,
    request: &CredentialRequest,
) -> Result<Vec<AttributeValue>, String> {
    let ct = published
        .scheme
        .credential_type(&request.credential)
        .ok_or_else(|| {
            format!(
                "credential type {} is not in the scheme",
                request.credential
            )
        })?;
    let values = request
        .attribute_values(published.scheme.scheme())
        .map_err(|e| e.to_string())?;
    for (value, def) in values.iter().zip(&ct.attributes) {
        if !def.optional && *value == AttributeValue::Absent {
            return Err(format!("required attribute {} has no value", def.id));
        }
    }
    Ok(values)
}

impl Service {
    /// `POST /session`.
    pub async fn create_session(
        &self,
        requestor: &Requestor,
        body: CreateSessionBody,
    ) -> Result<SessionCreated, CreateSessionError> {
        let CreateSessionBody {
            context,
            credentials,
            subject,
        } = body;
        // The request language's own parser checks the shape.
        let request_json = serde_json::json!({"@context": context, "credentials": credentials});
        let request = SessionRequest::from_json(&request_json.to_string())
            .map_err(|e| CreateSessionError::Attributes(e.to_string()))?;
        if request.kind() != RequestKind::Issuing || request.credentials().is_empty() {
            return Err(CreateSessionError::Attributes(
                "not an issuance request with credentials".to_owned(),
            ));
        }
        if request.credentials().len() > wallet_core::wire::MAX_OFFERED_CREDENTIALS {
            return Err(CreateSessionError::Attributes(format!(
                "at most {} credentials per session",
                wallet_core::wire::MAX_OFFERED_CREDENTIALS
            )));
        }
        if let Some(s) = &subject {
            if !valid_subject(s) {
                return Err(CreateSessionError::Subject);
            }
        }

        let published = self.published();
        let now = now();
        let mut issuer: Option<IssuerId> = None;
        let mut offered = Vec::new();
        let mut stored = Vec::new();
        for cr in request.credentials() {
            requestor.require_credential_type(cr.credential.as_str())?;
            // The scheme sets the token validity and grid step (Rule 8);
            // a published scheme is validated, so its policies are in range.
            let Some(policy) = published
                .scheme
                .credential_type(&cr.credential)
                .and_then(|ct| ct.token_policy().ok())
            else {
                return Err(CreateSessionError::UnknownCredentialType(
                    cr.credential.to_string(),
                ));
            };
            let this_issuer = cr.credential.issuer();
            match &issuer {
                None => issuer = Some(this_issuer),
                Some(i) if *i != this_issuer => {
                    return Err(CreateSessionError::Attributes(
                        "all credentials of one session must come from one issuer".to_owned(),
                    ))
                }
                Some(_) => {}
            }
            let values =
                validated_values(&published, cr).map_err(CreateSessionError::Attributes)?;
            let counter = self
                .current_counter(&cr.credential, now)
                .ok_or_else(|| CreateSessionError::NoKey(cr.credential.to_string()))?;
            let record = new_record_id();
            offered.push(OfferedCredential {
                token_info: policy.token_info(cr.credential.clone(), counter, now),
                attributes: values,
                record: record.clone(),
            });
            stored.push(SessionCredential {
                record_id: record.to_string(),
                credential_type: cr.credential.to_string(),
                key_counter: i64::from(counter),
                attributes: attributes_json(&cr.attributes),
            });
        }
        let Some(issuer) = issuer else {
            return Err(CreateSessionError::Attributes("no credentials".to_owned()));
        };
        let offer = IssuanceOffer::new(
            issuer,
            offered,
            Nonce::random(&mut rand_core::OsRng),
            u16::try_from(self.settings.batch_size).unwrap_or(20),
        );
        let session = NewSession {
            id: random_hex(16),
            requestor_token: random_hex(32),
            requestor: requestor.name.clone(),
            kind: SessionKind::Issue,
            credentials: stored,
            subject,
            offer: offer.to_bytes(),
            holder_public_key: None,
            created_at: now_i64(),
            expires_at: now_i64().saturating_add(self.timeout_i64()),
        };
        match self.store.insert_session(&session).await? {
            InsertSession::Inserted => {}
            InsertSession::SubjectBusy => return Err(CreateSessionError::SubjectBusy),
            // New record ids are random: a collision means a broken RNG.
            InsertSession::RecordBusy => {
                return Err(CreateSessionError::Store(StoreError::Corrupt {
                    table: "sessions",
                    detail: "fresh record id already in use".to_owned(),
                }))
            }
        }
        inc(&self.metrics.sessions_started);
        tracing::info!(requestor = %requestor.name, credentials = session.credentials.len(), "issuance session created");
        Ok(SessionCreated {
            session_ptr: self.pointer(&session.id),
            token: session.requestor_token,
            records: session
                .credentials
                .iter()
                .map(|c| c.record_id.clone())
                .collect(),
        })
    }

    pub(crate) fn timeout_i64(&self) -> i64 {
        i64::try_from(self.settings.session_timeout_secs).unwrap_or(300)
    }

    /// The wallet URL of a session.
    pub(crate) fn session_url(&self, id: &str) -> String {
        format!(
            "{}/wallet/session/{id}",
            self.public_url.trim_end_matches('/')
        )
    }

    fn pointer(&self, id: &str) -> SessionPointer {
        SessionPointer {
            u: self.session_url(id),
            irmaqr: RequestKind::Issuing,
        }
    }

    /// The session behind `token`, if `requestor` created it. Another
    /// requestor's session answers like an unknown token: a leaked or
    /// guessed token does not let one back office read or cancel another's
    /// sessions, nor learn that they exist.
    async fn by_token(
        &self,
        requestor: &Requestor,
        token: &str,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .store
            .session_by_requestor_token(token)
            .await?
            .filter(|s| s.requestor == requestor.name))
    }

    /// `GET /session/{token}/status`.
    pub async fn status(
        &self,
        requestor: &Requestor,
        token: &str,
    ) -> Result<SessionStatus, LookupError> {
        let session = self
            .by_token(requestor, token)
            .await?
            .ok_or(LookupError::NotFound)?;
        Ok(status_of(&session, now_i64()))
    }

    /// The wallet-facing id behind a requestor token (for status events).
    pub(crate) async fn session_id_for(
        &self,
        requestor: &Requestor,
        token: &str,
    ) -> Result<String, LookupError> {
        let session = self
            .by_token(requestor, token)
            .await?
            .ok_or(LookupError::NotFound)?;
        Ok(session.id)
    }

    /// Status by wallet-facing id (status events re-read the store).
    pub(crate) async fn status_by_id(&self, id: &str) -> Result<SessionStatus, LookupError> {
        let session = self.store.session(id).await?.ok_or(LookupError::NotFound)?;
        Ok(status_of(&session, now_i64()))
    }

    /// `GET /session/{token}/result`.
    pub async fn result(
        &self,
        requestor: &Requestor,
        token: &str,
    ) -> Result<SessionResult, LookupError> {
        let session = self
            .by_token(requestor, token)
            .await?
            .ok_or(LookupError::NotFound)?;
        let status = status_of(&session, now_i64());
        let error = match &session.state {
            State::Ended(ended) => match ended.end() {
                End::Failed(reason) => Some(reason.clone()),
                End::Cancelled => Some("cancelled by the requestor".to_owned()),
                End::TimedOut => Some("session timed out".to_owned()),
            },
            _ if status == SessionStatus::Timeout => Some("session timed out".to_owned()),
            _ => None,
        };
        Ok(SessionResult {
            token: session.requestor_token.clone(),
            kind: "issuing",
            status,
            credentials: session
                .credentials
                .iter()
                .map(|c| ResultCredential {
                    record: c.record_id.clone(),
                    credential: c.credential_type.clone(),
                })
                .collect(),
            error,
        })
    }

    /// `DELETE /session/{token}`.
    pub async fn cancel(&self, requestor: &Requestor, token: &str) -> Result<(), CancelError> {
        let session = self
            .by_token(requestor, token)
            .await?
            .ok_or(CancelError::NotFound)?;
        if self
            .store
            .end_session(&session.id, &End::Cancelled, now_i64())
            .await?
        {
            inc(&self.metrics.sessions_cancelled);
            self.notify(&session.id, SessionStatus::Cancelled);
            tracing::info!(requestor = %requestor.name, "issuance session cancelled");
            Ok(())
        } else {
            // Ended meanwhile (or before): say how.
            let current = self
                .by_token(requestor, token)
                .await?
                .ok_or(CancelError::NotFound)?;
            Err(CancelError::Ended(status_of(&current, now_i64())))
        }
    }
}

/// A fresh record id: 128 random bits, hex.
pub(crate) fn new_record_id() -> RecordId {
    // 32 hex digits always form a valid record id.
    RecordId::try_from(random_hex(16)).unwrap_or_else(|_| new_record_id())
}

/// The stored (text) form of attribute values.
pub(crate) fn attributes_json(attributes: &BTreeMap<String, String>) -> String {
    serde_json::to_string(attributes).unwrap_or_default()
}

/// Reads the stored form back into a credential request.
pub(crate) fn stored_request(
    credential_type: &str,
    attributes: &str,
) -> Result<CredentialRequest, String> {
    let credential: CredentialTypeId = credential_type.parse().map_err(|e| format!("{e}"))?;
    let attributes: BTreeMap<String, String> =
        serde_json::from_str(attributes).map_err(|e| e.to_string())?;
    Ok(CredentialRequest {
        credential,
        attributes,
    })
}
