//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the
//! store answers and the scheme is current), `/metrics` (Prometheus) and
//! `/openapi.json`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::problem::Problem;
use crate::session::Sessions;
use crate::store::now_ms;

/// The OpenAPI document of the verifier daemon.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kenmerk verifier",
        description = "Requestor API (IRMA-like), wallet API, session page, signatures, offline challenges. Errors are RFC 7807 problem+json."
    ),
    paths(
        super::requestor::sessions::create_session,
        super::requestor::sessions::status,
        super::requestor::sessions::status_events,
        super::requestor::page::page_status_events,
        super::requestor::sessions::result,
        super::requestor::sessions::result_jwt,
        super::requestor::sessions::delete_session,
        super::requestor::page::session_page,
        super::requestor::page::page_result,
        super::requestor::signatures::timestamp,
        super::requestor::signatures::signature_verify,
        super::requestor::offline::offline_challenge,
        super::requestor::offline::offline_answer,
        super::requestor::signatures::public_key,
        super::wallet::get_request,
        super::wallet::post_presentation,
        super::wallet::decline,
        healthz,
        readyz,
        openapi,
        crate::metrics::handler,
    ),
    components(schemas(
        Problem,
        crate::store::SessionStatus,
        crate::verify::Reason,
        crate::texts::PageResult,
        crate::texts::PageAttribute,
        crate::signature::SignedTimestamp,
        crate::signature::SignatureReport,
        crate::signature::SignedAttribute,
        super::requestor::ExtendedRequest,
        super::requestor::SessionCreated,
        super::requestor::TimestampRequest,
        super::requestor::SignatureVerifyRequest,
        super::requestor::OfflineChallenge,
        super::wallet::PresentationAnswer,
    ))
)]
pub struct ApiDoc;

/// The ops router (state: the session manager).
pub fn ops_router(sessions: Sessions) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.json", get(openapi))
        .route(
            "/metrics",
            get(crate::metrics::handler).with_state(sessions.metrics().clone()),
        )
        .with_state(sessions)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Object)))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the session store answers and the scheme has not expired.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Object), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(sessions): State<Sessions>) -> Result<Json<serde_json::Value>, Problem> {
    sessions.store().ping().await?;
    let scheme = sessions.scheme();
    if now_ms() / 1000 >= scheme.expires_at {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "scheme-expired",
            "Scheme expired",
            format!(
                "scheme {} version {} has expired",
                scheme.id, scheme.version
            ),
        ));
    }
    Ok(Json(serde_json::json!({
        "status": "ready",
        "scheme": scheme.id.to_string(),
        "schemeVersion": scheme.version,
    })))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses((status = 200, body = Object)))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
