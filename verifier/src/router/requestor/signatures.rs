//! Attribute-based signatures outside sessions: signed timestamps (for
//! requestors), verification of stored signatures (for anyone) and the
//! daemon's public key.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use wallet_core::signature::AttributeSignature;

use super::access::{self, RequestorState};
use crate::base64url;
use crate::problem::Problem;
use crate::signature::{sign_timestamp, verify_signature, SignatureReport, SignedTimestamp};
use crate::store::now_ms;

/// `POST /timestamp` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimestampRequest {
    /// The message the timestamp is for.
    pub message: String,
}

/// A timestamp for a message, signed by this verifier (for
/// attribute-based signatures made outside a session).
#[utoipa::path(post, path = "/timestamp", tag = "signatures",
    request_body = TimestampRequest,
    responses((status = 200, body = SignedTimestamp), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn timestamp(
    State(state): State<RequestorState>,
    headers: HeaderMap,
    body: Result<Json<TimestampRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SignedTimestamp>, Problem> {
    // Only requestors get timestamps: a timestamp vouches for a time, and
    // anyone holding one for a message can later sign that message "as of"
    // then (docs/security.md); the API is not open to the world.
    access::requestor(&state, &headers)?;
    let Json(req) = body?;
    if req.message.len() > wallet_core::request::MAX_MESSAGE {
        return Err(Problem::bad_request(
            "message-too-long",
            "Message too long",
            format!("at most {} bytes", wallet_core::request::MAX_MESSAGE),
        ));
    }
    Ok(Json(sign_timestamp(
        state.sessions.signing_key(),
        &req.message,
        now_ms() / 1000,
    )))
}

/// `POST /signature/verify` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignatureVerifyRequest {
    /// The attribute-based signature: canonical CBOR, base64url (as in a
    /// signing session's result).
    pub signature: String,
    /// This verifier's signed timestamp, for a signature with a timestamp.
    pub timestamp_signature: Option<SignedTimestamp>,
}

/// Verify a stored attribute-based signature against the current scheme.
#[utoipa::path(post, path = "/signature/verify", tag = "signatures",
    request_body = SignatureVerifyRequest,
    responses((status = 200, body = SignatureReport), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn signature_verify(
    State(state): State<RequestorState>,
    body: Result<Json<SignatureVerifyRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<SignatureReport>, Problem> {
    let Json(req) = body?;
    let bytes = base64url::decode_pasted(&req.signature).map_err(|_| {
        Problem::bad_request(
            "malformed-signature",
            "Malformed signature",
            "not base64url",
        )
    })?;
    // Counted against the protocol maxima before decoding (Rule 11).
    let signature = AttributeSignature::from_bytes(&bytes).map_err(|e| match e {
        wallet_core::signature::SignatureError::Unrequested(u) => Problem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "unrequested",
            "Presentation carries more than the request asks",
            u.to_string(),
        )
        .with_reason("UNREQUESTED"),
        e => Problem::bad_request("malformed-signature", "Malformed signature", e.to_string())
            .with_reason("MALFORMED"),
    })?;
    let scheme = state.sessions.scheme();
    let key = state.sessions.signing_key().public_key();
    let timestamp = req.timestamp_signature;
    // Group operations: on the verification pool, not this worker.
    let report = state
        .sessions
        .verify_pool()
        .run(move || {
            verify_signature(
                &scheme,
                &signature,
                timestamp.as_ref(),
                &key,
                now_ms() / 1000,
            )
        })
        .await
        .map_err(|_| Problem::from(crate::session::WalletError::Busy))?;
    Ok(Json(report))
}

/// This verifier's public key (JWKS), for result JWTs and timestamps.
#[utoipa::path(get, path = "/publickey", tag = "signatures",
    responses((status = 200, body = Object)))]
pub async fn public_key(State(state): State<RequestorState>) -> Json<serde_json::Value> {
    Json(state.sessions.signing_key().jwks())
}
