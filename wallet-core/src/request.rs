//! Session requests: what a verifier (or issuer) asks of a wallet, in IRMA's
//! shape.
//!
//! A request's `disclose` is a *conjunction of disjunctions of conjunctions*
//! of attribute requests:
//!
//! ```json
//! {
//!   "@context": "https://irma.app/ld/request/disclosure/v2",
//!   "disclose": [
//!     [ ["demo.utrecht.address.city", "demo.utrecht.address.postal_code"] ],
//!     [ ["demo.rdw.vehicle.licence_plate"], [] ]
//!   ],
//!   "predicates": [
//!     { "attribute": "demo.utrecht.personal.date_of_birth",
//!       "operator": "ageAtLeast", "years": 18, "on": "2026-11-25" }
//!   ],
//!   "labels": { "1": { "nl": "Kenteken (optioneel)", "en": "Licence plate (optional)" } }
//! }
//! ```
//!
//! Every outer element must be satisfied; within one, the wallet picks one of
//! the inner conjunctions; an empty inner conjunction makes the whole
//! disjunction optional. Attributes of one credential type within one inner
//! conjunction must come from the *same* credential (IRMA's rule: otherwise
//! a street from one address and a city from another would pass as one
//! address). An attribute request is either a bare identifier or
//! `{"type": id, "value": "required value", "notNull": true}`.
//!
//! Parsing validates: a [`SessionRequest`] that exists is well formed (known
//! `@context`, bounded sizes, a message exactly for signing, credentials
//! exactly for issuing, no duplicate attribute in one conjunction). Whether
//! the identifiers exist is a question for the scheme:
//! [`SessionRequest::check_against`]. Whether the verifier may ask it is
//! [`SessionRequest::unregistered`] (the over-asking check).
//!
//! JSON is for requestor APIs; the wallet receives canonical CBOR
//! ([`SessionRequest::to_cbor`]) and the presentation's challenge binds
//! [`SessionRequest::request_digest`], the SHA-256 of that CBOR, so a
//! presentation made for one request never verifies for another.
//!
//! The wallet side ([`Candidates`]) lists, per disjunction, the ways the
//! credentials the wallet holds can satisfy it, for the resident to choose;
//! [`Candidates::plan`] turns the resident's choice into a
//! [`DisclosurePlan`]: which credential, which attribute positions, which
//! predicates.

mod attribute;
mod candidates;
mod credential;
pub mod demo;
mod describe;
mod error;
mod predicate;
mod session;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use attribute::{AttributeRequest, Conjunction, Disjunction};
pub use candidates::*;
pub use credential::CredentialRequest;
pub use describe::{
    AttributeLabel, DescribedAttribute, DescribedDisjunction, DescribedPredicate,
    RequestDescription,
};
pub use error::{RequestError, RequestParseError, RequestSchemeError};
pub use predicate::{Condition, PredicateOperator, PredicateRequest};
pub use session::*;

/// `@context` of a disclosure request (IRMA's value, kept so IRMA-shaped
/// requests parse unchanged).
pub const DISCLOSURE_CONTEXT: &str = "https://irma.app/ld/request/disclosure/v2";
/// `@context` of a signature request.
pub const SIGNATURE_CONTEXT: &str = "https://irma.app/ld/request/signature/v2";
/// `@context` of an issuance request.
pub const ISSUANCE_CONTEXT: &str = "https://irma.app/ld/request/issuance/v2";

/// At most this many disjunctions (outer elements) in `disclose`.
pub const MAX_DISJUNCTIONS: usize = 32;
/// At most this many options (inner conjunctions) per disjunction.
pub const MAX_OPTIONS: usize = 16;
/// At most this many attribute requests per inner conjunction.
pub const MAX_CONJUNCTION_LEN: usize = 32;
/// At most this many predicates.
pub const MAX_PREDICATES: usize = 16;
// Every predicate a request may ask must fit in one range proof.
const _: () = assert!(MAX_PREDICATES <= crate::predicate::MAX_RANGE_STATEMENTS);
/// At most this many credentials in an issuance request.
pub const MAX_CREDENTIALS: usize = 16;
/// Longest required value, label or issued attribute value, in bytes.
pub const MAX_TEXT: usize = 1024;
/// Longest message to sign, in bytes.
pub const MAX_MESSAGE: usize = 16 * 1024;
/// Longest pseudonym scope name, in bytes.
pub const MAX_SCOPE_NAME: usize = 64;
/// The wallet lists at most this many ways to satisfy one disjunction (the
/// product of matching credentials can grow fast; a resident cannot choose
/// among more anyway).
pub const MAX_CANDIDATE_OPTIONS: usize = 64;

/// The three kinds of session; also the `irmaqr` value of a session pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// Disclose attributes to a verifier.
    Disclosing,
    /// Sign a message with attributes (attribute-based signature).
    Signing,
    /// Receive credentials from an issuer.
    Issuing,
}

impl SessionKind {
    /// The `@context` value of a request of this kind.
    pub fn context(self) -> &'static str {
        match self {
            SessionKind::Disclosing => DISCLOSURE_CONTEXT,
            SessionKind::Signing => SIGNATURE_CONTEXT,
            SessionKind::Issuing => ISSUANCE_CONTEXT,
        }
    }

    /// The kind named by an `@context` value.
    pub fn from_context(context: &str) -> Option<Self> {
        match context {
            DISCLOSURE_CONTEXT => Some(SessionKind::Disclosing),
            SIGNATURE_CONTEXT => Some(SessionKind::Signing),
            ISSUANCE_CONTEXT => Some(SessionKind::Issuing),
            _ => None,
        }
    }

    /// The lower-case name (`disclosing`, `signing`, `issuing`).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Disclosing => "disclosing",
            SessionKind::Signing => "signing",
            SessionKind::Issuing => "issuing",
        }
    }
}

impl fmt::Display for SessionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// serde for an optional ISO date `"YYYY-MM-DD"` (same text in JSON and
/// CBOR; the encoding module's strict parser).
pub(crate) mod opt_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    use crate::encoding::iso_date;

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        iso_date::parse(s)
    }

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&iso_date::format(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            parse(&t).ok_or_else(|| {
                serde::de::Error::custom(format!("date {t:?} is not a valid YYYY-MM-DD"))
            })
        })
        .transpose()
    }
}
