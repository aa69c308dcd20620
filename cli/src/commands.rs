//! One file per command; `run` dispatches and returns the exit code.

pub mod backup;
pub mod demo;
pub mod init;
pub mod list;
pub mod log;
pub mod present;
pub mod recover;
pub mod refresh;
pub mod scheme;
pub mod session;
pub mod show;
pub mod verify_signature;

use std::future::Future;

use crate::cli::{BackupCommand, Command, SchemeCommand};
use crate::context::Context;
use crate::error::{exit, CliError};

/// Run a future to completion on a single-threaded runtime: the CLI does one
/// thing at a time, and the protocol code is async so that `kenmerk demo`
/// can drive it inside its own runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(future),
        Err(e) => {
            // Only when the OS refuses an I/O driver (no file descriptors
            // left); nothing sensible can continue.
            eprintln!("kenmerk: cannot start the async runtime: {e}");
            std::process::exit(i32::from(exit::FAILURE))
        }
    }
}

fn ok(r: Result<(), CliError>) -> Result<u8, CliError> {
    r.map(|()| exit::OK)
}

/// Run a parsed command; the exit code on success.
pub fn run(ctx: &mut Context, command: Command) -> Result<u8, CliError> {
    match command {
        Command::Init => ok(init::run(ctx)),
        Command::Recover(args) => {
            ctx.secrets.phrase_file = args.phrase_file;
            ok(recover::run(ctx))
        }
        Command::Backup(BackupCommand::Create { file, force }) => {
            ok(backup::create(ctx, &file, force))
        }
        Command::Backup(BackupCommand::Restore { file, phrase }) => {
            ctx.secrets.phrase_file = phrase.phrase_file;
            ok(backup::restore(ctx, &file))
        }
        Command::List => ok(list::run(ctx)),
        Command::Show { credential } => ok(show::run(ctx, &credential)),
        Command::Log => ok(log::run(ctx)),
        Command::Scheme(SchemeCommand::Add {
            source,
            fingerprint,
            key,
        }) => ok(scheme::add(
            ctx,
            &source,
            fingerprint.as_deref(),
            key.as_deref(),
        )),
        Command::Scheme(SchemeCommand::List) => ok(scheme::list(ctx)),
        Command::Session(args) => session::run(ctx, args),
        Command::Refresh(args) => refresh::run(ctx, &args),
        Command::Present(args) => present::run(ctx, args),
        Command::VerifySignature { file } => verify_signature::run(ctx, &file),
        Command::Demo { keep } => demo::run(keep, ctx.lang).map_err(CliError::from),
    }
}
