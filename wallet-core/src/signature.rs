//! Attribute-based signatures: a presentation whose challenge covers a
//! message (and optionally a timestamp vouched for by a verifier), kept
//! with its context so that anyone can verify it later against the scheme.
//!
//! Presentations are transferable (Rule 10): whoever holds a signature can
//! show it to a third party as proof of what the signer disclosed. That is
//! the point of a signature, and the wallet's consent screen says so.

use serde::{Deserialize, Serialize};

use crate::cbor::{self, check_version, DecodeError};
use crate::presentation::{
    verify, ChallengeContext, Expected, IssuerKeys, Presentation, ReadError, Unrequested,
    VerifiedPresentation, VerifyError,
};

const SIGNATURE_VERSION: u16 = 2;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a signature must carry a message")]
    NoMessage,
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Unrequested(#[from] Unrequested),
}

impl From<ReadError> for SignatureError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Unrequested(u) => Self::Unrequested(u),
            ReadError::Decode(d) => Self::Decode(d),
        }
    }
}

/// A message signed with attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSignature {
    v: u16,
    /// The context, with `message` set.
    #[serde(rename = "ctx")]
    pub context: ChallengeContext,
    /// The presentation over that context.
    #[serde(rename = "p")]
    pub presentation: Presentation,
}

impl AttributeSignature {
    /// Wraps a presentation made for a context with a message.
    pub fn new(
        context: ChallengeContext,
        presentation: Presentation,
    ) -> Result<Self, SignatureError> {
        if context.message.is_none() {
            return Err(SignatureError::NoMessage);
        }
        Ok(AttributeSignature {
            v: SIGNATURE_VERSION,
            context,
            presentation,
        })
    }

    /// The signed message.
    pub fn message(&self) -> &str {
        self.context.message.as_deref().unwrap_or("")
    }

    /// Verifies the signature with its tokens valid at `at` (Unix seconds),
    /// its presentation carrying no more than `expected` allows (a
    /// signature comes without its request: pass
    /// [`Expected::protocol_limits`], or [`Expected::for_request`] when the
    /// request is known).
    ///
    /// `at` is the caller's to choose, on purpose: the signature's own
    /// `timestamp` is chosen by whoever made the signature and proves
    /// nothing by itself. Pass "now", or a time vouched for by a signed
    /// timestamp you verified (the verifier daemon issues those).
    pub fn verify<K: IssuerKeys + ?Sized>(
        &self,
        expected: &Expected,
        keys: &K,
        at: u64,
    ) -> Result<VerifiedPresentation, SignatureError> {
        if self.context.message.is_none() {
            return Err(SignatureError::NoMessage);
        }
        Ok(verify(
            &self.presentation,
            expected,
            &self.context,
            keys,
            at,
        )?)
    }

    /// Canonical CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Decodes a stored signature; first its presentation's counts are
    /// checked against the protocol maxima on the undecoded bytes (Rule 11:
    /// decoding decompresses points).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        Expected::protocol_limits().check_field_bytes(bytes, "p")?;
        let s: Self = cbor::from_cbor(bytes)?;
        check_version(s.v, SIGNATURE_VERSION)?;
        s.presentation.check_version()?;
        Ok(s)
    }
}
