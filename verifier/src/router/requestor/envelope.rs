//! The body of `POST /session` and `POST /offline/challenge`: a bare
//! session request (recognised by its `@context`) or the extended envelope
//! naming the verifier identity. Read here once for both.

use axum::http::HeaderMap;
use serde::Deserialize;
use wallet_core::ids::VerifierId;
use wallet_core::request::SessionRequest;

use super::access::{self, RequestorState};
use crate::problem::Problem;
use crate::session::NewSession;

/// `POST /session` body: a bare session request, or this envelope.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtendedRequest {
    /// The session request (IRMA shape, `@context` disclosure or signature).
    #[schema(value_type = Object)]
    pub request: SessionRequest,
    /// The registered verifier identity, when the requestor is not bound to one.
    #[schema(value_type = Option<String>)]
    pub verifier: Option<VerifierId>,
    /// Allow asking beyond the verifier's registration (logged).
    pub allow_unregistered: Option<bool>,
}

impl ExtendedRequest {
    /// Parse a body: the envelope, or a bare request.
    fn read(body: &[u8]) -> Result<Self, Problem> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| Problem::bad_request("malformed-json", "Malformed JSON", e.to_string()))?;
        if value.get("@context").is_some() {
            Ok(Self {
                request: serde_json::from_value(value).map_err(invalid)?,
                verifier: None,
                allow_unregistered: None,
            })
        } else {
            serde_json::from_value(value).map_err(invalid)
        }
    }
}

fn invalid(e: serde_json::Error) -> Problem {
    Problem::bad_request("invalid-request", "Invalid session request", e.to_string())
}

/// The session the authenticated requestor asks for: credentials (401) and
/// media type (415) first, then the body (400), then the verifier identity
/// it may use (403).
pub(super) fn new_session(
    state: &RequestorState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<NewSession, Problem> {
    let who = access::json_requestor(state, headers)?;
    let envelope = ExtendedRequest::read(body)?;
    let verifier = access::verifier_for(state, &who, envelope.verifier)?;
    Ok(NewSession {
        verifier,
        request: envelope.request,
        allow_unregistered: envelope.allow_unregistered.unwrap_or(false),
        requestor: who.name,
    })
}
