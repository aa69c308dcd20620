//! What the resident sees when a command fails: one line saying what went
//! wrong, one line with a hint, in their language; and a distinct exit code
//! for scripts.
//!
//! Each operation has its own error enum (next to the operation); this module
//! only wraps them and maps each variant to a message, a hint, a stable
//! machine code (for `--json`) and an exit code.

use std::io;
use std::path::{Path, PathBuf};

use wallet_core::issuance::wallet::FinishIssuanceError;
use wallet_core::scheme::SchemeVerifyError;
use wallet_core::token::TokenInfoError;
use wallet_core::wire::OfferError;

use crate::client::ClientError;
use crate::consent::ConsentError;
use crate::envelope::OpenError;
use crate::i18n::{t, tr, Key, Lang};
use crate::qr::QrError;
use crate::recovery::PhraseError;
use crate::scheme_store::SchemeStoreError;
use crate::secret_input::{SecretInputError, SecretKind};
use crate::session::SessionError;
use crate::wallet::FindError;
use crate::wallet_file::{CreateWalletError, LockError, OpenWalletError, SaveWalletError};

/// Exit codes, stable for scripts (documented in docs/wallet.md).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Any other failure.
    pub const FAILURE: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// The wallet or backup cannot be opened: missing, wrong passphrase or
    /// phrase, or no way to ask for one.
    pub const ACCESS: u8 = 3;
    /// The wallet or backup file is damaged or from a newer version.
    pub const DAMAGED: u8 = 4;
    /// Another process holds the wallet.
    pub const BUSY: u8 = 5;
    /// The issuer or verifier could not be reached or answered nonsense.
    pub const NETWORK: u8 = 6;
    /// The issuer or verifier refused (revoked, invalid, expired).
    pub const REFUSED: u8 = 7;
    /// The resident declined; nothing was sent.
    pub const DECLINED: u8 = 8;
}

/// Errors of a backup operation.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists")]
    Exists(PathBuf),
    #[error("cannot read or write {0}: {1}")]
    Io(PathBuf, #[source] io::Error),
    #[error("cannot open backup {path}: {source}")]
    Open {
        /// Backup path.
        path: PathBuf,
        /// Envelope error.
        source: OpenError,
    },
    #[error("backup {0} decrypted but its contents are not understood: {1}")]
    Contents(PathBuf, String),
    #[error("backup {0} holds a different holder than its phrase")]
    SeedMismatch(PathBuf),
    #[error(transparent)]
    Save(#[from] SaveWalletError),
}

/// Why the demo could not run at all (as opposed to a step giving an
/// unexpected outcome, which the summary reports).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot set up the demo: {0}")]
    Setup(String),
}

/// Every way a command can fail.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot open wallet {path}: {source}")]
    OpenWallet {
        /// Wallet path.
        path: PathBuf,
        /// Why.
        source: OpenWalletError,
    },
    #[error(transparent)]
    CreateWallet(#[from] CreateWalletError),
    #[error(transparent)]
    SaveWallet(#[from] SaveWalletError),
    #[error(transparent)]
    SecretInput(#[from] SecretInputError),
    #[error(transparent)]
    Phrase(#[from] PhraseError),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    FindCredential(#[from] FindError),
    #[error("no data directory on this system; use --wallet")]
    NoDataDir,
    #[error(transparent)]
    Scheme(#[from] SchemeStoreError),
    #[error("no scheme key for {0}")]
    SchemeNeedsKey(String),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Qr(#[from] QrError),
    #[error("invalid signature: {0}")]
    SignatureInvalid(String),
    #[error("{0} credential(s) could not be renewed")]
    RefreshFailed(usize),
    #[error("cannot read {0}: {1}")]
    ReadFile(PathBuf, #[source] io::Error),
    #[error("cannot write output: {0}")]
    Output(#[from] io::Error),
    #[error(transparent)]
    Demo(#[from] DemoError),
}

/// A rendered error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Stable machine-readable code.
    pub code: &'static str,
    /// One line: what went wrong.
    pub message: String,
    /// One line: what to do about it.
    pub hint: Option<String>,
    /// Process exit code.
    pub exit: u8,
}

fn report(code: &'static str, message: String, hint: Option<String>, exit: u8) -> Report {
    Report {
        code,
        message,
        hint,
        exit,
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn lock_report(lang: Lang, e: &LockError) -> Report {
    match e {
        LockError::Busy(path) => report(
            "wallet-busy",
            tr(lang, Key::WalletLocked, &[("path", &p(path))]),
            Some(t(lang, Key::WalletLockedHint).into()),
            exit::BUSY,
        ),
        LockError::Io(path, err) => io_report(lang, path, err),
    }
}

fn io_report(lang: Lang, path: &Path, err: &io::Error) -> Report {
    report(
        "io",
        tr(lang, Key::FileIo, &[("path", &p(path)), ("detail", err)]),
        Some(t(lang, Key::FileIoHint).into()),
        exit::FAILURE,
    )
}

/// Map an envelope error on `path` (wallet or backup) to a report.
fn envelope_report(lang: Lang, path: &Path, e: &OpenError, backup: bool) -> Report {
    let what = if backup {
        t(lang, Key::WalletWordForBackup)
    } else {
        t(lang, Key::WalletWordForWallet)
    };
    let damaged_hint = if backup {
        None
    } else {
        Some(t(lang, Key::FileCorruptHint).into())
    };
    match e {
        OpenError::Truncated => report(
            "file-truncated",
            tr(lang, Key::FileTruncated, &[("path", &p(path))]),
            damaged_hint,
            exit::DAMAGED,
        ),
        OpenError::WrongMagic | OpenError::InvalidVersion | OpenError::WrongKeySource => report(
            "not-kenmerk-file",
            tr(
                lang,
                Key::FileNotKenmerk,
                &[("path", &p(path)), ("what", &what)],
            ),
            Some(t(lang, Key::FileNotKenmerkHint).into()),
            exit::DAMAGED,
        ),
        OpenError::NewerVersion { found, supported } => report(
            "file-newer-version",
            tr(
                lang,
                Key::FileNewer,
                &[
                    ("path", &p(path)),
                    ("found", found),
                    ("supported", supported),
                ],
            ),
            Some(t(lang, Key::FileNewerHint).into()),
            exit::DAMAGED,
        ),
        OpenError::BadKeyParams | OpenError::Corrupt => report(
            "file-corrupt",
            tr(lang, Key::FileCorrupt, &[("path", &p(path))]),
            damaged_hint,
            exit::DAMAGED,
        ),
        OpenError::WrongKey if backup => report(
            "backup-wrong-phrase",
            tr(lang, Key::BackupWrongPhrase, &[("path", &p(path))]),
            Some(t(lang, Key::BackupWrongPhraseHint).into()),
            exit::ACCESS,
        ),
        OpenError::WrongKey => report(
            "wrong-passphrase",
            t(lang, Key::WrongPassphrase).into(),
            Some(t(lang, Key::WrongPassphraseHint).into()),
            exit::ACCESS,
        ),
    }
}

fn save_report(lang: Lang, e: &SaveWalletError) -> Report {
    match e {
        SaveWalletError::Io(path, err) => io_report(lang, path, err),
        other => internal(lang, other),
    }
}

fn internal(lang: Lang, e: &dyn std::fmt::Display) -> Report {
    report(
        "internal",
        tr(lang, Key::Internal, &[("detail", e)]),
        Some(t(lang, Key::InternalHint).into()),
        exit::FAILURE,
    )
}

impl CliError {
    /// Render for the resident.
    pub fn report(&self, lang: Lang) -> Report {
        match self {
            CliError::OpenWallet { path, source } => match source {
                OpenWalletError::NotFound(path) => report(
                    "wallet-not-found",
                    tr(lang, Key::WalletNotFound, &[("path", &p(path))]),
                    Some(t(lang, Key::WalletNotFoundHint).into()),
                    exit::ACCESS,
                ),
                OpenWalletError::Lock(e) => lock_report(lang, e),
                OpenWalletError::Io(path, e) => io_report(lang, path, e),
                OpenWalletError::Envelope(e) => envelope_report(lang, path, e, false),
                OpenWalletError::Contents(_) => report(
                    "file-corrupt",
                    tr(lang, Key::FileCorrupt, &[("path", &p(path))]),
                    Some(t(lang, Key::FileCorruptHint).into()),
                    exit::DAMAGED,
                ),
            },
            CliError::CreateWallet(e) => match e {
                CreateWalletError::Exists(path) => report(
                    "wallet-exists",
                    tr(lang, Key::WalletExists, &[("path", &p(path))]),
                    Some(t(lang, Key::WalletExistsHint).into()),
                    exit::FAILURE,
                ),
                CreateWalletError::Lock(e) => lock_report(lang, e),
                CreateWalletError::Save(e) => save_report(lang, e),
            },
            CliError::SaveWallet(e) => save_report(lang, e),
            CliError::SecretInput(e) => match e {
                SecretInputError::Mismatch => report(
                    "passphrase-mismatch",
                    t(lang, Key::PassphraseMismatch).into(),
                    Some(t(lang, Key::PassphraseMismatchHint).into()),
                    exit::ACCESS,
                ),
                SecretInputError::TooShort(min) => report(
                    "passphrase-too-short",
                    tr(lang, Key::PassphraseTooShort, &[("min", min)]),
                    Some(t(lang, Key::PassphraseTooShortHint).into()),
                    exit::ACCESS,
                ),
                SecretInputError::NoTerminal(kind) => {
                    let (what, hint) = match kind {
                        SecretKind::Passphrase => {
                            (Key::WordPassphrase, Key::NoTerminalPassphraseHint)
                        }
                        SecretKind::Phrase => (Key::WordPhrase, Key::NoTerminalPhraseHint),
                    };
                    report(
                        "no-terminal",
                        tr(lang, Key::NoTerminal, &[("what", &t(lang, what))]),
                        Some(t(lang, hint).into()),
                        exit::ACCESS,
                    )
                }
                SecretInputError::ReadFile(path, e) => io_report(lang, path, e),
                SecretInputError::NotUtf8(path) => report(
                    "not-utf8",
                    tr(
                        lang,
                        Key::FileIo,
                        &[("path", &p(path)), ("detail", &"not UTF-8 text")],
                    ),
                    None,
                    exit::FAILURE,
                ),
            },
            CliError::Phrase(e) => report(
                "phrase-invalid",
                tr(lang, Key::PhraseInvalid, &[("detail", e)]),
                Some(t(lang, Key::PhraseInvalidHint).into()),
                exit::ACCESS,
            ),
            CliError::Backup(e) => match e {
                BackupError::Exists(path) => report(
                    "backup-exists",
                    tr(lang, Key::BackupExists, &[("path", &p(path))]),
                    Some(t(lang, Key::BackupExistsHint).into()),
                    exit::FAILURE,
                ),
                BackupError::Io(path, err) => io_report(lang, path, err),
                BackupError::Open { path, source } => envelope_report(lang, path, source, true),
                BackupError::Contents(path, _) => report(
                    "file-corrupt",
                    tr(lang, Key::FileCorrupt, &[("path", &p(path))]),
                    None,
                    exit::DAMAGED,
                ),
                BackupError::SeedMismatch(path) => report(
                    "backup-wrong-phrase",
                    tr(lang, Key::BackupWrongPhrase, &[("path", &p(path))]),
                    Some(t(lang, Key::BackupWrongPhraseHint).into()),
                    exit::ACCESS,
                ),
                BackupError::Save(e) => save_report(lang, e),
            },
            CliError::FindCredential(e) => match e {
                FindError::NotFound(key) => report(
                    "credential-not-found",
                    tr(lang, Key::CredentialNotFound, &[("key", key)]),
                    Some(t(lang, Key::CredentialNotFoundHint).into()),
                    exit::FAILURE,
                ),
                FindError::Ambiguous(key) => report(
                    "credential-ambiguous",
                    tr(lang, Key::CredentialAmbiguous, &[("key", key)]),
                    Some(t(lang, Key::CredentialNotFoundHint).into()),
                    exit::FAILURE,
                ),
            },
            CliError::NoDataDir => report(
                "no-data-dir",
                tr(lang, Key::WalletNotFound, &[("path", &"?")]),
                Some(t(lang, Key::WalletNotFoundHint).into()),
                exit::ACCESS,
            ),
            CliError::ReadFile(path, e) => io_report(lang, path, e),
            CliError::Scheme(e) => scheme_report(lang, e),
            CliError::SchemeNeedsKey(source) => report(
                "scheme-needs-key",
                tr(lang, Key::SchemeNeedsKey, &[("source", source)]),
                Some(t(lang, Key::SchemeNeedsKeyHint).into()),
                exit::USAGE,
            ),
            CliError::Session(e) => session_report(lang, e),
            CliError::Client(e) => client_report(lang, e),
            CliError::Qr(e) => report(
                "qr",
                tr(lang, Key::QrFailed, &[("detail", e)]),
                None,
                exit::FAILURE,
            ),
            CliError::SignatureInvalid(detail) => report(
                "signature-invalid",
                tr(lang, Key::SignatureInvalid, &[("detail", detail)]),
                Some(t(lang, Key::SignatureInvalidHint).into()),
                exit::REFUSED,
            ),
            CliError::RefreshFailed(count) => report(
                "refresh-failed",
                tr(lang, Key::RefreshSomeFailed, &[("count", count)]),
                Some(t(lang, Key::RefreshSomeFailedHint).into()),
                exit::REFUSED,
            ),
            CliError::Demo(e) => report("demo-setup", e.to_string(), None, exit::FAILURE),
            CliError::Output(e) => report(
                "output",
                tr(lang, Key::OutputFailed, &[("detail", e)]),
                None,
                exit::FAILURE,
            ),
        }
    }
}

fn scheme_report(lang: Lang, e: &SchemeStoreError) -> Report {
    let hint = |k: Key| Some(t(lang, k).to_owned());
    match e {
        SchemeStoreError::KeyFormat => report(
            "scheme-invalid",
            tr(lang, Key::SchemeInvalid, &[("detail", e)]),
            hint(Key::SchemeNeedsKeyHint),
            exit::DAMAGED,
        ),
        SchemeStoreError::Format(_) | SchemeStoreError::Parse(_) => report(
            "scheme-invalid",
            tr(lang, Key::SchemeInvalid, &[("detail", e)]),
            None,
            exit::DAMAGED,
        ),
        SchemeStoreError::FingerprintMismatch { expected, actual } => report(
            "scheme-fingerprint-mismatch",
            tr(
                lang,
                Key::SchemeFingerprintMismatch,
                &[("expected", expected), ("actual", actual)],
            ),
            hint(Key::SchemeFingerprintHint),
            exit::REFUSED,
        ),
        SchemeStoreError::OtherKey {
            scheme,
            pinned,
            offered,
        } => report(
            "scheme-other-key",
            tr(
                lang,
                Key::SchemeOtherKey,
                &[("scheme", scheme), ("pinned", pinned), ("offered", offered)],
            ),
            hint(Key::SchemeOtherKeyHint),
            exit::REFUSED,
        ),
        SchemeStoreError::Verify(v) => verify_report(lang, v, None),
        SchemeStoreError::Stored(scheme, v) => verify_report(lang, v, Some(scheme)),
        SchemeStoreError::NotPinned(scheme) => report(
            "scheme-not-pinned",
            tr(lang, Key::SchemeNotPinned, &[("scheme", scheme)]),
            hint(Key::SchemeNotPinnedHint),
            exit::FAILURE,
        ),
    }
}

fn verify_report(lang: Lang, e: &SchemeVerifyError, scheme: Option<&String>) -> Report {
    let hint = |k: Key| Some(t(lang, k).to_owned());
    match e {
        SchemeVerifyError::Rollback { found, trusted } => report(
            "scheme-rollback",
            tr(
                lang,
                Key::SchemeRollback,
                &[("found", found), ("trusted", trusted)],
            ),
            hint(Key::SchemeRollbackHint),
            exit::REFUSED,
        ),
        SchemeVerifyError::BadSignature => report(
            "scheme-bad-signature",
            t(lang, Key::SchemeBadSignature).to_owned(),
            hint(Key::SchemeFingerprintHint),
            exit::REFUSED,
        ),
        SchemeVerifyError::Expired { .. } => report(
            "scheme-expired",
            tr(
                lang,
                Key::SchemeExpired,
                &[("scheme", &scheme.map_or("", |s| s.as_str()))],
            ),
            hint(Key::SchemeUpdateHint),
            exit::REFUSED,
        ),
        other => report(
            "scheme-invalid",
            tr(lang, Key::SchemeInvalid, &[("detail", other)]),
            None,
            exit::REFUSED,
        ),
    }
}

fn client_report(lang: Lang, e: &ClientError) -> Report {
    match e {
        ClientError::Connect { url, reason } => report(
            "network",
            tr(
                lang,
                Key::NetworkUnreachable,
                &[("url", url), ("detail", reason)],
            ),
            Some(t(lang, Key::NetworkUnreachableHint).into()),
            exit::NETWORK,
        ),
        ClientError::Refused {
            url,
            status,
            problem,
        } => report(
            "refused",
            tr(lang, Key::PeerRefused, &[("url", url), ("detail", problem)]),
            // 408: the service's body timeout ran out (a slow connection).
            (*status == 408).then(|| t(lang, Key::PeerTooSlowHint).into()),
            exit::REFUSED,
        ),
        ClientError::TooLarge { url } => report(
            "peer-nonsense",
            tr(
                lang,
                Key::PeerNonsense,
                &[("url", url), ("detail", &"too large")],
            ),
            Some(t(lang, Key::PeerNonsenseHint).into()),
            exit::NETWORK,
        ),
        ClientError::Decode { url, error } => report(
            "peer-nonsense",
            tr(lang, Key::PeerNonsense, &[("url", url), ("detail", error)]),
            Some(t(lang, Key::PeerNonsenseHint).into()),
            exit::NETWORK,
        ),
        ClientError::Setup(_) => internal(lang, e),
    }
}

/// The message for token information that would single the resident out
/// (Rule 8): an expiry other than the scheme's, or an older key.
fn tagging(e: TokenInfoError) -> Option<Key> {
    match e {
        TokenInfoError::ExpiryNotFromScheme
        | TokenInfoError::OffGrid
        | TokenInfoError::TooFar
        | TokenInfoError::InPast => Some(Key::IssuerTagExpiry),
        TokenInfoError::NotCurrentKey => Some(Key::IssuerTagOldKey),
        TokenInfoError::KeyMismatch => None,
    }
}

fn session_report(lang: Lang, e: &SessionError) -> Report {
    match e {
        SessionError::Pointer(detail) => report(
            "not-a-session",
            tr(lang, Key::SessionNotALink, &[("detail", detail)]),
            Some(t(lang, Key::SessionNotALinkHint).into()),
            exit::USAGE,
        ),
        SessionError::Client(c) => client_report(lang, c),
        SessionError::Scheme(s) => scheme_report(lang, s),
        SessionError::Unsatisfiable(what) => report(
            "missing-attributes",
            tr(lang, Key::SessionMissing, &[("what", what)]),
            Some(t(lang, Key::SessionMissingHint).into()),
            exit::FAILURE,
        ),
        SessionError::Consent(ConsentError::Io(io)) => report(
            "output",
            tr(lang, Key::OutputFailed, &[("detail", io)]),
            None,
            exit::FAILURE,
        ),
        SessionError::Consent(c) => report(
            "bad-choice",
            tr(lang, Key::ChoiceInvalid, &[("detail", c)]),
            None,
            exit::USAGE,
        ),
        SessionError::Save(s) => save_report(lang, s),
        SessionError::Offer(OfferError::TokenInfo(ti))
        | SessionError::Issuance(FinishIssuanceError::TokenInfo(ti))
            if tagging(*ti).is_some() =>
        {
            report(
                "issuer-tagging",
                t(lang, tagging(*ti).unwrap_or(Key::IssuerTagExpiry)).to_owned(),
                Some(t(lang, Key::IssuerTagHint).into()),
                exit::REFUSED,
            )
        }
        SessionError::Offer(_)
        | SessionError::Request(_)
        | SessionError::UnknownSession(_)
        | SessionError::Issuance(_)
        | SessionError::Count { .. }
        | SessionError::RefreshMismatch(_)
        | SessionError::NoRecord(_)
        | SessionError::Key(_) => report(
            "peer-nonsense",
            tr(lang, Key::SessionFailed, &[("detail", e)]),
            Some(t(lang, Key::PeerNonsenseHint).into()),
            exit::NETWORK,
        ),
        SessionError::Plan(_) | SessionError::Prove(_) => internal(lang, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Problem;

    fn refused(status: u16) -> ClientError {
        ClientError::Refused {
            url: "http://127.0.0.1:8700/wallet/session/x/commitment".to_owned(),
            status,
            problem: Problem {
                kind: "urn:kenmerk:problem:request-timeout".to_owned(),
                title: "Request timeout".to_owned(),
                status,
                detail: Some("the request body did not arrive within 30 s".to_owned()),
            },
        }
    }

    #[test]
    fn a_body_timeout_tells_the_resident_what_to_do() {
        let nl = client_report(Lang::Nl, &refused(408));
        let en = client_report(Lang::En, &refused(408));
        assert!(nl.hint.as_deref().unwrap().contains("verbinding"));
        assert!(en.hint.as_deref().unwrap().contains("connection"));
        // Other refusals keep their plain report.
        assert!(client_report(Lang::En, &refused(409)).hint.is_none());
    }
}
