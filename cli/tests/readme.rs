//! README.md's promises, checked: its first two commands are the demo and
//! the test command CI runs; the demo command, run literally, walks every
//! story and exits 0; every document README links to exists.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The commands of README's first code block, comments stripped.
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = text
        .split("```")
        .nth(1)
        .expect("README starts with a code block");
    block
        .lines()
        .skip(1) // the fence's language tag
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn readme_opens_with_the_demo_and_the_ci_test_command() {
    let commands = readme_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(commands[0].starts_with("cargo run"), "{}", commands[0]);
    assert!(commands[0].ends_with("-- demo"), "{}", commands[0]);
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim() == commands[1]),
        ".ci/run must call README's test command {:?}",
        commands[1]
    );
}

#[test]
fn readme_links_into_docs_exist() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let target = &rest[..rest.find(')').unwrap()];
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        assert!(
            root().join(target).exists(),
            "README links to missing {target}"
        );
    }
}

/// The demo binary: every step as expected, exit code 0.
#[test]
fn demo_walks_every_story() {
    let out = Command::new(env!("CARGO_BIN_EXE_kenmerk"))
        .args(["demo", "--lang", "en"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for story in [
        "1. Issuing",
        "2. Parking permit",
        "3. Local poll",
        "4. Signing",
        "5. Refusals",
    ] {
        assert!(stdout.contains(story), "missing story {story}");
    }
    assert!(stdout.contains(", 0 not"), "{stdout}");
    assert!(!stdout.contains('✘'), "{stdout}");
    // What the parking desk must not see never appears in its result.
    let parking =
        &stdout[stdout.find("the desk received").unwrap()..stdout.find("3. Local poll").unwrap()];
    assert!(!parking.contains("2001-03-14") && !parking.contains("999990019"));
}

/// README's demo command, run literally (under nextest the build is done
/// and this only runs it; under plain `cargo test` the build directory is
/// locked by the running cargo, so it is not started there).
#[test]
fn readme_demo_command_runs_literally() {
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        eprintln!("skipped: runs under cargo nextest only (cargo test holds the build lock)");
        return;
    }
    let commands = readme_commands();
    let words: Vec<&str> = commands[0].split_whitespace().collect();
    let out = Command::new(words[0])
        .args(&words[1..])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(", 0 not"));
}
