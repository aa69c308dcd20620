//! The `kenmerk` binary end to end for everything that needs no daemon:
//! init, recover, backup, list/show/log, errors and exit codes, languages,
//! the lock between processes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use kenmerk_cli::envelope::KdfParams;
use kenmerk_cli::wallet::{
    LogEntry, LogKind, LoggedAttribute, LoggedPredicate, SecretBytes, StoredAttribute,
    StoredCredential, StoredToken,
};
use kenmerk_cli::wallet_file::{LockWait, WalletFile, WalletLock};

const PASS: &str = "correct horse battery";

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn wallet(&self) -> PathBuf {
        self.dir.path().join("wallet.kenmerk")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `kenmerk` command with a clean environment: cheap KDF, English,
    /// the test's wallet, no passphrase unless given.
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kenmerk"));
        for var in [
            "LANG",
            "LC_ALL",
            "LC_MESSAGES",
            "KENMERK_PASSPHRASE",
            "KENMERK_PASSPHRASE_FILE",
            "KENMERK_RECOVERY_PHRASE",
        ] {
            c.env_remove(var);
        }
        c.env("KENMERK_WALLET", self.wallet())
            .env("KENMERK_KDF_MEMORY_KIB", "64")
            .env("KENMERK_KDF_ITERATIONS", "1")
            .env("KENMERK_LOCK_WAIT_MS", "0")
            .env("HOME", self.dir.path())
            .stdin(std::process::Stdio::null());
        c
    }

    fn run(&self, args: &[&str], pass: Option<&str>) -> Output {
        let mut c = self.cmd();
        c.args(args);
        if let Some(p) = pass {
            c.env("KENMERK_PASSPHRASE", p);
        }
        c.output().unwrap()
    }

    /// `kenmerk init --json`; returns the recovery phrase.
    fn init(&self) -> String {
        let out = self.run(&["init", "--json"], Some(PASS));
        assert_success(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["recovery_phrase"].as_str().unwrap().to_owned()
    }
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Error output is exactly two lines: the error and a hint.
fn assert_error(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr(out));
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        !lines.is_empty() && lines.len() <= 2,
        "not one line + hint: {err}"
    );
    assert!(lines[0].contains(needle), "{err}");
    assert!(stdout(out).is_empty(), "stdout on error: {}", stdout(out));
}

fn json(out: &Output) -> serde_json::Value {
    assert_success(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Put a credential and a log entry into the wallet through the library, as
/// an issuance session would.
fn add_sample_credential(wallet: &Path) {
    let (mut file, mut contents) =
        WalletFile::open(wallet, PASS.as_bytes(), LockWait::default()).unwrap();
    let id = contents.next_credential_id();
    contents.credentials.push(StoredCredential {
        id,
        credential_type: "demo.utrecht.address".into(),
        attributes: vec![
            StoredAttribute {
                id: "demo.utrecht.address.street".into(),
                value: Some("Domplein".into()),
            },
            StoredAttribute {
                id: "demo.utrecht.address.city".into(),
                value: Some("Utrecht".into()),
            },
            StoredAttribute {
                id: "demo.utrecht.address.addition".into(),
                value: None,
            },
        ],
        key_counter: 1,
        issued_at: 1_795_000_000,
        expiry: 1_795_600_000,
        issuer_url: "http://127.0.0.1:8700".into(),
        record: Some("r1".into()),
        tokens: (0..5)
            .map(|i| StoredToken {
                token: SecretBytes::new(vec![i; 8]),
                used: i < 2,
            })
            .collect(),
    });
    contents.log.append(LogEntry {
        at: 1_795_000_100,
        kind: LogKind::Disclosure,
        party: Some("demo.parking".into()),
        host: Some("parkeren.example".into()),
        attributes: vec![LoggedAttribute {
            id: "demo.utrecht.address.city".into(),
            value: Some("Utrecht".into()),
        }],
        predicates: vec![LoggedPredicate {
            attribute: "demo.utrecht.personal.date_of_birth".into(),
            predicate: wallet_core::predicate::Predicate::AgeAtLeast {
                years: 18,
                on: time::macros::date!(2026 - 11 - 25),
            },
        }],
        pseudonym_scope: None,
        message: None,
        outcome: Some("VALID".into()),
    });
    file.save(&contents).unwrap();
}

#[test]
fn init_then_list_log_empty() {
    let env = Env::new();
    let phrase = env.init();
    assert_eq!(phrase.split(' ').count(), 24);
    assert!(env.wallet().exists());
    assert_eq!(
        json(&env.run(&["list", "--json"], Some(PASS))),
        serde_json::json!([])
    );
    assert_eq!(
        json(&env.run(&["log", "--json"], Some(PASS))),
        serde_json::json!([])
    );
    let out = env.run(&["list"], Some(PASS));
    assert_success(&out);
    assert!(stdout(&out).contains("no credentials"), "{}", stdout(&out));
}

#[test]
fn init_human_output_shows_numbered_phrase_once() {
    let env = Env::new();
    let out = env.run(&["init"], Some(PASS));
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("Wallet created"), "{text}");
    assert!(text.contains(" 1. ") && text.contains("24. "), "{text}");
    // Nothing else ever prints it again.
    let list = env.run(&["list"], Some(PASS));
    let first_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("1. "))
        .unwrap()
        .trim()
        .to_owned();
    let first_word = first_line.split_whitespace().nth(1).unwrap().to_owned();
    assert!(!stdout(&list).contains(&format!("1. {first_word}")));
}

#[test]
fn init_refuses_existing_wallet_and_short_passphrase() {
    let env = Env::new();
    env.init();
    let before = fs::read(env.wallet()).unwrap();
    let out = env.run(&["init"], Some(PASS));
    assert_error(&out, 1, "already exists");
    assert_eq!(fs::read(env.wallet()).unwrap(), before);

    let other = Env::new();
    let out = other.run(&["init"], Some("short"));
    assert_error(&out, 3, "too short");
    assert!(!other.wallet().exists());
}

#[test]
fn passphrase_file_works_and_strips_newline() {
    let env = Env::new();
    let pf = env.path("pass.txt");
    fs::write(&pf, format!("{PASS}\n")).unwrap();
    let out = env
        .cmd()
        .args(["init", "--json", "--passphrase-file"])
        .arg(&pf)
        .output()
        .unwrap();
    assert_success(&out);
    // The same passphrase through the environment opens it.
    assert_success(&env.run(&["list"], Some(PASS)));
}

#[test]
fn wrong_passphrase_one_line_error_file_untouched() {
    let env = Env::new();
    env.init();
    let before = fs::read(env.wallet()).unwrap();
    let out = env.run(&["list"], Some("not the passphrase"));
    assert_error(&out, 3, "wrong passphrase");
    assert!(stderr(&out).contains("hint:"));
    assert_eq!(fs::read(env.wallet()).unwrap(), before);

    // Dutch, by flag and by locale.
    let out = env.run(&["list", "--lang", "nl"], Some("not the passphrase"));
    assert_error(&out, 3, "verkeerd wachtwoord");
    assert!(stderr(&out).contains("tip:"));
    let mut c = env.cmd();
    let out = c
        .args(["list"])
        .env("KENMERK_PASSPHRASE", "nope nope nope")
        .env("LANG", "nl_NL.UTF-8")
        .output()
        .unwrap();
    assert_error(&out, 3, "verkeerd wachtwoord");
}

#[test]
fn json_errors_are_machine_readable() {
    let env = Env::new();
    env.init();
    let out = env.run(&["list", "--json"], Some("not the passphrase"));
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(v["error"]["code"], "wrong-passphrase");
    assert_eq!(v["error"]["exit"], 3);
}

#[test]
fn corrupt_truncated_and_newer_files_refused_untouched() {
    let env = Env::new();
    env.init();
    let good = fs::read(env.wallet()).unwrap();

    let mut corrupt = good.clone();
    let at = corrupt.len() - 3;
    corrupt[at] ^= 1;
    fs::write(env.wallet(), &corrupt).unwrap();
    let out = env.run(&["list"], Some(PASS));
    assert_error(&out, 4, "damaged");
    assert_eq!(fs::read(env.wallet()).unwrap(), corrupt);

    fs::write(env.wallet(), &good[..40]).unwrap();
    let out = env.run(&["list"], Some(PASS));
    assert_error(&out, 4, "truncated");

    let mut newer = good.clone();
    newer[8..10].copy_from_slice(&2u16.to_be_bytes());
    fs::write(env.wallet(), &newer).unwrap();
    let out = env.run(&["list"], Some(PASS));
    assert_error(&out, 4, "newer kenmerk");
    assert_eq!(fs::read(env.wallet()).unwrap(), newer);

    fs::write(env.wallet(), &good).unwrap();
    assert_success(&env.run(&["list"], Some(PASS)));
}

#[test]
fn missing_wallet_says_how_to_make_one() {
    let env = Env::new();
    let out = env.run(&["list"], Some(PASS));
    assert_error(&out, 3, "no wallet");
    assert!(stderr(&out).contains("kenmerk init"));
}

#[test]
fn second_process_is_locked_out() {
    let env = Env::new();
    env.init();
    let lock = WalletLock::acquire(&env.wallet(), LockWait(Duration::ZERO)).unwrap();
    let out = env.run(&["list"], Some(PASS));
    assert_error(&out, 5, "another kenmerk");
    let out = env.run(&["init"], Some(PASS));
    assert_ne!(out.status.code(), Some(0));
    drop(lock);
    assert_success(&env.run(&["list"], Some(PASS)));
}

#[test]
fn no_terminal_and_no_passphrase_is_a_clear_error() {
    if fs::File::open("/dev/tty").is_ok() {
        println!("skipped: a controlling terminal is present");
        return;
    }
    let env = Env::new();
    let out = env.run(&["init"], None);
    assert_error(&out, 3, "no terminal");
    assert!(stderr(&out).contains("KENMERK_PASSPHRASE"));
}

#[test]
fn recover_gives_the_same_holder() {
    let env = Env::new();
    let phrase = env.init();
    let (_f, original) =
        WalletFile::open(&env.wallet(), PASS.as_bytes(), LockWait::default()).unwrap();
    drop(_f);

    let other = Env::new();
    let pf = other.path("phrase.txt");
    fs::write(&pf, &phrase).unwrap();
    let out = other
        .cmd()
        .args(["recover", "--phrase-file"])
        .arg(&pf)
        .env("KENMERK_PASSPHRASE", "another passphrase")
        .output()
        .unwrap();
    assert_success(&out);
    assert!(stdout(&out).contains("recovered"), "{}", stdout(&out));
    let (_g, recovered) =
        WalletFile::open(&other.wallet(), b"another passphrase", LockWait::default()).unwrap();
    assert_eq!(recovered.seed, original.seed);

    // A phrase with a wrong checksum is refused, nothing written.
    let third = Env::new();
    let words: Vec<&str> = phrase.split(' ').collect();
    let mut bad: Vec<&str> = words.clone();
    bad.swap(0, 1);
    let bad = if bad == words {
        // Identical first words: swap others.
        let mut b = words.clone();
        b.swap(0, 23);
        b.join(" ")
    } else {
        bad.join(" ")
    };
    let out = third
        .cmd()
        .arg("recover")
        .env("KENMERK_RECOVERY_PHRASE", &bad)
        .env("KENMERK_PASSPHRASE", PASS)
        .output()
        .unwrap();
    // A swap can, rarely, keep the checksum valid; then it is another holder.
    if out.status.success() {
        let (_h, w) =
            WalletFile::open(&third.wallet(), PASS.as_bytes(), LockWait::default()).unwrap();
        assert_ne!(w.seed, original.seed);
    } else {
        assert_error(&out, 3, "not a valid recovery phrase");
        assert!(!third.wallet().exists());
    }
}

#[test]
fn backup_create_and_restore_on_a_new_machine() {
    let env = Env::new();
    let phrase = env.init();
    add_sample_credential(&env.wallet());
    let backup = env.path("backup.kbak");
    let out = env.run(&["backup", "create"], Some(PASS));
    assert_eq!(out.status.code(), Some(2), "FILE is required");
    let out = env
        .cmd()
        .args(["backup", "create"])
        .arg(&backup)
        .env("KENMERK_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(backup.exists());

    // Refuses to overwrite without --force.
    let out = env
        .cmd()
        .args(["backup", "create"])
        .arg(&backup)
        .env("KENMERK_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_error(&out, 1, "already exists");

    let list_before = json(&env.run(&["list", "--json"], Some(PASS)));
    let log_before = json(&env.run(&["log", "--json"], Some(PASS)));

    // A new machine: a different directory and passphrase.
    let new = Env::new();
    let out = new
        .cmd()
        .args(["backup", "restore"])
        .arg(&backup)
        .env("KENMERK_RECOVERY_PHRASE", &phrase)
        .env("KENMERK_PASSPHRASE", "new machine passphrase")
        .output()
        .unwrap();
    assert_success(&out);
    assert!(stdout(&out).contains("1 credential"), "{}", stdout(&out));
    assert_eq!(
        json(&new.run(&["list", "--json"], Some("new machine passphrase"))),
        list_before
    );
    assert_eq!(
        json(&new.run(&["log", "--json"], Some("new machine passphrase"))),
        log_before
    );

    // Another wallet's phrase does not open it.
    let stranger = Env::new();
    let stranger_phrase = stranger.init();
    let target = Env::new();
    let out = target
        .cmd()
        .args(["backup", "restore"])
        .arg(&backup)
        .env("KENMERK_RECOVERY_PHRASE", &stranger_phrase)
        .env("KENMERK_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_error(&out, 3, "does not open");
    assert!(!target.wallet().exists());

    // A damaged backup is refused as damaged.
    let mut bytes = fs::read(&backup).unwrap();
    let at = bytes.len() - 1;
    bytes[at] ^= 1;
    let damaged = env.path("damaged.kbak");
    fs::write(&damaged, &bytes).unwrap();
    let out = target
        .cmd()
        .args(["backup", "restore"])
        .arg(&damaged)
        .env("KENMERK_RECOVERY_PHRASE", &phrase)
        .env("KENMERK_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_error(&out, 4, "damaged");

    // A wallet file is not a backup.
    let out = target
        .cmd()
        .args(["backup", "restore"])
        .arg(env.wallet())
        .env("KENMERK_RECOVERY_PHRASE", &phrase)
        .env("KENMERK_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_error(&out, 4, "not a kenmerk backup");
}

#[test]
fn list_show_log_tables_and_json() {
    let env = Env::new();
    env.init();
    add_sample_credential(&env.wallet());

    let list = json(&env.run(&["list", "--json"], Some(PASS)));
    assert_eq!(list[0]["id"], "c1");
    assert_eq!(list[0]["credential_type"], "demo.utrecht.address");
    assert_eq!(list[0]["issuer"], "demo.utrecht");
    assert_eq!(list[0]["tokens_left"], 3);
    assert_eq!(list[0]["tokens_total"], 5);

    let out = env.run(&["list"], Some(PASS));
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.starts_with("ID"), "{text}");
    assert!(text.contains("c1") && text.contains("3/5"), "{text}");

    let show = json(&env.run(&["show", "c1", "--json"], Some(PASS)));
    assert_eq!(show["attributes"][1]["value"], "Utrecht");
    assert_eq!(show["attributes"][2]["value"], serde_json::Value::Null);
    let out = env.run(&["show", "address", "--lang", "nl"], Some(PASS));
    assert_success(&out);
    let text = stdout(&out);
    assert!(
        text.contains("Domplein") && text.contains("(leeg)"),
        "{text}"
    );
    assert!(text.contains("Tokens over"), "{text}");

    let out = env.run(&["show", "c7"], Some(PASS));
    assert_error(&out, 1, "no credential c7");

    let log = json(&env.run(&["log", "--json"], Some(PASS)));
    assert_eq!(log[0]["party"], "demo.parking");
    assert_eq!(
        log[0]["predicates"][0]["attribute"],
        "demo.utrecht.personal.date_of_birth"
    );
    let out = env.run(&["log"], Some(PASS));
    assert_success(&out);
    let text = stdout(&out);
    assert!(text.contains("city=Utrecht"), "{text}");
    assert!(text.contains("parkeren.example"), "{text}");
    assert!(
        text.contains("you are 18 or older (on 2026-11-25)"),
        "{text}"
    );
}

#[test]
fn kdf_parameters_are_those_asked_for() {
    // The hidden knob only lowers the cost for tests; the file records it.
    let env = Env::new();
    env.init();
    let bytes = fs::read(env.wallet()).unwrap();
    let m = u32::from_be_bytes(bytes[11..15].try_into().unwrap());
    let t = u32::from_be_bytes(bytes[15..19].try_into().unwrap());
    assert_eq!((m, t), (64, 1));
    assert_eq!(KdfParams::default().m_cost_kib, 64 * 1024);
}
