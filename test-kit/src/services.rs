//! The backing services the environment offers to tests.
//!
//! A test that needs one and does not find it prints why it did nothing
//! (`skipped: KENMERK_TEST_POSTGRES not set`) and returns; CI sets both.

/// The variable naming the test PostgreSQL database.
pub const POSTGRES: &str = "KENMERK_TEST_POSTGRES";
/// The variable naming the test Redis.
pub const REDIS: &str = "KENMERK_TEST_REDIS";

/// The value of `variable`, or `None` after printing the skip note.
pub fn required(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            println!("skipped: {variable} not set");
            None
        }
    }
}

/// The PostgreSQL URL, or `None` (and the skip note).
pub fn postgres_url() -> Option<String> {
    required(POSTGRES)
}

/// The Redis URL, or `None` (and the skip note).
pub fn redis_url() -> Option<String> {
    required(REDIS)
}
