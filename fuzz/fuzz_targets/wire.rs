//! Fuzz target `wire`: see `kenmerk_fuzz::wire` for what it decodes and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kenmerk_fuzz::wire(data);
});
