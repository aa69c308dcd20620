//! The HTTP surface: the requestor, wallet and admin routers, publishing,
//! health, metrics and the OpenAPI document. Handlers extract, call the
//! [`Service`] and map errors through [`crate::problem`].

pub mod admin;
mod extract;
pub mod requestor;
pub mod wallet;

pub use extract::{require_json, JsonBody, RawBody};

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use tokio::sync::Semaphore;
use utoipa::OpenApi;

use crate::problem::Problem;
use crate::service::Service;
use crate::store::Store;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    /// Body limit, for the 413 problem text.
    pub max_body_bytes: usize,
}

/// Media type of wallet messages.
pub const CBOR: &str = "application/cbor";

/// A CBOR answer.
pub fn cbor(status: StatusCode, bytes: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, CBOR)], bytes).into_response()
}

/// Builds the whole router. Health, readiness and metrics stay outside
/// the concurrency limit, so a probe answers while every slot is busy.
pub fn router(state: AppState, max_concurrent_requests: usize, body_timeout: Duration) -> Router {
    let limit = state.max_body_bytes;
    let permits = Arc::new(Semaphore::new(max_concurrent_requests));
    let api = Router::new()
        .merge(requestor::router())
        .merge(wallet::router())
        .merge(admin::router())
        .route("/scheme", get(scheme))
        .route("/scheme/key", get(scheme_key))
        .route("/keys", get(keys))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .with_state(state.clone())
        .layer(middleware::from_fn(
            move |req: Request, next: middleware::Next| {
                let permits = permits.clone();
                async move {
                    // Excess requests wait for a permit instead of piling up
                    // work. The body is already read (`read_body_first`), so
                    // a waiting or running request never waits on a client.
                    match permits.acquire_owned().await {
                        Ok(_permit) => next.run(req).await,
                        Err(_) => Problem::unavailable("shutting down").into_response(),
                    }
                }
            },
        ));
    let operations = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    operations
        .merge(api)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(move |req: Request, next| {
            service_edge::read_body_first::<Problem>(limit, body_timeout, req, next)
        }))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(middleware::from_fn(service_edge::limit_uri::<Problem>))
        .layer(middleware::from_fn(service_edge::problem_layer::<Problem>))
}

async fn not_found() -> Problem {
    Problem::not_found("no such endpoint")
}

/// Cache validity of the published scheme and keys.
const PUBLISH_MAX_AGE: Duration = Duration::from_secs(300);

fn published_response(
    headers: &HeaderMap,
    etag: &str,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let cache = format!("public, max-age={}", PUBLISH_MAX_AGE.as_secs());
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    response
}

/// The signed scheme: JSON by default, CBOR for `Accept: application/cbor`.
#[utoipa::path(get, path = "/scheme", tag = "publishing",
    responses((status = 200, description = "Signed scheme (JSON, or CBOR on Accept: application/cbor); ETag, Cache-Control"),
              (status = 304, description = "Not modified (If-None-Match)")))]
pub async fn scheme(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let published = state.service.published();
    let wants_cbor = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(CBOR));
    if wants_cbor {
        let etag = format!("{}-cbor\"", published.etag.trim_end_matches('"'));
        published_response(&headers, &etag, CBOR, published.cbor.clone())
    } else {
        published_response(
            &headers,
            &published.etag,
            "application/json",
            published.json.clone().into_bytes(),
        )
    }
}

/// The scheme signing public key (for pinning on first use; compare the
/// fingerprint out of band).
#[utoipa::path(get, path = "/scheme/key", tag = "publishing",
    responses((status = 200, body = wallet_core::scheme::PublishedSchemeKey)))]
pub async fn scheme_key(State(state): State<AppState>) -> Response {
    let key = state.service.scheme_public_key();
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(wallet_core::scheme::PublishedSchemeKey::new(key)),
    )
        .into_response()
}

/// The issuer public keys (all counters).
#[utoipa::path(get, path = "/keys", tag = "publishing",
    responses((status = 200, description = "Public keys", body = Vec<crate::publish::PublishedKey>),
              (status = 304, description = "Not modified")))]
pub async fn keys(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let published = state.service.published();
    let etag = format!("{}-keys\"", published.etag.trim_end_matches('"'));
    published_response(
        &headers,
        &etag,
        "application/json",
        published.keys_json.clone().into_bytes(),
    )
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the store accepts a durable write (a full disk still answers
/// reads, so a read would say "ready" while every issuance step fails).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, body = Problem)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, Problem> {
    // Shorter than a load balancer's usual probe timeout, so the probe gets
    // a 503 to read instead of its own timeout (a locked or stalled store).
    match tokio::time::timeout(READINESS_TIMEOUT, state.service.store().ping()).await {
        Ok(Ok(())) => Ok(Json(
            serde_json::json!({"status": "ready", "store": state.service.store().kind()}),
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "store cannot write");
            Err(Problem::unavailable(
                "the store cannot write (unreachable, disk full or read-only)",
            ))
        }
        Err(_) => Err(Problem::unavailable("the store did not answer in time")),
    }
}

/// How long the readiness write probe may take.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Prometheus counters.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.service.metrics().render(),
    )
        .into_response()
}

/// The OpenAPI document.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Static requestor token or JWT (HS256/EdDSA, iss = requestor name)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI description of every endpoint.
#[derive(OpenApi)]
#[openapi(
    info(title = "kenmerk issuer", description = "Issuance of kenmerk credentials: requestor, wallet and admin APIs. Errors are RFC 7807 problem+json."),
    paths(
        requestor::create_session, requestor::status, requestor::status_events,
        requestor::result, requestor::cancel,
        wallet::offer, wallet::commitment, wallet::refresh_proof, wallet::challenges,
        wallet::refresh,
        admin::credential, admin::update_attributes, admin::revoke, admin::revoke_subject,
        admin::rotate_key, admin::audit,
        scheme, scheme_key, keys, healthz, readyz, metrics
    ),
    components(schemas(
        Problem,
        crate::service::requestor::CreateSessionBody,
        crate::service::SessionCreated,
        crate::service::SessionResult,
        crate::service::requestor::ResultCredential,
        crate::service::SessionStatus,
        crate::service::CredentialView,
        crate::service::admin::AuditView,
        crate::service::RotatedKey,
        crate::publish::PublishedKey,
        requestor::StatusBody,
        admin::AttributesBody,
        admin::RevokeBody,
        admin::RevokedBody,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
