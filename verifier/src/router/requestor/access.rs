//! Who may do what on the requestor API, decided here and nowhere else:
//! the requestor's credentials (401), the media type of bodies that create
//! something (415), which verifier identity a requestor may create sessions
//! as (403), and which sessions a requestor's token opens (404 for another
//! requestor's, like an unknown one). The page token opens only the page.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use wallet_core::ids::VerifierId;

use crate::auth::{Authenticated, RequestorAuth};
use crate::problem::Problem;
use crate::session::{LoadedSession, Sessions};
use crate::store::{PageToken, RequestorToken};

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

/// The requestor behind `headers` (401 without valid credentials).
pub(super) fn requestor(
    state: &RequestorState,
    headers: &HeaderMap,
) -> Result<Authenticated, Problem> {
    Ok(state.auth.authenticate(headers)?)
}

/// The requestor behind `headers`, posting a JSON body: credentials first
/// (401), then the media type (415).
pub(super) fn json_requestor(
    state: &RequestorState,
    headers: &HeaderMap,
) -> Result<Authenticated, Problem> {
    let who = requestor(state, headers)?;
    require_json(headers)?;
    Ok(who)
}

/// Refuses a body not declared `application/json` (parameters such as
/// `charset` allowed). A web page may send `text/plain` or a form to any
/// origin without a CORS preflight; `application/json` needs one, which
/// the daemon grants only to configured origins. So a page cannot create
/// sessions on an open (loopback) daemon.
pub fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
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

/// The verifier identity `who` creates a session as: the one it is bound
/// to (asking for another is 403), else the one it names, else the
/// daemon's default.
pub(super) fn verifier_for(
    state: &RequestorState,
    who: &Authenticated,
    asked: Option<VerifierId>,
) -> Result<VerifierId, Problem> {
    match (&who.verifier, asked) {
        (Some(bound), Some(asked)) if *bound != asked => Err(Problem::new(
            StatusCode::FORBIDDEN,
            "verifier-not-allowed",
            "Verifier identity not allowed",
            format!("requestor {} may only create sessions as {bound}", who.name),
        )),
        (Some(bound), _) => Ok(bound.clone()),
        (None, Some(asked)) => Ok(asked),
        (None, None) => state.default_verifier.clone().ok_or_else(|| {
            Problem::bad_request(
                "no-verifier",
                "No verifier identity",
                "name the registered verifier (\"verifier\": \"scheme.verifier\") or configure default_verifier",
            )
        }),
    }
}

fn parse_token(token: &str) -> Result<RequestorToken, Problem> {
    // A malformed token gets the same answer as an unknown one.
    token.parse().map_err(|_| Problem::session_not_found())
}

/// The session behind `token`, for the authenticated requestor that
/// created it: authentication first (401), then a session of another
/// requestor is 404 like an unknown one. An open API has no identities to
/// separate (everyone is the same anonymous caller): there the token alone
/// opens the session, also one created in-process under another name.
pub(super) async fn owned(
    state: &RequestorState,
    headers: &HeaderMap,
    token: &str,
) -> Result<(RequestorToken, LoadedSession), Problem> {
    let who = requestor(state, headers)?;
    let token = parse_token(token)?;
    let loaded = match &*state.auth {
        RequestorAuth::Open => state.sessions.load(&token).await?,
        RequestorAuth::Requestors(_) => state.sessions.load_owned(&token, &who.name).await?,
    };
    Ok((token, loaded))
}

/// The page token in a URL; a malformed one is 404 like an unknown one.
pub(super) fn page_token(token: &str) -> Result<PageToken, Problem> {
    token.parse().map_err(|_| Problem::session_not_found())
}
