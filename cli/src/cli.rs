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
    /// Trusted schemes (issuers, credential types, verifiers).
    #[command(subcommand)]
    Scheme(SchemeCommand),
    /// Run a session: receive credentials, disclose attributes, sign.
    Session(SessionArgs),
    /// Renew credential batches that run low or expire soon.
    Refresh(RefreshArgs),
    /// Answer an offline challenge with a QR code.
    Present(PresentArgs),
    /// Check an attribute-based signature against the pinned scheme.
    VerifySignature {
        /// Signature file (base64url text or CBOR).
        file: PathBuf,
    },
    /// Walk the municipal stories end to end with an embedded issuer and
    /// verifier and temporary wallets (touches no real wallet).
    Demo {
        /// Leave the daemons running afterwards and print their URLs and a
        /// session page (Ctrl-C stops them).
        #[arg(long)]
        keep: bool,
    },
}

/// `kenmerk scheme ...`
#[derive(Debug, Subcommand)]
pub enum SchemeCommand {
    /// Pin a scheme (first time) or update it (same key, newer version).
    Add {
        /// URL of the published scheme, or a file (CBOR or JSON).
        source: String,
        /// Expected key fingerprint, obtained out of band (spaces ignored).
        #[arg(long)]
        fingerprint: Option<String>,
        /// The scheme's public key (64 hex digits); default: fetched from
        /// `<URL>/key`.
        #[arg(long)]
        key: Option<String>,
    },
    /// List pinned schemes with their fingerprints.
    List,
}

/// `kenmerk session ...`
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Session URL, QR payload (JSON session pointer), or `-` to read it
    /// from standard input.
    #[arg(required_unless_present = "qr_image")]
    pub target: Option<String>,
    /// Read the session QR code from a PNG image.
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    pub qr_image: Option<PathBuf>,
    /// Consent without asking (for scripts): first option of each choice
    /// unless --choose says otherwise.
    #[arg(long)]
    pub yes: bool,
    /// With --yes: option per question, 1-based, comma separated (`2,1`).
    #[arg(long, value_delimiter = ',', requires = "yes")]
    pub choose: Option<Vec<usize>>,
    /// Keep a copy of an attribute-based signature in this file.
    #[arg(long, value_name = "FILE")]
    pub signature_out: Option<PathBuf>,
}

/// `kenmerk refresh`
#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Renew when fewer tokens than this are left.
    #[arg(long, default_value_t = 5)]
    pub below: usize,
    /// Renew when the tokens expire within this many days.
    #[arg(long, default_value_t = 7)]
    pub days: u64,
    /// Renew every credential, whatever its state.
    #[arg(long)]
    pub all: bool,
}

/// `kenmerk present --offline ...`
#[derive(Debug, Args)]
pub struct PresentArgs {
    /// Offline mode (the only mode): answer a challenge by QR code.
    #[arg(long, required = true)]
    pub offline: bool,
    /// The challenge payload (base64url), or `-` for standard input.
    #[arg(required_unless_present = "qr_image")]
    pub challenge: Option<String>,
    /// Read the challenge QR code from a PNG image.
    #[arg(long, value_name = "FILE", conflicts_with = "challenge")]
    pub qr_image: Option<PathBuf>,
    /// Also write the answer QR code as PNG.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Consent without asking (for scripts).
    #[arg(long)]
    pub yes: bool,
    /// With --yes: option per question, 1-based, comma separated.
    #[arg(long, value_delimiter = ',', requires = "yes")]
    pub choose: Option<Vec<usize>>,
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
