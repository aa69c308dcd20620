//! Requestor API (the municipality's back office), JSON, authenticated.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::stream::{self, Stream};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use super::{AppState, JsonBody};
use crate::auth::Requestor;
use crate::problem::Problem;
use crate::service::requestor::CreateSessionBody;
use crate::service::{SessionCreated, SessionResult, SessionStatus};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(create_session))
        .route("/session/:token", axum::routing::delete(cancel))
        .route("/session/:token/status", get(status))
        .route("/session/:token/statusevents", get(status_events))
        .route("/session/:token/result", get(result))
}

/// `GET /session/{token}/status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusBody {
    pub status: SessionStatus,
}

/// Creates an issuance session.
#[utoipa::path(post, path = "/session", tag = "requestor",
    request_body = CreateSessionBody,
    responses((status = 201, body = SessionCreated),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 408, body = Problem, description = "The body did not arrive within body_timeout_secs"),
              (status = 413, body = Problem),
              (status = 415, body = Problem, description = "Body not sent as application/json")),
    security(("bearer" = [])))]
pub async fn create_session(
    State(state): State<AppState>,
    requestor: Requestor,
    JsonBody(body): JsonBody<CreateSessionBody>,
) -> Result<(StatusCode, Json<SessionCreated>), Problem> {
    let created = state.service.create_session(&requestor, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Session status. Only the requestor that created the session sees it;
/// for any other the answer is 404, as for an unknown token.
#[utoipa::path(get, path = "/session/{token}/status", tag = "requestor",
    params(("token" = String, Path, description = "Requestor token")),
    responses((status = 200, body = StatusBody), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn status(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(token): Path<String>,
) -> Result<Json<StatusBody>, Problem> {
    let status = state.service.status(&requestor, &token).await?;
    Ok(Json(StatusBody { status }))
}

/// Status changes as server-sent events (`event: status`, data a JSON
/// string such as `"DONE"`); the stream ends after a final status.
#[utoipa::path(get, path = "/session/{token}/statusevents", tag = "requestor",
    params(("token" = String, Path, description = "Requestor token")),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"),
              (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn status_events(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let id = state.service.session_id_for(&requestor, &token).await?;
    let first = state.service.status_by_id(&id).await?;
    Ok(Sse::new(events(state, id, first))
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// How often the event stream re-reads the store (changes made by another
/// instance, timeouts); local changes arrive at once by broadcast.
const POLL: Duration = Duration::from_secs(1);

struct EventState {
    state: AppState,
    id: String,
    last: Option<SessionStatus>,
    pending: Option<SessionStatus>,
    done: bool,
    rx: tokio::sync::broadcast::Receiver<crate::service::StatusEvent>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

fn events(
    state: AppState,
    id: String,
    first: SessionStatus,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let rx = state.service.subscribe();
    let shutdown = state.service.shutdown_signal();
    let init = EventState {
        state,
        id,
        last: None,
        pending: Some(first),
        done: false,
        rx,
        shutdown,
    };
    stream::unfold(init, |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            if let Some(status) = s.pending.take() {
                if s.last != Some(status) {
                    s.last = Some(status);
                    s.done = status.is_final();
                    let data = serde_json::to_string(&status).unwrap_or_default();
                    return Some((Ok(Event::default().event("status").data(data)), s));
                }
            }
            tokio::select! {
                msg = s.rx.recv() => match msg {
                    Ok(ev) if ev.session_id == s.id => s.pending = Some(ev.status),
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => s.pending = s.state.service.status_by_id(&s.id).await.ok(),
                    Err(RecvError::Closed) => return None,
                },
                _ = tokio::time::sleep(POLL) => {
                    s.pending = s.state.service.status_by_id(&s.id).await.ok();
                }
                // Shutdown ends open streams so the server can drain.
                _ = s.shutdown.changed() => return None,
            }
        }
    })
}

/// Session result.
#[utoipa::path(get, path = "/session/{token}/result", tag = "requestor",
    params(("token" = String, Path, description = "Requestor token")),
    responses((status = 200, body = SessionResult), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn result(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(token): Path<String>,
) -> Result<Json<SessionResult>, Problem> {
    Ok(Json(state.service.result(&requestor, &token).await?))
}

/// Cancels an open session.
#[utoipa::path(delete, path = "/session/{token}", tag = "requestor",
    params(("token" = String, Path, description = "Requestor token")),
    responses((status = 204, description = "Cancelled"), (status = 404, body = Problem),
              (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    requestor: Requestor,
    Path(token): Path<String>,
) -> Result<StatusCode, Problem> {
    state.service.cancel(&requestor, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}
