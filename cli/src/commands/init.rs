//! `kenmerk init`: a new wallet with a fresh holder seed, shown once as the
//! recovery phrase.

use serde::Serialize;

use crate::context::{now, Context};
use crate::error::CliError;
use crate::i18n::{t, tr, Key};
use crate::output;
use crate::recovery::phrase_from_seed;
use crate::wallet::{HolderSeed, WalletContents};
use crate::wallet_file::WalletFile;

#[derive(Serialize)]
struct InitOutput<'a> {
    wallet: String,
    recovery_phrase: &'a str,
}

/// Create the wallet at the context's path; refuses to overwrite one.
pub fn run(ctx: &Context) -> Result<(), CliError> {
    let path = ctx.wallet_path()?;
    // Refuse before asking for a passphrase; `create` checks again under the
    // lock.
    if path.exists() {
        return Err(crate::wallet_file::CreateWalletError::Exists(path.to_owned()).into());
    }
    let pass = ctx.secrets.new_passphrase(ctx.lang)?;
    let seed = HolderSeed::generate();
    let phrase = phrase_from_seed(&seed);
    let contents = WalletContents::new(seed, now());
    WalletFile::create(path, pass.as_bytes(), ctx.kdf, &contents, ctx.lock_wait)?;
    if ctx.json {
        output::json(&InitOutput {
            wallet: path.display().to_string(),
            recovery_phrase: &phrase,
        })?;
    } else {
        output::line(&tr(
            ctx.lang,
            Key::InitCreated,
            &[("path", &path.display())],
        ))?;
        output::line("")?;
        output::line(t(ctx.lang, Key::InitPhraseIntro))?;
        output::line("")?;
        let words: Vec<&str> = phrase.split(' ').collect();
        for (row, chunk) in words.chunks(6).enumerate() {
            let cells: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, w)| format!("{:>2}. {:<9}", row * 6 + i + 1, w))
                .collect();
            output::line(cells.join(" ").trim_end())?;
        }
    }
    Ok(())
}
