//! The command line, as clap derive types.  Parsing only: the commands live
//! in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// kenmerk: your municipal credentials, disclosed only as far as needed.
#[derive(Debug, Parser)]
#[command(name = "kenmerk", version, about, long_about = None)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by all commands.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Wallet file (default: the platform data directory, kenmerk/wallet.kenmerk).
    #[arg(long, global = true, env = "KENMERK_WALLET", value_name = "FILE")]
    pub wallet: Option<PathBuf>,

    /// Language of messages: nl or en (default: from LC_ALL / LANG).
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<String>,

    /// Machine-readable output (JSON on stdout; errors as JSON on stderr).
    #[arg(long, global = true)]
    pub json: bool,

    /// Read the wallet passphrase from this file (first line) instead of
    /// asking; KENMERK_PASSPHRASE works too.
    #[arg(
        long,
        global = true,
        env = "KENMERK_PASSPHRASE_FILE",
        value_name = "FILE"
    )]
    pub passphrase_file: Option<PathBuf>,

    /// Argon2id memory (KiB) for a new wallet; for tests, keep the default.
    #[arg(long, global = true, env = "KENMERK_KDF_MEMORY_KIB", hide = true)]
    pub kdf_memory_kib: Option<u32>,

    /// Argon2id iterations for a new wallet; for tests, keep the default.
    #[arg(long, global = true, env = "KENMERK_KDF_ITERATIONS", hide = true)]
    pub kdf_iterations: Option<u32>,

    /// How long to wait for another kenmerk to release the wallet (ms).
    #[arg(
        long,
        global = true,
        env = "KENMERK_LOCK_WAIT_MS",
        default_value_t = 2000,
        hide = true
    )]
    pub lock_wait_ms: u64,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new wallet and show its recovery phrase once.
    Init,
    /// Create a wallet from a recovery phrase (the same holder as before).
    Recover(PhraseArgs),
    /// Encrypted backups that open with the recovery phrase.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// List the credentials in the wallet.
    List,
    /// Show one credential: attributes, issuer, expiry, tokens left.
    Show {
        /// Credential id from `kenmerk list` (c1, c2, ...) or its type.
        credential: String,
    },
    /// The disclosure log: what was shared, when, with whom.
    Log,
}

/// Where to read the recovery phrase from.
#[derive(Debug, Args)]
pub struct PhraseArgs {
    /// Read the recovery phrase from this file instead of asking;
    /// KENMERK_RECOVERY_PHRASE works too.
    #[arg(long, value_name = "FILE")]
    pub phrase_file: Option<PathBuf>,
}

/// `kenmerk backup ...`
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write an encrypted backup of the whole wallet.
    Create {
        /// Backup file to write.
        file: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Restore a backup into a new wallet file.
    Restore {
        /// Backup file to read.
        file: PathBuf,
        /// Where to read the recovery phrase from.
        #[command(flatten)]
        phrase: PhraseArgs,
    },
}
