//! Deterministic test vectors for kenmerk's credential protocol.
//!
//! Every vector is a JSON object with `kind`, `name`, `description`, hex
//! strings for bytes (canonical CBOR as in `docs/protocol.md`) and
//! `expected`: `"valid"` or the error the check must give. Valid vectors
//! live in `valid/`, invalid ones (each a single change that breaks one
//! rule) in `invalid/`, named `rule-N-...` after the rule of
//! `docs/protocol.md` they exercise.
//!
//! [`generate`] rebuilds them from fixed seeds (ChaCha20), so regenerating
//! gives the same bytes; [`check`] verifies one vector with wallet-core's
//! public API only, the way an independent verifier would. Outcomes are
//! stable names ([`names`]), not debug output.
//!
//! Modules: [`common`] (seeds, the world, JSON helpers), `valid` and
//! `invalid` (the writers), [`check`] (the checker), [`names`] (error
//! names).

use std::path::Path;

use serde_json::Value;

pub mod check;
mod common;
mod invalid;
pub mod names;
mod rule11;
mod rule8;
mod valid;

pub use check::check;

/// The fixed "now" of every vector: 2026-11-19 (Unix seconds).
pub const NOW: u64 = 1_795_000_000;
/// Token validity used in the vectors: two weeks.
pub const VALIDITY: u64 = 14 * 86_400;

type R<T> = Result<T, String>;

/// Builds every vector: `(relative path, JSON)`. A module that adds
/// vectors hooks in with one line here, `out.extend(module::vectors(&fixture)?);`;
/// its `expected` values must be stable names ([`names`]; a new error
/// variant needs a name there, or `names.rs` does not compile).
pub fn generate() -> R<Vec<(String, Value)>> {
    let fixture = common::Fixture::build()?;
    let mut out = valid::vectors(&fixture)?;
    out.extend(invalid::vectors(&fixture)?);
    out.extend(rule8::vectors(&fixture.w)?);
    out.extend(rule11::generate(&fixture.w)?);
    Ok(out)
}

/// Writes every vector under `dir` (`valid/`, `invalid/`).
pub fn write_all(dir: &Path) -> R<()> {
    for (path, v) in generate()? {
        let path = dir.join(if path.ends_with(".json") {
            path
        } else {
            format!("{path}.json")
        });
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Checks every stored vector under `dir` against its `expected`; returns
/// how many were checked.
pub fn check_dir(dir: &Path) -> R<usize> {
    let mut n = 0;
    for sub in ["valid", "invalid"] {
        let mut entries: Vec<_> = std::fs::read_dir(dir.join(sub))
            .map_err(|e| format!("{sub}: {e}"))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let got = check(&v).map_err(|e| format!("{}: {e}", path.display()))?;
            let expected = v["expected"].as_str().unwrap_or("");
            if got != expected {
                return Err(format!(
                    "{}: expected {expected}, got {got}",
                    path.display()
                ));
            }
            if (sub == "valid") != (expected == "valid") {
                return Err(format!(
                    "{}: in {sub}/ but expects {expected}",
                    path.display()
                ));
            }
            n += 1;
        }
    }
    Ok(n)
}
