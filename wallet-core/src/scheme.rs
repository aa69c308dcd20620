//! The scheme: kenmerk's signed, versioned trust registry.
//!
//! A scheme lists who may issue what and who may ask for what:
//!
//! - issuers (`demo.utrecht`), with names in Dutch and English and a contact;
//! - credential types (`demo.utrecht.address`) with their attributes: kind,
//!   optional or not, labels; the attribute order is the position order of
//!   the credential;
//! - issuer public keys (credential type, key counter, validity, `g0`);
//! - registered verifiers (`demo.parking`): name, host names, the attributes
//!   and predicates each may ask for, whether it may ask a pseudonym, and the
//!   purpose shown to the resident.
//!
//! The document is signed with Ed25519 (`ring`). The signature covers
//!
//! ```text
//! u32be(len(label)) ‖ label ‖ CBOR(scheme)      label = "kenmerk/v1/scheme"
//! ```
//!
//! where `CBOR(scheme)` is the canonical encoding ([`crate::cbor`]). A
//! [`SignedScheme`] carries those exact bytes, so the signature is checked
//! before anything in the document is parsed. The wallet pins the scheme
//! public key; [`SignedScheme::verify`] refuses a bad signature, an unknown
//! format version, a version lower than the one already trusted (rollback),
//! an expired scheme and an inconsistent document, and yields a
//! [`VerifiedScheme`], the only thing other code accepts as a trust root.
//!
//! Tool path: [`SchemeSigningKey::generate`], [`SchemeBuilder::from_toml`]
//! (issuers, credential types, verifiers), [`SchemeBuilder::add_issuer_key`],
//! [`SchemeBuilder::add_verifier`], [`SchemeBuilder::build`],
//! [`Scheme::sign`], [`SignedScheme::verify`]. The demo scheme is in
//! [`demo`].

mod build;
pub mod demo;
mod document;
mod published;
mod signed;

pub use build::{
    AttributeDescription, CredentialDescription, IssuerDescription, SchemeBuildError,
    SchemeBuilder, SchemeDescription, VerifierDescription,
};
pub use document::*;
pub use published::{PublishedKeyError, PublishedSchemeKey, SchemeParseError, MAX_SCHEME_BYTES};
pub use signed::*;

/// Version of the scheme document format (both the signed envelope and the
/// document inside it).
pub const SCHEME_FORMAT_VERSION: u16 = 1;
/// Domain-separation label of the scheme signature.
pub const SCHEME_SIGNATURE_LABEL: &[u8] = b"kenmerk/v1/scheme";
/// Longest name, label, purpose or contact text, in bytes.
pub const MAX_SCHEME_TEXT: usize = 2048;

#[cfg(test)]
mod tests;
