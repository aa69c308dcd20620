//! Reading passphrases and recovery phrases: from a file or an environment
//! variable for scripts, else from the terminal without echo.
//!
//! There is deliberately no command-line flag that takes a passphrase value:
//! arguments are visible to every user of the machine through `ps`.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::i18n::{t, Key, Lang};

/// Environment variable with the wallet passphrase (for scripts).
pub const PASSPHRASE_ENV: &str = "KENMERK_PASSPHRASE";
/// Environment variable with the recovery phrase (for scripts).
pub const PHRASE_ENV: &str = "KENMERK_RECOVERY_PHRASE";
/// Minimum length of a new passphrase, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Why a passphrase or phrase could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretInputError {
    #[error("the two passphrases differ")]
    Mismatch,
    #[error("the passphrase is shorter than {0} characters")]
    TooShort(usize),
    #[error("no terminal to ask for the {0}")]
    NoTerminal(SecretKind),
    #[error("cannot read {0}: {1}")]
    ReadFile(PathBuf, #[source] std::io::Error),
    #[error("{0} is not UTF-8 text")]
    NotUtf8(PathBuf),
}

/// Which secret was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The wallet passphrase.
    Passphrase,
    /// The recovery phrase.
    Phrase,
}

impl std::fmt::Display for SecretKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretKind::Passphrase => "passphrase",
            SecretKind::Phrase => "recovery phrase",
        })
    }
}

/// Where secrets come from for this run.
#[derive(Debug, Clone, Default)]
pub struct SecretSource {
    /// `--passphrase-file`.
    pub passphrase_file: Option<PathBuf>,
    /// `--phrase-file` (for commands that take a recovery phrase).
    pub phrase_file: Option<PathBuf>,
}

fn read_file(path: &Path) -> Result<Zeroizing<String>, SecretInputError> {
    let bytes = Zeroizing::new(
        std::fs::read(path).map_err(|e| SecretInputError::ReadFile(path.to_owned(), e))?,
    );
    let text =
        std::str::from_utf8(&bytes).map_err(|_| SecretInputError::NotUtf8(path.to_owned()))?;
    // One trailing newline is what `echo pw > file` adds; it is not part of
    // the passphrase. Other whitespace is kept: it may be intended.
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    Ok(Zeroizing::new(text.to_owned()))
}

fn from_env(var: &str) -> Option<Zeroizing<String>> {
    std::env::var(var).ok().map(Zeroizing::new)
}

fn prompt(text: &str, kind: SecretKind) -> Result<Zeroizing<String>, SecretInputError> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|_| SecretInputError::NoTerminal(kind))
}

impl SecretSource {
    /// The passphrase of an existing wallet.
    pub fn passphrase(&self, lang: Lang) -> Result<Zeroizing<String>, SecretInputError> {
        if let Some(path) = &self.passphrase_file {
            return read_file(path);
        }
        if let Some(p) = from_env(PASSPHRASE_ENV) {
            return Ok(p);
        }
        prompt(t(lang, Key::PromptPassphrase), SecretKind::Passphrase)
    }

    /// A new passphrase: asked twice on a terminal; at least
    /// [`MIN_PASSPHRASE_CHARS`] characters however it is given.
    pub fn new_passphrase(&self, lang: Lang) -> Result<Zeroizing<String>, SecretInputError> {
        let pass = if let Some(path) = &self.passphrase_file {
            read_file(path)?
        } else if let Some(p) = from_env(PASSPHRASE_ENV) {
            p
        } else {
            let first = prompt(t(lang, Key::PromptNewPassphrase), SecretKind::Passphrase)?;
            let second = prompt(t(lang, Key::PromptRepeatPassphrase), SecretKind::Passphrase)?;
            if first != second {
                return Err(SecretInputError::Mismatch);
            }
            first
        };
        if pass.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(SecretInputError::TooShort(MIN_PASSPHRASE_CHARS));
        }
        Ok(pass)
    }

    /// The recovery phrase.
    pub fn phrase(&self, lang: Lang) -> Result<Zeroizing<String>, SecretInputError> {
        if let Some(path) = &self.phrase_file {
            return read_file(path);
        }
        if let Some(p) = from_env(PHRASE_ENV) {
            return Ok(p);
        }
        prompt(t(lang, Key::PromptPhrase), SecretKind::Phrase)
    }
}
