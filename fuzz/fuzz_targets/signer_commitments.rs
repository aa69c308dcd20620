//! Fuzz target `signer_commitments`: see `kenmerk_fuzz::signer_commitments` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::signer_commitments(data);
});
