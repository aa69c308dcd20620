//! Per-run settings every command needs: language, output mode, where the
//! wallet is, how secrets are read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::cli::GlobalArgs;
use crate::envelope::KdfParams;
use crate::error::CliError;
use crate::i18n::Lang;
use crate::secret_input::SecretSource;
use crate::wallet::WalletContents;
use crate::wallet_file::{LockWait, WalletFile};

/// File name of the wallet inside the platform data directory.
pub const DEFAULT_WALLET_FILE: &str = "wallet.kenmerk";

/// Settings for one run of `kenmerk`.
#[derive(Debug, Clone)]
pub struct Context {
    /// Message language.
    pub lang: Lang,
    /// `--json`.
    pub json: bool,
    /// Wallet path, if one could be determined.
    wallet_path: Option<PathBuf>,
    /// Where passphrases and phrases come from.
    pub secrets: SecretSource,
    /// Argon2 cost for new wallets.
    pub kdf: KdfParams,
    /// How long to wait for the wallet lock.
    pub lock_wait: LockWait,
}

/// The default wallet path: `<data dir>/kenmerk/wallet.kenmerk`.
pub fn default_wallet_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("kenmerk").join(DEFAULT_WALLET_FILE))
}

impl Context {
    /// From the global command-line options.
    pub fn from_global(g: &GlobalArgs) -> Self {
        let defaults = KdfParams::default();
        Self {
            lang: Lang::detect(g.lang.as_deref()),
            json: g.json,
            wallet_path: g.wallet.clone().or_else(default_wallet_path),
            secrets: SecretSource {
                passphrase_file: g.passphrase_file.clone(),
                phrase_file: None,
            },
            kdf: KdfParams {
                m_cost_kib: g.kdf_memory_kib.unwrap_or(defaults.m_cost_kib),
                t_cost: g.kdf_iterations.unwrap_or(defaults.t_cost),
                p_cost: defaults.p_cost,
            },
            lock_wait: LockWait(Duration::from_millis(g.lock_wait_ms)),
        }
    }

    /// A context for programmatic use (the demo, tests).
    pub fn new(lang: Lang, json: bool, wallet_path: PathBuf) -> Self {
        Self {
            lang,
            json,
            wallet_path: Some(wallet_path),
            secrets: SecretSource::default(),
            kdf: KdfParams::default(),
            lock_wait: LockWait::default(),
        }
    }

    /// The wallet path, or an error when the platform has no data dir.
    pub fn wallet_path(&self) -> Result<&Path, CliError> {
        self.wallet_path.as_deref().ok_or(CliError::NoDataDir)
    }

    /// Ask for the passphrase and open the wallet (locked until dropped).
    pub fn open_wallet(&self) -> Result<(WalletFile, WalletContents), CliError> {
        let path = self.wallet_path()?;
        if !path.exists() {
            return Err(CliError::OpenWallet {
                path: path.to_owned(),
                source: crate::wallet_file::OpenWalletError::NotFound(path.to_owned()),
            });
        }
        let pass: Zeroizing<String> = self.secrets.passphrase(self.lang)?;
        WalletFile::open(path, pass.as_bytes(), self.lock_wait).map_err(|source| {
            CliError::OpenWallet {
                path: path.to_owned(),
                source,
            }
        })
    }
}

/// Current time in unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
