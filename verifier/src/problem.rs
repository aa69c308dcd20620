//! RFC 7807 problem details: the one place where errors become HTTP.
//!
//! Every handler returns `Result<_, Problem>`; every error enum of the
//! library has exactly one `From<…> for Problem` here, so status codes and
//! problem types are decided in one file. The `type` of a problem is a URN
//! (`urn:kenmerk:verifier:<slug>`) that clients can match on; `title` is
//! fixed per type; `detail` says what happened this time and never holds
//! secrets or personal data.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 7807 problem document with its HTTP status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem, e.g. `urn:kenmerk:verifier:session-not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, fixed summary of the problem type.
    pub title: String,
    /// The HTTP status code, repeated for clients that lose it.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// For verification failures: the precise status (`EXPIRED`,
    /// `UNKNOWN_KEY`, ...), so that a client does not parse `detail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds for a `Retry-After` header (load refusals); not in the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem of type `urn:kenmerk:verifier:{slug}`.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:kenmerk:verifier:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            reason: None,
            retry_after: None,
        }
    }

    /// Send `Retry-After: seconds` with the problem.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Attach a machine-readable reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 400: the request could not be parsed or is not acceptable as sent.
    pub fn bad_request(slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, slug, title, detail)
    }

    /// 404 for a session token that names no live session. The same answer
    /// for "never existed", "purged" and "malformed token", so that probing
    /// tokens learns nothing.
    pub fn session_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "session-not-found",
            "Session not found",
            "no live session has this token (unknown, expired or removed)",
        )
    }

    /// 401 for a requestor without valid credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Requestor not authorized",
            detail,
        )
    }

    /// 500/503 without internal details (those go to the log).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::warn!(kind = %self.kind, detail = %self.detail, "request failed");
        } else {
            tracing::debug!(kind = %self.kind, detail = %self.detail, "request refused");
        }
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Backend(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Session store unavailable",
                "the session store did not answer; try again",
            ),
            StoreError::AtCapacity(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "verifier-full",
                "Verifier full",
                "the verifier holds its maximum of sessions; try again later",
            ),
            StoreError::Encoding(_) | StoreError::Duplicate => {
                Self::internal("a stored session could not be handled")
            }
        }
    }
}

/// Turn axum's body and path extraction failures into problems, so that a
/// malformed request never gets a plain-text error page.
pub mod rejection {
    use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
    use axum::http::StatusCode;

    use super::Problem;

    impl From<JsonRejection> for Problem {
        fn from(r: JsonRejection) -> Self {
            let status = r.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                return too_large();
            }
            let (status, slug, title) = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                (status, "unsupported-media-type", "Unsupported media type")
            } else {
                (StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON")
            };
            Problem::new(status, slug, title, r.body_text())
        }
    }

    impl From<BytesRejection> for Problem {
        fn from(r: BytesRejection) -> Self {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                return too_large();
            }
            Problem::bad_request("unreadable-body", "Unreadable body", r.body_text())
        }
    }

    impl From<PathRejection> for Problem {
        fn from(_: PathRejection) -> Self {
            Problem::session_not_found()
        }
    }

    /// 413 for a body over the configured limit.
    pub fn too_large() -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            "the request body exceeds the limit of this endpoint",
        )
    }
}

impl From<crate::session::CreateSessionError> for Problem {
    fn from(e: crate::session::CreateSessionError) -> Self {
        use crate::session::CreateSessionError as E;
        let detail = e.to_string();
        match e {
            E::WrongKind(_) => {
                Self::bad_request("wrong-session-kind", "Wrong session kind", detail)
            }
            E::UnknownVerifier(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-verifier",
                "Verifier not registered",
                detail,
            ),
            E::Scheme(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request-not-in-scheme",
                "Request does not fit the scheme",
                detail,
            ),
            E::Unregistered { .. } => Self::new(
                StatusCode::FORBIDDEN,
                "beyond-registration",
                "Request beyond the verifier's registration",
                detail,
            )
            .with_reason("BEYOND_REGISTRATION"),
            E::RequestorCap {
                retry_after_secs, ..
            } => {
                let mut p = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-sessions",
                    "Too many sessions",
                    detail,
                );
                p.retry_after = Some(retry_after_secs);
                p
            }
            E::TotalCap { .. } => {
                let mut p = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "verifier-full",
                    "Verifier full",
                    detail,
                );
                // Sessions come and go all the time; a short wait is right.
                p.retry_after = Some(5);
                p
            }
            E::Pointer(_) => {
                Self::internal("the configured public URL does not make a valid session pointer")
            }
            E::Store(s) => s.into(),
        }
    }
}

impl From<crate::session::LookupError> for Problem {
    fn from(e: crate::session::LookupError) -> Self {
        use crate::session::LookupError as E;
        let detail = e.to_string();
        match e {
            E::NotFound => Self::session_not_found(),
            E::NotFinished(_) => Self::new(
                StatusCode::CONFLICT,
                "session-not-finished",
                "Session not finished",
                detail,
            ),
            E::AlreadyFinal(_) => Self::new(
                StatusCode::CONFLICT,
                "session-finished",
                "Session already finished",
                detail,
            ),
            E::Store(s) => s.into(),
            E::Corrupt => Self::internal("a stored session could not be read"),
            E::Contention => contention(detail),
        }
    }
}

/// 503 for a session that changed too often to decide on (only under
/// pathological contention).
fn contention(detail: String) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "contention",
        "Session busy",
        detail,
    )
    .with_retry_after(1)
}

impl From<crate::session::WalletError> for Problem {
    fn from(e: crate::session::WalletError) -> Self {
        use crate::session::WalletError as E;
        let detail = e.to_string();
        match e {
            E::NotFound => Self::session_not_found(),
            E::Finished(_) => Self::new(
                StatusCode::CONFLICT,
                "session-finished",
                "Session already finished",
                detail,
            )
            .with_reason("REPLAY_OR_LATE"),
            E::Malformed(_) => {
                Self::bad_request("malformed-presentation", "Malformed presentation", detail)
                    .with_reason("MALFORMED")
            }
            E::Unrequested(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unrequested",
                "Presentation carries more than the request asks",
                detail,
            )
            .with_reason("UNREQUESTED"),
            E::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "verifier-busy",
                "Verifier busy",
                detail,
            )
            .with_retry_after(1),
            E::WrongContext(reason) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong-context",
                "Presentation is not for this session",
                detail,
            )
            .with_reason(reason.as_str()),
            E::Store(s) => s.into(),
            E::Corrupt => Self::internal("a stored session could not be read"),
            E::Contention => contention(detail),
        }
    }
}

impl From<crate::auth::AuthError> for Problem {
    fn from(e: crate::auth::AuthError) -> Self {
        let reason = match e {
            crate::auth::AuthError::Missing => "MISSING",
            crate::auth::AuthError::Invalid => "INVALID",
            crate::auth::AuthError::Expired => "EXPIRED",
            crate::auth::AuthError::NotYetValid => "NOT_YET_VALID",
        };
        Self::unauthorized(e.to_string()).with_reason(reason)
    }
}

/// 415 for a body not sent as `application/json`.
pub fn unsupported_media_type() -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        "the request body must be sent as Content-Type: application/json",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_problem_json() {
        let r = Problem::session_not_found().into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "urn:kenmerk:verifier:session-not-found");
        assert_eq!(v["status"], 404);
        assert!(v["title"].is_string() && v["detail"].is_string());
        assert!(v.get("reason").is_none());
    }

    #[tokio::test]
    async fn a_busy_verifier_says_when_to_retry() {
        let r = Problem::from(crate::session::WalletError::Busy).into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "urn:kenmerk:verifier:verifier-busy");
    }
}
