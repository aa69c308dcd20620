//! Prometheus counters, rendered in the text exposition format by hand
//! (a handful of counters does not need a metrics crate).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The issuer's counters. Cheap to bump from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    pub sessions_started: AtomicU64,
    pub sessions_completed: AtomicU64,
    pub sessions_failed: AtomicU64,
    pub sessions_cancelled: AtomicU64,
    pub sessions_timed_out: AtomicU64,
    pub tokens_issued: AtomicU64,
    pub refresh_started: AtomicU64,
    pub refresh_refused: AtomicU64,
    pub credentials_revoked: AtomicU64,
    pub keys_rotated: AtomicU64,
}

/// Adds one to a counter.
pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &AtomicU64); 10] = [
            (
                "kenmerk_issuer_sessions_started_total",
                "Issuance and refresh sessions created.",
                &self.sessions_started,
            ),
            (
                "kenmerk_issuer_sessions_completed_total",
                "Sessions that ended with a batch issued.",
                &self.sessions_completed,
            ),
            (
                "kenmerk_issuer_sessions_failed_total",
                "Sessions ended by a protocol failure.",
                &self.sessions_failed,
            ),
            (
                "kenmerk_issuer_sessions_cancelled_total",
                "Sessions cancelled by the requestor.",
                &self.sessions_cancelled,
            ),
            (
                "kenmerk_issuer_sessions_timed_out_total",
                "Sessions not finished in time.",
                &self.sessions_timed_out,
            ),
            (
                "kenmerk_issuer_tokens_issued_total",
                "Tokens signed (sum of batch sizes).",
                &self.tokens_issued,
            ),
            (
                "kenmerk_issuer_refresh_started_total",
                "Refresh sessions started.",
                &self.refresh_started,
            ),
            (
                "kenmerk_issuer_refresh_refused_total",
                "Refresh attempts refused (unknown, revoked or busy record).",
                &self.refresh_refused,
            ),
            (
                "kenmerk_issuer_credentials_revoked_total",
                "Credential records revoked by the admin API.",
                &self.credentials_revoked,
            ),
            (
                "kenmerk_issuer_keys_rotated_total",
                "Issuer keys rotated.",
                &self.keys_rotated,
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in rows {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        inc(&m.sessions_started);
        add(&m.tokens_issued, 20);
        let text = m.render();
        assert!(text.contains("kenmerk_issuer_sessions_started_total 1\n"));
        assert!(text.contains("kenmerk_issuer_tokens_issued_total 20\n"));
        assert!(text.contains("# TYPE kenmerk_issuer_refresh_refused_total counter\n"));
    }
}
