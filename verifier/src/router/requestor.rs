//! The requestor API (IRMA-like), the session page, signed timestamps,
//! stored-signature verification and offline challenges.
//!
//! Two handles per session: the requestor token (status, result, cancel;
//! with the requestor's credentials, for the requestor's back end) and the
//! page token (`/page/{token}/…`: the page, its status stream and its
//! summary of the result; for the page shown to residents). The page URL
//! never carries the requestor token.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use wallet_core::ids::VerifierId;
use wallet_core::request::{AttributeLabel, Condition, SessionKind, SessionRequest};
use wallet_core::scheme::Scheme;
use wallet_core::signature::AttributeSignature;
use wallet_core::wire::SessionPointer;

use super::RequestorState;
use crate::auth::RequestorAuth;
use crate::page::{self, Lang, PageAttribute, PageResult, PageView};
use crate::problem::Problem;
use crate::session::{LoadedSession, NewSession, SessionResult, StreamRefused, WatchError};
use crate::signature::{sign_timestamp, verify_signature, SignatureReport, SignedTimestamp};
use crate::store::{now_ms, PageToken, RequestorToken, SessionStatus};

/// The requestor router: `/session…`, `/assets/…`, `/timestamp`,
/// `/signature/verify`, `/offline/…`, `/publickey`.
pub fn requestor_router(state: RequestorState) -> Router {
    Router::new()
        .route("/session", post(create_session))
        .route("/session/:token", axum::routing::delete(delete_session))
        .route("/session/:token/status", get(status))
        .route("/session/:token/statusevents", get(status_events))
        .route("/session/:token/result", get(result))
        .route("/session/:token/result-jwt", get(result_jwt))
        .route("/page/:token/view", get(session_page))
        .route("/page/:token/statusevents", get(page_status_events))
        .route("/page/:token/page-result", get(page_result))
        .route("/assets/page.css", get(page::css))
        .route("/assets/page.js", get(page::js))
        .route("/timestamp", post(timestamp))
        .route("/signature/verify", post(signature_verify))
        .route("/offline/challenge", post(offline_challenge))
        .route("/offline/:token/answer", post(offline_answer))
        .route("/publickey", get(public_key))
        .with_state(state)
}

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

/// `POST /session` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    /// The requestor token (secret: gives access to status and result).
    pub token: String,
    /// What the QR code carries: `{"u": url, "irmaqr": kind}`.
    #[schema(value_type = Object)]
    pub session_ptr: SessionPointer,
    /// The session page for residents (carries the page token, not the
    /// requestor token).
    pub page: String,
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
async fn owned(
    state: &RequestorState,
    headers: &HeaderMap,
    token: &str,
) -> Result<(RequestorToken, LoadedSession), Problem> {
    let who = state.auth.authenticate(headers)?;
    let token = parse_token(token)?;
    let loaded = match &*state.auth {
        RequestorAuth::Open => state.sessions.load(&token).await?,
        RequestorAuth::Requestors(_) => state.sessions.load_owned(&token, &who.name).await?,
    };
    Ok((token, loaded))
}

fn parse_new_session(
    state: &RequestorState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<NewSession, Problem> {
    let who = state.auth.authenticate(headers)?;
    super::require_json(headers)?;
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request("malformed-json", "Malformed JSON", e.to_string()))?;
    let envelope = if value.get("@context").is_some() {
        ExtendedRequest {
            request: serde_json::from_value(value).map_err(bad_request)?,
            verifier: None,
            allow_unregistered: None,
        }
    } else {
        serde_json::from_value::<ExtendedRequest>(value).map_err(bad_request)?
    };
    let verifier = match (&who.verifier, envelope.verifier) {
        (Some(bound), Some(asked)) if *bound != asked => {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "verifier-not-allowed",
                "Verifier identity not allowed",
                format!("requestor {} may only create sessions as {bound}", who.name),
            ))
        }
        (Some(bound), _) => bound.clone(),
        (None, Some(asked)) => asked,
        (None, None) => state.default_verifier.clone().ok_or_else(|| {
            Problem::bad_request(
                "no-verifier",
                "No verifier identity",
                "name the registered verifier (\"verifier\": \"scheme.verifier\") or configure default_verifier",
            )
        })?,
    };
    Ok(NewSession {
        verifier,
        request: envelope.request,
        allow_unregistered: envelope.allow_unregistered.unwrap_or(false),
        requestor: who.name,
    })
}

fn bad_request(e: serde_json::Error) -> Problem {
    Problem::bad_request("invalid-request", "Invalid session request", e.to_string())
}

/// Create a disclosing or signing session.
#[utoipa::path(post, path = "/session", tag = "requestor",
    request_body(content = ExtendedRequest, description = "A session request (IRMA shape) or the extended envelope"),
    responses(
        (status = 200, body = SessionCreated),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, description = "Beyond the verifier's registration", content_type = "application/problem+json"),
        (status = 415, body = Problem, description = "Body not sent as application/json", content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, description = "The requestor holds its maximum of sessions (Retry-After)", content_type = "application/problem+json"),
        (status = 503, body = Problem, description = "The verifier holds its maximum of sessions, or the store is unavailable (Retry-After)", content_type = "application/problem+json"),
    ))]
pub async fn create_session(
    State(state): State<RequestorState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<SessionCreated>, Problem> {
    let body = body?;
    let new = parse_new_session(&state, &headers, &body)?;
    let created = state.sessions.create(new).await?;
    let token = created.requestor_token.as_str().to_owned();
    Ok(Json(SessionCreated {
        page: format!(
            "{}/page/{}/view",
            state.sessions.settings().public_url.trim_end_matches('/'),
            created.page_token.to_url_string()
        ),
        token,
        session_ptr: created.pointer,
    }))
}

/// The session status, as a JSON string (`"INITIALIZED"` …).
#[utoipa::path(get, path = "/session/{token}/status", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, body = SessionStatus), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json")))]
pub async fn status(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SessionStatus>, Problem> {
    let (_, loaded) = owned(&state, &headers, &token).await?;
    Ok(Json(loaded.status()))
}

/// Server-sent events: the status now and at every change (data is the
/// status as a JSON string); the stream ends after a final status.
#[utoipa::path(get, path = "/session/{token}/statusevents", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, description = "text/event-stream of statuses"), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json"), (status = 429, body = Problem, description = "The session has its maximum of status streams open", content_type = "application/problem+json"), (status = 503, body = Problem, description = "The verifier has its maximum of status streams open", content_type = "application/problem+json")))]
pub async fn status_events(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    // Fail with 404 before opening a stream for a session that is not there.
    let (token, _) = owned(&state, &headers, &token).await?;
    let stream = state
        .sessions
        .watch_limited(&token)
        .map_err(stream_refused)?;
    Ok(sse(&state, stream))
}

/// The session page's status stream (same events as `statusevents`).
#[utoipa::path(get, path = "/page/{token}/statusevents", tag = "page",
    params(("token" = String, Path, description = "page token")),
    responses((status = 200, description = "text/event-stream of statuses"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, description = "The session has its maximum of status streams open", content_type = "application/problem+json"), (status = 503, body = Problem, description = "The verifier has its maximum of status streams open", content_type = "application/problem+json")))]
pub async fn page_status_events(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let token = parse_page_token(&token)?;
    let stream = match state.sessions.watch_page_limited(&token).await {
        Ok(s) => s,
        Err(WatchError::Lookup(e)) => return Err(e.into()),
        Err(WatchError::Refused(r)) => return Err(stream_refused(r)),
    };
    Ok(sse(&state, stream))
}

/// A stream cap reached: 429 for the session's cap (the client has
/// streams open already), 503 for the verifier's; both with
/// `Retry-After`.
fn stream_refused(refused: StreamRefused) -> Problem {
    match refused {
        StreamRefused::PerSession(_) => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-streams",
            "Too many status streams for this session",
            refused.to_string(),
        )
        .with_retry_after(5),
        StreamRefused::Total(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "streams-exhausted",
            "Too many status streams open",
            refused.to_string(),
        )
        .with_retry_after(5),
    }
}

fn parse_page_token(token: &str) -> Result<PageToken, Problem> {
    token.parse().map_err(|_| Problem::session_not_found())
}

/// Server-sent events of a status stream, ending after a final status.
fn sse(
    state: &RequestorState,
    statuses: impl futures::Stream<Item = Result<SessionStatus, crate::session::LookupError>>
        + Send
        + 'static,
) -> Response {
    let guard = state.sessions.metrics().stream_opened();
    let events = statuses
        .take_while(|s| futures::future::ready(s.is_ok()))
        .filter_map(|s| futures::future::ready(s.ok()))
        .map(move |status| {
            // The guard lives as long as the stream.
            let _ = &guard;
            Ok::<_, Infallible>(Event::default().data(format!("\"{status}\"")))
        });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    // Proxies must not buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The session result: status and type while running; for DONE the
/// verification result from wallet-core's `matching` (proofStatus,
/// disclosed, predicates, pseudonym) plus a precise `reason`.
#[utoipa::path(get, path = "/session/{token}/result", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, body = Object), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json")))]
pub async fn result(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SessionResult>, Problem> {
    let (_, loaded) = owned(&state, &headers, &token).await?;
    let result = match loaded.result() {
        Some(r) => r.clone(),
        None => SessionResult {
            status: loaded.status(),
            kind: loaded
                .request()
                .map_or(SessionKind::Disclosing, |r| r.kind()),
            verifier: loaded.verifier().clone(),
            verification: None,
            signature: None,
            timestamp_signature: None,
        },
    };
    Ok(Json(result))
}

/// The final result as a JWT signed by this verifier (EdDSA; key at
/// `/publickey`).
#[utoipa::path(get, path = "/session/{token}/result-jwt", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 200, body = String, content_type = "application/jwt"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json")))]
pub async fn result_jwt(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (token, _) = owned(&state, &headers, &token).await?;
    let jwt = state.sessions.result_jwt(&token).await?;
    Ok(([(header::CONTENT_TYPE, "application/jwt")], jwt).into_response())
}

/// Cancel the session.
#[utoipa::path(delete, path = "/session/{token}", tag = "requestor",
    params(("token" = String, Path, description = "requestor token")),
    responses((status = 401, body = Problem, description = "Requestor credentials missing or wrong (when requestors are configured)", content_type = "application/problem+json"), (status = 204), (status = 404, body = Problem, description = "Unknown session, or created by another requestor", content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_session(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let (token, _) = owned(&state, &headers, &token).await?;
    state.sessions.cancel(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// A predicate in the resident's words.
fn predicate_text(label: &str, condition: &Condition, lang: Lang) -> String {
    let age = match lang {
        Lang::Nl => "Leeftijd minstens",
        Lang::En => "Age at least",
    };
    match condition {
        Condition::AgeAtLeast { years, .. } => format!("{age} {years} ({label})"),
        Condition::GreaterOrEqual(v) => format!("{label} ≥ {v}"),
        Condition::LessOrEqual(v) => format!("{label} ≤ {v}"),
    }
}

/// One line per thing asked, in the resident's language: wallet-core says
/// what is asked and under which labels ([`SessionRequest::describe`]); the
/// page only joins the parts in its words.
pub fn describe_request(
    scheme: &Scheme,
    verifier: &VerifierId,
    request: &SessionRequest,
    lang: Lang,
) -> Vec<String> {
    let (or, optional, pseudonym, sign) = match lang {
        Lang::Nl => (" of ", "(optioneel)", "Pseudoniem voor", "Ondertekenen:"),
        Lang::En => (" or ", "(optional)", "Pseudonym for", "Sign:"),
    };
    let l = lang.tag();
    let asked = request.describe(scheme, verifier);
    let mut out = Vec::new();
    if let Some(m) = asked.message {
        out.push(format!("{sign} “{m}”"));
    }
    for d in &asked.disjunctions {
        let options: Vec<String> = d
            .options
            .iter()
            .map(|c| {
                c.iter()
                    .map(|a| match a.required_value {
                        Some(v) => format!("{} = {v}", a.label.with_credential(l)),
                        None => a.label.with_credential(l),
                    })
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        let mut line = d
            .label
            .map(|t| format!("{}: ", t.get(l)))
            .unwrap_or_default();
        line.push_str(&options.join(or));
        if d.optional {
            line.push(' ');
            line.push_str(optional);
        }
        out.push(line);
    }
    for p in &asked.predicates {
        out.push(predicate_text(
            &p.label.with_credential(l),
            p.condition,
            lang,
        ));
    }
    if let Some(scope) = asked.pseudonym {
        out.push(format!("{pseudonym} {scope}"));
    }
    out
}

/// The session page: QR code, verifier name, what is asked, live status.
#[utoipa::path(get, path = "/page/{token}/view", tag = "page",
    params(("token" = String, Path, description = "page token")),
    responses((status = 200, content_type = "text/html"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn session_page(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let token = parse_page_token(&token)?;
    let loaded = state.sessions.load_page(&token).await?;
    let scheme = state.sessions.scheme();
    let lang = lang(&headers);
    let request = loaded
        .request()
        .ok_or_else(|| Problem::internal("stored request unreadable"))?;
    let verifier_name = scheme
        .verifier(loaded.verifier())
        .map(|v| v.name.get(lang.tag()).to_owned())
        .unwrap_or_else(|| loaded.verifier().to_string());
    let pointer = SessionPointer::new(
        format!(
            "{}/wallet/{}",
            state.sessions.settings().public_url.trim_end_matches('/'),
            loaded.wallet_token().as_str()
        ),
        request.kind(),
    )
    .map_err(|_| Problem::internal("invalid public URL"))?;
    let view = PageView {
        lang,
        verifier_name,
        asked: describe_request(&scheme, loaded.verifier(), &request, lang),
        pointer_json: pointer.to_json(),
        status: loaded.status().to_string(),
    };
    let html = page::render(&view).map_err(|e| Problem::internal(e.to_string()))?;
    let mut response = html.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::PAGE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The page's summary of the result, labels in the page's language.
#[utoipa::path(get, path = "/page/{token}/page-result", tag = "page",
    params(("token" = String, Path, description = "page token")),
    responses((status = 200, body = PageResult), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn page_result(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Json<PageResult>, Problem> {
    let token = parse_page_token(&token)?;
    let result = state.sessions.page_result(&token).await?;
    let scheme = state.sessions.scheme();
    let lang = lang(&headers);
    Ok(Json(summarize(&scheme, &result, lang)))
}

/// The page's summary of a session result.
pub fn summarize(scheme: &Scheme, result: &SessionResult, lang: Lang) -> PageResult {
    let Some(v) = &result.verification else {
        let reason = match (result.status, lang) {
            (SessionStatus::Timeout, Lang::Nl) => "de sessie is verlopen.",
            (SessionStatus::Timeout, Lang::En) => "the session expired.",
            (_, Lang::Nl) => "de sessie is afgebroken.",
            (_, Lang::En) => "the session was cancelled.",
        };
        return PageResult {
            valid: false,
            reason: Some(reason.into()),
            attributes: Vec::new(),
            predicates: Vec::new(),
            pseudonym: None,
        };
    };
    let (empty, proven, missing) = match lang {
        Lang::Nl => ("(leeg)", "bewezen", "niet getoond"),
        Lang::En => ("(empty)", "proven", "not shown"),
    };
    let attributes = v
        .result
        .disclosed
        .iter()
        .flatten()
        .map(|a| {
            PageAttribute::new(
                AttributeLabel::of(scheme, &a.id).with_credential(lang.tag()),
                a.raw_value.clone().unwrap_or_else(|| empty.to_owned()),
            )
        })
        .collect();
    let predicates = v
        .result
        .predicates
        .iter()
        .map(|p| {
            let label =
                AttributeLabel::of(scheme, &p.predicate.attribute).with_credential(lang.tag());
            let statement = predicate_text(&label, &p.predicate.condition, lang);
            let outcome = match p.status {
                wallet_core::matching::PredicateStatus::Proven => proven,
                wallet_core::matching::PredicateStatus::Missing => missing,
            };
            PageAttribute::new(statement, outcome)
        })
        .collect();
    PageResult {
        valid: v.is_valid(),
        reason: v.reason.map(|r| match &v.result.error {
            Some(e) => format!("{r}: {e}"),
            None => r.to_string(),
        }),
        attributes,
        predicates,
        pseudonym: v.result.pseudonym.as_ref().map(|p| p.value.clone()),
    }
}

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
    state.auth.authenticate(&headers)?;
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
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(req.signature.trim().trim_end_matches('='))
        .map_err(|_| {
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
    let new = parse_new_session(&state, &headers, &body)?;
    if new.request.kind() != SessionKind::Disclosing {
        return Err(Problem::bad_request(
            "wrong-session-kind",
            "Wrong session kind",
            "offline challenges are for disclosure requests",
        ));
    }
    let (created, message) = state.sessions.offline_challenge(new).await?;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message);
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
    let text = std::str::from_utf8(body).ok().map(str::trim);
    text.and_then(|t| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t.trim_end_matches('='))
            .ok()
    })
    .unwrap_or_else(|| body.to_vec())
}

/// This verifier's public key (JWKS), for result JWTs and timestamps.
#[utoipa::path(get, path = "/publickey", tag = "signatures",
    responses((status = 200, body = Object)))]
pub async fn public_key(State(state): State<RequestorState>) -> Json<serde_json::Value> {
    Json(state.sessions.signing_key().jwks())
}
