//! The `kenmerk` binary: everything is in the library.

fn main() -> std::process::ExitCode {
    kenmerk_cli::main_entry()
}
