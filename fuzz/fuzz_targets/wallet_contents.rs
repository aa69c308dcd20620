//! Fuzz target `wallet_contents`: the decrypted wallet contents (JSON) as
//! `kenmerk` parses them after opening the file. Must never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_cli::wallet::WalletContents::from_plaintext(data);
});
