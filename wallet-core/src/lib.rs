//! # wallet-core: kenmerk's credential cryptography and protocol types
//!
//! Brands/U-Prove style one-show tokens over ristretto255, issued blindly in
//! batches, shown with selective disclosure, scope pseudonyms, predicates on
//! hidden attributes (Bulletproofs range proofs) and attribute-based
//! signatures. The byte-exact specification is `docs/protocol.md`.
//!
//! Everything two parties must agree on lives here and only here: the
//! issuer service, the verifier and the wallet call this crate and never
//! re-implement it. This crate does no I/O.
//!
//! Map of the crate, in protocol order:
//! - [`group`]: hash-to-scalar, hash-to-group, domain-separation labels.
//! - [`encoding`]: attribute values and their encoding to scalars.
//! - [`keys`]: issuer keys and derived generators.
//! - [`nonce`]: hedged secret nonces (secret, transcript and fresh randomness).
//! - [`holder`]: the resident's holder secret and its proof of possession.
//! - [`token`]: token information, one-show tokens and the token check.
//! - `msm`: group equations folded into one multi-scalar multiplication.
//! - [`issuance`]: blind batch issuance, the issuer's and the wallet's side.
//! - [`presentation`]: proving and verifying presentations.
//! - [`pseudonym`], [`predicate`], [`signature`]: what a presentation can carry.
//! - [`scheme`], [`request`], [`matching`], [`wire`]: the trust registry,
//!   session requests, results and wire messages.
//! - [`cbor`]: the canonical encoding every decoder goes through.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cbor;
pub mod encoding;
pub mod group;
pub mod holder;
pub mod ids;
pub mod issuance;
pub mod keys;
pub mod matching;
pub(crate) mod msm;
pub mod nonce;
pub mod predicate;
pub mod presentation;
pub mod pseudonym;
pub mod request;
pub mod scheme;
pub mod signature;
pub mod tables;
pub mod token;
pub mod wire;

/// Version of the credential protocol; part of every challenge hash.
pub const PROTOCOL_VERSION: u16 = 2;
