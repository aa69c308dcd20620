//! The wallet API: fetch the request, post the presentation, or decline.
//! Bodies are wallet-core wire messages in canonical CBOR.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use wallet_core::matching::ProofStatus;

use crate::problem::Problem;
use crate::session::Sessions;
use crate::store::WalletToken;

/// Media type of wire messages.
pub const CBOR: &str = "application/cbor";

/// The wallet router: `GET/DELETE /wallet/{token}`,
/// `POST /wallet/{token}/presentation`.
pub fn wallet_router(sessions: Sessions) -> Router {
    Router::new()
        .route("/wallet/:token", get(get_request).delete(decline))
        .route("/wallet/:token/presentation", post(post_presentation))
        .with_state(sessions)
}

fn parse_token(token: &str) -> Result<WalletToken, Problem> {
    token.parse().map_err(|_| Problem::session_not_found())
}

/// The request for the wallet: `DisclosureRequestMessage` or
/// `SigningRequestMessage` (canonical CBOR) with the verifier id (the wallet
/// shows the verifier's registered name from its scheme), the request and
/// the session nonce.
#[utoipa::path(get, path = "/wallet/{token}", tag = "wallet",
    params(("token" = String, Path, description = "wallet token from the session pointer")),
    responses((status = 200, body = Vec<u8>, content_type = "application/cbor"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn get_request(
    State(sessions): State<Sessions>,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let token = parse_token(&token)?;
    let message = sessions.wallet_request(&token).await?;
    Ok(([(header::CONTENT_TYPE, CBOR)], message).into_response())
}

// What the wallet learns about its presentation: wallet-core's contract
// type, which the wallet reads back.
pub use wallet_core::wire::PresentationAnswer;

/// Post the presentation (`PresentationMessage`, canonical CBOR). The
/// session completes once; again, or for another session, is refused.
#[utoipa::path(post, path = "/wallet/{token}/presentation", tag = "wallet",
    params(("token" = String, Path, description = "wallet token")),
    request_body(content = Vec<u8>, content_type = "application/cbor"),
    responses((status = 200, body = PresentationAnswer),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, description = "Session finished (replay or too late)", content_type = "application/problem+json"),
        (status = 422, body = Problem, description = "Presentation for another session or verifier (wrong-context), or carrying more than the request asks (unrequested, Rule 11)", content_type = "application/problem+json"),
        (status = 503, body = Problem, description = "Every verification slot is busy; retry after Retry-After seconds", content_type = "application/problem+json")))]
pub async fn post_presentation(
    State(sessions): State<Sessions>,
    Path(token): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<PresentationAnswer>, Problem> {
    let token = parse_token(&token)?;
    let body = body?;
    let result = sessions.wallet_answer(&token, &body).await?;
    let (proof_status, reason) = match &result.verification {
        Some(v) => (v.result.proof_status, v.reason),
        None => (ProofStatus::Invalid, None),
    };
    Ok(Json(PresentationAnswer {
        proof_status,
        reason,
    }))
}

/// The resident declines: the session is cancelled.
#[utoipa::path(delete, path = "/wallet/{token}", tag = "wallet",
    params(("token" = String, Path, description = "wallet token")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn decline(
    State(sessions): State<Sessions>,
    Path(token): Path<String>,
) -> Result<StatusCode, Problem> {
    let token = parse_token(&token)?;
    sessions.wallet_decline(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}
