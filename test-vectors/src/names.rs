//! Stable error names for the vectors' `expected` field.
//!
//! A vector names the outcome a check must give as `"valid"` or one of the
//! names below (`area.reason`, lower case, `_` between words), never as a
//! library's debug output, so that an implementation in another language
//! can compare outcomes. `docs/protocol.md` §16.3 lists every name. This is
//! the one place that maps wallet-core's errors to names; the writer and
//! the checker both go through it.

use wallet_core::cbor::DecodeError;
use wallet_core::holder::HolderProofError;
use wallet_core::issuance::issuer::IssueError;
use wallet_core::keys::KeyError;
use wallet_core::predicate::PredicateError;
use wallet_core::presentation::{Part, ReadError, Unrequested, VerifyError};
use wallet_core::signature::SignatureError;
use wallet_core::token::{TokenCheckError, TokenInfoError, TokenPolicyError};

/// An error with a stable name.
pub trait StableName {
    /// The stable name, for example `decode.identity_point`.
    fn stable_name(&self) -> &'static str;
}

/// `"valid"` or the stable name of the error.
pub fn outcome<T, E: StableName>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "valid".to_owned(),
        Err(e) => e.stable_name().to_owned(),
    }
}

impl StableName for DecodeError {
    fn stable_name(&self) -> &'static str {
        match self {
            DecodeError::Syntax(_) => "decode.syntax",
            DecodeError::TrailingBytes => "decode.trailing_bytes",
            DecodeError::NonCanonical => "decode.non_canonical",
            DecodeError::NonCanonicalScalar => "decode.non_canonical_scalar",
            DecodeError::NonCanonicalPoint => "decode.non_canonical_point",
            DecodeError::IdentityPoint => "decode.identity_point",
            DecodeError::WrongLength => "decode.wrong_length",
            DecodeError::UnknownVersion(_) => "decode.unknown_version",
            DecodeError::TooLarge => "decode.too_large",
            DecodeError::Invalid(_) => "decode.invalid",
        }
    }
}

impl StableName for KeyError {
    fn stable_name(&self) -> &'static str {
        match self {
            KeyError::AttributeCount => "key.attribute_count",
            KeyError::Validity => "key.validity",
            KeyError::Mismatch => "key.mismatch",
            KeyError::Decode(e) => e.stable_name(),
        }
    }
}

impl StableName for HolderProofError {
    fn stable_name(&self) -> &'static str {
        match self {
            HolderProofError::IdentityKey => "holder_proof.identity_key",
            HolderProofError::Invalid => "holder_proof.invalid",
        }
    }
}

impl StableName for TokenInfoError {
    fn stable_name(&self) -> &'static str {
        match self {
            TokenInfoError::OffGrid => "token_info.off_grid",
            TokenInfoError::InPast => "token_info.in_past",
            TokenInfoError::TooFar => "token_info.too_far",
            TokenInfoError::KeyMismatch => "token_info.key_mismatch",
            TokenInfoError::ExpiryNotFromScheme => "token_info.expiry_not_from_scheme",
            TokenInfoError::NotCurrentKey => "token_info.not_current_key",
        }
    }
}

impl StableName for TokenPolicyError {
    fn stable_name(&self) -> &'static str {
        match self {
            TokenPolicyError::Validity => "token_policy.validity",
            TokenPolicyError::GridStep => "token_policy.grid_step",
        }
    }
}

impl StableName for TokenCheckError {
    fn stable_name(&self) -> &'static str {
        match self {
            TokenCheckError::WrongKey => "token.wrong_key",
            TokenCheckError::TokenInfo => "token.token_info",
            TokenCheckError::Identity => "token.identity",
            TokenCheckError::Signature => "token.signature",
        }
    }
}

impl StableName for IssueError {
    fn stable_name(&self) -> &'static str {
        match self {
            IssueError::BatchSize => "issuance.batch_size",
            IssueError::AttributeCount { .. } => "issuance.attribute_count",
            IssueError::AttributeValue { .. } => "issuance.attribute_value",
            IssueError::TokenInfo(e) => e.stable_name(),
            IssueError::HolderProof(e) => e.stable_name(),
            IssueError::WrongKey => "issuance.wrong_key",
            IssueError::ChallengeCount { .. } => "issuance.challenge_count",
            IssueError::AlreadyAnswered => "issuance.already_answered",
            IssueError::Decode(e) => e.stable_name(),
        }
    }
}

impl StableName for PredicateError {
    fn stable_name(&self) -> &'static str {
        match self {
            PredicateError::UnorderedKind(_) => "predicate.unordered_kind",
            PredicateError::BoundKind => "predicate.bound_kind",
            PredicateError::AgeNeedsDate => "predicate.age_needs_date",
            PredicateError::BoundOutOfRange => "predicate.bound_out_of_range",
            PredicateError::False => "predicate.false",
            PredicateError::RangeProof => "predicate.range_proof",
            PredicateError::Malformed => "predicate.malformed",
        }
    }
}

impl StableName for VerifyError {
    fn stable_name(&self) -> &'static str {
        match self {
            VerifyError::TokenCount => "presentation.token_count",
            VerifyError::UnknownKey { .. } => "presentation.unknown_key",
            VerifyError::KeyNotValid { .. } => "presentation.key_not_valid",
            VerifyError::TokenInfo { .. } => "presentation.token_info",
            VerifyError::Expired { .. } => "presentation.expired",
            VerifyError::TokenCheck { error, .. } => error.stable_name(),
            VerifyError::Partition { .. } => "presentation.partition",
            VerifyError::DisclosedKind { .. } => "presentation.disclosed_kind",
            VerifyError::Equality(_) => "presentation.equality",
            VerifyError::Scope(_) => "presentation.scope",
            VerifyError::Predicate { error, .. } => error.stable_name(),
            VerifyError::PredicateTarget(_) => "presentation.predicate_target",
            VerifyError::Presence(_) => "presentation.presence",
            VerifyError::Challenge => "presentation.challenge",
            VerifyError::RangeProof(error) => error.stable_name(),
            VerifyError::Unrequested(u) => u.stable_name(),
        }
    }
}

impl StableName for SignatureError {
    fn stable_name(&self) -> &'static str {
        match self {
            SignatureError::NoMessage => "signature.no_message",
            SignatureError::Verify(e) => e.stable_name(),
            SignatureError::Decode(e) => e.stable_name(),
            SignatureError::Unrequested(u) => u.stable_name(),
        }
    }
}

/// Outcomes of the issuance check that are not a wallet-core error: the
/// equations that tie the transcript together (`docs/protocol.md` §16.2).
pub mod issuance {
    /// The lists of the transcript have different lengths.
    pub const BATCH_SIZE: &str = "issuance.batch_size";
    /// The commitments name another key than the public key.
    pub const WRONG_KEY: &str = "issuance.wrong_key";
    /// `g^sr = g0^sc · sa` or `gamma^sr = sz^sc · sb` fails.
    pub const RESPONSE: &str = "issuance.response";
    /// A token carries another key id or token information.
    pub const TOKEN_INFO: &str = "issuance.token_info";
    /// `h = gamma^alpha`, `sz' = sz^alpha`, `sc = sc' + b1` or
    /// `sr' = sr + b2` does not tie a token to its transcript.
    pub const UNBLINDING: &str = "issuance.unblinding";
    /// The keygen vector's values do not re-derive.
    pub const KEYGEN_MISMATCH: &str = "keygen.mismatch";
}

/// Every name a check can give, for `docs/protocol.md` and its test.
pub const ALL: &[&str] = &[
    "valid",
    "decode.syntax",
    "decode.trailing_bytes",
    "decode.non_canonical",
    "decode.non_canonical_scalar",
    "decode.non_canonical_point",
    "decode.identity_point",
    "decode.wrong_length",
    "decode.unknown_version",
    "decode.too_large",
    "decode.invalid",
    "key.attribute_count",
    "key.validity",
    "key.mismatch",
    "keygen.mismatch",
    "holder_proof.identity_key",
    "holder_proof.invalid",
    "token_info.off_grid",
    "token_info.in_past",
    "token_info.too_far",
    "token_info.key_mismatch",
    "token_info.expiry_not_from_scheme",
    "token_info.not_current_key",
    "token_info.no_current_key",
    "token_policy.validity",
    "token_policy.grid_step",
    "token.wrong_key",
    "token.token_info",
    "token.identity",
    "token.signature",
    "issuance.batch_size",
    "issuance.attribute_count",
    "issuance.attribute_value",
    "issuance.wrong_key",
    "issuance.challenge_count",
    "issuance.already_answered",
    "issuance.response",
    "issuance.token_info",
    "issuance.unblinding",
    "predicate.unordered_kind",
    "predicate.bound_kind",
    "predicate.age_needs_date",
    "predicate.bound_out_of_range",
    "predicate.false",
    "predicate.range_proof",
    "predicate.malformed",
    "presentation.token_count",
    "presentation.unknown_key",
    "presentation.key_not_valid",
    "presentation.token_info",
    "presentation.expired",
    "presentation.partition",
    "presentation.disclosed_kind",
    "presentation.equality",
    "presentation.scope",
    "presentation.predicate_target",
    "presentation.presence",
    "presentation.challenge",
    "signature.no_message",
    "unrequested.tokens",
    "unrequested.pseudonyms",
    "unrequested.equalities",
    "unrequested.predicates",
    "unrequested.attributes",
];

impl StableName for Unrequested {
    fn stable_name(&self) -> &'static str {
        match self.part {
            Part::Tokens => "unrequested.tokens",
            Part::Pseudonyms => "unrequested.pseudonyms",
            Part::Equalities => "unrequested.equalities",
            Part::Predicates => "unrequested.predicates",
            Part::Attributes => "unrequested.attributes",
        }
    }
}

impl StableName for ReadError {
    fn stable_name(&self) -> &'static str {
        match self {
            ReadError::Unrequested(u) => u.stable_name(),
            ReadError::Decode(e) => e.stable_name(),
        }
    }
}
