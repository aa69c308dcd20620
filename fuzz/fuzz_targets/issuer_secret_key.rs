//! Fuzz target `issuer_secret_key`: see `kenmerk_fuzz::issuer_secret_key` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::issuer_secret_key(data);
});
