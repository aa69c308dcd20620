//! Consent: what the resident is shown before anything leaves the wallet,
//! and how the answer is obtained (a person at a terminal, or `--yes` /
//! `--choose` for scripts).
//!
//! The views are built by `session` from the request, the pinned scheme and
//! the wallet's candidates; this module only renders them and asks. Nothing
//! here decides what may be sent: a policy returns a choice or a refusal,
//! and end-of-input counts as a refusal.

use std::io::{BufRead, Write};

use serde::Serialize;
use wallet_core::request::{Choice, SessionKind};

use crate::i18n::{t, tr, Key, Lang};
use crate::output;

/// One attribute line on a consent screen.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AttributeLine {
    /// Attribute identifier.
    pub id: String,
    /// Label in the resident's language.
    pub label: String,
    /// Value as text; `None` when absent.
    pub value: Option<String>,
}

/// A credential offered by an issuer.
#[derive(Debug, Clone, Serialize)]
pub struct OfferedView {
    /// Credential type id.
    pub credential_type: String,
    /// Its name in the resident's language.
    pub name: String,
    /// The attributes with values.
    pub attributes: Vec<AttributeLine>,
    /// Token expiry (unix seconds).
    pub expiry: u64,
    /// Number of tokens.
    pub batch: u16,
}

/// The issuance consent screen.
#[derive(Debug, Clone, Serialize)]
pub struct IssuanceView {
    /// Issuer id.
    pub issuer: String,
    /// Issuer name.
    pub issuer_name: String,
    /// Host the session came from.
    pub host: String,
    /// Whether the connection is plain HTTP to another machine.
    pub insecure: bool,
    /// What is offered.
    pub credentials: Vec<OfferedView>,
}

/// One way to answer a disjunction.
#[derive(Debug, Clone, Serialize)]
pub struct OptionView {
    /// What it discloses (empty: the "share nothing" option).
    pub attributes: Vec<AttributeLine>,
}

/// One disjunction of the request.
#[derive(Debug, Clone, Serialize)]
pub struct DisjunctionView {
    /// The requestor's label, if any.
    pub label: Option<String>,
    /// The options.
    pub options: Vec<OptionView>,
}

/// The disclosure (or signature) consent screen.
#[derive(Debug, Clone, Serialize)]
pub struct DisclosureView {
    /// Disclosing or signing.
    pub kind: SessionKind,
    /// Verifier id from the request.
    pub verifier: String,
    /// Registered name, `None` if the verifier is not in the scheme.
    pub verifier_name: Option<String>,
    /// Host the session came from.
    pub host: String,
    /// Whether that host is registered for the verifier.
    pub host_registered: bool,
    /// Whether the connection is plain HTTP to another machine.
    pub insecure: bool,
    /// Registered purpose.
    pub purpose: Option<String>,
    /// What it asks beyond its registration (in words).
    pub unregistered: Vec<String>,
    /// What to choose from.
    pub disjunctions: Vec<DisjunctionView>,
    /// Predicates, in words.
    pub predicates: Vec<String>,
    /// The pseudonym, in words, if one is asked.
    pub pseudonym: Option<String>,
    /// The message to sign.
    pub message: Option<String>,
}

/// Why consent could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("cannot talk to the resident: {0}")]
    Io(#[from] std::io::Error),
    #[error("--choose has {found} choices for {expected} questions")]
    ChoiceCount { found: usize, expected: usize },
    #[error("--choose {choice} is out of range for question {question} (1 to {max})")]
    ChoiceRange {
        question: usize,
        choice: usize,
        max: usize,
    },
}

/// Who decides.
pub trait ConsentPolicy {
    /// Accept an issuance?
    fn issuance(&mut self, view: &IssuanceView, lang: Lang) -> Result<bool, ConsentError>;
    /// Which options to disclose, or `None` to decline.
    fn disclosure(
        &mut self,
        view: &DisclosureView,
        lang: Lang,
    ) -> Result<Option<Choice>, ConsentError>;
}

/// `--yes`, optionally with `--choose`: accepts, picking the given option
/// (1-based) per disjunction, else the first.
#[derive(Debug, Clone, Default)]
pub struct AutoConsent {
    /// 1-based option per disjunction.
    pub choose: Option<Vec<usize>>,
}

/// Declines everything (for dry runs and tests).
#[derive(Debug, Clone, Default)]
pub struct DeclineAll;

/// Asks a person: renders the screen to `output`, reads answers from
/// `input`; end of input declines.
pub struct Interactive<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> Interactive<R, W> {
    /// Ask on these streams.
    pub fn new(input: R, output: W) -> Self {
        Self { input, output }
    }

    fn ask(&mut self, prompt: &str) -> Result<Option<String>, ConsentError> {
        write!(self.output, "{prompt}")?;
        self.output.flush()?;
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            writeln!(self.output)?;
            return Ok(None);
        }
        Ok(Some(line.trim().to_owned()))
    }

    fn yes(&mut self, prompt: &str) -> Result<bool, ConsentError> {
        Ok(self.ask(prompt)?.is_some_and(|a| is_yes(&a)))
    }
}

/// `y`, `yes`, `j`, `ja` (any case) mean yes; anything else no.
pub fn is_yes(answer: &str) -> bool {
    matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "j" | "ja"
    )
}

impl ConsentPolicy for AutoConsent {
    fn issuance(&mut self, _view: &IssuanceView, _lang: Lang) -> Result<bool, ConsentError> {
        Ok(true)
    }

    fn disclosure(
        &mut self,
        view: &DisclosureView,
        _lang: Lang,
    ) -> Result<Option<Choice>, ConsentError> {
        let options = match &self.choose {
            None => vec![0; view.disjunctions.len()],
            Some(picks) => {
                if picks.len() != view.disjunctions.len() {
                    return Err(ConsentError::ChoiceCount {
                        found: picks.len(),
                        expected: view.disjunctions.len(),
                    });
                }
                picks
                    .iter()
                    .zip(&view.disjunctions)
                    .enumerate()
                    .map(|(i, (&pick, d))| {
                        if pick == 0 || pick > d.options.len() {
                            Err(ConsentError::ChoiceRange {
                                question: i + 1,
                                choice: pick,
                                max: d.options.len(),
                            })
                        } else {
                            Ok(pick - 1)
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(Some(Choice {
            options,
            predicates: vec![0; view.predicates.len()],
        }))
    }
}

impl ConsentPolicy for DeclineAll {
    fn issuance(&mut self, _view: &IssuanceView, _lang: Lang) -> Result<bool, ConsentError> {
        Ok(false)
    }

    fn disclosure(
        &mut self,
        _view: &DisclosureView,
        _lang: Lang,
    ) -> Result<Option<Choice>, ConsentError> {
        Ok(None)
    }
}

impl<R: BufRead, W: Write> ConsentPolicy for Interactive<R, W> {
    fn issuance(&mut self, view: &IssuanceView, lang: Lang) -> Result<bool, ConsentError> {
        write!(self.output, "{}", render_issuance(view, lang))?;
        self.yes(t(lang, Key::ConsentAcceptQuestion))
    }

    fn disclosure(
        &mut self,
        view: &DisclosureView,
        lang: Lang,
    ) -> Result<Option<Choice>, ConsentError> {
        write!(self.output, "{}", render_header(view, lang))?;
        let mut options = Vec::with_capacity(view.disjunctions.len());
        for d in &view.disjunctions {
            if d.options.len() == 1 {
                options.push(0);
                continue;
            }
            let mut text = String::new();
            match &d.label {
                Some(l) => text.push_str(&format!("\n{l}\n")),
                None => text.push_str(&format!("\n{}\n", t(lang, Key::ConsentChooseOne))),
            }
            for (i, o) in d.options.iter().enumerate() {
                text.push_str(&format!("  {}. {}\n", i + 1, option_text(o, lang)));
            }
            write!(self.output, "{text}")?;
            let n = d.options.len();
            loop {
                let Some(answer) = self.ask(&tr(lang, Key::ConsentChoosePrompt, &[("n", &n)]))?
                else {
                    return Ok(None);
                };
                match answer.parse::<usize>() {
                    Ok(k) if (1..=n).contains(&k) => {
                        options.push(k - 1);
                        break;
                    }
                    _ => writeln!(
                        self.output,
                        "{}",
                        tr(lang, Key::ConsentBadChoice, &[("n", &n)])
                    )?,
                }
            }
        }
        let choice = Choice {
            options,
            predicates: vec![0; view.predicates.len()],
        };
        write!(self.output, "{}", render_summary(view, &choice, lang))?;
        let question = match view.kind {
            SessionKind::Signing => Key::ConsentSignQuestion,
            _ => Key::ConsentShareQuestion,
        };
        if self.yes(t(lang, question))? {
            Ok(Some(choice))
        } else {
            Ok(None)
        }
    }
}

fn value_text(a: &AttributeLine, lang: Lang) -> String {
    a.value
        .clone()
        .unwrap_or_else(|| t(lang, Key::ValueAbsent).to_owned())
}

fn option_text(o: &OptionView, lang: Lang) -> String {
    if o.attributes.is_empty() {
        return t(lang, Key::ConsentNothing).to_owned();
    }
    o.attributes
        .iter()
        .map(|a| format!("{}: {}", a.label, value_text(a, lang)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The issuance screen as text.
pub fn render_issuance(view: &IssuanceView, lang: Lang) -> String {
    let mut s = tr(
        lang,
        Key::ConsentIssuanceTitle,
        &[("issuer", &view.issuer_name), ("host", &view.host)],
    );
    s.push('\n');
    if view.insecure {
        s.push_str(&tr(lang, Key::ConsentInsecure, &[("host", &view.host)]));
        s.push('\n');
    }
    for c in &view.credentials {
        s.push_str(&format!("\n  {}\n", c.name));
        for a in &c.attributes {
            s.push_str(&format!("    {}: {}\n", a.label, value_text(a, lang)));
        }
        s.push_str(&format!(
            "    ({})\n",
            tr(
                lang,
                Key::ConsentValidUntil,
                &[
                    (
                        "date",
                        &output::date(i64::try_from(c.expiry).unwrap_or(i64::MAX))
                    ),
                    ("count", &c.batch)
                ]
            )
        ));
    }
    s.push('\n');
    s
}

/// Who asks, why, and the warnings: shown before any choice.
pub fn render_header(view: &DisclosureView, lang: Lang) -> String {
    let mut s = String::new();
    let name = view.verifier_name.as_deref().unwrap_or(&view.verifier);
    s.push_str(&tr(
        lang,
        Key::ConsentWho,
        &[("name", &name), ("host", &view.host)],
    ));
    s.push('\n');
    if view.verifier_name.is_none() {
        s.push_str(&tr(
            lang,
            Key::ConsentUnknownVerifier,
            &[("verifier", &view.verifier)],
        ));
        s.push('\n');
    } else if !view.host_registered {
        s.push_str(&tr(
            lang,
            Key::ConsentHostMismatch,
            &[("host", &view.host), ("name", &name)],
        ));
        s.push('\n');
    }
    if view.insecure {
        s.push_str(&tr(lang, Key::ConsentInsecure, &[("host", &view.host)]));
        s.push('\n');
    }
    if let Some(p) = &view.purpose {
        s.push_str(&tr(lang, Key::ConsentPurpose, &[("purpose", p)]));
        s.push('\n');
    }
    if !view.unregistered.is_empty() {
        s.push_str(&tr(
            lang,
            Key::ConsentOverAsking,
            &[("name", &name), ("items", &view.unregistered.join(", "))],
        ));
        s.push('\n');
    }
    s
}

/// What will be shared for a choice: attributes, predicates, pseudonym,
/// message, and the transferability warning for signatures.
pub fn render_summary(view: &DisclosureView, choice: &Choice, lang: Lang) -> String {
    let mut s = format!("\n{}\n", t(lang, Key::ConsentWillShare));
    for (d, &pick) in view.disjunctions.iter().zip(&choice.options) {
        if let Some(o) = d.options.get(pick) {
            for a in &o.attributes {
                s.push_str(&format!("  - {}: {}\n", a.label, value_text(a, lang)));
            }
        }
    }
    if !view.predicates.is_empty() {
        s.push_str(&format!("{}\n", t(lang, Key::ConsentProves)));
        for p in &view.predicates {
            s.push_str(&format!("  - {p}\n"));
        }
    }
    if let Some(p) = &view.pseudonym {
        s.push_str(&format!("  - {p}\n"));
    }
    if let Some(m) = &view.message {
        s.push_str(&format!("\n{}\n", t(lang, Key::ConsentSignMessage)));
        for line in m.lines() {
            s.push_str(&format!("    | {line}\n"));
        }
        s.push_str(&format!("{}\n", t(lang, Key::ConsentSignWarning)));
    }
    s.push('\n');
    s
}

/// The whole disclosure screen for a choice (used for `--yes` runs, which
/// still show what was shared).
pub fn render_disclosure(view: &DisclosureView, choice: &Choice, lang: Lang) -> String {
    format!(
        "{}{}",
        render_header(view, lang),
        render_summary(view, choice, lang)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(label: &str, value: &str) -> AttributeLine {
        AttributeLine {
            id: format!("demo.x.y.{label}"),
            label: label.into(),
            value: Some(value.into()),
        }
    }

    fn view() -> DisclosureView {
        DisclosureView {
            kind: SessionKind::Disclosing,
            verifier: "demo.parking".into(),
            verifier_name: Some("Parking".into()),
            host: "127.0.0.1".into(),
            host_registered: true,
            insecure: false,
            purpose: Some("permits".into()),
            unregistered: vec![],
            disjunctions: vec![
                DisjunctionView {
                    label: None,
                    options: vec![OptionView {
                        attributes: vec![line("City", "Utrecht")],
                    }],
                },
                DisjunctionView {
                    label: Some("Licence plate".into()),
                    options: vec![
                        OptionView {
                            attributes: vec![line("Plate", "AB-12-CD")],
                        },
                        OptionView {
                            attributes: vec![line("Plate", "XY-99-ZZ")],
                        },
                    ],
                },
            ],
            predicates: vec!["you are 18 or older (on 2026-11-25)".into()],
            pseudonym: None,
            message: None,
        }
    }

    #[test]
    fn interactive_choice_and_yes() {
        let input = b"x\n2\nja\n".as_slice();
        let mut out = Vec::new();
        let choice = Interactive::new(input, &mut out)
            .disclosure(&view(), Lang::En)
            .unwrap()
            .unwrap();
        assert_eq!(choice.options, vec![0, 1]);
        assert_eq!(choice.predicates, vec![0]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Who asks: Parking (127.0.0.1)"), "{text}");
        assert!(text.contains("please type a number"), "{text}");
        assert!(text.contains("Plate: XY-99-ZZ"), "{text}");
        assert!(text.contains("18 or older"), "{text}");
    }

    #[test]
    fn interactive_end_of_input_or_no_declines() {
        let mut out = Vec::new();
        assert!(Interactive::new(b"1\nn\n".as_slice(), &mut out)
            .disclosure(&view(), Lang::Nl)
            .unwrap()
            .is_none());
        assert!(Interactive::new(b"".as_slice(), &mut out)
            .disclosure(&view(), Lang::Nl)
            .unwrap()
            .is_none());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Wie vraagt"), "{text}");
    }

    #[test]
    fn auto_consent_choose() {
        let v = view();
        let c = AutoConsent { choose: None }
            .disclosure(&v, Lang::En)
            .unwrap()
            .unwrap();
        assert_eq!(c.options, vec![0, 0]);
        let c = AutoConsent {
            choose: Some(vec![1, 2]),
        }
        .disclosure(&v, Lang::En)
        .unwrap()
        .unwrap();
        assert_eq!(c.options, vec![0, 1]);
        assert!(matches!(
            AutoConsent {
                choose: Some(vec![1, 3])
            }
            .disclosure(&v, Lang::En),
            Err(ConsentError::ChoiceRange { .. })
        ));
        assert!(matches!(
            AutoConsent {
                choose: Some(vec![1])
            }
            .disclosure(&v, Lang::En),
            Err(ConsentError::ChoiceCount { .. })
        ));
    }

    #[test]
    fn warnings_are_shown() {
        let mut v = view();
        v.verifier_name = None;
        let text = render_header(&v, Lang::En);
        assert!(text.contains("not registered in your scheme"), "{text}");
        let mut v = view();
        v.host_registered = false;
        v.unregistered = vec!["Date of birth".into()];
        let text = render_header(&v, Lang::Nl);
        assert!(text.contains("geen geregistreerd adres"), "{text}");
        assert!(text.contains("vraagt meer dan"), "{text}");
        let mut v = view();
        v.insecure = true;
        assert!(render_header(&v, Lang::En).contains("not encrypted"));
        let mut v = view();
        v.kind = SessionKind::Signing;
        v.message = Some("I object".into());
        let text = render_summary(&v, &Choice::default(), Lang::En);
        assert!(text.contains("| I object") && text.contains("show it to anyone"));
    }

    #[test]
    fn yes_words() {
        for y in ["y", "Yes", "j", "JA "] {
            assert!(is_yes(y));
        }
        for n in ["", "n", "nee", "no", "yess"] {
            assert!(!is_yes(n));
        }
    }
}
