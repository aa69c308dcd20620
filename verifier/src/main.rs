//! `kenmerk-verifier`: the verifier daemon for services that do not write
//! Rust. All logic is in the `verifier` library; this file parses flags,
//! sets up logging and waits for a shutdown signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use verifier::config::{FileConfig, Overrides, ProcessEnv};
use verifier::daemon::{start, VerifierConfig};
use verifier::signing::SigningKey;

#[derive(Parser)]
#[command(
    name = "kenmerk-verifier",
    version,
    about = "kenmerk verifier daemon: disclosure and signing sessions, session page, signed timestamps"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the requestor API, wallet API and session page.
    ///
    /// With no options: 127.0.0.1:8701, sessions in memory, the scheme from
    /// the local issuer at http://127.0.0.1:8700/scheme. Environment
    /// variables KENMERK_VERIFIER_* override the file; flags override both.
    Serve {
        /// TOML configuration file (also KENMERK_VERIFIER_CONFIG).
        #[arg(long, env = "KENMERK_VERIFIER_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:8701).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Scheme URL (http/https) or file (signed scheme, JSON or CBOR).
        #[arg(long)]
        scheme: Option<String>,
        /// Pinned scheme public key (hex).
        #[arg(long)]
        scheme_key: Option<String>,
        /// Base URL wallets reach this daemon at (default http://LISTEN).
        #[arg(long)]
        public_url: Option<String>,
        /// Keep sessions in Redis (several instances share one prefix).
        #[arg(long)]
        redis_url: Option<String>,
        /// Serve the requestor API without authentication (no requestors
        /// configured) on a non-loopback address; refused without this flag.
        #[arg(long)]
        allow_open_requestor_api: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Write a new Ed25519 signing key (PKCS#8 DER) for result JWTs and
    /// timestamps; share it between instances behind one balancer.
    Keygen {
        /// Output file (must not exist).
        out: PathBuf,
    },
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is
/// called, not when the future is first polled: called before the server
/// starts, a SIGTERM that arrives while the daemon is still starting ends it
/// gracefully instead of by the signal's default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi => {
            use utoipa::OpenApi as _;
            match verifier::router::ops::ApiDoc::openapi().to_pretty_json() {
                Ok(s) => {
                    println!("{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Keygen { out } => {
            let result = SigningKey::generate()
                .map_err(|e| e.to_string())
                .and_then(|k| {
                    let mut options = std::fs::OpenOptions::new();
                    options.write(true).create_new(true);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::OpenOptionsExt as _;
                        options.mode(0o600);
                    }
                    use std::io::Write as _;
                    options
                        .open(&out)
                        .and_then(|mut f| f.write_all(k.pkcs8_der()).and_then(|()| f.sync_all()))
                        .map_err(|e| format!("{}: {e}", out.display()))
                        .map(|()| k.public_hex())
                });
            match result {
                Ok(public) => {
                    println!("wrote {}; public key {public}", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve {
            config,
            listen,
            scheme,
            scheme_key,
            public_url,
            redis_url,
            allow_open_requestor_api,
        } => {
            let mut file = match config.as_deref().map(FileConfig::load).transpose() {
                Ok(f) => f.unwrap_or_default(),
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Err(e) = file.apply_env(&ProcessEnv) {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            let settings = match file.resolve(Overrides {
                listen,
                scheme,
                scheme_key,
                public_url,
                redis_url,
                allow_open_requestor_api,
            }) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            init_logging(settings.log_json);
            let shutdown = shutdown_signal();
            let handle = match VerifierConfig::from_settings(settings) {
                Ok(c) => start(c).await,
                Err(e) => Err(e),
            };
            match handle {
                Ok(h) => match h.wait_for(shutdown).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        tracing::error!(error = %e, "server failed");
                        ExitCode::FAILURE
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "cannot start");
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
