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

use axum::Router;

pub use ops::ops_router;
pub use requestor::{requestor_router, require_json, RequestorState};
pub use wallet::wallet_router;

/// All three routers merged (what the daemon serves).
pub fn full_router(state: RequestorState) -> Router {
    let sessions = state.sessions.clone();
    Router::new()
        .merge(requestor_router(state))
        .merge(wallet_router(sessions.clone()))
        .merge(ops_router(sessions))
}
