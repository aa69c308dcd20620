//! `kenmerk-vectors write [DIR]` regenerates the vectors (default: this
//! crate's directory); `kenmerk-vectors check [DIR]` verifies stored ones.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let result = match args.get(1).map(String::as_str) {
        Some("write") => test_vectors::write_all(&dir),
        Some("check") => test_vectors::check_dir(&dir).map(|n| println!("{n} vectors verified")),
        _ => Err("usage: kenmerk-vectors write|check [DIR]".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenmerk-vectors: {e}");
            ExitCode::FAILURE
        }
    }
}
