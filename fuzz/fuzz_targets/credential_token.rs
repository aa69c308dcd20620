//! Fuzz target `credential_token`: see `kenmerk_fuzz::credential_token` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::credential_token(data);
});
