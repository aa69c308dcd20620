//! The session page, by page token: the HTML page, its status stream and
//! its summary of the result. No requestor credentials: the page token is
//! the handle, and it opens nothing else.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use wallet_core::wire::SessionPointer;

use super::access::{self, RequestorState};
use super::events;
use crate::page::{self, PageView};
use crate::problem::Problem;
use crate::session::WatchError;
use crate::texts::{self, Lang, PageResult};

/// The session page: QR code, verifier name, what is asked, live status.
#[utoipa::path(get, path = "/page/{token}/view", tag = "page",
    params(("token" = String, Path, description = "page token")),
    responses((status = 200, content_type = "text/html"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn session_page(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let token = access::page_token(&token)?;
    let loaded = state.sessions.load_page(&token).await?;
    let scheme = state.sessions.scheme();
    let lang = Lang::from_headers(&headers);
    let request = loaded.request();
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
        asked: texts::describe_request(&scheme, loaded.verifier(), request, lang),
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
    let token = access::page_token(&token)?;
    let result = state.sessions.page_result(&token).await?;
    let scheme = state.sessions.scheme();
    let lang = Lang::from_headers(&headers);
    Ok(Json(texts::summarize(&scheme, &result, lang)))
}

/// The session page's status stream (same events as `statusevents`).
#[utoipa::path(get, path = "/page/{token}/statusevents", tag = "page",
    params(("token" = String, Path, description = "page token")),
    responses((status = 200, description = "text/event-stream of statuses"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, description = "The session has its maximum of status streams open", content_type = "application/problem+json"), (status = 503, body = Problem, description = "The verifier has its maximum of status streams open", content_type = "application/problem+json")))]
pub async fn page_status_events(
    State(state): State<RequestorState>,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let token = access::page_token(&token)?;
    let stream = match state.sessions.watch_page_limited(&token).await {
        Ok(s) => s,
        Err(WatchError::Lookup(e)) => return Err(e.into()),
        Err(WatchError::Refused(r)) => return Err(events::stream_refused(r)),
    };
    Ok(events::sse(&state, stream))
}
