//! The wall clock, in the Unix seconds the store and the protocol use.

/// Unix seconds now (0 before 1970, which no real clock reports).
pub fn now() -> u64 {
    u64::try_from(now_i64()).unwrap_or(0)
}

/// Unix seconds now, as the store's columns hold them.
pub fn now_i64() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
