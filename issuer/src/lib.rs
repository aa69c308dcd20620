//! # kenmerk issuer service
pub mod store;
