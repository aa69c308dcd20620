//! Why a presentation (or a stored signature) was not `VALID`, precisely.
//!
//! IRMA's `proofStatus` groups failures coarsely (an expired token and a
//! rotated-out key are both `EXPIRED`); a [`Reason`] keeps them apart. It is
//! part of the contract between the verifier and its clients: the `reason`
//! field of session results, problem documents and the wallet's
//! [`PresentationAnswer`](crate::wire::PresentationAnswer).

use serde::{Deserialize, Serialize};

use super::ProofStatus;
use crate::presentation::VerifyError;

/// Why a result is not `VALID`, precisely. Serialized in
/// `SCREAMING_SNAKE_CASE` (the `reason` field of results and problems).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// The presentation bytes do not decode (non-canonical, wrong version, …).
    Malformed,
    /// More tokens, pseudonyms, equalities or predicates than the request
    /// asks for (Rule 11); refused before any group operation.
    Unrequested,
    /// No tokens, or too many.
    TokenCount,
    /// A token names an issuer key that is not in the scheme.
    UnknownKey,
    /// The issuer key is in the scheme but not valid now (rotated out after
    /// its end date, or not yet valid).
    KeyNotValid,
    /// A token's information does not match its issuer key.
    TokenInfo,
    /// A token has expired (also what a revoked credential looks like once
    /// its last tokens expire).
    TokenExpired,
    /// A token's issuer signature does not verify (forged or tampered).
    TokenCheck,
    /// Disclosed and hidden positions do not partition the attributes.
    Partition,
    /// A disclosed value has the wrong kind.
    DisclosedKind,
    /// An equality statement does not hold.
    Equality,
    /// A pseudonym scope is malformed.
    Scope,
    /// A predicate proof fails.
    Predicate,
    /// A predicate names an attribute that is not hidden.
    PredicateTarget,
    /// The challenge does not match: the proof is invalid or was made for
    /// another verifier, request or nonce (a replay lands here).
    Challenge,
    /// A disclosed attribute is not defined in the scheme.
    NotInScheme,
    /// The presentation is sound but contradicts the request.
    UnmatchedRequest,
    /// The presentation is sound but lacks something requested.
    MissingAttributes,
    /// The scheme offered for a stored signature has a bad signature.
    BadSchemeSignature,
    /// The scheme is expired, inconsistent or older than the trusted one.
    UntrustedScheme,
    /// A signature's timestamp is not vouched for by this verifier's key.
    UntrustedTimestamp,
    /// The context given does not belong to the request and verifier given.
    ContextMismatch,
}

impl Reason {
    /// The reason for a failed proof check.
    pub fn from_verify_error(e: &VerifyError) -> Self {
        match e {
            VerifyError::Unrequested(_) => Self::Unrequested,
            VerifyError::TokenCount => Self::TokenCount,
            VerifyError::UnknownKey { .. } => Self::UnknownKey,
            VerifyError::KeyNotValid { .. } => Self::KeyNotValid,
            VerifyError::TokenInfo { .. } => Self::TokenInfo,
            VerifyError::Expired { .. } => Self::TokenExpired,
            VerifyError::TokenCheck { .. } => Self::TokenCheck,
            VerifyError::Partition { .. } => Self::Partition,
            VerifyError::DisclosedKind { .. } => Self::DisclosedKind,
            VerifyError::Equality(_) => Self::Equality,
            VerifyError::Scope(_) => Self::Scope,
            VerifyError::Predicate { .. } => Self::Predicate,
            VerifyError::PredicateTarget(_) => Self::PredicateTarget,
            VerifyError::Challenge => Self::Challenge,
        }
    }

    /// The `proofStatus` this reason belongs to.
    pub fn proof_status(self) -> ProofStatus {
        match self {
            Self::TokenExpired | Self::KeyNotValid => ProofStatus::Expired,
            Self::UnmatchedRequest | Self::ContextMismatch => ProofStatus::UnmatchedRequest,
            Self::MissingAttributes => ProofStatus::MissingAttributes,
            _ => ProofStatus::Invalid,
        }
    }

    /// The wire name, e.g. `TOKEN_EXPIRED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "MALFORMED",
            Self::Unrequested => "UNREQUESTED",
            Self::TokenCount => "TOKEN_COUNT",
            Self::UnknownKey => "UNKNOWN_KEY",
            Self::KeyNotValid => "KEY_NOT_VALID",
            Self::TokenInfo => "TOKEN_INFO",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::TokenCheck => "TOKEN_CHECK",
            Self::Partition => "PARTITION",
            Self::DisclosedKind => "DISCLOSED_KIND",
            Self::Equality => "EQUALITY",
            Self::Scope => "SCOPE",
            Self::Predicate => "PREDICATE",
            Self::PredicateTarget => "PREDICATE_TARGET",
            Self::Challenge => "CHALLENGE",
            Self::NotInScheme => "NOT_IN_SCHEME",
            Self::UnmatchedRequest => "UNMATCHED_REQUEST",
            Self::MissingAttributes => "MISSING_ATTRIBUTES",
            Self::BadSchemeSignature => "BAD_SCHEME_SIGNATURE",
            Self::UntrustedScheme => "UNTRUSTED_SCHEME",
            Self::UntrustedTimestamp => "UNTRUSTED_TIMESTAMP",
            Self::ContextMismatch => "CONTEXT_MISMATCH",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_serde_names() {
        for reason in [
            Reason::Malformed,
            Reason::TokenExpired,
            Reason::KeyNotValid,
            Reason::ContextMismatch,
            Reason::UntrustedTimestamp,
        ] {
            assert_eq!(
                serde_json::to_string(&reason).unwrap(),
                format!("\"{}\"", reason.as_str())
            );
        }
        assert_eq!(Reason::KeyNotValid.proof_status(), ProofStatus::Expired);
        assert_eq!(
            Reason::ContextMismatch.proof_status(),
            ProofStatus::UnmatchedRequest
        );
        assert_eq!(Reason::Challenge.proof_status(), ProofStatus::Invalid);
    }
}
