//! The HTTP edge both kenmerk daemons share: accepting connections and
//! bounding how long a client may take to send a request, and problem
//! documents for errors made below the router.
//!
//! `axum::serve` has no header read timeout and no connection cap, and the
//! router reads a body only when a handler asks for it, that is after the
//! request took one of the issuer's concurrency slots or a verifier task. A
//! few hundred clients that send headers and then trickle a body (or never
//! finish their headers) therefore held every slot and every socket for
//! ever (issue 12). Here:
//!
//! - [`serve`] accepts at most `max_connections` connections at once
//!   (further ones wait in the kernel's backlog) and gives every request
//!   `header_timeout` to deliver its request line and headers; hyper closes
//!   a connection that does not, idle keep-alive connections included.
//! - [`read_body_first`] reads the whole body, within `max_body_bytes` and
//!   `body_timeout`, *before* the request reaches a concurrency limit or a
//!   handler, so a slow body never holds a slot; a late body gets 408.
//! - [`limit_uri`] answers an over-long request target with 414 (hyper's
//!   own limit, 64 KiB, would answer without a body).
//! - [`problem_layer`] turns an error answer without a body of its own
//!   (axum's 404, 405, 413, 415 and path rejections) into a problem
//!   document.
//!
//! Each daemon says how its problem documents look by implementing
//! [`Problems`]; the edge never writes a body itself.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The media type of a problem document (RFC 7807).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why the edge answered instead of the router.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// The body grew past the limit (413).
    BodyTooLarge { max_bytes: usize },
    /// The body could not be read (400); the reason for the log.
    UnreadableBody(String),
    /// The body did not arrive in time (408).
    BodyTimeout(Duration),
    /// The request target is too long (414).
    UriTooLong { max_bytes: usize },
    /// An error status made below the handlers without a problem body
    /// (404 of an unknown path, 405, 413, 415, a path that does not
    /// decode, ...).
    Plain(StatusCode),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::UnreadableBody(_) => StatusCode::BAD_REQUEST,
            Refusal::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Refusal::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Refusal::Plain(status) => *status,
        }
    }

    /// The problem type's last word (`urn:…:{slug}`), stable for clients.
    pub fn slug(&self) -> &'static str {
        match self {
            Refusal::BodyTooLarge { .. } => "body-too-large",
            Refusal::UnreadableBody(_) => "unreadable-body",
            Refusal::BodyTimeout(_) => "request-timeout",
            Refusal::UriTooLong { .. } => "uri-too-long",
            Refusal::Plain(status) => match *status {
                StatusCode::BAD_REQUEST => "malformed-request",
                StatusCode::NOT_FOUND => "not-found",
                StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
                StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
                _ => "http-error",
            },
        }
    }

    /// A short title.
    pub fn title(&self) -> &'static str {
        match self {
            Refusal::BodyTooLarge { .. } => "Request body too large",
            Refusal::UnreadableBody(_) => "Bad request",
            Refusal::BodyTimeout(_) => "Request timeout",
            Refusal::UriTooLong { .. } => "URI too long",
            Refusal::Plain(status) => status.canonical_reason().unwrap_or("Error"),
        }
    }

    /// One line saying what the client did wrong.
    pub fn detail(&self) -> String {
        match self {
            Refusal::BodyTooLarge { max_bytes } => {
                format!("the request body exceeds {max_bytes} bytes")
            }
            Refusal::UnreadableBody(e) => format!("unreadable body: {e}"),
            Refusal::BodyTimeout(limit) => format!(
                "the request body did not arrive within {} s",
                limit.as_secs_f32()
            ),
            Refusal::UriTooLong { max_bytes } => {
                format!("the request target exceeds {max_bytes} bytes")
            }
            // Not axum's text: it may quote the undecodable part of the
            // URI, which can be a session token.
            Refusal::Plain(StatusCode::BAD_REQUEST) => {
                "the request URI or its parameters could not be decoded".to_owned()
            }
            Refusal::Plain(_) => self.title().to_lowercase(),
        }
    }
}

/// How a daemon writes the edge's refusals: as its own problem documents.
pub trait Problems: 'static {
    /// The response for `refusal`; its content type must be [`PROBLEM_JSON`].
    fn refusal(refusal: Refusal) -> Response;
}

/// Longest request target (path and query) the routers look at. Real
/// requests stay far below it (a session path is about 100 bytes).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// How long clients may take and how many may be connected.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// Time from the start of a request (or of an idle keep-alive period)
    /// to the end of its headers.
    pub header_timeout: Duration,
    /// Time from the end of the headers to the end of the body.
    pub body_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// Default time a client has for its request line and headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client has to send a request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl Default for EdgeLimits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open
/// requests finish (each is bounded by the timeouts above, event streams
/// end on the service's own shutdown signal) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: EdgeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max =
        u32::try_from(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(max as usize));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for a free slot first: while all are taken, new clients
        // wait in the backlog instead of costing a socket and a task.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                () = closed(&mut closing) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(slot);
        });
    }
    // New clients are refused at once rather than left in the backlog.
    drop(listener);
    let _ = closing_tx.send(true);
    // Every connection returns its slot when it ends.
    let _ = slots.acquire_many(max).await;
    Ok(())
}

/// Resolves when the server starts closing (or is gone).
async fn closed(closing: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here.
    let _ = closing.wait_for(|closing| *closing).await.is_ok();
}

/// Accept failures: a client that gave up is not our problem; anything
/// else (out of file descriptors) gets a pause so the loop does not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Middleware: reads the whole body within `max_bytes` and `timeout`
/// before anything else runs.
pub async fn read_body_first<P: Problems>(
    max_bytes: usize,
    timeout: Duration,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let collected = tokio::time::timeout(timeout, Limited::new(body, max_bytes).collect()).await;
    let bytes = match collected {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if is_length_limit(&*e) => {
            return P::refusal(Refusal::BodyTooLarge { max_bytes });
        }
        Ok(Err(e)) => {
            return P::refusal(Refusal::UnreadableBody(e.to_string()));
        }
        Err(_) => {
            let mut response = P::refusal(Refusal::BodyTimeout(timeout));
            // The rest of the body may still arrive; it is not a request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether the body ended because it grew past a length limit (ours, or
/// the `RequestBodyLimitLayer`'s further in, wrapped in axum's error).
fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.is::<LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// Middleware: 414 problem+json for a request target over [`MAX_URI_BYTES`].
pub async fn limit_uri<P: Problems>(request: Request, next: Next) -> Response {
    let len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if len > MAX_URI_BYTES {
        return P::refusal(Refusal::UriTooLong {
            max_bytes: MAX_URI_BYTES,
        });
    }
    next.run(request).await
}

/// Middleware: an error answer that left the router without a problem body
/// gets one ([`Refusal::Plain`]), keeping headers such as `Allow` (405).
pub async fn problem_layer<P: Problems>(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return response;
    }
    // The plain body is dropped: axum's text may quote the undecodable part
    // of the URI, which can be a session token.
    let parts = response.into_parts().0;
    let mut problem = P::refusal(Refusal::Plain(status));
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}
