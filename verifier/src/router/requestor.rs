//! The requestor API (IRMA-like), the session page, signed timestamps,
//! stored-signature verification and offline challenges.
//!
//! Two handles per session: the requestor token (status, result, cancel;
//! with the requestor's credentials, for the requestor's back end) and the
//! page token (`/page/{token}/…`: the page, its status stream and its
//! summary of the result; for the page shown to residents). The page URL
//! never carries the requestor token.
//!
//! One module per concern: [`sessions`], [`page`], [`signatures`],
//! [`offline`]; who may do what is decided in [`access`] only, request
//! bodies are read in [`envelope`], and every text a person reads comes
//! from [`crate::texts`].

pub mod access;
pub mod envelope;
mod events;
pub mod offline;
pub mod page;
pub mod sessions;
pub mod signatures;

use axum::routing::{get, post};
use axum::Router;

pub use access::{require_json, RequestorState};
pub use envelope::ExtendedRequest;
pub use offline::OfflineChallenge;
pub use sessions::SessionCreated;
pub use signatures::{SignatureVerifyRequest, TimestampRequest};

/// The requestor router: `/session…`, `/assets/…`, `/timestamp`,
/// `/signature/verify`, `/offline/…`, `/publickey`.
pub fn requestor_router(state: RequestorState) -> Router {
    Router::new()
        .route("/session", post(sessions::create_session))
        .route(
            "/session/:token",
            axum::routing::delete(sessions::delete_session),
        )
        .route("/session/:token/status", get(sessions::status))
        .route("/session/:token/statusevents", get(sessions::status_events))
        .route("/session/:token/result", get(sessions::result))
        .route("/session/:token/result-jwt", get(sessions::result_jwt))
        .route("/page/:token/view", get(page::session_page))
        .route("/page/:token/statusevents", get(page::page_status_events))
        .route("/page/:token/page-result", get(page::page_result))
        .route("/assets/page.css", get(crate::page::css))
        .route("/assets/page.js", get(crate::page::js))
        .route("/timestamp", post(signatures::timestamp))
        .route("/signature/verify", post(signatures::signature_verify))
        .route("/offline/challenge", post(offline::offline_challenge))
        .route("/offline/:token/answer", post(offline::offline_answer))
        .route("/publickey", get(signatures::public_key))
        .with_state(state)
}
