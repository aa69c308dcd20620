//! Admin side: inspect and update credential records, revoke, rotate keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use wallet_core::ids::CredentialTypeId;

use super::requestor::{attributes_json, stored_request, validated_values};
use super::{key_record, Service};
use crate::auth::{AuthError, Requestor};
use crate::clock::{now, now_i64};
use crate::metrics::inc;
use crate::publish::{self, PublishError};
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
        let _guard = self.rotation.lock().await;
        let published = self.published();
        let ct = published
            .scheme
            .credential_type(&ct_id)
            .ok_or_else(unknown)?;
        let counter = self
            .published()
            .scheme
            .issuer_keys
            .iter()
            .filter(|k| k.credential_type == ct_id)
            .map(|k| k.counter)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let now = now();
        let params = ct.key_params(
            counter,
            now,
            now.saturating_add(self.settings.key_validity_secs),
        );
        let key = crate::keys::generate_issuer_key(&self.key_dir, params)
            .map_err(|e| AdminError::Publish(PublishError::Write(e)))?;
        let public = key.public().clone();
        let mut publics = published.scheme.issuer_keys.clone();
        publics.push(public.clone());
        // Above every version any instance recorded, not only the one this
        // instance serves: two instances rotating never sign one version
        // twice (the store refuses the second if they race).
        let recorded = publish::recorded_version(&self.store).await?;
        let version = published
            .version()
            .max(recorded.unwrap_or(0))
            .saturating_add(1);
        let next = publish::sign(
            &self.scheme_description,
            &publics,
            &self.signing_key,
            version,
            now,
        )?;
        publish::record(&self.store, &next).await?;
        publish::write(&self.scheme_path, &next)?;
        self.store
            .insert_key(&key_record(&public), &requestor.name)
            .await?;
        {
            let mut keys = match self.keys.write() {
                Ok(k) => k,
                Err(poisoned) => poisoned.into_inner(),
            };
            keys.insert((ct_id.clone(), counter), Arc::new(key));
        }
        let version = next.version();
        {
            let mut p = match self.published.write() {
                Ok(p) => p,
                Err(poisoned) => poisoned.into_inner(),
            };
            *p = Arc::new(next);
        }
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
