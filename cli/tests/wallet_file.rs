//! The wallet file: encryption, refusal of bad files without touching them,
//! atomic replacement under kills, and the inter-process lock.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kenmerk_cli::envelope::{KdfParams, OpenError};
use kenmerk_cli::wallet::{
    HolderSeed, LogEntry, LogKind, SecretBytes, StoredCredential, StoredToken, WalletContents,
};
use kenmerk_cli::wallet_file::{
    commit, stage, LockError, LockWait, OpenWalletError, WalletFile, WalletLock,
};

const PASS: &[u8] = b"correct horse battery";

fn cheap() -> KdfParams {
    KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    }
}

/// Parallel tests fork child processes, which hold copies of our open lock
/// descriptors for the instant between fork and exec; a short wait absorbs
/// that.
fn short_wait() -> LockWait {
    LockWait(Duration::from_secs(2))
}

fn contents_with(n_log: usize) -> WalletContents {
    let mut w = WalletContents::new(HolderSeed::new([42u8; 32]), 1_800_000_000);
    let id = w.next_credential_id();
    w.credentials.push(StoredCredential {
        id,
        credential_type: "demo.gemeente.personal".into(),
        attributes: vec![],
        key_counter: 1,
        issued_at: 1_800_000_000,
        expiry: 1_800_600_000,
        issuer_url: "http://127.0.0.1:8700".into(),
        record: None,
        tokens: vec![StoredToken {
            token: SecretBytes::new(vec![0xde, 0xad]),
            used: false,
        }],
    });
    for i in 0..n_log {
        w.log.append(LogEntry {
            at: 1_800_000_000 + i as i64,
            kind: LogKind::Disclosure,
            party: Some(format!("demo.v{i}")),
            host: None,
            attributes: vec![],
            predicates: vec![],
            pseudonym_scope: None,
            message: None,
            outcome: None,
        });
    }
    w
}

fn create(path: &Path, contents: &WalletContents) {
    drop(WalletFile::create(path, PASS, cheap(), contents, short_wait()).unwrap());
}

#[test]
fn round_trip_and_resave() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    let original = contents_with(1);
    create(&path, &original);
    let (mut file, mut read) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    assert_eq!(read, original);
    read.credentials[0].tokens[0].used = true;
    read.log.append(contents_with(2).log.entries()[1].clone());
    file.save(&read).unwrap();
    drop(file);
    let (_f, again) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    assert_eq!(again, read);
    assert_eq!(again.log.entries().len(), 2);
    // The plaintext never reaches the disk.
    let raw = fs::read(&path).unwrap();
    assert!(!raw.windows(6).any(|w| w == b"gemeen"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "wallet readable by others: {mode:o}");
    }
}

#[test]
fn create_refuses_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    create(&path, &contents_with(0));
    let before = fs::read(&path).unwrap();
    let err = WalletFile::create(
        &path,
        b"other passphrase",
        cheap(),
        &contents_with(3),
        short_wait(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        kenmerk_cli::wallet_file::CreateWalletError::Exists(_)
    ));
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn wrong_passphrase_is_refused_and_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    create(&path, &contents_with(0));
    let before = fs::read(&path).unwrap();
    let err = WalletFile::open(&path, b"wrong horse", short_wait()).unwrap_err();
    assert!(
        matches!(err, OpenWalletError::Envelope(OpenError::WrongKey)),
        "{err:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn truncated_and_corrupt_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    create(&path, &contents_with(0));
    let good = fs::read(&path).unwrap();

    for cut in [0, 7, 50, good.len() / 2, good.len() - 1] {
        fs::write(&path, &good[..cut]).unwrap();
        let err = WalletFile::open(&path, PASS, short_wait()).unwrap_err();
        assert!(
            matches!(
                err,
                OpenWalletError::Envelope(OpenError::Truncated | OpenError::Corrupt)
            ),
            "cut {cut}: {err:?}"
        );
        assert_eq!(fs::read(&path).unwrap(), &good[..cut], "file changed");
    }

    let mut flipped = good.clone();
    let last = flipped.len() - 20;
    flipped[last] ^= 0x80;
    fs::write(&path, &flipped).unwrap();
    assert!(matches!(
        WalletFile::open(&path, PASS, short_wait()).unwrap_err(),
        OpenWalletError::Envelope(OpenError::Corrupt)
    ));

    fs::write(&path, b"this is not a wallet at all, just some text").unwrap();
    assert!(matches!(
        WalletFile::open(&path, PASS, short_wait()).unwrap_err(),
        OpenWalletError::Envelope(OpenError::WrongMagic)
    ));
}

#[test]
fn newer_version_is_refused_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    create(&path, &contents_with(0));
    let mut bytes = fs::read(&path).unwrap();
    bytes[8..10].copy_from_slice(&7u16.to_be_bytes());
    fs::write(&path, &bytes).unwrap();
    let err = WalletFile::open(&path, PASS, short_wait()).unwrap_err();
    assert!(
        matches!(
            err,
            OpenWalletError::Envelope(OpenError::NewerVersion { found: 7, .. })
        ),
        "{err:?}"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn abort_before_rename_keeps_old_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    let old = contents_with(1);
    create(&path, &old);
    let (file, _) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    let new = contents_with(5);
    let sealed = file.seal(&new).unwrap();

    // Crash after the temporary file is written and synced, before rename:
    // keep the temporary file as a crash would leave it.
    let staged = stage(&path, &sealed).unwrap();
    let (_, leftover) = staged.keep().unwrap();
    drop(file);
    let (file, read) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    assert_eq!(read, old, "old state must survive a crash before rename");
    assert!(leftover.exists());

    // The next save works despite the stray temporary file, and commits.
    let staged = stage(&path, &file.seal(&new).unwrap()).unwrap();
    commit(staged, &path).unwrap();
    drop(file);
    let (_f, read) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    assert_eq!(read, new);
}

#[test]
fn lock_excludes_a_second_opener() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    create(&path, &contents_with(0));
    let (held, _) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    let started = Instant::now();
    let err = WalletFile::open(&path, PASS, LockWait(Duration::from_millis(200))).unwrap_err();
    assert!(
        matches!(err, OpenWalletError::Lock(LockError::Busy(_))),
        "{err:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "gave up early"
    );
    assert!(WalletLock::acquire(&path, LockWait(Duration::ZERO)).is_err());
    drop(held);
    assert!(WalletFile::open(&path, PASS, short_wait()).is_ok());
}

/// Child half of `kill_during_writes_leaves_a_readable_wallet`: saves a
/// growing log as fast as it can until killed.
#[test]
#[ignore = "child process of kill_during_writes_leaves_a_readable_wallet"]
fn kill_child_writer() {
    let Ok(path) = std::env::var("KENMERK_TEST_KILL_CHILD") else {
        return; // only meaningful when started by the parent test
    };
    let path = Path::new(&path);
    let (mut file, mut contents) = WalletFile::open(path, PASS, short_wait()).unwrap();
    let template = contents_with(1).log.entries()[0].clone();
    for _ in 0..100_000 {
        contents.log.append(template.clone());
        file.save(&contents).unwrap();
    }
}

#[test]
fn kill_during_writes_leaves_a_readable_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    create(&path, &contents_with(0));
    let exe = std::env::current_exe().unwrap();
    let mut last_len = 0;
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "kill_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("KENMERK_TEST_KILL_CHILD", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Let it do some saves, at a different moment each round.
        std::thread::sleep(Duration::from_millis(150 + 37 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        let (_f, contents) = WalletFile::open(&path, PASS, short_wait())
            .unwrap_or_else(|e| panic!("round {round}: wallet unreadable after kill: {e}"));
        let len = contents.log.entries().len();
        assert!(len >= last_len, "state went backwards");
        last_len = len;
    }
    assert!(last_len > 0, "the child never saved");
}

#[test]
fn interrupted_presentation_is_logged_not_lost() {
    use kenmerk_cli::session::OpenWallet;
    use kenmerk_cli::wallet::PendingState;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.kenmerk");
    let mut contents = contents_with(0);
    let entry = contents_with(1).log.entries()[0].clone();
    // As saved just before sending, then killed.
    contents.credentials[0].tokens[0].used = true;
    contents.pending.push(PendingState::Presentation {
        session: "http://127.0.0.1:1/wallet/x".into(),
        started_at: 1_800_000_000,
        entry: entry.clone(),
    });
    create(&path, &contents);
    let (file, contents) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    let mut wallet = OpenWallet { file, contents };
    assert_eq!(wallet.settle_interrupted().unwrap(), 1);
    drop(wallet);
    let (_f, after) = WalletFile::open(&path, PASS, short_wait()).unwrap();
    assert!(after.pending.is_empty());
    let last = after.log.entries().last().unwrap();
    assert_eq!(last.party, entry.party);
    assert_eq!(last.outcome.as_deref(), Some("INTERRUPTED"));
    assert!(after.credentials[0].tokens[0].used, "token stays used");
}
