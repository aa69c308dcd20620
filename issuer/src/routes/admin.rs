//! Admin API: credential records, revocation, key rotation, audit log.
//! JSON; requestors with `admin = true` only.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{AppState, JsonBody};
use crate::auth::Requestor;
use crate::problem::Problem;
use crate::service::admin::AuditView;
use crate::service::{CredentialView, RotatedKey};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/credentials/:id", get(credential))
        .route(
            "/admin/credentials/:id/attributes",
            patch(update_attributes),
        )
        .route("/admin/credentials/:id/revoke", post(revoke))
        .route("/admin/subjects/:subject/revoke", post(revoke_subject))
        .route("/admin/keys/:credential_type/rotate", post(rotate_key))
        .route("/admin/audit", get(audit))
}

/// New attribute values by local name; an empty text clears an optional one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributesBody {
    pub attributes: BTreeMap<String, String>,
}

/// Why a record is revoked (kept in the record and the audit log).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    #[serde(default)]
    pub reason: Option<String>,
}

/// The records revoked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevokedBody {
    pub revoked: Vec<String>,
}

/// Audit log filter.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub credential: Option<String>,
}

/// Longest revocation reason kept.
const MAX_REASON: usize = 500;

fn reason(body: RevokeBody) -> Result<Option<String>, Problem> {
    match body.reason {
        Some(r) if r.len() > MAX_REASON => Err(Problem::bad_request(
            "invalid-reason",
            format!("reason longer than {MAX_REASON} bytes"),
        )),
        other => Ok(other),
    }
}

/// A credential record with its audit trail.
#[utoipa::path(get, path = "/admin/credentials/{id}", tag = "admin",
    params(("id" = String, Path, description = "Credential record id")),
    responses((status = 200, body = CredentialView), (status = 404, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn credential(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(id): Path<String>,
) -> Result<Json<CredentialView>, Problem> {
    Ok(Json(state.service.credential(&requestor, &id).await?))
}

/// Updates attribute values (picked up at the next refresh).
#[utoipa::path(patch, path = "/admin/credentials/{id}/attributes", tag = "admin",
    params(("id" = String, Path, description = "Credential record id")),
    request_body = AttributesBody,
    responses((status = 200, body = CredentialView), (status = 400, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_attributes(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AttributesBody>,
) -> Result<Json<CredentialView>, Problem> {
    Ok(Json(
        state
            .service
            .update_attributes(&requestor, &id, body.attributes)
            .await?,
    ))
}

/// Revokes one record: its refresh is refused from now on.
#[utoipa::path(post, path = "/admin/credentials/{id}/revoke", tag = "admin",
    params(("id" = String, Path, description = "Credential record id")),
    request_body = RevokeBody,
    responses((status = 200, body = RevokedBody), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RevokeBody>,
) -> Result<Json<RevokedBody>, Problem> {
    let revoked = state.service.revoke(&requestor, &id, reason(body)?).await?;
    Ok(Json(RevokedBody { revoked }))
}

/// Revokes every active record of a subject (for example a BSN).
#[utoipa::path(post, path = "/admin/subjects/{subject}/revoke", tag = "admin",
    params(("subject" = String, Path, description = "Subject, e.g. a BSN")),
    request_body = RevokeBody,
    responses((status = 200, body = RevokedBody), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_subject(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(subject): Path<String>,
    JsonBody(body): JsonBody<RevokeBody>,
) -> Result<Json<RevokedBody>, Problem> {
    let revoked = state
        .service
        .revoke_subject(&requestor, &subject, reason(body)?)
        .await?;
    Ok(Json(RevokedBody { revoked }))
}

/// Rotates the issuer key of a credential type.
#[utoipa::path(post, path = "/admin/keys/{credential_type}/rotate", tag = "admin",
    params(("credential_type" = String, Path, description = "e.g. demo.utrecht.address")),
    responses((status = 200, body = RotatedKey), (status = 400, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate_key(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(credential_type): Path<String>,
) -> Result<Json<RotatedKey>, Problem> {
    Ok(Json(
        state
            .service
            .rotate_key(&requestor, &credential_type)
            .await?,
    ))
}

/// The audit log, oldest first, optionally of one record.
#[utoipa::path(get, path = "/admin/audit", tag = "admin",
    params(("credential" = Option<String>, Query, description = "Only this record")),
    responses((status = 200, body = Vec<AuditView>), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    requestor: Requestor,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, Problem> {
    Ok(Json(
        state
            .service
            .audit(&requestor, q.credential.as_deref())
            .await?,
    ))
}
