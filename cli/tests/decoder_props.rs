//! The wallet-file decoders (`envelope::open`, `WalletContents::from_plaintext`)
//! against random and mutated input: never a panic, and a valid file still
//! opens. The same functions are the cargo-fuzz targets `wallet_file` and
//! `wallet_contents` (fuzz/); their checked-in seeds are checked here too.

use std::path::PathBuf;

use kenmerk_cli::envelope::{open, KdfParams, KeySource, SealingKey, BACKUP_MAGIC, WALLET_MAGIC};
use kenmerk_cli::wallet::{HolderSeed, WalletContents};
use proptest::prelude::*;

const PASS: &[u8] = b"fuzz passphrase";

fn cheap() -> KdfParams {
    KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    }
}

fn plaintext() -> Vec<u8> {
    WalletContents::new(HolderSeed::new([3; 32]), 1_795_000_000)
        .to_plaintext()
        .unwrap()
        .to_vec()
}

fn sealed_wallet() -> Vec<u8> {
    SealingKey::derive_new(WALLET_MAGIC, KeySource::Passphrase(PASS), cheap())
        .unwrap()
        .seal(&plaintext())
        .unwrap()
}

/// What the fuzz target does with one input.
fn read_wallet_file(data: &[u8]) -> bool {
    let opened = open(WALLET_MAGIC, data, KeySource::Passphrase(PASS));
    let ok = match &opened {
        Ok((plain, _)) => WalletContents::from_plaintext(plain).is_ok(),
        Err(_) => false,
    };
    let _ = open(BACKUP_MAGIC, data, KeySource::Seed(&[7u8; 32]));
    ok
}

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

#[test]
fn a_valid_wallet_opens_and_every_byte_flip_is_refused() {
    let file = sealed_wallet();
    assert!(read_wallet_file(&file));
    for i in 0..file.len() {
        let mut m = file.clone();
        m[i] ^= 0x01;
        assert!(!read_wallet_file(&m), "flipping byte {i} still opens");
    }
}

#[test]
fn checked_in_seed_corpus() {
    for (target, valid_prefix) in [("wallet_file", "valid"), ("wallet_contents", "valid")] {
        let dir = corpus(target);
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!entries.is_empty(), "no seeds in {}", dir.display());
        for path in entries {
            let data = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let ok = if target == "wallet_file" {
                read_wallet_file(&data)
            } else {
                WalletContents::from_plaintext(&data).is_ok()
            };
            assert_eq!(ok, name.starts_with(valid_prefix), "{target}/{name}");
        }
    }
}

/// Regenerates the seeds: `cargo test -p kenmerk-cli --test decoder_props -- --ignored`.
#[test]
#[ignore]
fn write_seed_corpus() {
    let file = sealed_wallet();
    let plain = plaintext();
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(corpus(target)).unwrap();
        std::fs::write(corpus(target).join(name), bytes).unwrap();
    };
    write("wallet_file", "valid-wallet", &file);
    write("wallet_file", "truncated-header", &file[..20]);
    write(
        "wallet_file",
        "truncated-ciphertext",
        &file[..file.len() - 1],
    );
    write("wallet_file", "empty", b"");
    write("wallet_contents", "valid-contents", &plain);
    write("wallet_contents", "truncated", &plain[..plain.len() / 2]);
    write(
        "wallet_contents",
        "newer-version",
        &plain_with_version(&plain, 999),
    );
}

fn plain_with_version(plain: &[u8], version: u64) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(plain).unwrap();
    v["version"] = serde_json::json!(version);
    serde_json::to_vec(&v).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(!read_wallet_file(&data));
        let _ = WalletContents::from_plaintext(&data);
    }

    #[test]
    fn mutated_wallet_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut file = sealed_wallet();
        let i = at.index(file.len());
        if cut { file.truncate(i) } else { file[i] = byte }
        let _ = read_wallet_file(&file);
    }

    #[test]
    fn mutated_contents_never_panic(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut plain = plaintext();
        let i = at.index(plain.len());
        plain[i] = byte;
        let _ = WalletContents::from_plaintext(&plain);
    }
}
