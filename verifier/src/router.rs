//! axum routers to mount in a service: [`requestor_router`] for the service
//! builder's back end (and the session page), [`wallet_router`] for
//! residents' wallets, [`ops_router`] for health, metrics and OpenAPI.
//!
//! Handlers only extract, call the session manager or wallet-core, and map
//! errors through [`crate::problem`]. The routers assume they are mounted
//! at the root of the verifier's public URL (pointers are
//! `{public_url}/wallet/{token}`, pages `{public_url}/session/{token}/page`).

pub mod ops;
pub mod requestor;
pub mod wallet;

use std::sync::Arc;

use axum::Router;
use wallet_core::ids::VerifierId;

use crate::auth::RequestorAuth;
use crate::session::Sessions;

pub use ops::ops_router;
pub use requestor::requestor_router;
pub use wallet::wallet_router;

/// What the requestor router needs.
#[derive(Clone)]
pub struct RequestorState {
    /// The session manager.
    pub sessions: Sessions,
    /// Who may create sessions.
    pub auth: Arc<RequestorAuth>,
    /// Verifier identity for requestors bound to none that name none.
    pub default_verifier: Option<VerifierId>,
}

/// Refuses a body not declared `application/json` (parameters such as
/// `charset` allowed). A web page may send `text/plain` or a form to any
/// origin without a CORS preflight; `application/json` needs one, which
/// the daemon grants only to configured origins. So a page cannot create
/// sessions on an open (loopback) daemon.
pub fn require_json(headers: &axum::http::HeaderMap) -> Result<(), crate::problem::Problem> {
    let essence = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(t) if t.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(crate::problem::unsupported_media_type()),
    }
}

/// All three routers merged (what the daemon serves).
pub fn full_router(state: RequestorState) -> Router {
    let sessions = state.sessions.clone();
    Router::new()
        .merge(requestor_router(state))
        .merge(wallet_router(sessions.clone()))
        .merge(ops_router(sessions))
}
