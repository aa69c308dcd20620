//! One file per command; `run` dispatches.

pub mod backup;
pub mod init;
pub mod list;
pub mod log;
pub mod recover;
pub mod show;

use crate::cli::{BackupCommand, Command};
use crate::context::Context;
use crate::error::CliError;

/// Run a parsed command.
pub fn run(ctx: &mut Context, command: Command) -> Result<(), CliError> {
    match command {
        Command::Init => init::run(ctx),
        Command::Recover(args) => {
            ctx.secrets.phrase_file = args.phrase_file;
            recover::run(ctx)
        }
        Command::Backup(BackupCommand::Create { file, force }) => backup::create(ctx, &file, force),
        Command::Backup(BackupCommand::Restore { file, phrase }) => {
            ctx.secrets.phrase_file = phrase.phrase_file;
            backup::restore(ctx, &file)
        }
        Command::List => list::run(ctx),
        Command::Show { credential } => show::run(ctx, &credential),
        Command::Log => log::run(ctx),
    }
}
