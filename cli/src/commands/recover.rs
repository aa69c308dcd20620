//! `kenmerk recover`: a new wallet file for the holder of a recovery phrase.
//!
//! Only the holder secret comes back; credentials live in the wallet file
//! and its backups, not in the phrase.

use serde::Serialize;

use crate::context::{now, Context};
use crate::error::CliError;
use crate::i18n::{tr, Key};
use crate::output;
use crate::recovery::seed_from_phrase;
use crate::wallet::WalletContents;
use crate::wallet_file::{CreateWalletError, WalletFile};

#[derive(Serialize)]
struct RecoverOutput {
    wallet: String,
    credentials: usize,
}

/// Recover into the context's wallet path; refuses to overwrite a wallet.
pub fn run(ctx: &Context) -> Result<(), CliError> {
    let path = ctx.wallet_path()?;
    if path.exists() {
        return Err(CreateWalletError::Exists(path.to_owned()).into());
    }
    let phrase = ctx.secrets.phrase(ctx.lang)?;
    let seed = seed_from_phrase(&phrase)?;
    let pass = ctx.secrets.new_passphrase(ctx.lang)?;
    let contents = WalletContents::new(seed, now());
    WalletFile::create(path, pass.as_bytes(), ctx.kdf, &contents, ctx.lock_wait)?;
    if ctx.json {
        output::json(&RecoverOutput {
            wallet: path.display().to_string(),
            credentials: 0,
        })?;
    } else {
        output::line(&tr(
            ctx.lang,
            Key::RecoverDone,
            &[("path", &path.display())],
        ))?;
    }
    Ok(())
}
