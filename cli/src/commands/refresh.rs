//! `kenmerk refresh`: renew batches that run low or expire soon.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::cli::RefreshArgs;
use crate::client::Client;
use crate::commands::scheme;
use crate::context::{now, Context};
use crate::error::{exit, CliError};
use crate::i18n::{t, tr, Key};
use crate::labels::Labels;
use crate::output;
use crate::scheme_store::{self, PinOutcome};
use crate::session::{self, OpenWallet, RefreshOutcome};
use crate::wallet::StoredCredential;

#[derive(Serialize)]
struct RefreshLine {
    id: String,
    credential_type: String,
    #[serde(flatten)]
    outcome: RefreshResult,
}

#[derive(Serialize)]
#[serde(untagged)]
enum RefreshResult {
    Done(RefreshOutcome),
    Failed {
        outcome: &'static str,
        detail: String,
    },
}

/// Whether a credential needs renewing.
pub fn needs_refresh(c: &StoredCredential, args: &RefreshArgs, now: i64) -> bool {
    if c.record.is_none() {
        return false;
    }
    let soon =
        now.saturating_add(i64::try_from(args.days.saturating_mul(86_400)).unwrap_or(i64::MAX));
    args.all || c.tokens_left() < args.below || c.expiry <= soon
}

/// Fetch each pinned scheme again from where it came from, so that rotated
/// issuer keys are known before new batches signed with them arrive. The
/// pinned key and the rollback rule apply as for `kenmerk scheme add`; a
/// failure is reported and the stored scheme kept.
pub(crate) fn update_schemes(ctx: &Context, wallet: &mut OpenWallet, client: &Client, now: i64) {
    let sources: Vec<(String, String)> = wallet
        .contents
        .schemes
        .iter()
        .filter(|s| s.source.starts_with("http://") || s.source.starts_with("https://"))
        .map(|s| (s.source.clone(), hex::encode(&s.public_key)))
        .collect();
    for (source, key) in sources {
        let result = crate::commands::block_on(scheme::fetch(client, &source, Some(&key)))
            .and_then(|(doc, key)| {
                let signed = wallet_core::scheme::SignedScheme::parse(&doc)
                    .map_err(scheme_store::SchemeStoreError::from)?;
                let (_, outcome) =
                    scheme_store::pin(&mut wallet.contents, &signed, &key, None, &source, now)?;
                if outcome != PinOutcome::Unchanged {
                    wallet.save()?;
                }
                Ok(())
            });
        if let Err(e) = result {
            if !ctx.json {
                let report = e.report(ctx.lang);
                eprintln!("{}: {}", t(ctx.lang, Key::Warning), report.message);
            }
        }
    }
}

/// Run the command.
pub fn run(ctx: &Context, args: &RefreshArgs) -> Result<u8, CliError> {
    let (file, contents) = ctx.open_wallet()?;
    let mut wallet = OpenWallet { file, contents };
    let now = now();
    let due: Vec<usize> = wallet
        .contents
        .credentials
        .iter()
        .enumerate()
        .filter(|(_, c)| needs_refresh(c, args, now))
        .map(|(i, _)| i)
        .collect();
    let lang = ctx.lang;
    if due.is_empty() {
        if ctx.json {
            output::json(&Vec::<RefreshLine>::new())?;
        } else {
            output::line(t(lang, Key::RefreshNothing))?;
        }
        return Ok(exit::OK);
    }
    let client = Client::new()?;
    update_schemes(ctx, &mut wallet, &client, now);
    let bar = ProgressBar::with_draw_target(Some(due.len() as u64), ProgressDrawTarget::stderr());
    if ctx.json {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut lines = Vec::new();
    let mut failed = 0;
    for index in due {
        let (id, ct) = {
            let c = &wallet.contents.credentials[index];
            (c.id.clone(), c.credential_type.clone())
        };
        let name = Labels::new(&wallet.contents, lang).name(&ct);
        bar.set_message(name.clone());
        let result = crate::commands::block_on(session::refresh_credential(
            &mut wallet,
            &client,
            index,
            now,
        ));
        let text = match &result {
            Ok(RefreshOutcome::Renewed { tokens, expiry }) => tr(
                lang,
                Key::RefreshRenewed,
                &[
                    ("name", &name),
                    ("id", &id),
                    ("count", tokens),
                    ("date", &output::date(*expiry)),
                ],
            ),
            Ok(RefreshOutcome::Refused { .. }) => {
                failed += 1;
                let left = wallet.contents.credentials[index].tokens_left();
                tr(
                    lang,
                    Key::RefreshRevoked,
                    &[("name", &name), ("id", &id), ("left", &left)],
                )
            }
            Err(e) => {
                failed += 1;
                tr(
                    lang,
                    Key::RefreshFailed,
                    &[("name", &name), ("id", &id), ("detail", e)],
                )
            }
        };
        bar.inc(1);
        if !ctx.json {
            bar.suspend(|| output::line(&text))?;
        }
        lines.push(RefreshLine {
            id,
            credential_type: ct,
            outcome: match result {
                Ok(o) => RefreshResult::Done(o),
                Err(e) => RefreshResult::Failed {
                    outcome: "failed",
                    detail: e.to_string(),
                },
            },
        });
    }
    bar.finish_and_clear();
    if ctx.json {
        output::json(&lines)?;
    }
    if failed > 0 {
        return Err(CliError::RefreshFailed(failed));
    }
    Ok(exit::OK)
}
