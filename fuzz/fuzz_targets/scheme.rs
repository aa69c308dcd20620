//! Fuzz target `scheme`: see `kenmerk_fuzz::scheme` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::scheme(data);
});
