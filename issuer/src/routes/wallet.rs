//! Wallet API: the blind batch issuance protocol and refresh, CBOR wire
//! messages from wallet-core (`application/cbor`), unauthenticated (the
//! session id from the QR code, or the holder proof, is the credential).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::{cbor, AppState, RawBody};
use crate::problem::Problem;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/wallet/session/:id", get(offer))
        .route("/wallet/session/:id/commitment", post(commitment))
        .route("/wallet/session/:id/refresh-proof", post(refresh_proof))
        .route("/wallet/session/:id/challenges", post(challenges))
        .route("/wallet/refresh", post(refresh))
}

/// The offer (`IssuanceOffer`): what will be issued, for consent.
#[utoipa::path(get, path = "/wallet/session/{id}", tag = "wallet",
    params(("id" = String, Path, description = "Session id from the session pointer")),
    responses((status = 200, description = "IssuanceOffer (CBOR)", content_type = "application/cbor"),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem)))]
pub async fn offer(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    Ok(cbor(StatusCode::OK, state.service.offer(&id).await?))
}

/// `HolderCommitment` → `SignerCommitmentsMessage`.
#[utoipa::path(post, path = "/wallet/session/{id}/commitment", tag = "wallet",
    params(("id" = String, Path, description = "Session id")),
    request_body(content = Vec<u8>, description = "HolderCommitment (CBOR)", content_type = "application/cbor"),
    responses((status = 200, description = "SignerCommitmentsMessage (CBOR)", content_type = "application/cbor"),
              (status = 400, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem),
              (status = 422, body = Problem)))]
pub async fn commitment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, Problem> {
    Ok(cbor(
        StatusCode::OK,
        state.service.commit(&id, &body).await?,
    ))
}

/// `RefreshProof` → `SignerCommitmentsMessage` (refresh sessions).
#[utoipa::path(post, path = "/wallet/session/{id}/refresh-proof", tag = "wallet",
    params(("id" = String, Path, description = "Session id (Location of POST /wallet/refresh)")),
    request_body(content = Vec<u8>, description = "RefreshProof (CBOR)", content_type = "application/cbor"),
    responses((status = 200, description = "SignerCommitmentsMessage (CBOR)", content_type = "application/cbor"),
              (status = 400, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn refresh_proof(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, Problem> {
    Ok(cbor(
        StatusCode::OK,
        state.service.refresh_proof(&id, &body).await?,
    ))
}

/// `ChallengesMessage` → `ResponsesMessage`, once; an identical retry gets
/// the same responses, other challenges 409.
#[utoipa::path(post, path = "/wallet/session/{id}/challenges", tag = "wallet",
    params(("id" = String, Path, description = "Session id")),
    request_body(content = Vec<u8>, description = "ChallengesMessage (CBOR)", content_type = "application/cbor"),
    responses((status = 200, description = "ResponsesMessage (CBOR)", content_type = "application/cbor"),
              (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 410, body = Problem)))]
pub async fn challenges(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, Problem> {
    Ok(cbor(
        StatusCode::OK,
        state.service.answer(&id, &body).await?,
    ))
}

/// `RefreshRequest` → 201 `IssuanceOffer`, `Location` = the refresh
/// session's URL (continue with `/refresh-proof` and `/challenges` there).
#[utoipa::path(post, path = "/wallet/refresh", tag = "wallet",
    request_body(content = Vec<u8>, description = "RefreshRequest (CBOR)", content_type = "application/cbor"),
    responses((status = 201, description = "IssuanceOffer (CBOR); Location header", content_type = "application/cbor"),
              (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> Result<Response, Problem> {
    let started = state.service.start_refresh(&body).await?;
    let mut response = cbor(StatusCode::CREATED, started.offer);
    if let Ok(v) = HeaderValue::from_str(&started.session_url) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}
