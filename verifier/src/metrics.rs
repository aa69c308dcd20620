//! Prometheus metrics in the text exposition format, with atomics only.
//!
//! The set is small and fixed (sessions, presentations, HTTP requests by
//! status class, request latency histogram), so a registry crate would add
//! more than it saves. Labels take values from closed enums, never from
//! input, so the number of series is bounded.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::store::SessionStatus;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

const FINAL_STATUSES: [SessionStatus; 4] = [
    SessionStatus::Done,
    SessionStatus::Cancelled,
    SessionStatus::Timeout,
    SessionStatus::Failed,
];

/// Outcome of a presentation posted by a wallet, for the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentationOutcome {
    /// Verified and matched the request.
    Valid,
    /// Verified cryptographically but the result is not `VALID`.
    NotValid,
    /// Refused before verification (replay, wrong session, malformed).
    Refused,
}

/// Counters and histograms of one verifier instance.
#[derive(Default)]
pub struct Metrics {
    sessions_created: AtomicU64,
    sessions_final: [AtomicU64; FINAL_STATUSES.len()],
    presentations: [AtomicU64; 3],
    http_by_class: [AtomicU64; 5],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    scheme_reloads: AtomicU64,
    sse_open: AtomicU64,
    sse_opened: AtomicU64,
}

/// Counts one open status stream while alive.
pub struct StreamGuard(Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.sse_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// A fresh, shareable set of metrics.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Count a created session.
    pub fn session_created(&self) {
        self.sessions_created.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a session that reached a final status.
    pub fn session_finished(&self, status: SessionStatus) {
        if let Some(i) = FINAL_STATUSES.iter().position(|s| *s == status) {
            self.sessions_final[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count a presentation posted by a wallet.
    pub fn presentation(&self, outcome: PresentationOutcome) {
        let i = match outcome {
            PresentationOutcome::Valid => 0,
            PresentationOutcome::NotValid => 1,
            PresentationOutcome::Refused => 2,
        };
        self.presentations[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Count a scheme (re)load.
    pub fn scheme_reloaded(&self) {
        self.scheme_reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// Count an open server-sent-events stream until the guard drops.
    pub fn stream_opened(self: &Arc<Self>) -> StreamGuard {
        self.sse_open.fetch_add(1, Ordering::Relaxed);
        self.sse_opened.fetch_add(1, Ordering::Relaxed);
        StreamGuard(self.clone())
    }

    /// Number of status streams opened since start (monotonic, so a test
    /// can wait for "one more" without racing a stream that closes).
    pub fn streams_opened(&self) -> u64 {
        self.sse_opened.load(Ordering::Relaxed)
    }

    /// Number of open status streams.
    pub fn open_streams(&self) -> u64 {
        self.sse_open.load(Ordering::Relaxed)
    }

    fn observe_http(&self, status: u16, seconds: f64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.http_by_class[class].fetch_add(1, Ordering::Relaxed);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        // Float-to-int `as` saturates; latencies are far below u64::MAX µs.
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP kenmerk_verifier_sessions_created_total Sessions created.\n\
             # TYPE kenmerk_verifier_sessions_created_total counter\n\
             kenmerk_verifier_sessions_created_total {}",
            get(&self.sessions_created)
        );
        let _ = writeln!(
            out,
            "# HELP kenmerk_verifier_sessions_finished_total Sessions by final status.\n\
             # TYPE kenmerk_verifier_sessions_finished_total counter"
        );
        for (s, a) in FINAL_STATUSES.iter().zip(&self.sessions_final) {
            let _ = writeln!(
                out,
                "kenmerk_verifier_sessions_finished_total{{status=\"{s}\"}} {}",
                get(a)
            );
        }
        let _ = writeln!(
            out,
            "# HELP kenmerk_verifier_presentations_total Presentations posted by wallets.\n\
             # TYPE kenmerk_verifier_presentations_total counter"
        );
        for (name, a) in ["valid", "not_valid", "refused"]
            .iter()
            .zip(&self.presentations)
        {
            let _ = writeln!(
                out,
                "kenmerk_verifier_presentations_total{{outcome=\"{name}\"}} {}",
                get(a)
            );
        }
        let _ = writeln!(
            out,
            "# HELP kenmerk_verifier_http_requests_total HTTP requests by status class.\n\
             # TYPE kenmerk_verifier_http_requests_total counter"
        );
        for (i, a) in self.http_by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "kenmerk_verifier_http_requests_total{{class=\"{}xx\"}} {}",
                i + 1,
                get(a)
            );
        }
        let _ = writeln!(
            out,
            "# HELP kenmerk_verifier_http_request_duration_seconds Time to first response byte.\n\
             # TYPE kenmerk_verifier_http_request_duration_seconds histogram"
        );
        for (bound, a) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "kenmerk_verifier_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                get(a)
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "kenmerk_verifier_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             kenmerk_verifier_http_request_duration_seconds_sum {}\n\
             kenmerk_verifier_http_request_duration_seconds_count {count}",
            get(&self.latency_sum_micros) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP kenmerk_verifier_scheme_loads_total Scheme loads (start and changes).\n\
             # TYPE kenmerk_verifier_scheme_loads_total counter\n\
             kenmerk_verifier_scheme_loads_total {}",
            get(&self.scheme_reloads)
        );
        let _ = writeln!(
            out,
            "# HELP kenmerk_verifier_status_streams Open status event streams.\n\
             # TYPE kenmerk_verifier_status_streams gauge\n\
             kenmerk_verifier_status_streams {}",
            get(&self.sse_open)
        );
        out
    }
}

/// Middleware recording every request's status class and latency.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let response = next.run(request).await;
    metrics.observe_http(response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn handler(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts() {
        let m = Metrics::default();
        m.session_created();
        m.session_finished(SessionStatus::Done);
        m.presentation(PresentationOutcome::Refused);
        m.observe_http(200, 0.002);
        m.observe_http(404, 0.2);
        let text = m.render();
        assert!(text.contains("kenmerk_verifier_sessions_created_total 1"));
        assert!(text.contains("kenmerk_verifier_sessions_finished_total{status=\"DONE\"} 1"));
        assert!(text.contains("kenmerk_verifier_presentations_total{outcome=\"refused\"} 1"));
        assert!(text.contains("kenmerk_verifier_http_requests_total{class=\"2xx\"} 1"));
        assert!(text.contains("kenmerk_verifier_http_requests_total{class=\"4xx\"} 1"));
        assert!(text.contains("duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("duration_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("duration_seconds_count 2"));
    }
}
