//! `kenmerk backup create|restore`: the whole wallet, encrypted under a key
//! derived from the recovery seed (see `envelope`), so that the phrase on
//! paper is all a resident needs on a new machine.

use std::path::Path;

use serde::Serialize;

use crate::context::Context;
use crate::envelope::{self, KeySource, SealingKey, BACKUP_MAGIC};
use crate::error::{BackupError, CliError};
use crate::i18n::{tr, Key};
use crate::output;
use crate::recovery::seed_from_phrase;
use crate::wallet::WalletContents;
use crate::wallet_file::{write_atomically, CreateWalletError, SaveWalletError, WalletFile};

#[derive(Serialize)]
struct BackupOutput {
    backup: String,
    wallet: String,
    credentials: usize,
    log_entries: usize,
}

/// Seal wallet contents as a backup.
pub fn seal_backup(contents: &WalletContents) -> Result<Vec<u8>, BackupError> {
    let key = SealingKey::derive_new(
        BACKUP_MAGIC,
        KeySource::Seed(contents.seed.as_bytes()),
        envelope::KdfParams::default(),
    )
    .map_err(SaveWalletError::from)?;
    let plain = contents
        .to_plaintext()
        .map_err(|e| SaveWalletError::Serialise(e.to_string()))?;
    Ok(key.seal(&plain).map_err(SaveWalletError::from)?)
}

/// Open backup bytes with a recovery phrase's seed.
pub fn open_backup(
    path: &Path,
    bytes: &[u8],
    seed: &crate::wallet::HolderSeed,
) -> Result<WalletContents, BackupError> {
    let (plain, _) = envelope::open(BACKUP_MAGIC, bytes, KeySource::Seed(seed.as_bytes()))
        .map_err(|source| BackupError::Open {
            path: path.to_owned(),
            source,
        })?;
    let contents = WalletContents::from_plaintext(&plain)
        .map_err(|e| BackupError::Contents(path.to_owned(), e.to_string()))?;
    // The key check already ties the backup to the seed; this guards against
    // a backup whose inner seed was swapped by whoever made it.
    if contents.seed != *seed {
        return Err(BackupError::SeedMismatch(path.to_owned()));
    }
    Ok(contents)
}

/// `kenmerk backup create FILE`.
pub fn create(ctx: &Context, file: &Path, force: bool) -> Result<(), CliError> {
    if file.exists() && !force {
        return Err(BackupError::Exists(file.to_owned()).into());
    }
    let (wallet, contents) = ctx.open_wallet()?;
    let bytes = seal_backup(&contents)?;
    write_atomically(file, &bytes).map_err(|e| BackupError::Io(file.to_owned(), e))?;
    if ctx.json {
        output::json(&BackupOutput {
            backup: file.display().to_string(),
            wallet: wallet.path().display().to_string(),
            credentials: contents.credentials.len(),
            log_entries: contents.log.entries().len(),
        })?;
    } else {
        output::line(&tr(
            ctx.lang,
            Key::BackupCreated,
            &[("path", &file.display())],
        ))?;
    }
    Ok(())
}

/// `kenmerk backup restore FILE`: into a new wallet file only.
pub fn restore(ctx: &Context, file: &Path) -> Result<(), CliError> {
    let path = ctx.wallet_path()?;
    if path.exists() {
        return Err(CreateWalletError::Exists(path.to_owned()).into());
    }
    let bytes = std::fs::read(file).map_err(|e| BackupError::Io(file.to_owned(), e))?;
    let phrase = ctx.secrets.phrase(ctx.lang)?;
    let seed = seed_from_phrase(&phrase)?;
    let contents = open_backup(file, &bytes, &seed)?;
    let pass = ctx.secrets.new_passphrase(ctx.lang)?;
    WalletFile::create(path, pass.as_bytes(), ctx.kdf, &contents, ctx.lock_wait)?;
    if ctx.json {
        output::json(&BackupOutput {
            backup: file.display().to_string(),
            wallet: path.display().to_string(),
            credentials: contents.credentials.len(),
            log_entries: contents.log.entries().len(),
        })?;
    } else {
        output::line(&tr(
            ctx.lang,
            Key::BackupRestored,
            &[
                ("path", &path.display()),
                ("count", &contents.credentials.len()),
            ],
        ))?;
    }
    Ok(())
}
