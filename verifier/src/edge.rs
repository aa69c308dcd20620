//! The daemon's edge: accepting connections and bounding how long a client
//! may take to send a request.
//!
//! `axum::serve` has no header read timeout and no connection cap, and a
//! handler waits for its body as long as the client likes: clients that
//! send headers and then trickle a body (or never finish their headers)
//! held their sockets and tasks for ever (issue 12). Here (the same edge
//! as the issuer's `edge` module):
//!
//! - [`serve`] accepts at most `max_connections` connections at once
//!   (further ones wait in the kernel's backlog) and gives every request
//!   `header_timeout` to deliver its request line and headers; hyper closes
//!   a connection that does not, idle keep-alive connections included.
//! - [`read_body_first`] reads the whole body, within the body limit and
//!   `body_timeout`, before any handler runs; a late body gets 408
//!   problem+json.
//! - [`limit_uri`] answers an over-long request target with 414
//!   problem+json (hyper's own limit, 64 KiB, would answer without a body).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use axum::http::StatusCode;

use crate::problem::Problem;

/// Longest request target (path and query) the routers look at. Real
/// requests stay far below it (a session path is about 100 bytes).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Default time a client has for its request line and headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client has to send a request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on open connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

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
pub async fn read_body_first(
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
            return crate::problem::rejection::too_large().into_response();
        }
        Ok(Err(e)) => {
            return Problem::bad_request("unreadable-body", "Unreadable body", e.to_string())
                .into_response();
        }
        Err(_) => {
            let mut response = Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timeout",
                format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs_f32()
                ),
            )
            .into_response();
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
pub async fn limit_uri(request: Request, next: Next) -> Response {
    let len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if len > MAX_URI_BYTES {
        return Problem::new(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "URI too long",
            format!("the request target exceeds {MAX_URI_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}
