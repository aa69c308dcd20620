//! Fuzz target `signature`: see `kenmerk_fuzz::signature` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::signature(data);
});
