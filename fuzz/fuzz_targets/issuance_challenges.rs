//! Fuzz target `issuance_challenges`: see `kenmerk_fuzz::issuance_challenges` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::issuance_challenges(data);
});
