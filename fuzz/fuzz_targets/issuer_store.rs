//! Fuzz target `issuer_store`: see `kenmerk_fuzz::issuer_store` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::issuer_store(data);
});
