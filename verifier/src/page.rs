//! The session page: what a desk shows the resident (QR code, who asks,
//! what is asked, live status) and its static assets.
//!
//! HTML, CSS and JS are plain files under `assets/`, compiled into the
//! binary. The server fills the template with HTML-escaped text; the script
//! follows `statusevents` and renders the result with `textContent` only.
//! The page's view of a result ([`PageResult`]) is a label-resolved summary
//! made for display, so the script never interprets protocol JSON.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::texts::texts;
pub use crate::texts::{Lang, PageAttribute, PageResult};

const TEMPLATE: &str = include_str!("../assets/page.html");
const CSS: &str = include_str!("../assets/page.css");
const JS: &str = include_str!("../assets/page.js");

/// Content-Security-Policy of the page: own assets and own API only.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Escape text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
#[error("session pointer too long for a QR code: {0}")]
pub struct QrError(String);

/// The QR code of `payload` as an inline SVG element with an accessible name.
pub fn qr_svg(payload: &str, accessible_name: &str) -> Result<String, QrError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build();
    // Inline SVG must not carry an XML declaration.
    let body = image
        .split_once("?>")
        .map(|(_, rest)| rest)
        .unwrap_or(&image);
    let labelled = body.replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{}\" data-qr-payload=\"{}\" ",
            escape(accessible_name),
            escape(payload)
        ),
        1,
    );
    Ok(labelled)
}

/// What the session page shows before any status event.
#[derive(Debug, Clone)]
pub struct PageView {
    /// Language of the fixed texts and of scheme labels.
    pub lang: Lang,
    /// The verifier's registered name from the scheme.
    pub verifier_name: String,
    /// One line per thing asked, in the resident's words.
    pub asked: Vec<String>,
    /// The session pointer JSON (QR payload and CLI command).
    pub pointer_json: String,
    /// The session status when the page was rendered (IRMA name).
    pub status: String,
}

/// Render the page.
pub fn render(view: &PageView) -> Result<Html<String>, QrError> {
    let tx = texts(view.lang);
    let qr = qr_svg(&view.pointer_json, tx.scan_help)?;
    let asked: String = view
        .asked
        .iter()
        .map(|a| format!("<li>{}</li>", escape(a)))
        .collect();
    let status_text = match view.status.as_str() {
        "INITIALIZED" => tx.waiting,
        "CONNECTED" => tx.connected,
        "DONE" => tx.checking,
        "TIMEOUT" => tx.timeout,
        _ => tx.cancelled,
    };
    let script_texts = serde_json::json!({
        "waiting": tx.waiting, "connected": tx.connected, "checking": tx.checking,
        "done": tx.done, "failed": tx.failed, "timeout": tx.timeout,
        "cancelled": tx.cancelled, "no_result": tx.no_result,
        "connection_lost": tx.connection_lost, "no_sse": tx.no_sse,
        "pseudonym": tx.pseudonym,
    });
    // The texts go into a <template> as JSON; escaping `<` keeps the
    // element from being closed early, JSON.parse undoes `\u003c`.
    let texts_json = script_texts.to_string().replace('<', "\\u003c");
    let values: [(&str, String); 18] = [
        ("lang", view.lang.tag().to_owned()),
        ("title", escape(tx.title)),
        ("t_verifier", escape(tx.verifier)),
        ("t_asked", escape(tx.asked)),
        ("t_scan", escape(tx.scan)),
        ("t_scan_help", escape(tx.scan_help)),
        ("t_no_camera", escape(tx.no_camera)),
        ("t_cli_help", escape(tx.cli_help)),
        ("t_status", escape(tx.status)),
        ("t_result", escape(tx.result)),
        ("t_noscript", escape(tx.noscript)),
        ("status_text", escape(status_text)),
        ("status", escape(&view.status)),
        ("asked", asked),
        ("texts_json", texts_json),
        ("pointer", escape(&view.pointer_json)),
        ("verifier", escape(&view.verifier_name)),
        ("qr", qr),
    ];
    let html = fill(TEMPLATE, &values);
    Ok(Html(html))
}

/// Replace each `{{name}}` in one pass: inserted values are never scanned
/// again, so text from a request or the scheme cannot inject a placeholder.
/// An unknown placeholder stays as it is (the unit test checks none does).
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = &after[..end];
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push_str("{{");
                        out.push_str(name);
                        out.push_str("}}");
                    }
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `GET /assets/page.css`.
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        CSS,
    )
        .into_response()
}

/// `GET /assets/page.js`.
pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        JS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> PageView {
        PageView {
            lang: Lang::En,
            verifier_name: "Parking <desk> & co".into(),
            asked: vec!["City".into(), "Age at least 18 <script>".into()],
            pointer_json: r#"{"u":"http://127.0.0.1:8701/session/w/abc","irmaqr":"disclosing"}"#
                .into(),
            status: "INITIALIZED".into(),
        }
    }

    #[test]
    fn renders_escaped_page_with_qr() {
        let Html(html) = render(&view()).unwrap();
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("Parking &lt;desk&gt; &amp; co"));
        assert!(html.contains("<li>Age at least 18 &lt;script&gt;</li>"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("<svg role=\"img\""));
        assert!(!html.contains("<?xml"));
        assert!(html.contains("aria-live=\"polite\""));
        assert!(!html.contains("{{"), "every placeholder is filled");
        // Values are not re-scanned for placeholders.
        let mut v = view();
        v.asked = vec!["{{qr}}".into()];
        let Html(html) = render(&v).unwrap();
        assert!(html.contains("<li>{{qr}}</li>"));
    }

    #[test]
    fn qr_decodes_to_payload() {
        let svg = qr_svg("hello", "name").unwrap();
        assert!(svg.contains("data-qr-payload=\"hello\""));
        assert!(svg.contains("<path"));
    }
}
