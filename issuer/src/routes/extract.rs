//! Request extractors: the authenticated requestor, JSON and raw bodies.
//! Each rejection is already a problem document.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{self, AUTHORIZATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::auth::{AuthError, Requestor};
use crate::problem::Problem;

/// The requestor named by `Authorization: Bearer …`; 401 or 403 otherwise.
#[axum::async_trait]
impl FromRequestParts<AppState> for Requestor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map_err(|_| AuthError::Invalid))
            .transpose()?;
        Ok(state.service.authenticator().authenticate(header)?)
    }
}

/// A JSON request body; another media type is 415, syntax and shape
/// errors 400, an oversized body 413.
pub struct JsonBody<T>(pub T);

#[axum::async_trait]
impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        require_json(req.headers())?;
        let bytes = body_bytes(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| Problem::bad_request("malformed-json", format!("invalid JSON body: {e}")))
    }
}

/// Refuses a body not declared `application/json` (parameters such as
/// `charset` allowed). A web page can send `text/plain` or a form to any
/// origin without asking; `application/json` needs a CORS preflight, which
/// this service does not grant, so a page cannot create sessions.
pub fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(t) if t.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(Problem::unsupported_media_type("application/json")),
    }
}

/// A raw (CBOR) request body within the size limit.
pub struct RawBody(pub Bytes);

#[axum::async_trait]
impl FromRequest<AppState> for RawBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        body_bytes(req, state).await.map(RawBody)
    }
}

async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, Problem> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::payload_too_large(state.max_body_bytes)
        } else {
            Problem::bad_request("unreadable-body", e.body_text())
        }
    })
}
