//! Everything a person reads, rendered in one place: the page's fixed
//! texts in Dutch and English, what a request asks in the resident's words
//! ([`describe_request`]) and a result's summary with scheme labels
//! ([`summarize`]). The page (HTML) and its script only place these texts.

use axum::http::{header, HeaderMap};
use serde::Serialize;
use wallet_core::ids::{AttributeId, VerifierId};
use wallet_core::request::{AttributeLabel, Condition, SessionRequest};
use wallet_core::scheme::Scheme;

use crate::session::StoredResult;
use crate::store::SessionStatus;

/// Language of the page's fixed texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Dutch (the default: the page faces residents of Dutch municipalities).
    Nl,
    /// English.
    En,
}

impl Lang {
    /// Pick from an `Accept-Language` header: English only if it is
    /// preferred over Dutch.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(h) = header else { return Self::Nl };
        for part in h.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("nl") {
                return Self::Nl;
            }
            if tag.starts_with("en") {
                return Self::En;
            }
        }
        Self::Nl
    }

    /// Pick from a request's `Accept-Language` header.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self::from_accept_language(
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    }

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Nl => "nl",
            Self::En => "en",
        }
    }
}

/// Every fixed text, in one language.
#[allow(missing_docs)]
pub(crate) struct Texts {
    pub title: &'static str,
    pub verifier: &'static str,
    pub asked: &'static str,
    pub scan: &'static str,
    pub scan_help: &'static str,
    pub no_camera: &'static str,
    pub cli_help: &'static str,
    pub status: &'static str,
    pub result: &'static str,
    pub noscript: &'static str,
    pub waiting: &'static str,
    pub connected: &'static str,
    pub checking: &'static str,
    pub done: &'static str,
    pub failed: &'static str,
    pub timeout: &'static str,
    pub cancelled: &'static str,
    pub no_result: &'static str,
    pub connection_lost: &'static str,
    pub no_sse: &'static str,
    pub pseudonym: &'static str,
    pub empty: &'static str,
    pub proven: &'static str,
    pub not_shown: &'static str,
    pub age_at_least: &'static str,
    pub or: &'static str,
    pub optional: &'static str,
    pub pseudonym_for: &'static str,
    pub sign: &'static str,
}

const NL: Texts = Texts {
    title: "Gegevens delen",
    verifier: "Deze dienst vraagt gegevens:",
    asked: "Wat wordt gevraagd",
    scan: "Scan met uw kenmerk-wallet",
    scan_help: "QR-code met de sessie voor uw wallet",
    no_camera: "Geen camera?",
    cli_help: "Voer dit uit in een terminal met de kenmerk-wallet:",
    status: "Status",
    result: "Gedeelde gegevens",
    noscript: "Zet JavaScript aan om de status te volgen, of vernieuw de pagina.",
    waiting: "Wachten op uw wallet…",
    connected: "Wallet verbonden; wachten op uw toestemming…",
    checking: "Gegevens ontvangen; controleren…",
    done: "Klaar: de gegevens zijn gedeeld en geldig.",
    failed: "Mislukt:",
    timeout: "de sessie is verlopen.",
    cancelled: "de sessie is afgebroken.",
    no_result: "het resultaat kon niet worden opgehaald.",
    connection_lost: "de verbinding met de server is verbroken.",
    no_sse: "Deze browser kan de status niet volgen; vernieuw de pagina.",
    pseudonym: "Pseudoniem",
    empty: "(leeg)",
    proven: "bewezen",
    not_shown: "niet getoond",
    age_at_least: "Leeftijd minstens",
    or: " of ",
    optional: "(optioneel)",
    pseudonym_for: "Pseudoniem voor",
    sign: "Ondertekenen:",
};

const EN: Texts = Texts {
    title: "Share your data",
    verifier: "This service asks for data:",
    asked: "What is asked",
    scan: "Scan with your kenmerk wallet",
    scan_help: "QR code with the session for your wallet",
    no_camera: "No camera?",
    cli_help: "Run this in a terminal with the kenmerk wallet:",
    status: "Status",
    result: "Shared data",
    noscript: "Turn on JavaScript to follow the status, or reload the page.",
    waiting: "Waiting for your wallet…",
    connected: "Wallet connected; waiting for your consent…",
    checking: "Data received; checking…",
    done: "Done: the data was shared and is valid.",
    failed: "Failed:",
    timeout: "the session expired.",
    cancelled: "the session was cancelled.",
    no_result: "the result could not be fetched.",
    connection_lost: "the connection to the server was lost.",
    no_sse: "This browser cannot follow the status; reload the page.",
    pseudonym: "Pseudonym",
    empty: "(empty)",
    proven: "proven",
    not_shown: "not shown",
    age_at_least: "Age at least",
    or: " or ",
    optional: "(optional)",
    pseudonym_for: "Pseudonym for",
    sign: "Sign:",
};

/// The fixed texts in `lang`.
pub(crate) fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Nl => &NL,
        Lang::En => &EN,
    }
}

/// The page's summary of a finished session, from `GET page-result`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PageResult {
    /// Whether the presentation was valid and matched the request.
    pub valid: bool,
    /// Why not, in the page's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Disclosed attributes with their labels.
    pub attributes: Vec<PageAttribute>,
    /// Predicates with their outcome.
    pub predicates: Vec<PageAttribute>,
    /// Hex of the scope pseudonym, when one was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<String>,
}

/// One labelled line of a [`PageResult`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PageAttribute {
    /// Label in the page's language.
    pub label: String,
    /// Value, or a predicate's outcome, as text.
    pub value: String,
}

impl PageAttribute {
    /// A line with `label` and `value`.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// An attribute's label and its credential's name, in `lang` (the id
/// when the scheme does not know it): wallet-core's [`AttributeLabel`].
pub fn attribute_label(scheme: &Scheme, id: &AttributeId, lang: Lang) -> String {
    AttributeLabel::of(scheme, id).with_credential(lang.tag())
}

/// A predicate in the resident's words.
pub fn predicate_text(label: &str, condition: &Condition, lang: Lang) -> String {
    let age = texts(lang).age_at_least;
    match condition {
        Condition::AgeAtLeast { years, .. } => format!("{age} {years} ({label})"),
        Condition::GreaterOrEqual(v) => format!("{label} ≥ {v}"),
        Condition::LessOrEqual(v) => format!("{label} ≤ {v}"),
    }
}

/// One line per thing asked, in the resident's language.
pub fn describe_request(
    scheme: &Scheme,
    verifier: &VerifierId,
    request: &SessionRequest,
    lang: Lang,
) -> Vec<String> {
    let tx = texts(lang);
    let (or, optional, pseudonym, sign) = (tx.or, tx.optional, tx.pseudonym_for, tx.sign);
    let l = lang.tag();
    // wallet-core says what is asked and under which labels
    // (`SessionRequest::describe`); the page only joins the parts in its words.
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

/// The page's summary of a session result.
pub fn summarize(scheme: &Scheme, result: &StoredResult, lang: Lang) -> PageResult {
    let tx = texts(lang);
    let Some(v) = result.outcome() else {
        let reason = match result.status() {
            SessionStatus::Timeout => tx.timeout,
            _ => tx.cancelled,
        };
        return PageResult {
            valid: false,
            reason: Some(reason.into()),
            attributes: Vec::new(),
            predicates: Vec::new(),
            pseudonym: None,
        };
    };
    let (empty, proven, missing) = (tx.empty, tx.proven, tx.not_shown);
    let attributes = v
        .result()
        .disclosed
        .iter()
        .flatten()
        .map(|a| {
            PageAttribute::new(
                attribute_label(scheme, &a.id, lang),
                a.raw_value.clone().unwrap_or_else(|| empty.to_owned()),
            )
        })
        .collect();
    let predicates = v
        .result()
        .predicates
        .iter()
        .map(|p| {
            let label = attribute_label(scheme, &p.predicate.attribute, lang);
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
        reason: v.reason().map(|r| match &v.result().error {
            Some(e) => format!("{r}: {e}"),
            None => r.to_string(),
        }),
        attributes,
        predicates,
        pseudonym: v.result().pseudonym.as_ref().map(|p| p.value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_choice() {
        assert_eq!(Lang::from_accept_language(None), Lang::Nl);
        assert_eq!(Lang::from_accept_language(Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("nl-NL, en;q=0.5")),
            Lang::Nl
        );
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::Nl);
    }
}
