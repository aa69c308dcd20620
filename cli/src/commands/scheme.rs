//! `kenmerk scheme add|list`: pin and update trusted schemes.

use std::path::Path;

use serde::Serialize;
use wallet_core::scheme::{SchemePublicKey, SignedScheme};

use crate::client::{join, paths, Client};
use crate::context::{now, Context};
use crate::error::CliError;
use crate::i18n::{t, tr, Key};
use crate::output;
use crate::scheme_store::{self, PinOutcome, SchemeStoreError};
use crate::session::OpenWallet;

/// Largest scheme file read from disk.
const MAX_SCHEME_FILE: u64 = 1 << 20;

#[derive(Serialize)]
struct SchemeOut {
    id: String,
    version: u64,
    fingerprint: String,
    source: String,
    outcome: &'static str,
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Fetch the document and key for `source`.
pub async fn fetch(
    client: &Client,
    source: &str,
    key: Option<&str>,
) -> Result<(Vec<u8>, SchemePublicKey), CliError> {
    let key = key
        .map(SchemePublicKey::from_published)
        .transpose()
        .map_err(SchemeStoreError::from)?;
    if is_url(source) {
        let doc = client.get_bytes(source).await?;
        let key = match key {
            Some(k) => k,
            None => {
                let text = client.get_bytes(&join(source, paths::SCHEME_KEY)).await?;
                SchemePublicKey::from_published(&String::from_utf8_lossy(&text))
                    .map_err(SchemeStoreError::from)?
            }
        };
        Ok((doc, key))
    } else {
        let path = Path::new(source);
        let io = |e: std::io::Error| CliError::ReadFile(path.to_owned(), e);
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_SCHEME_FILE {
            return Err(SchemeStoreError::Format("file larger than 1 MiB".into()).into());
        }
        let doc = std::fs::read(path).map_err(io)?;
        let key = key.ok_or_else(|| CliError::SchemeNeedsKey(source.to_owned()))?;
        Ok((doc, key))
    }
}

/// `kenmerk scheme add`.
pub fn add(
    ctx: &Context,
    source: &str,
    fingerprint: Option<&str>,
    key: Option<&str>,
) -> Result<(), CliError> {
    let client = Client::new()?;
    let (doc, key) = crate::commands::block_on(fetch(&client, source, key))?;
    let signed = SignedScheme::parse(&doc).map_err(SchemeStoreError::from)?;
    let (file, contents) = ctx.open_wallet()?;
    let mut wallet = OpenWallet { file, contents };
    let (verified, outcome) = scheme_store::pin(
        &mut wallet.contents,
        &signed,
        &key,
        fingerprint,
        source,
        now(),
    )?;
    if outcome != PinOutcome::Unchanged {
        wallet.save()?;
    }
    let id = verified.scheme().id.to_string();
    let version = verified.scheme().version;
    let lang = ctx.lang;
    if ctx.json {
        output::json(&SchemeOut {
            id,
            version,
            fingerprint: key.fingerprint(),
            source: source.to_owned(),
            outcome: match outcome {
                PinOutcome::Pinned => "pinned",
                PinOutcome::Updated { .. } => "updated",
                PinOutcome::Unchanged => "unchanged",
            },
        })?;
        return Ok(());
    }
    match outcome {
        PinOutcome::Pinned => {
            output::line(&tr(
                lang,
                Key::SchemePinned,
                &[("scheme", &id), ("version", &version)],
            ))?;
            output::line(&format!("  {}", key.fingerprint()))?;
            if fingerprint.is_none() {
                output::line(t(lang, Key::SchemeTofuWarning))?;
            }
        }
        PinOutcome::Updated { from } => output::line(&tr(
            lang,
            Key::SchemeUpdated,
            &[("scheme", &id), ("from", &from), ("version", &version)],
        ))?,
        PinOutcome::Unchanged => output::line(&tr(
            lang,
            Key::SchemeUnchanged,
            &[("scheme", &id), ("version", &version)],
        ))?,
    }
    Ok(())
}

/// `kenmerk scheme list`.
pub fn list(ctx: &Context) -> Result<(), CliError> {
    let (_file, contents) = ctx.open_wallet()?;
    let rows: Vec<SchemeOut> = contents
        .schemes
        .iter()
        .map(|s| SchemeOut {
            id: s.id.clone(),
            version: s.version,
            fingerprint: s.fingerprint.clone(),
            source: s.source.clone(),
            outcome: "pinned",
        })
        .collect();
    if ctx.json {
        output::json(&rows)?;
        return Ok(());
    }
    if rows.is_empty() {
        output::line(t(ctx.lang, Key::SchemeNoneList))?;
        return Ok(());
    }
    let lang = ctx.lang;
    print!(
        "{}",
        output::table(
            &[
                t(lang, Key::ColScheme),
                t(lang, Key::ColVersion),
                t(lang, Key::ColFingerprint),
                t(lang, Key::ColSource),
            ],
            &rows
                .iter()
                .map(|r| vec![
                    r.id.clone(),
                    r.version.to_string(),
                    r.fingerprint.clone(),
                    r.source.clone()
                ])
                .collect::<Vec<_>>(),
        )
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_key_forms() {
        let hex = "11".repeat(32);
        for text in [
            hex.clone(),
            format!("{hex}\n"),
            format!("{{\"key\":\"{hex}\"}}"),
            format!("{{\"public_key\":\"{hex}\"}}"),
            format!("\"{hex}\""),
        ] {
            assert_eq!(
                SchemePublicKey::from_published(&text).unwrap().0,
                [0x11; 32],
                "{text}"
            );
        }
        let refused = SchemePublicKey::from_published("abc").map_err(SchemeStoreError::from);
        assert!(matches!(refused, Err(SchemeStoreError::KeyFormat)));
    }
}
