//! kenmerk verifier (work in progress)
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod store;
pub mod metrics;
pub mod page;
pub mod problem;
pub mod auth;
pub mod config;
pub mod signing;
pub mod scheme_source;
pub mod verify;
pub mod session;
pub mod signature;
