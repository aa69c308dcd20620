//! Offline challenges: a disclosure session whose request travels in a QR
//! code, and the wallet's answer posted by the requestor.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;
use wallet_core::request::SessionKind;

use super::access::{owned, RequestorState};
use super::envelope::{self, ExtendedRequest};
use crate::base64url;
use crate::page;
use crate::problem::Problem;
use crate::session::SessionResult;

/// `POST /offline/challenge` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfflineChallenge {
    /// Requestor token of the challenge (to post the answer).
    pub token: String,
    /// The challenge for the wallet: wallet-core's
    /// `DisclosureRequestMessage`, canonical CBOR, base64url.
    pub payload: String,
    /// The payload as a QR code (SVG).
    pub qr: String,
}

/// Create an offline challenge: a disclosure session whose request travels
/// in a QR code instead of over the network.
#[utoipa::path(post, path = "/offline/challenge", tag = "offline",
    request_body(content = ExtendedRequest, description = "A disclosure request or the extended envelope"),
    responses((status = 200, body = OfflineChallenge), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn offline_challenge(
    State(state): State<RequestorState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<OfflineChallenge>, Problem> {
    let body = body?;
    let new = envelope::new_session(&state, &headers, &body)?;
    if new.request.kind() != SessionKind::Disclosing {
        return Err(Problem::bad_request(
            "wrong-session-kind",
            "Wrong session kind",
            "offline challenges are for disclosure requests",
        ));
    }
    let (created, message) = state.sessions.offline_challenge(new).await?;
    let payload = base64url::encode(message);
    let qr = page::qr_svg(&payload, "offline challenge").map_err(|e| {
        Problem::bad_request(
            "request-too-large",
            "Request too large for a QR code",
            e.to_string(),
        )
    })?;
    Ok(Json(OfflineChallenge {
        token: created.requestor_token.as_str().to_owned(),
        payload,
        qr,
    }))
}

/// Post the wallet's offline answer (wallet-core `PresentationMessage`,
/// canonical CBOR, raw or base64url text); answers the session result.
#[utoipa::path(post, path = "/offline/{token}/answer", tag = "offline",
    params(("token" = String, Path, description = "requestor token of the challenge")),
    request_body(content = Vec<u8>, content_type = "application/cbor"),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, body = Object), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json")))]
pub async fn offline_answer(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<SessionResult>, Problem> {
    let (token, _) = owned(&state, &headers, &token).await?;
    let body = body?;
    let bytes = decode_answer(&body);
    Ok(Json(state.sessions.offline_answer(&token, &bytes).await?))
}

/// Raw CBOR, or base64url text of it (what a CLI pastes).
fn decode_answer(body: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(body).ok();
    text.and_then(|t| base64url::decode_pasted(t).ok())
        .unwrap_or_else(|| body.to_vec())
}
