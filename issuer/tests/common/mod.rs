//! The shared issuer harness lives in the dev-only `test-kit` crate
//! (`test_kit::issuer`): an issuer on 127.0.0.1:0 (SQLite, or PostgreSQL in
//! a schema of its own), a requestor client and a wallet.
#![allow(unused_imports)]

pub use test_kit::issuer::*;
