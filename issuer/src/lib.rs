//! # kenmerk issuer service
pub mod config;
pub mod metrics;
pub mod store;
