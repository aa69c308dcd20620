//! RFC 7807 problem details: the one place where errors become HTTP answers.
//!
//! Every failure the service returns is `application/problem+json` with
//! `type`, `title`, `status` and `detail`. Handlers return `Result<_, Problem>`
//! and convert operation errors with `?`; the `From` impls below are the
//! complete mapping. [`problem_layer`] turns the few answers axum and
//! tower produce themselves (unknown route, wrong method, body too large)
//! into problem documents too.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::publish::PublishError;
use crate::service::{
    AdminError, CancelError, ChallengesError, CommitError, CreateSessionError, LookupError,
    OfferError, RefreshError,
};
use crate::store::StoreError;

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:kenmerk:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
}

impl Problem {
    /// A problem with `status`, a slug for its type and a detail text.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:kenmerk:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub(crate) fn bad_request(slug: &str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, slug, "Bad request", detail)
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub(crate) fn conflict(slug: &str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, slug, "Conflict", detail)
    }

    pub(crate) fn gone(slug: &str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::GONE, slug, "Gone", detail)
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("the request body exceeds {limit} bytes"),
        )
    }

    pub(crate) fn unsupported_media_type(expected: &str) -> Self {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!("the request body must be sent as Content-Type: {expected}"),
        )
    }

    pub(crate) fn internal() -> Self {
        // The cause goes to the log, never to the client.
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the issuer could not complete the request; it has been logged",
        )
    }

    pub(crate) fn unavailable(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            detail,
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kenmerk-issuer\""),
            );
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Problem::unavailable("the issuer's database is not available; try again later")
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing | AuthError::Invalid => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                e.to_string(),
            ),
            AuthError::NotAdmin | AuthError::CredentialTypeNotAllowed(_) => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                e.to_string(),
            ),
        }
    }
}

impl From<CreateSessionError> for Problem {
    fn from(e: CreateSessionError) -> Self {
        match e {
            CreateSessionError::UnknownCredentialType(_) => {
                Problem::bad_request("unknown-credential-type", e.to_string())
            }
            CreateSessionError::Attributes(_) | CreateSessionError::Subject => {
                Problem::bad_request("invalid-attributes", e.to_string())
            }
            CreateSessionError::NoKey(_) => Problem::unavailable(e.to_string()),
            CreateSessionError::SubjectBusy => {
                Problem::conflict("session-in-progress", e.to_string())
            }
            CreateSessionError::Forbidden(a) => a.into(),
            CreateSessionError::Store(s) => s.into(),
        }
    }
}

impl From<LookupError> for Problem {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NotFound => Problem::not_found(e.to_string()),
            LookupError::Store(s) => s.into(),
        }
    }
}

impl From<CancelError> for Problem {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound => Problem::not_found(e.to_string()),
            CancelError::Ended(_) => Problem::conflict("session-ended", e.to_string()),
            CancelError::Store(s) => s.into(),
        }
    }
}

impl From<OfferError> for Problem {
    fn from(e: OfferError) -> Self {
        match e {
            OfferError::NotFound => Problem::not_found(e.to_string()),
            OfferError::Expired => Problem::gone("session-expired", e.to_string()),
            OfferError::Ended(_) => Problem::gone("session-ended", e.to_string()),
            OfferError::Store(s) => s.into(),
        }
    }
}

impl From<CommitError> for Problem {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::NotFound => Problem::not_found(e.to_string()),
            CommitError::Malformed(_) => Problem::bad_request("malformed-message", e.to_string()),
            CommitError::OutOfOrder(_) => Problem::conflict("out-of-order", e.to_string()),
            CommitError::Expired => Problem::gone("session-expired", e.to_string()),
            CommitError::Ended(_) => Problem::gone("session-ended", e.to_string()),
            CommitError::Refused(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "issuance-refused",
                "Issuance refused",
                e.to_string(),
            ),
            CommitError::Internal(detail) => {
                tracing::error!(%detail, "commitment failed");
                Problem::internal()
            }
            CommitError::Store(s) => s.into(),
        }
    }
}

impl From<ChallengesError> for Problem {
    fn from(e: ChallengesError) -> Self {
        match e {
            ChallengesError::NotFound => Problem::not_found(e.to_string()),
            ChallengesError::Malformed(_) => {
                Problem::bad_request("malformed-message", e.to_string())
            }
            ChallengesError::OutOfOrder(_) => Problem::conflict("out-of-order", e.to_string()),
            ChallengesError::AlreadyAnswered => {
                Problem::conflict("already-answered", e.to_string())
            }
            ChallengesError::Expired => Problem::gone("session-expired", e.to_string()),
            ChallengesError::Ended(_) => Problem::gone("session-ended", e.to_string()),
            ChallengesError::CredentialRevoked => Problem::new(
                StatusCode::FORBIDDEN,
                "credential-revoked",
                "Credential revoked",
                e.to_string(),
            ),
            ChallengesError::Internal(detail) => {
                tracing::error!(%detail, "answer failed");
                Problem::internal()
            }
            ChallengesError::Store(s) => s.into(),
        }
    }
}

impl From<RefreshError> for Problem {
    fn from(e: RefreshError) -> Self {
        match e {
            RefreshError::Malformed(_) => Problem::bad_request("malformed-message", e.to_string()),
            // Unknown and revoked records answer alike, so a refresh attempt
            // does not reveal which record ids exist.
            RefreshError::NotRefreshable => Problem::new(
                StatusCode::FORBIDDEN,
                "refresh-refused",
                "Refresh refused",
                e.to_string(),
            ),
            RefreshError::Busy => Problem::conflict("refresh-in-progress", e.to_string()),
            RefreshError::NoKey(_) => Problem::unavailable(e.to_string()),
            RefreshError::Internal(detail) => {
                tracing::error!(%detail, "refresh failed");
                Problem::internal()
            }
            RefreshError::Store(s) => s.into(),
        }
    }
}

impl From<AdminError> for Problem {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound => Problem::not_found(e.to_string()),
            AdminError::UnknownCredentialType(_) => {
                Problem::bad_request("unknown-credential-type", e.to_string())
            }
            AdminError::Attributes(_) => Problem::bad_request("invalid-attributes", e.to_string()),
            AdminError::Revoked => Problem::conflict("credential-revoked", e.to_string()),
            AdminError::Forbidden(a) => a.into(),
            AdminError::Publish(p) => p.into(),
            AdminError::Store(s) => s.into(),
            AdminError::Rotate(_) => {
                tracing::error!(error = %e, "key rotation failed");
                Problem::conflict("key-rotation-conflict", e.to_string())
            }
        }
    }
}

impl From<PublishError> for Problem {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Store(s) => s.into(),
            // Another instance published this version first: this one
            // serves an old version until it restarts.
            PublishError::VersionConflict(_) => {
                tracing::error!(error = %e, "publishing failed");
                Problem::conflict("scheme-version-conflict", e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "publishing failed");
                Problem::internal()
            }
        }
    }
}
