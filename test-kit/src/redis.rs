//! A Redis key prefix of its own per test, in the Redis
//! `KENMERK_TEST_REDIS` names.

/// A fresh prefix `kenmerk-test-<label>:<32 hex digits>:`.
pub fn prefix(label: &str) -> String {
    format!("kenmerk-test-{label}:{}:", crate::unique())
}

/// The Redis URL and a fresh prefix, or `None` after the skip note when
/// `KENMERK_TEST_REDIS` is not set.
pub fn test_redis(label: &str) -> Option<(String, String)> {
    Some((crate::services::redis_url()?, prefix(label)))
}
