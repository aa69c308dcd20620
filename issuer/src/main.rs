//! `kenmerk-issuer`: the municipality's credential issuer service.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use issuer::IssuerConfig;

#[derive(Parser)]
#[command(
    name = "kenmerk-issuer",
    version,
    about = "kenmerk issuer service: issues, refreshes and revokes attribute-based credentials",
    long_about = "kenmerk issuer service.\n\nThe municipality's back office creates issuance sessions (requestor API), \
residents' wallets pick the credentials up by QR code (wallet API), refresh them, and lose them by \
revocation (admin API). Settings come from defaults, then the TOML file (--config), then \
KENMERK_ISSUER_* environment variables, then these flags."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service until Ctrl-C or SIGTERM, then finish running requests and stop.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8700; env KENMERK_ISSUER_LISTEN].
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Directory for the SQLite database, issuer key files (mode 0600), the scheme signing key,
        /// the published scheme and the local requestor token
        /// [default: ./kenmerk-issuer-data; env KENMERK_ISSUER_DATA_DIR].
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// TOML configuration file (listen, database_url, public_url, key_dir, scheme_file,
        /// scheme_key_file, batch_size, token_validity_secs, session_timeout_secs,
        /// key_validity_secs, max_body_bytes, max_concurrent_requests, header_timeout_secs,
        /// body_timeout_secs, max_connections, log_json, [[requestors]]).
        /// Without it the issuer runs locally with the demo scheme.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Database URL: sqlite:PATH or postgres://… [default: SQLite file in the data directory;
        /// env KENMERK_ISSUER_DATABASE_URL].
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Log JSON lines instead of text [env KENMERK_ISSUER_LOG_JSON].
        #[arg(long)]
        log_json: bool,
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

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Serve {
        listen,
        data_dir,
        config,
        database_url,
        log_json,
    } = cli.command;
    let mut settings = match IssuerConfig::load(config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kenmerk-issuer: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(listen) = listen {
        settings.listen = listen;
    }
    if let Some(dir) = data_dir {
        settings.data_dir = dir;
    }
    if let Some(url) = database_url {
        settings.database_url = Some(url);
    }
    settings.log_json |= log_json;
    init_logging(settings.log_json);

    let running = match issuer::start(settings).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "kenmerk-issuer could not start");
            eprintln!("kenmerk-issuer: {e}");
            return ExitCode::FAILURE;
        }
    };
    shutdown_signal().await;
    tracing::info!("shutting down: finishing running requests");
    match running.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenmerk-issuer: {e}");
            ExitCode::FAILURE
        }
    }
}
