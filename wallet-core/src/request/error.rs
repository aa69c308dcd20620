//! Why a request was refused: its shape, its fit with the scheme, its JSON.

use super::{DISCLOSURE_CONTEXT, ISSUANCE_CONTEXT, MAX_SCOPE_NAME, SIGNATURE_CONTEXT};
use crate::encoding::AttributeKind;
use crate::ids::{AttributeId, CredentialTypeId, IdError};

/// Why a request was refused while parsing (its shape, not the scheme).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("unknown @context {0:?} (expected {DISCLOSURE_CONTEXT:?}, {SIGNATURE_CONTEXT:?} or {ISSUANCE_CONTEXT:?})")]
    UnknownContext(String),
    #[error("disclose[{0}] has no options: use [[]] for nothing, or leave the disjunction out")]
    EmptyDisjunction(usize),
    #[error("too many {what}: {found} (at most {max})")]
    TooMany {
        what: &'static str,
        found: usize,
        max: usize,
    },
    #[error("attribute {0} is asked twice in one conjunction")]
    DuplicateAttribute(AttributeId),
    #[error("a signature request needs a non-empty \"message\"")]
    MissingMessage,
    #[error("only a signature request carries a \"message\"")]
    UnexpectedMessage,
    #[error("an issuance request needs \"credentials\"")]
    MissingCredentials,
    #[error("only an issuance request carries \"credentials\"")]
    UnexpectedCredentials,
    #[error("the request asks for nothing (no disclose, predicates or pseudonym)")]
    NothingRequested,
    #[error("label {0} does not refer to a disjunction in \"disclose\"")]
    LabelOutOfRange(u32),
    #[error("pseudonym scope {0:?} must be 1-{MAX_SCOPE_NAME} characters of A-Z a-z 0-9 _ - .")]
    BadScope(String),
    #[error("{0} is longer than allowed")]
    TooLong(&'static str),
    #[error("predicate on {0}: {1}")]
    BadPredicate(AttributeId, &'static str),
    #[error("credential {0} is asked twice in one issuance request")]
    DuplicateCredential(CredentialTypeId),
    #[error("the required value of {0} is empty (to accept an absent value, leave \"value\" out)")]
    EmptyValue(AttributeId),
    #[error("invalid identifier: {0}")]
    Id(#[from] IdError),
}

/// Why a request does not fit the scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestSchemeError {
    #[error("attribute {0} is not in the scheme")]
    UnknownAttribute(AttributeId),
    #[error("credential type {0} is not in the scheme")]
    UnknownCredentialType(CredentialTypeId),
    #[error("value for {0} does not fit its kind: {1}")]
    BadValue(AttributeId, String),
    #[error("predicate on {0}: not possible on an attribute of kind {1:?}")]
    PredicateKind(AttributeId, AttributeKind),
    #[error("predicate ageAtLeast on {0} has no reference date \"on\" (the verifier sets it)")]
    NoReferenceDate(AttributeId),
    #[error("credential {0} has no attribute {1:?}")]
    UnknownIssuedAttribute(CredentialTypeId, String),
    #[error("required attribute {0} has no value")]
    MissingIssuedAttribute(AttributeId),
}

/// Why JSON text is not a session request.
#[derive(Debug, thiserror::Error)]
pub enum RequestParseError {
    /// Syntax or shape; the message names the line and column.
    #[error("invalid session request: {0}")]
    Json(#[from] serde_json::Error),
}
