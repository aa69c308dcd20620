//! `kenmerk log`: the disclosure log, read-only.

use crate::context::Context;
use crate::error::CliError;
use crate::i18n::{t, Key};
use crate::labels::Labels;
use crate::output;
use crate::wallet::LogKind;

/// Print the log, oldest first.
pub fn run(ctx: &Context) -> Result<(), CliError> {
    let (_wallet, contents) = ctx.open_wallet()?;
    let entries = contents.log.entries();
    if ctx.json {
        output::json(&entries)?;
        return Ok(());
    }
    if entries.is_empty() {
        output::line(t(ctx.lang, Key::LogEmpty))?;
        return Ok(());
    }
    let lang = ctx.lang;
    let labels = Labels::new(&contents, lang);
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let kind = match e.kind {
                LogKind::Disclosure => Key::KindDisclosure,
                LogKind::Signature => Key::KindSignature,
                LogKind::Issuance => Key::KindIssuance,
                LogKind::Refresh => Key::KindRefresh,
                LogKind::OfflineDisclosure => Key::KindOffline,
            };
            let party = match (&e.party, &e.host) {
                (Some(p), Some(h)) => format!("{} ({h})", labels.name(p)),
                (Some(p), None) => labels.name(p),
                (None, Some(h)) => h.clone(),
                (None, None) => t(lang, Key::Unknown).into(),
            };
            let attrs: Vec<String> = e
                .attributes
                .iter()
                .map(|a| {
                    format!(
                        "{}={}",
                        labels.attribute(&a.id),
                        a.value.as_deref().unwrap_or(t(lang, Key::ValueAbsent))
                    )
                })
                .collect();
            vec![
                output::datetime(e.at),
                t(lang, kind).into(),
                party,
                attrs.join(", "),
                e.predicates
                    .iter()
                    .map(|p| {
                        crate::session::predicate_words(
                            &p.predicate,
                            &labels.attribute(&p.attribute),
                            lang,
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                e.pseudonym_scope.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                t(lang, Key::ColWhen),
                t(lang, Key::ColWhat),
                t(lang, Key::ColToWhom),
                t(lang, Key::ColAttributes),
                t(lang, Key::ColPredicates),
                t(lang, Key::ColPseudonym),
                t(lang, Key::ColMessage),
            ],
            &rows,
        )
    );
    Ok(())
}
