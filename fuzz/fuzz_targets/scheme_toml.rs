//! Fuzz target `scheme_toml`: see `kenmerk_fuzz::scheme_toml` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::scheme_toml(data);
});
