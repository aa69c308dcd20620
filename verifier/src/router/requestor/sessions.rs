//! The requestor's sessions: create, status, status stream, result,
//! result JWT, cancel. Every handler authenticates and finds the session
//! through [`super::access`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use wallet_core::wire::SessionPointer;

use super::access::{owned, RequestorState};
use super::envelope::{self, ExtendedRequest};
use super::events;
use crate::problem::Problem;
use crate::session::StoredResult;
use crate::store::SessionStatus;

/// `POST /session` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    /// The requestor token (secret: gives access to status and result).
    pub token: String,
    /// What the QR code carries: `{"u": url, "irmaqr": kind}`.
    #[schema(value_type = Object)]
    pub session_ptr: SessionPointer,
    /// The session page for residents (carries the page token, not the
    /// requestor token).
    pub page: String,
}

/// Create a disclosing or signing session.
#[utoipa::path(post, path = "/session", tag = "requestor",
    request_body(content = ExtendedRequest, description = "A session request (IRMA shape) or the extended envelope"),
    responses(
        (status = 200, body = SessionCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, description = "Beyond the verifier's registration", content_type = "application/problem+json"),
        (status = 415, body = Problem, description = "Body not sent as application/json", content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, description = "The requestor holds its maximum of sessions (Retry-After)", content_type = "application/problem+json"),
        (status = 503, body = Problem, description = "The verifier holds its maximum of sessions, or the store is unavailable (Retry-After)", content_type = "application/problem+json"),
    ))]
pub async fn create_session(
    State(state): State<RequestorState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<SessionCreated>, Problem> {
    let body = body?;
    let new = envelope::new_session(&state, &headers, &body)?;
    let created = state.sessions.create(new).await?;
    let token = created.requestor_token.as_str().to_owned();
    Ok(Json(SessionCreated {
        page: format!(
            "{}/page/{}/view",
            state.sessions.settings().public_url.trim_end_matches('/'),
            created.page_token.to_url_string()
        ),
        token,
        session_ptr: created.pointer,
    }))
}

/// The session status, as a JSON string (`"INITIALIZED"` …).
#[utoipa::path(get, path = "/session/{token}/status", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, body = SessionStatus), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json")))]
pub async fn status(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SessionStatus>, Problem> {
    let (_, loaded) = owned(&state, &headers, &token).await?;
    Ok(Json(loaded.status()))
}

/// Server-sent events: the status now and at every change (data is the
/// status as a JSON string); the stream ends after a final status.
#[utoipa::path(get, path = "/session/{token}/statusevents", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, description = "text/event-stream of statuses"), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json"), (status = 429, body = Problem, description = "The session has its maximum of status streams open", content_type = "application/problem+json"), (status = 503, body = Problem, description = "The verifier has its maximum of status streams open", content_type = "application/problem+json")))]
pub async fn status_events(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    // Fail with 404 before opening a stream for a session that is not there.
    let (token, _) = owned(&state, &headers, &token).await?;
    let stream = state
        .sessions
        .watch_limited(&token)
        .map_err(events::stream_refused)?;
    Ok(events::sse(&state, stream))
}

/// The session result: status and type while running; for DONE the
/// verification result from wallet-core's `matching` (proofStatus,
/// disclosed, predicates, pseudonym) plus a precise `reason`.
#[utoipa::path(get, path = "/session/{token}/result", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, body = Object), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json")))]
pub async fn result(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Json<StoredResult>, Problem> {
    let (_, loaded) = owned(&state, &headers, &token).await?;
    let result = loaded.result_or_status();
    Ok(Json(result))
}

/// The final result as a JWT signed by this verifier (EdDSA; key at
/// `/publickey`).
#[utoipa::path(get, path = "/session/{token}/result-jwt", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, body = String, content_type = "application/jwt"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json")))]
pub async fn result_jwt(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (token, _) = owned(&state, &headers, &token).await?;
    let jwt = state.sessions.result_jwt(&token).await?;
    Ok(([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response())
}

/// Cancel the session.
#[utoipa::path(delete, path = "/session/{token}", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 204), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_session(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let (token, _) = owned(&state, &headers, &token).await?;
    state.sessions.cancel(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}
