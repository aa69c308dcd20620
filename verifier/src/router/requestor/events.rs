//! Status streams as server-sent events, for the requestor's
//! `statusevents` and the page's, within the stream caps.

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;

use super::access::RequestorState;
use crate::problem::Problem;
use crate::session::{LookupError, StreamRefused};
use crate::store::SessionStatus;

/// A stream cap reached: 429 for the session's cap (the client has
/// streams open already), 503 for the verifier's; both with
/// `Retry-After`.
pub(super) fn stream_refused(refused: StreamRefused) -> Problem {
    match refused {
        StreamRefused::PerSession(_) => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-streams",
            "Too many status streams for this session",
            refused.to_string(),
        )
        .with_retry_after(5),
        StreamRefused::Total(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "streams-exhausted",
            "Too many status streams open",
            refused.to_string(),
        )
        .with_retry_after(5),
    }
}

/// Server-sent events of a status stream, ending after a final status.
pub(super) fn sse(
    state: &RequestorState,
    statuses: impl futures::Stream<Item = Result<SessionStatus, LookupError>> + Send + 'static,
) -> Response {
    let guard = state.sessions.metrics().stream_opened();
    let events = statuses
        .take_while(|s| futures::future::ready(s.is_ok()))
        .filter_map(|s| futures::future::ready(s.ok()))
        .map(move |status| {
            // The guard lives as long as the stream.
            let _ = &guard;
            Ok::<_, Infallible>(Event::default().data(format!("\"{status}\"")))
        });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    // Proxies must not buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
