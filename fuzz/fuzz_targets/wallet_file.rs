//! Fuzz target `wallet_file`: the resident's encrypted wallet file (and,
//! with the other magic, a backup) as `kenmerk` reads it from disk: header
//! parse, key derivation with the header's (capped) Argon2 parameters, AEAD
//! open, then the decrypted contents. Must never panic.
#![no_main]

use kenmerk_cli::envelope::{open, KeySource, BACKUP_MAGIC, WALLET_MAGIC};
use kenmerk_cli::wallet::WalletContents;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((plain, _)) = open(WALLET_MAGIC, data, KeySource::Passphrase(b"fuzz passphrase")) {
        let _ = WalletContents::from_plaintext(&plain);
    }
    let _ = open(BACKUP_MAGIC, data, KeySource::Seed(&[7u8; 32]));
});
