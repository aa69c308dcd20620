//! `kenmerk show <credential>`: one credential in full.

use serde::Serialize;

use crate::commands::list::{summary, CredentialSummary};
use crate::context::Context;
use crate::error::CliError;
use crate::i18n::{t, Key};
use crate::labels::Labels;
use crate::output;

#[derive(Serialize)]
struct AttributeOut {
    id: String,
    label: String,
    value: Option<String>,
}

#[derive(Serialize)]
struct ShowOutput {
    #[serde(flatten)]
    summary: CredentialSummary,
    attributes: Vec<AttributeOut>,
}

/// Print one credential.
pub fn run(ctx: &Context, key: &str) -> Result<(), CliError> {
    let (_wallet, contents) = ctx.open_wallet()?;
    let c = contents.find_credential(key)?;
    let labels = Labels::new(&contents, ctx.lang);
    let out = ShowOutput {
        summary: summary(&labels, c),
        attributes: c
            .attributes
            .iter()
            .map(|a| AttributeOut {
                id: a.id.clone(),
                label: labels.attribute(&a.id),
                value: a.value.clone(),
            })
            .collect(),
    };
    if ctx.json {
        output::json(&out)?;
        return Ok(());
    }
    let lang = ctx.lang;
    let s = &out.summary;
    let head = output::table(
        &[
            t(lang, Key::ShowCredential),
            &format!("{} ({})", s.label, s.id),
        ],
        &[
            vec![t(lang, Key::ShowIssuer).into(), s.issuer_label.clone()],
            vec![
                t(lang, Key::ShowIssued).into(),
                output::datetime(s.issued_at),
            ],
            vec![t(lang, Key::ShowExpires).into(), output::datetime(s.expiry)],
            vec![
                t(lang, Key::ShowTokensLeft).into(),
                format!("{}/{}", s.tokens_left, s.tokens_total),
            ],
        ],
    );
    print!("{head}");
    output::line("")?;
    output::line(&format!("{}:", t(lang, Key::ShowAttributes)))?;
    let rows: Vec<Vec<String>> = out
        .attributes
        .iter()
        .map(|a| {
            vec![
                format!("  {}", a.label),
                a.value
                    .clone()
                    .unwrap_or_else(|| t(lang, Key::ValueAbsent).into()),
            ]
        })
        .collect();
    // Header-less table: the first row is data.
    if let Some((first, rest)) = rows.split_first() {
        print!(
            "{}",
            output::table(&[first[0].as_str(), first[1].as_str()], rest)
        );
    }
    Ok(())
}
