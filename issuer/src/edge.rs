//! The issuer's edge: the shared [`service_edge`] (connection cap, header
//! and body timeouts, URI limit, problem documents for errors made below
//! the router), writing the issuer's problem documents.

use axum::response::{IntoResponse, Response};
pub use service_edge::{serve, EdgeLimits, MAX_URI_BYTES};
use service_edge::{Problems, Refusal};

use crate::problem::Problem;

impl Problems for Problem {
    fn refusal(refusal: Refusal) -> Response {
        Problem::new(
            refusal.status(),
            refusal.slug(),
            refusal.title(),
            refusal.detail(),
        )
        .into_response()
    }
}
