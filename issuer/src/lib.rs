//! # kenmerk issuer service
//!
//! The municipality's issuer: its back office asks for credentials
//! (requestor API), residents' wallets pick them up by QR code or link
//! (wallet API: blind batch issuance from `wallet-core`), refresh them with
//! a proof for their holder key, and lose them by revocation (admin API).
//! Key rotation re-signs the published scheme. State lives in SQL (SQLite by
//! default, PostgreSQL for deployments).
//!
//! Embedding (as `kenmerk demo` does):
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = issuer::IssuerConfig::default();
//! config.listen = "127.0.0.1:0".parse()?;
//! config.data_dir = std::env::temp_dir().join("kenmerk-issuer-demo");
//! let running = issuer::start(config).await?;
//! println!("issuer at {}", running.public_url());
//! running.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Map: [`config`] (settings), [`server`] (start/stop), [`edge`]
//! (connections and client timeouts), [`routes`] (HTTP),
//! [`service`] (protocol steps), [`store`] (SQL), [`auth`], [`problem`]
//! (RFC 7807), [`metrics`], [`keys`] (key files), [`keyring`] (key material and scheme shared by
//! instances), [`sealed`] (issuance
//! nonces encrypted at rest), [`publish`] (the scheme).
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod config;
pub mod edge;
pub mod keyring;
pub mod keys;
pub mod metrics;
pub mod problem;
pub mod publish;
pub mod routes;
pub mod sealed;
pub mod server;
pub mod service;
pub mod store;

pub use config::{IssuerConfig, RequestorConfig};
pub use server::{start, RunningIssuer};
pub use service::StartError;
