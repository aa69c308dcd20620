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
//! (connections and client timeouts), [`routes`] (HTTP: extract, call the
//! service, map its errors through [`problem`] to RFC 7807),
//! [`service`] (protocol steps, one error enum per operation),
//! [`session`] (a session's protocol states), [`store`] (SQL; rows become
//! states in one checked conversion), [`auth`] (requestors), [`metrics`],
//! [`keys`] (key files), [`keyring`] (key material and
//! scheme versions shared by instances), [`sealed`] (issuance nonces encrypted at rest),
//! [`publish`] (the scheme), [`clock`] and [`random`].
//!
//! Modules depend one way: `routes` → `problem` → `service` → `session`,
//! `store` → `session`; the service never names the HTTP layer.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod clock;
pub mod config;
pub mod edge;
pub mod keyring;
pub mod keys;
pub mod metrics;
pub mod problem;
pub mod publish;
pub mod random;
pub mod routes;
pub mod sealed;
pub mod server;
pub mod service;
pub mod session;
pub mod store;

pub use config::{IssuerConfig, RequestorConfig};
pub use server::{start, RunningIssuer};
pub use service::StartError;
