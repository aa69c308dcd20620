//! Fuzz target `session_request`: see `kenmerk_fuzz::session_request` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::session_request(data);
});
