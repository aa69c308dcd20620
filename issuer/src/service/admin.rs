//! Admin side: inspect and update credential records, revoke, rotate keys.

use std::collections::BTreeMap;

use serde::Serialize;
use wallet_core::ids::CredentialTypeId;

use super::requestor::{attributes_json, stored_request, validated_values};
use super::Service;
use crate::auth::{AuthError, Requestor};
use crate::clock::now_i64;
use crate::keyring::RotateError;
use crate::metrics::inc;
use crate::publish::PublishError;
use crate::store::{AuditEntry, CredentialRecord, Store, StoreError};

/// Why an admin operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no such credential record")]
    NotFound,
    #[error("credential type {0} is not in this issuer's scheme")]
    UnknownCredentialType(String),
    #[error("{0}")]
    Attributes(String),
    #[error("the credential record is revoked")]
    Revoked,
    #[error(transparent)]
    Forbidden(#[from] AuthError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key rotation clashed with another or its sealed material did not
    /// open.
    #[error("key rotation failed: {0}")]
    Rotate(String),
}

/// A credential record as the admin API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    pub id: String,
    pub credential_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Attribute values by local name, as the next refresh will issue them.
    pub attributes: BTreeMap<String, String>,
    /// The holder public key, hex of its CBOR.
    pub holder_public_key: String,
    /// `active` or `revoked`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<i64>,
    pub updated_at: i64,
    /// The record's audit trail, oldest first.
    pub audit: Vec<AuditView>,
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub at: i64,
    pub actor: String,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    pub detail: String,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            at: e.at,
            actor: e.actor,
            event: e.event,
            credential_id: e.credential_id,
            credential_type: e.credential_type,
            detail: e.detail,
        }
    }
}

/// The result of a key rotation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RotatedKey {
    pub credential_type: String,
    /// The new key counter.
    pub counter: u32,
    /// The new key id, hex.
    pub key_id: String,
    /// The scheme version that publishes it.
    pub scheme_version: u64,
}

impl Service {
    fn view(record: CredentialRecord, audit: Vec<AuditEntry>) -> CredentialView {
        CredentialView {
            attributes: serde_json::from_str(&record.attributes).unwrap_or_default(),
            id: record.id,
            credential_type: record.credential_type,
            subject: record.subject,
            holder_public_key: hex::encode(&record.holder_public_key),
            status: record.status.as_str(),
            status_reason: record.status_reason,
            created_at: record.created_at,
            refreshed_at: record.refreshed_at,
            updated_at: record.updated_at,
            audit: audit.into_iter().map(AuditView::from).collect(),
        }
    }

    /// `GET /admin/credentials/{id}`.
    pub async fn credential(
        &self,
        requestor: &Requestor,
        id: &str,
    ) -> Result<CredentialView, AdminError> {
        requestor.require_admin()?;
        let record = self
            .store
            .credential(id)
            .await?
            .ok_or(AdminError::NotFound)?;
        let audit = self.store.audit(Some(id)).await?;
        Ok(Self::view(record, audit))
    }

    /// `PATCH /admin/credentials/{id}/attributes`: merges `changes` into the
    /// record's values (an empty text clears an optional attribute); the
    /// next refresh issues them.
    pub async fn update_attributes(
        &self,
        requestor: &Requestor,
        id: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<CredentialView, AdminError> {
        requestor.require_admin()?;
        let record = self
            .store
            .credential(id)
            .await?
            .ok_or(AdminError::NotFound)?;
        let mut request = stored_request(&record.credential_type, &record.attributes)
            .map_err(AdminError::Attributes)?;
        for (name, value) in changes {
            if value.is_empty() {
                request.attributes.remove(&name);
            } else {
                request.attributes.insert(name, value);
            }
        }
        validated_values(&self.published(), &request).map_err(AdminError::Attributes)?;
        let json = attributes_json(&request.attributes);
        if !self
            .store
            .update_attributes(id, &json, &requestor.name, now_i64())
            .await?
        {
            return Err(AdminError::Revoked);
        }
        self.credential(requestor, id).await
    }

    /// `POST /admin/credentials/{id}/revoke`.
    pub async fn revoke(
        &self,
        requestor: &Requestor,
        id: &str,
        reason: Option<String>,
    ) -> Result<Vec<String>, AdminError> {
        requestor.require_admin()?;
        let reason = reason.unwrap_or_else(|| format!("revoked by {}", requestor.name));
        if self
            .store
            .revoke_credential(id, &requestor.name, &reason, now_i64())
            .await?
        {
            inc(&self.metrics.credentials_revoked);
            return Ok(vec![id.to_owned()]);
        }
        match self.store.credential(id).await? {
            None => Err(AdminError::NotFound),
            Some(_) => Err(AdminError::Revoked),
        }
    }

    /// `POST /admin/subjects/{subject}/revoke`: every active record of the
    /// subject.
    pub async fn revoke_subject(
        &self,
        requestor: &Requestor,
        subject: &str,
        reason: Option<String>,
    ) -> Result<Vec<String>, AdminError> {
        requestor.require_admin()?;
        let reason = reason.unwrap_or_else(|| format!("revoked by {}", requestor.name));
        let ids = self
            .store
            .revoke_subject(subject, &requestor.name, &reason, now_i64())
            .await?;
        for _ in &ids {
            inc(&self.metrics.credentials_revoked);
        }
        Ok(ids)
    }

    /// `GET /admin/audit`.
    pub async fn audit(
        &self,
        requestor: &Requestor,
        credential: Option<&str>,
    ) -> Result<Vec<AuditView>, AdminError> {
        requestor.require_admin()?;
        Ok(self
            .store
            .audit(credential)
            .await?
            .into_iter()
            .map(AuditView::from)
            .collect())
    }

    /// `POST /admin/keys/{credential_type}/rotate`: a new key counter, valid
    /// from now; the scheme is re-signed with it. Older keys stay published
    /// (and usable for sessions already started) until their validity ends,
    /// so tokens issued under them keep verifying until their expiry.
    pub async fn rotate_key(
        &self,
        requestor: &Requestor,
        credential_type: &str,
    ) -> Result<RotatedKey, AdminError> {
        requestor.require_admin()?;
        let unknown = || AdminError::UnknownCredentialType(credential_type.to_owned());
        let ct_id: CredentialTypeId = credential_type.parse().map_err(|_| unknown())?;
        // Under the database's keyring lock, after loading what other
        // instances rotated (crate::keyring).
        let rotation = self
            .keyring
            .rotate(&self.store, &ct_id, &requestor.name)
            .await
            .map_err(|e| match e {
                RotateError::UnknownCredentialType(_) => unknown(),
                RotateError::Publish(p) => AdminError::Publish(p),
                RotateError::Store(s) => AdminError::Store(s),
                RotateError::Keys(k) => AdminError::Publish(PublishError::Write(k)),
                other => AdminError::Rotate(other.to_string()),
            })?;
        let (counter, public, version) =
            (rotation.counter, rotation.public, rotation.scheme_version);
        inc(&self.metrics.keys_rotated);
        tracing::info!(credential_type = %ct_id, counter, scheme_version = version, "issuer key rotated");
        Ok(RotatedKey {
            credential_type: ct_id.to_string(),
            counter,
            key_id: public.key_id().to_string(),
            scheme_version: version,
        })
    }
}
