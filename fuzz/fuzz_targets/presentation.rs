//! Fuzz target `presentation`: see `kenmerk_fuzz::presentation` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::presentation(data);
});
