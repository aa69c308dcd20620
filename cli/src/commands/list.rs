//! `kenmerk list`: the credentials, one per row.

use serde::Serialize;

use crate::context::Context;
use crate::error::CliError;
use crate::i18n::{t, Key};
use crate::labels::{self, Labels};
use crate::output;
use crate::wallet::StoredCredential;

/// One credential in `--json` output.
#[derive(Debug, Serialize)]
pub struct CredentialSummary {
    /// Local handle.
    pub id: String,
    /// Credential type id.
    pub credential_type: String,
    /// Label in the resident's language.
    pub label: String,
    /// Issuer id.
    pub issuer: String,
    /// Issuer label.
    pub issuer_label: String,
    /// Issued at (unix seconds).
    pub issued_at: i64,
    /// Token expiry (unix seconds).
    pub expiry: i64,
    /// Unused tokens.
    pub tokens_left: usize,
    /// All tokens of the batch.
    pub tokens_total: usize,
}

/// Summarise a credential for display.
pub fn summary(labels: &Labels, c: &StoredCredential) -> CredentialSummary {
    let issuer = labels::issuer_id(&c.credential_type);
    CredentialSummary {
        id: c.id.clone(),
        credential_type: c.credential_type.clone(),
        label: labels.name(&c.credential_type),
        issuer_label: labels.name(&issuer),
        issuer,
        issued_at: c.issued_at,
        expiry: c.expiry,
        tokens_left: c.tokens_left(),
        tokens_total: c.tokens.len(),
    }
}

/// Print the credentials.
pub fn run(ctx: &Context) -> Result<(), CliError> {
    let (_wallet, contents) = ctx.open_wallet()?;
    let labels = Labels::new(&contents, ctx.lang);
    let rows: Vec<CredentialSummary> = contents
        .credentials
        .iter()
        .map(|c| summary(&labels, c))
        .collect();
    if ctx.json {
        output::json(&rows)?;
        return Ok(());
    }
    if rows.is_empty() {
        output::line(t(ctx.lang, Key::ListEmpty))?;
        return Ok(());
    }
    let lang = ctx.lang;
    let table = output::table(
        &[
            t(lang, Key::ColId),
            t(lang, Key::ColCredential),
            t(lang, Key::ColIssuer),
            t(lang, Key::ColExpires),
            t(lang, Key::ColTokensLeft),
        ],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.label.clone(),
                    r.issuer_label.clone(),
                    output::date(r.expiry),
                    format!("{}/{}", r.tokens_left, r.tokens_total),
                ]
            })
            .collect::<Vec<_>>(),
    );
    print!("{table}");
    Ok(())
}
