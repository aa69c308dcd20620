//! # kenmerk test kit (dev-only, never published)
//!
//! What the services' tests and load examples need to run against real
//! daemons and real backing stores, written once:
//!
//! - [`services`]: the PostgreSQL and Redis the environment offers
//!   (`KENMERK_TEST_POSTGRES`, `KENMERK_TEST_REDIS`), with the
//!   "skipped: … not set" note when they are absent;
//! - [`postgres`]: a fresh schema per test inside that database, and the
//!   database URL that puts an issuer into it;
//! - [`redis`]: a fresh key prefix per test;
//! - [`process`]: a daemon binary as a child process that reports its
//!   bound address on its start line and stops on SIGTERM;
//! - [`issuer`] (feature `issuer`): an in-process issuer with a requestor
//!   client and a wallet built on wallet-core's wallet side;
//! - [`verifier`] (feature `verifier`): the demo scheme with extra keys,
//!   a resident's credentials issued by wallet-core's protocol, the
//!   prover's answers and an in-process verifier daemon;
//! - [`load`]: the numbers load drivers print (percentiles, resident
//!   memory).
//!
//! Use it as a dev-dependency only.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod load;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod services;

#[cfg(feature = "issuer")]
pub mod issuer;
#[cfg(feature = "verifier")]
pub mod verifier;

/// Unix seconds now.
pub fn now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// A random lower-case hex string of 32 digits (schema names, prefixes).
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
