//! kenmerk, the resident's wallet: a thin binary (`main.rs`) over this
//! library, so that other programs (the `kenmerk demo` walkthrough, tests)
//! can drive the same code.
//!
//! - `wallet_file` / `envelope`: the encrypted, locked, atomically written
//!   wallet file; `wallet`: what it contains.
//! - `commands/*`: one file per command; `cli`: the clap interface.
//! - `i18n`: Dutch and English messages; `error`: one line + hint per error.
//! - `client` (HTTP, CBOR wire messages), `session` (issuing, disclosing,
//!   signing, refresh, offline), `consent` (screens and policies),
//!   `scheme_store` (pinning), `qr` (terminal, PNG, image decoding).
//!
//! Driving a session from code (as `kenmerk demo` does):
//!
//! ```no_run
//! # async fn demo(path: &std::path::Path, pointer_json: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use kenmerk_cli::{client::Client, consent::AutoConsent, i18n::Lang, session};
//! use kenmerk_cli::wallet_file::{LockWait, WalletFile};
//! let (file, contents) = WalletFile::open(path, b"passphrase", LockWait::default())?;
//! let mut wallet = session::OpenWallet { file, contents };
//! let target = session::parse_target(pointer_json)?;
//! let outcome = session::run(
//!     &mut wallet,
//!     &Client::new()?,
//!     &target,
//!     &mut AutoConsent::default(),
//!     Lang::En,
//!     kenmerk_cli::context::now(),
//! )
//! .await?;
//! println!("{}", serde_json::to_string(&outcome)?);
//! # Ok(()) }
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cli;
pub mod client;
pub mod commands;
pub mod consent;
pub mod context;
pub mod envelope;
pub mod error;
pub mod i18n;
pub mod labels;
pub mod output;
pub mod qr;
pub mod recovery;
pub mod scheme_store;
pub mod secret_input;
pub mod session;
pub mod wallet;
pub mod wallet_file;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::context::Context;
use crate::error::Report;
use crate::i18n::{t, Key, Lang};

/// Parse the command line, run, print any error; the process exit code.
pub fn main_entry() -> ExitCode {
    let cli = Cli::parse();
    let mut ctx = Context::from_global(&cli.global);
    match commands::run(&mut ctx, cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let report = e.report(ctx.lang);
            print_report(ctx.lang, ctx.json, &report);
            ExitCode::from(report.exit)
        }
    }
}

/// Print an error report on stderr: two lines for people, one JSON object
/// for scripts.
pub fn print_report(lang: Lang, json: bool, report: &Report) {
    if json {
        let value = serde_json::json!({
            "error": {
                "code": report.code,
                "message": report.message,
                "hint": report.hint,
                "exit": report.exit,
            }
        });
        eprintln!("{value}");
    } else {
        eprintln!("{}: {}", t(lang, Key::ErrorPrefix), report.message);
        if let Some(hint) = &report.hint {
            eprintln!("{}: {}", t(lang, Key::HintPrefix), hint);
        }
    }
}
