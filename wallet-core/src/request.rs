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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rand_core::{CryptoRng, RngCore};
use serde::ser::SerializeMap;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use time::Date;

use crate::encoding::{AttributeKind, AttributeValue};
use crate::holder::HolderSecret;
use crate::ids::{AttributeId, CredentialTypeId, IdError, VerifierId};
use crate::predicate::Predicate;
use crate::presentation::{
    ChallengeContext, IssuerKeys, Presentation, PresentationBuilder, ProveError,
};
use crate::pseudonym::Scope;
use crate::scheme::{RegisteredVerifier, Scheme, Translated};
use crate::token::CredentialToken;

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

/// One requested attribute, optionally with a value it must have.
///
/// JSON: a bare identifier, or `{"type": id, "value": "...", "notNull": true}`.
/// A bare identifier accepts a disclosed *absent* value (an optional
/// attribute the credential lacks: status `NULL` in the result); `notNull`
/// or a required value refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeRequest {
    /// The attribute asked for.
    pub attribute: AttributeId,
    /// The value it must have, in its text form, if any.
    pub value: Option<String>,
    /// Whether an absent value is refused (implied by `value`).
    pub not_null: bool,
}

impl AttributeRequest {
    /// Asks for `attribute`, any value (absent included).
    pub fn new(attribute: AttributeId) -> Self {
        AttributeRequest {
            attribute,
            value: None,
            not_null: false,
        }
    }

    /// Asks for `attribute` with exactly this value.
    pub fn with_value(attribute: AttributeId, value: impl Into<String>) -> Self {
        AttributeRequest {
            attribute,
            value: Some(value.into()),
            not_null: false,
        }
    }

    /// Asks for `attribute`, refusing an absent value.
    pub fn not_null(attribute: AttributeId) -> Self {
        AttributeRequest {
            attribute,
            value: None,
            not_null: true,
        }
    }

    /// Whether an absent value fails this request.
    pub fn requires_present(&self) -> bool {
        self.not_null || self.value.is_some()
    }

    /// Whether `disclosed` (a value of an attribute of `kind`) meets this
    /// request. A required value that does not parse as `kind` matches
    /// nothing ([`SessionRequest::check_against`] reports it earlier).
    pub fn accepts(&self, kind: AttributeKind, disclosed: &AttributeValue) -> bool {
        if matches!(disclosed, AttributeValue::Absent) {
            return !self.requires_present();
        }
        match &self.value {
            None => true,
            Some(text) => match AttributeValue::parse(kind, text) {
                Ok(required) => &required == disclosed,
                Err(_) => false,
            },
        }
    }
}

impl Serialize for AttributeRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One canonical form per meaning: the bare identifier when nothing
        // else is said; `notNull` only when no value (a value implies it).
        match (&self.value, self.not_null) {
            (None, false) => self.attribute.serialize(s),
            (Some(v), _) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", &self.attribute)?;
                m.serialize_entry("value", v)?;
                m.end()
            }
            (None, true) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", &self.attribute)?;
                m.serialize_entry("notNull", &true)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for AttributeRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A hand-written visitor instead of `#[serde(untagged)]`: untagged
        // enums report only "did not match any variant", which tells a
        // requestor nothing.
        d.deserialize_any(AttributeRequestVisitor)
    }
}

struct AttributeRequestVisitor;

impl<'de> de::Visitor<'de> for AttributeRequestVisitor {
    type Value = AttributeRequest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an attribute identifier \"scheme.issuer.credential.attribute\" \
             or an object {\"type\": identifier, \"value\": text, \"notNull\": bool}",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeRequest, E> {
        let attribute = v.parse::<AttributeId>().map_err(E::custom)?;
        Ok(AttributeRequest::new(attribute))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<AttributeRequest, A::Error> {
        const FIELDS: &[&str] = &["type", "value", "notNull"];
        let mut attribute: Option<AttributeId> = None;
        let mut value: Option<Option<String>> = None;
        let mut not_null: Option<bool> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    if attribute.is_some() {
                        return Err(de::Error::duplicate_field("type"));
                    }
                    attribute = Some(map.next_value()?);
                }
                "value" => {
                    if value.is_some() {
                        return Err(de::Error::duplicate_field("value"));
                    }
                    value = Some(map.next_value()?);
                }
                "notNull" => {
                    if not_null.is_some() {
                        return Err(de::Error::duplicate_field("notNull"));
                    }
                    not_null = Some(map.next_value()?);
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let attribute = attribute.ok_or_else(|| de::Error::missing_field("type"))?;
        let value = value.flatten();
        Ok(AttributeRequest {
            attribute,
            // Normalised: a required value already refuses absence.
            not_null: not_null.unwrap_or(false) && value.is_none(),
            value,
        })
    }
}

/// An inner conjunction: all of these, from one credential per type.
pub type Conjunction = Vec<AttributeRequest>;
/// A disjunction: one of these conjunctions (an empty one makes it optional).
pub type Disjunction = Vec<Conjunction>;

/// The comparison a predicate makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PredicateOperator {
    /// The attribute is at least the bound (integers, dates).
    #[serde(rename = ">=")]
    GreaterOrEqual,
    /// The attribute is at most the bound (integers, dates).
    #[serde(rename = "<=")]
    LessOrEqual,
    /// A date of birth makes the holder at least this many years old.
    #[serde(rename = "ageAtLeast")]
    AgeAtLeast,
}

impl fmt::Display for PredicateOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PredicateOperator::GreaterOrEqual => ">=",
            PredicateOperator::LessOrEqual => "<=",
            PredicateOperator::AgeAtLeast => "ageAtLeast",
        })
    }
}

/// What a predicate asserts of its attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// At least this value (text form, parsed by the attribute's kind).
    GreaterOrEqual(String),
    /// At most this value (text form, parsed by the attribute's kind).
    LessOrEqual(String),
    /// At least `years` old on date `on`. The verifier fixes `on` when it
    /// creates the session ([`SessionRequest::with_reference_date`]) so that
    /// wallet and verifier prove and check the same statement.
    AgeAtLeast {
        /// Minimum age in whole years.
        years: u8,
        /// The day on which the age is measured.
        on: Option<Date>,
    },
}

impl Condition {
    /// The operator of this condition.
    pub fn operator(&self) -> PredicateOperator {
        match self {
            Condition::GreaterOrEqual(_) => PredicateOperator::GreaterOrEqual,
            Condition::LessOrEqual(_) => PredicateOperator::LessOrEqual,
            Condition::AgeAtLeast { .. } => PredicateOperator::AgeAtLeast,
        }
    }
}

/// A predicate over a hidden attribute: proven without disclosing it.
///
/// JSON: `{"attribute": id, "operator": ">=" | "<=", "value": "bound"}` or
/// `{"attribute": id, "operator": "ageAtLeast", "years": 18, "on": "2026-11-25"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPredicate", into = "RawPredicate")]
pub struct PredicateRequest {
    /// The attribute the predicate is about.
    pub attribute: AttributeId,
    /// What is asserted.
    pub condition: Condition,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPredicate {
    attribute: AttributeId,
    operator: PredicateOperator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    years: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_date")]
    on: Option<Date>,
}

impl TryFrom<RawPredicate> for PredicateRequest {
    type Error = RequestError;
    fn try_from(raw: RawPredicate) -> Result<Self, RequestError> {
        let bad = |why: &'static str| RequestError::BadPredicate(raw.attribute.clone(), why);
        let condition = match raw.operator {
            PredicateOperator::GreaterOrEqual | PredicateOperator::LessOrEqual => {
                if raw.years.is_some() || raw.on.is_some() {
                    return Err(bad("\"years\" and \"on\" belong to ageAtLeast only"));
                }
                let value = raw.value.clone().ok_or_else(|| bad("needs a \"value\""))?;
                if raw.operator == PredicateOperator::GreaterOrEqual {
                    Condition::GreaterOrEqual(value)
                } else {
                    Condition::LessOrEqual(value)
                }
            }
            PredicateOperator::AgeAtLeast => {
                if raw.value.is_some() {
                    return Err(bad("ageAtLeast takes \"years\", not \"value\""));
                }
                let years = raw.years.ok_or_else(|| bad("ageAtLeast needs \"years\""))?;
                if years == 0 || years > 150 {
                    return Err(bad("\"years\" must be between 1 and 150"));
                }
                Condition::AgeAtLeast { years, on: raw.on }
            }
        };
        Ok(PredicateRequest {
            attribute: raw.attribute,
            condition,
        })
    }
}

impl From<PredicateRequest> for RawPredicate {
    fn from(p: PredicateRequest) -> Self {
        let operator = p.condition.operator();
        let (value, years, on) = match p.condition {
            Condition::GreaterOrEqual(v) | Condition::LessOrEqual(v) => (Some(v), None, None),
            Condition::AgeAtLeast { years, on } => (None, Some(years), on),
        };
        RawPredicate {
            attribute: p.attribute,
            operator,
            value,
            years,
            on,
        }
    }
}

impl PredicateRequest {
    /// The predicate statement the wallet proves and the verifier checks,
    /// for an attribute of `kind`.
    pub fn to_predicate(&self, kind: AttributeKind) -> Result<Predicate, RequestSchemeError> {
        let unfit = || RequestSchemeError::PredicateKind(self.attribute.clone(), kind);
        match &self.condition {
            Condition::GreaterOrEqual(text) | Condition::LessOrEqual(text) => {
                if !matches!(kind, AttributeKind::Integer | AttributeKind::Date) {
                    return Err(unfit());
                }
                let bound = AttributeValue::parse(kind, text).map_err(|e| {
                    RequestSchemeError::BadValue(self.attribute.clone(), e.to_string())
                })?;
                if bound == AttributeValue::Absent {
                    return Err(RequestSchemeError::BadValue(
                        self.attribute.clone(),
                        "a predicate bound cannot be empty".to_owned(),
                    ));
                }
                Ok(match self.condition {
                    Condition::GreaterOrEqual(_) => Predicate::GreaterOrEqual(bound),
                    _ => Predicate::LessOrEqual(bound),
                })
            }
            Condition::AgeAtLeast { years, on } => {
                if kind != AttributeKind::Date {
                    return Err(unfit());
                }
                let on =
                    on.ok_or_else(|| RequestSchemeError::NoReferenceDate(self.attribute.clone()))?;
                Ok(Predicate::AgeAtLeast { years: *years, on })
            }
        }
    }
}

/// One credential an issuance request asks the issuer to issue: its type and
/// the attribute values by local attribute name, in text form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// The credential type to issue.
    pub credential: CredentialTypeId,
    /// Values by attribute name (`"city": "Utrecht"`); optional attributes
    /// may be left out (absent).
    pub attributes: BTreeMap<String, String>,
}

impl CredentialRequest {
    /// The values in the credential type's attribute order, parsed by kind;
    /// left-out optional attributes are [`AttributeValue::Absent`].
    pub fn attribute_values(
        &self,
        scheme: &Scheme,
    ) -> Result<Vec<AttributeValue>, RequestSchemeError> {
        let ct = scheme
            .credential_type(&self.credential)
            .ok_or_else(|| RequestSchemeError::UnknownCredentialType(self.credential.clone()))?;
        for name in self.attributes.keys() {
            if !ct.attributes.iter().any(|a| a.id.name() == name) {
                return Err(RequestSchemeError::UnknownIssuedAttribute(
                    self.credential.clone(),
                    name.clone(),
                ));
            }
        }
        ct.attributes
            .iter()
            .map(|a| match self.attributes.get(a.id.name()) {
                Some(text) => AttributeValue::parse(a.kind, text)
                    .map_err(|e| RequestSchemeError::BadValue(a.id.clone(), e.to_string())),
                None if a.optional => Ok(AttributeValue::Absent),
                None => Err(RequestSchemeError::MissingIssuedAttribute(a.id.clone())),
            })
            .collect()
    }
}

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

/// A well-formed session request (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSessionRequest", into = "RawSessionRequest")]
pub struct SessionRequest {
    kind: SessionKind,
    disclose: Vec<Disjunction>,
    predicates: Vec<PredicateRequest>,
    pseudonym: Option<String>,
    message: Option<String>,
    labels: BTreeMap<u32, Translated>,
    credentials: Vec<CredentialRequest>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSessionRequest {
    #[serde(rename = "@context")]
    context: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    disclose: Vec<Disjunction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    predicates: Vec<PredicateRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pseudonym: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<u32, Translated>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    credentials: Vec<CredentialRequest>,
}

fn too_many(what: &'static str, found: usize, max: usize) -> Result<(), RequestError> {
    if found > max {
        Err(RequestError::TooMany { what, found, max })
    } else {
        Ok(())
    }
}

/// Whether `name` is a valid pseudonym scope name.
pub fn valid_scope_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SCOPE_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl TryFrom<RawSessionRequest> for SessionRequest {
    type Error = RequestError;

    fn try_from(raw: RawSessionRequest) -> Result<Self, RequestError> {
        let kind = SessionKind::from_context(&raw.context)
            .ok_or_else(|| RequestError::UnknownContext(raw.context.clone()))?;
        let request = SessionRequest {
            kind,
            disclose: raw.disclose,
            predicates: raw.predicates,
            pseudonym: raw.pseudonym,
            message: raw.message,
            labels: raw.labels,
            credentials: raw.credentials,
        };
        request.validate()?;
        Ok(request)
    }
}

impl From<SessionRequest> for RawSessionRequest {
    fn from(r: SessionRequest) -> Self {
        RawSessionRequest {
            context: r.kind.context().to_owned(),
            disclose: r.disclose,
            predicates: r.predicates,
            pseudonym: r.pseudonym,
            message: r.message,
            labels: r.labels,
            credentials: r.credentials,
        }
    }
}

impl SessionRequest {
    /// Starts a request of `kind`; add parts with the `with_*` methods, then
    /// [`SessionRequestBuilder::build`] validates it.
    pub fn builder(kind: SessionKind) -> SessionRequestBuilder {
        SessionRequestBuilder {
            request: SessionRequest {
                kind,
                disclose: Vec::new(),
                predicates: Vec::new(),
                pseudonym: None,
                message: None,
                labels: BTreeMap::new(),
                credentials: Vec::new(),
            },
        }
    }

    fn validate(&self) -> Result<(), RequestError> {
        too_many("disjunctions", self.disclose.len(), MAX_DISJUNCTIONS)?;
        for (i, disjunction) in self.disclose.iter().enumerate() {
            if disjunction.is_empty() {
                return Err(RequestError::EmptyDisjunction(i));
            }
            too_many("options in a disjunction", disjunction.len(), MAX_OPTIONS)?;
            for conjunction in disjunction {
                too_many(
                    "attributes in a conjunction",
                    conjunction.len(),
                    MAX_CONJUNCTION_LEN,
                )?;
                let mut seen = BTreeSet::new();
                for a in conjunction {
                    if !seen.insert(&a.attribute) {
                        return Err(RequestError::DuplicateAttribute(a.attribute.clone()));
                    }
                    match &a.value {
                        Some(v) if v.len() > MAX_TEXT => {
                            return Err(RequestError::TooLong("a required value"))
                        }
                        Some(v) if v.is_empty() => {
                            return Err(RequestError::EmptyValue(a.attribute.clone()))
                        }
                        _ => {}
                    }
                }
            }
        }
        too_many("predicates", self.predicates.len(), MAX_PREDICATES)?;
        for p in &self.predicates {
            if let Condition::GreaterOrEqual(v) | Condition::LessOrEqual(v) = &p.condition {
                if v.len() > MAX_TEXT {
                    return Err(RequestError::TooLong("a predicate bound"));
                }
            }
        }
        if let Some(scope) = &self.pseudonym {
            if !valid_scope_name(scope) {
                return Err(RequestError::BadScope(scope.clone()));
            }
        }
        for (index, label) in &self.labels {
            if usize::try_from(*index).map_or(true, |i| i >= self.disclose.len()) {
                return Err(RequestError::LabelOutOfRange(*index));
            }
            if label.nl.len() > MAX_TEXT || label.en.len() > MAX_TEXT {
                return Err(RequestError::TooLong("a label"));
            }
        }
        match (&self.message, self.kind) {
            (None, SessionKind::Signing) => return Err(RequestError::MissingMessage),
            (Some(m), SessionKind::Signing) if m.is_empty() => {
                return Err(RequestError::MissingMessage)
            }
            (Some(m), SessionKind::Signing) if m.len() > MAX_MESSAGE => {
                return Err(RequestError::TooLong("the message"))
            }
            (Some(_), _) if self.kind != SessionKind::Signing => {
                return Err(RequestError::UnexpectedMessage)
            }
            _ => {}
        }
        match (self.credentials.is_empty(), self.kind) {
            (true, SessionKind::Issuing) => return Err(RequestError::MissingCredentials),
            (false, SessionKind::Disclosing | SessionKind::Signing) => {
                return Err(RequestError::UnexpectedCredentials)
            }
            _ => {}
        }
        too_many("credentials", self.credentials.len(), MAX_CREDENTIALS)?;
        let mut seen = BTreeSet::new();
        for c in &self.credentials {
            if !seen.insert(&c.credential) {
                return Err(RequestError::DuplicateCredential(c.credential.clone()));
            }
            too_many("attribute values", c.attributes.len(), MAX_CONJUNCTION_LEN)?;
            if c.attributes.values().any(|v| v.len() > MAX_TEXT) {
                return Err(RequestError::TooLong("an attribute value"));
            }
        }
        if self.kind == SessionKind::Disclosing
            && self.disclose.is_empty()
            && self.predicates.is_empty()
            && self.pseudonym.is_none()
        {
            return Err(RequestError::NothingRequested);
        }
        Ok(())
    }

    /// Parses and validates JSON.
    pub fn from_json(text: &str) -> Result<Self, RequestParseError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        // Serializing our own plain data into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Indented JSON, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Canonical CBOR (what the wallet receives and what is digested).
    pub fn to_cbor(&self) -> Vec<u8> {
        crate::cbor::to_cbor(self)
    }

    /// Decodes canonical CBOR and validates.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, crate::cbor::DecodeError> {
        crate::cbor::from_cbor(bytes)
    }

    /// SHA-256 of the canonical CBOR: the `request_digest` of the
    /// presentation's challenge context.
    pub fn request_digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_cbor()).into()
    }

    /// The session kind.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The conjunction of disjunctions of conjunctions.
    pub fn disclose(&self) -> &[Disjunction] {
        &self.disclose
    }

    /// The predicates.
    pub fn predicates(&self) -> &[PredicateRequest] {
        &self.predicates
    }

    /// The pseudonym scope *name* asked for (not yet bound to a verifier).
    pub fn pseudonym(&self) -> Option<&str> {
        self.pseudonym.as_deref()
    }

    /// The effective pseudonym scope `"<verifier id>/<scope name>"`. The
    /// wallet derives it from the verifier's identity in the scheme, so no
    /// verifier can obtain the pseudonym of another's scope.
    pub fn pseudonym_scope(&self, verifier: &VerifierId) -> Option<Scope> {
        self.pseudonym
            .as_ref()
            .map(|name| effective_scope(verifier, name))
    }

    /// The message to sign (signature requests only).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Labels for the resident, by disjunction index.
    pub fn labels(&self) -> &BTreeMap<u32, Translated> {
        &self.labels
    }

    /// The credentials to issue (issuance requests only).
    pub fn credentials(&self) -> &[CredentialRequest] {
        &self.credentials
    }

    /// Every attribute identifier the request mentions in `disclose`.
    pub fn requested_attributes(&self) -> impl Iterator<Item = &AttributeRequest> {
        self.disclose.iter().flatten().flatten()
    }

    /// Sets the reference date of every `ageAtLeast` predicate that has
    /// none. The verifier calls this with today's date when it creates a
    /// session; predicates that name their own date keep it.
    pub fn with_reference_date(mut self, today: Date) -> Self {
        for p in &mut self.predicates {
            if let Condition::AgeAtLeast { on, .. } = &mut p.condition {
                if on.is_none() {
                    *on = Some(today);
                }
            }
        }
        self
    }

    /// Checks that every identifier exists in the scheme, every required
    /// value and bound parses by its attribute's kind, and every predicate
    /// fits its attribute's kind; for issuance, that the values are complete.
    pub fn check_against(&self, scheme: &Scheme) -> Result<(), RequestSchemeError> {
        for a in self.requested_attributes() {
            let found = scheme
                .attribute(&a.attribute)
                .ok_or_else(|| RequestSchemeError::UnknownAttribute(a.attribute.clone()))?;
            if let Some(v) = &a.value {
                AttributeValue::parse(found.attribute.kind, v).map_err(|e| {
                    RequestSchemeError::BadValue(a.attribute.clone(), e.to_string())
                })?;
            }
        }
        for p in &self.predicates {
            let found = scheme
                .attribute(&p.attribute)
                .ok_or_else(|| RequestSchemeError::UnknownAttribute(p.attribute.clone()))?;
            match p.to_predicate(found.attribute.kind) {
                // A missing reference date is the verifier's to fill in; the
                // shape is otherwise fine.
                Ok(_) | Err(RequestSchemeError::NoReferenceDate(_)) => {}
                Err(e) => return Err(e),
            }
        }
        for c in &self.credentials {
            c.attribute_values(scheme)?;
        }
        Ok(())
    }

    /// The over-asking check: everything in this request that `verifier`
    /// is not registered for in the scheme. Empty means within registration.
    ///
    /// A predicate is within registration if that predicate is registered
    /// or the attribute itself may be disclosed (a predicate reveals less).
    pub fn unregistered(&self, verifier: &RegisteredVerifier) -> Vec<Unregistered> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for a in self.requested_attributes() {
            if !verifier.attributes.contains(&a.attribute) && seen.insert(a.attribute.clone()) {
                out.push(Unregistered::Attribute(a.attribute.clone()));
            }
        }
        for p in &self.predicates {
            let operator = p.condition.operator();
            let registered = verifier
                .predicates
                .iter()
                .any(|r| r.attribute == p.attribute && r.operator == operator)
                || verifier.attributes.contains(&p.attribute);
            if !registered {
                out.push(Unregistered::Predicate {
                    attribute: p.attribute.clone(),
                    operator,
                });
            }
        }
        if self.pseudonym.is_some() && !verifier.pseudonym {
            out.push(Unregistered::Pseudonym);
        }
        out
    }
}

/// The effective scope of a pseudonym: `"<verifier id>/<scope name>"`.
pub fn effective_scope(verifier: &VerifierId, name: &str) -> Scope {
    Scope::for_verifier(verifier, name)
}

/// Something a request asks that the verifier is not registered for.
///
/// JSON: `{"attribute": id}`, `{"predicate": {"attribute": id, "operator": op}}`
/// or `"pseudonym"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Unregistered {
    /// Disclosure of this attribute.
    Attribute(AttributeId),
    /// This predicate on this attribute.
    Predicate {
        /// The attribute.
        attribute: AttributeId,
        /// The comparison.
        operator: PredicateOperator,
    },
    /// A pseudonym.
    Pseudonym,
}

impl fmt::Display for Unregistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unregistered::Attribute(a) => write!(f, "attribute {a}"),
            Unregistered::Predicate {
                attribute,
                operator,
            } => write!(f, "predicate {operator} on {attribute}"),
            Unregistered::Pseudonym => f.write_str("a pseudonym"),
        }
    }
}

/// Builds a [`SessionRequest`] in code; [`Self::build`] validates it as
/// parsing would.
#[derive(Debug, Clone)]
pub struct SessionRequestBuilder {
    request: SessionRequest,
}

impl SessionRequestBuilder {
    /// Adds a disjunction (one of these conjunctions).
    pub fn disjunction(mut self, options: Disjunction) -> Self {
        self.request.disclose.push(options);
        self
    }

    /// Adds a disjunction with a label for the resident.
    pub fn labelled_disjunction(mut self, options: Disjunction, label: Translated) -> Self {
        let index = u32::try_from(self.request.disclose.len()).unwrap_or(u32::MAX);
        self.request.labels.insert(index, label);
        self.request.disclose.push(options);
        self
    }

    /// Adds attributes that must all be disclosed (one disjunction each).
    pub fn attributes(mut self, attributes: impl IntoIterator<Item = AttributeId>) -> Self {
        for a in attributes {
            self.request
                .disclose
                .push(vec![vec![AttributeRequest::new(a)]]);
        }
        self
    }

    /// Adds a predicate.
    pub fn predicate(mut self, attribute: AttributeId, condition: Condition) -> Self {
        self.request.predicates.push(PredicateRequest {
            attribute,
            condition,
        });
        self
    }

    /// Asks for a pseudonym in scope `name` (bound to the verifier's id).
    pub fn pseudonym(mut self, name: impl Into<String>) -> Self {
        self.request.pseudonym = Some(name.into());
        self
    }

    /// Sets the message to sign.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.request.message = Some(message.into());
        self
    }

    /// Adds a credential to issue.
    pub fn credential(mut self, credential: CredentialRequest) -> Self {
        self.request.credentials.push(credential);
        self
    }

    /// Validates and returns the request.
    pub fn build(self) -> Result<SessionRequest, RequestError> {
        self.request.validate()?;
        Ok(self.request)
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

// ---------------------------------------------------------------------------
// Wallet side: which held credentials satisfy a request.

/// A credential the wallet holds, as far as matching needs it: its type and
/// its attribute values in the credential type's order.
#[derive(Debug, Clone, Copy)]
pub struct HeldCredential<'a> {
    /// The credential type.
    pub credential_type: &'a CredentialTypeId,
    /// The values, in the scheme's attribute order.
    pub values: &'a [AttributeValue],
}

/// One attribute a candidate option would disclose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateAttribute {
    /// The attribute.
    pub attribute: AttributeId,
    /// Index of the held credential (into the slice given to [`Candidates::compute`]).
    pub credential: usize,
    /// Position of the attribute in its credential type (0-based).
    pub position: usize,
    /// The value that would be disclosed.
    pub value: AttributeValue,
}

/// One way to satisfy a disjunction: an inner conjunction, filled from
/// specific held credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateOption {
    /// Index of the inner conjunction in the request's disjunction.
    pub conjunction: usize,
    /// What would be disclosed (empty: the "share nothing" option of an
    /// optional disjunction).
    pub attributes: Vec<CandidateAttribute>,
}

/// The choices for one disjunction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisjunctionCandidates {
    /// The requestor's label for this disjunction, if any.
    pub label: Option<Translated>,
    /// Whether the disjunction may be left out (it has an empty conjunction).
    pub optional: bool,
    /// The ways the wallet can satisfy it; empty means it cannot.
    pub options: Vec<CandidateOption>,
}

/// The choices for one predicate: which held credentials could prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PredicateCandidates {
    /// The requested predicate.
    pub request: PredicateRequest,
    /// The statement to prove.
    pub predicate: Predicate,
    /// Position of the attribute in its credential type.
    pub position: usize,
    /// Held credentials whose value satisfies it (indices).
    pub credentials: Vec<usize>,
}

/// Everything the resident can choose for a request, from the credentials
/// the wallet holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidates {
    /// Per disjunction, in request order.
    pub disjunctions: Vec<DisjunctionCandidates>,
    /// Per predicate, in request order.
    pub predicates: Vec<PredicateCandidates>,
    /// The effective pseudonym scope, if asked.
    pub pseudonym_scope: Option<Scope>,
}

/// The resident's choice: an option index per disjunction and a held
/// credential index per predicate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Choice {
    /// Index into [`DisjunctionCandidates::options`], per disjunction.
    pub options: Vec<usize>,
    /// Index into [`PredicateCandidates::credentials`], per predicate.
    pub predicates: Vec<usize>,
}

/// What the wallet must prove for one held credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCredential {
    /// Index of the held credential.
    pub credential: usize,
    /// Attribute positions to disclose (0-based, ascending, unique).
    pub disclose: Vec<usize>,
    /// Predicates to prove on hidden attributes: (position, statement).
    pub predicates: Vec<(usize, Predicate)>,
}

/// The plan for a presentation: which credentials, which positions, which
/// predicates, which pseudonym scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisclosurePlan {
    /// Per credential used, in ascending held index.
    pub credentials: Vec<PlannedCredential>,
    /// The effective pseudonym scope, if asked.
    pub pseudonym_scope: Option<Scope>,
}

/// Why the wallet cannot answer a request, or a choice is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the request does not fit the scheme: {0}")]
    Scheme(#[from] RequestSchemeError),
    #[error("no credential in the wallet satisfies disclose[{0}]")]
    Unsatisfiable(usize),
    #[error("no credential in the wallet can prove the predicate on {0}")]
    PredicateUnsatisfiable(AttributeId),
    #[error("the choice has {found} entries for {expected} {what}")]
    WrongChoiceLength {
        what: &'static str,
        found: usize,
        expected: usize,
    },
    #[error("choice {choice} is out of range for {what} {index}")]
    ChoiceOutOfRange {
        what: &'static str,
        index: usize,
        choice: usize,
    },
}

impl Candidates {
    /// Lists, for `request` by `verifier`, every way the `held`
    /// credentials can satisfy each disjunction and predicate.
    ///
    /// Attributes of one credential type within one conjunction come from
    /// one credential (see the module docs); a conjunction spanning several
    /// types yields one option per combination, at most
    /// [`MAX_CANDIDATE_OPTIONS`] per disjunction.
    pub fn compute(
        request: &SessionRequest,
        scheme: &Scheme,
        verifier: &VerifierId,
        held: &[HeldCredential<'_>],
    ) -> Result<Self, PlanError> {
        let mut disjunctions = Vec::with_capacity(request.disclose.len());
        for (index, disjunction) in request.disclose.iter().enumerate() {
            let mut options = Vec::new();
            let mut optional = false;
            for (ci, conjunction) in disjunction.iter().enumerate() {
                if conjunction.is_empty() {
                    optional = true;
                }
                for attributes in conjunction_options(conjunction, scheme, held)? {
                    if options.len() >= MAX_CANDIDATE_OPTIONS {
                        break;
                    }
                    options.push(CandidateOption {
                        conjunction: ci,
                        attributes,
                    });
                }
            }
            // Offer "share nothing" last, so that a wallet defaulting to the
            // first option shares what was asked, and the resident opts out.
            options.sort_by_key(|o| o.attributes.is_empty());
            let label = u32::try_from(index)
                .ok()
                .and_then(|i| request.labels.get(&i))
                .cloned();
            disjunctions.push(DisjunctionCandidates {
                label,
                optional,
                options,
            });
        }

        let mut predicates = Vec::with_capacity(request.predicates.len());
        for p in &request.predicates {
            let found = scheme
                .attribute(&p.attribute)
                .ok_or_else(|| RequestSchemeError::UnknownAttribute(p.attribute.clone()))?;
            let predicate = p.to_predicate(found.attribute.kind)?;
            let ct = p.attribute.credential_type();
            let credentials = held
                .iter()
                .enumerate()
                .filter(|(_, h)| *h.credential_type == ct)
                .filter(|(_, h)| {
                    h.values
                        .get(found.position)
                        .is_some_and(|v| predicate.holds_for(v))
                })
                .map(|(i, _)| i)
                .collect();
            predicates.push(PredicateCandidates {
                request: p.clone(),
                predicate,
                position: found.position,
                credentials,
            });
        }

        Ok(Candidates {
            disjunctions,
            predicates,
            pseudonym_scope: request.pseudonym_scope(verifier),
        })
    }

    /// Whether every disjunction and predicate can be satisfied.
    pub fn satisfiable(&self) -> bool {
        self.first_unsatisfiable().is_none()
    }

    /// The first part the wallet cannot satisfy, as an error.
    pub fn first_unsatisfiable(&self) -> Option<PlanError> {
        if let Some(i) = self.disjunctions.iter().position(|d| d.options.is_empty()) {
            return Some(PlanError::Unsatisfiable(i));
        }
        self.predicates
            .iter()
            .find(|p| p.credentials.is_empty())
            .map(|p| PlanError::PredicateUnsatisfiable(p.request.attribute.clone()))
    }

    /// The default choice: the first option of every disjunction (for an
    /// optional one that is a real option when the wallet has one) and the
    /// first credential for every predicate.
    pub fn default_choice(&self) -> Choice {
        Choice {
            options: vec![0; self.disjunctions.len()],
            predicates: vec![0; self.predicates.len()],
        }
    }

    /// Turns the resident's choice into a disclosure plan.
    pub fn plan(&self, choice: &Choice) -> Result<DisclosurePlan, PlanError> {
        if let Some(e) = self.first_unsatisfiable() {
            return Err(e);
        }
        if choice.options.len() != self.disjunctions.len() {
            return Err(PlanError::WrongChoiceLength {
                what: "disjunctions",
                found: choice.options.len(),
                expected: self.disjunctions.len(),
            });
        }
        if choice.predicates.len() != self.predicates.len() {
            return Err(PlanError::WrongChoiceLength {
                what: "predicates",
                found: choice.predicates.len(),
                expected: self.predicates.len(),
            });
        }
        let mut per_credential: BTreeMap<usize, PlanEntry> = BTreeMap::new();
        for (index, (d, &pick)) in self.disjunctions.iter().zip(&choice.options).enumerate() {
            let option = d.options.get(pick).ok_or(PlanError::ChoiceOutOfRange {
                what: "disjunction",
                index,
                choice: pick,
            })?;
            for a in &option.attributes {
                per_credential
                    .entry(a.credential)
                    .or_default()
                    .0
                    .insert(a.position);
            }
        }
        for (index, (p, &pick)) in self.predicates.iter().zip(&choice.predicates).enumerate() {
            let credential = *p.credentials.get(pick).ok_or(PlanError::ChoiceOutOfRange {
                what: "predicate",
                index,
                choice: pick,
            })?;
            per_credential
                .entry(credential)
                .or_default()
                .1
                .push((p.position, p.predicate.clone()));
        }
        Ok(DisclosurePlan {
            credentials: per_credential
                .into_iter()
                .map(|(credential, (disclose, predicates))| PlannedCredential {
                    credential,
                    // A predicate on an attribute that is disclosed anyway is
                    // answered by the value (and cannot be proven on a
                    // disclosed position).
                    predicates: predicates
                        .into_iter()
                        .filter(|(position, _)| !disclose.contains(position))
                        .collect(),
                    disclose: disclose.into_iter().collect(),
                })
                .collect(),
            pseudonym_scope: self.pseudonym_scope.clone(),
        })
    }
}

/// Why a plan could not be turned into a presentation.
#[derive(Debug, thiserror::Error)]
pub enum PlanProveError {
    #[error("the plan names held credential {0}, which was not given")]
    MissingCredential(usize),
    #[error("the issuer key of held credential {0} is not in the scheme")]
    UnknownKey(usize),
    #[error(transparent)]
    Prove(#[from] ProveError),
}

impl DisclosurePlan {
    /// Proves this plan for `context`: `held` are the wallet's tokens in
    /// the order given to [`Candidates::compute`] (one unused token per
    /// credential), `keys` the pinned scheme's issuer keys.
    pub fn prove<R: RngCore + CryptoRng, K: IssuerKeys + ?Sized>(
        &self,
        rng: &mut R,
        holder: &HolderSecret,
        context: ChallengeContext,
        held: &[&CredentialToken],
        keys: &K,
    ) -> Result<Presentation, PlanProveError> {
        let mut builder = PresentationBuilder::new(holder, context);
        for planned in &self.credentials {
            let token = *held
                .get(planned.credential)
                .ok_or(PlanProveError::MissingCredential(planned.credential))?;
            let key = keys
                .issuer_key(&token.token().key_id)
                .ok_or(PlanProveError::UnknownKey(planned.credential))?;
            let index = builder.token(token, key, &planned.disclose);
            for (position, predicate) in &planned.predicates {
                builder.predicate(index, *position, predicate.clone());
            }
        }
        if let Some(scope) = &self.pseudonym_scope {
            builder.pseudonym(scope.clone());
        }
        Ok(builder.prove(rng)?)
    }
}

/// Positions to disclose and predicates to prove, for one credential.
type PlanEntry = (BTreeSet<usize>, Vec<(usize, Predicate)>);

/// An attribute request with its position and kind in the scheme.
type RequestAt<'a> = (&'a AttributeRequest, usize, AttributeKind);

/// The ways `held` credentials fill one conjunction: for each credential
/// type in it, every held credential of that type that meets all of that
/// type's attribute requests; then every combination across types.
fn conjunction_options(
    conjunction: &Conjunction,
    scheme: &Scheme,
    held: &[HeldCredential<'_>],
) -> Result<Vec<Vec<CandidateAttribute>>, PlanError> {
    // Group the requests by credential type, keeping request order.
    let mut groups: Vec<(CredentialTypeId, Vec<RequestAt<'_>>)> = Vec::new();
    for a in conjunction {
        let found = scheme
            .attribute(&a.attribute)
            .ok_or_else(|| RequestSchemeError::UnknownAttribute(a.attribute.clone()))?;
        let ct = a.attribute.credential_type();
        let entry = (a, found.position, found.attribute.kind);
        match groups.iter_mut().find(|(t, _)| *t == ct) {
            Some((_, list)) => list.push(entry),
            None => groups.push((ct, vec![entry])),
        }
    }
    let mut combos: Vec<Vec<CandidateAttribute>> = vec![Vec::new()];
    for (ct, requests) in &groups {
        let mut fills: Vec<Vec<CandidateAttribute>> = Vec::new();
        for (hi, h) in held.iter().enumerate() {
            if h.credential_type != ct {
                continue;
            }
            let fill: Option<Vec<CandidateAttribute>> = requests
                .iter()
                .map(|(a, position, kind)| {
                    let value = h.values.get(*position)?;
                    a.accepts(*kind, value).then(|| CandidateAttribute {
                        attribute: a.attribute.clone(),
                        credential: hi,
                        position: *position,
                        value: value.clone(),
                    })
                })
                .collect();
            if let Some(fill) = fill {
                fills.push(fill);
            }
        }
        let mut next = Vec::new();
        'outer: for combo in &combos {
            for fill in &fills {
                if next.len() >= MAX_CANDIDATE_OPTIONS {
                    break 'outer;
                }
                let mut c = combo.clone();
                c.extend(fill.iter().cloned());
                next.push(c);
            }
        }
        combos = next;
        if combos.is_empty() {
            break;
        }
    }
    // Present attributes in the order the request named them.
    for combo in &mut combos {
        combo.sort_by_key(|c| {
            conjunction
                .iter()
                .position(|a| a.attribute == c.attribute)
                .unwrap_or(usize::MAX)
        });
    }
    Ok(combos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::demo::{demo_builder, generate_demo_issuer_keys};
    use proptest::prelude::*;
    use rand_core::OsRng;

    fn scheme() -> Scheme {
        let keys = generate_demo_issuer_keys(&mut OsRng, 1_000).unwrap();
        keys.iter()
            .fold(demo_builder().unwrap().validity(1_000, 2_000), |b, k| {
                b.add_issuer_key(k.public().clone())
            })
            .build()
            .unwrap()
    }

    fn aid(s: &str) -> AttributeId {
        s.parse().unwrap()
    }

    fn date(s: &str) -> Date {
        opt_date::parse(s).unwrap()
    }

    /// A request in IRMA's shape: two disjunctions, one with alternatives
    /// across credential types, one optional, a required value, a label.
    const IRMA_STYLE: &str = r#"{
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [
            [
                ["demo.utrecht.address.city", "demo.utrecht.address.postal_code"],
                [{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]
            ],
            [
                [],
                [{"type": "demo.rdw.vehicle.licence_plate", "notNull": true}]
            ]
        ],
        "labels": {"1": {"nl": "Kenteken", "en": "Licence plate"}}
    }"#;

    #[test]
    fn parses_irma_style_request() {
        let r = SessionRequest::from_json(IRMA_STYLE).unwrap();
        assert_eq!(r.kind(), SessionKind::Disclosing);
        assert_eq!(r.disclose().len(), 2);
        assert_eq!(r.disclose()[0][1][0].value.as_deref(), Some("Utrecht"));
        assert!(r.disclose()[1][0].is_empty());
        assert!(r.disclose()[1][1][0].not_null);
        assert_eq!(r.labels()[&1].en, "Licence plate");
        r.check_against(&scheme()).unwrap();
        // Printing and parsing again gives the same request, in JSON and CBOR.
        assert_eq!(SessionRequest::from_json(&r.to_json()).unwrap(), r);
        assert_eq!(SessionRequest::from_cbor(&r.to_cbor()).unwrap(), r);
        assert!(r.to_json().contains(r#""demo.utrecht.address.city""#));
    }

    #[test]
    fn parses_signature_and_issuance_requests() {
        let s = SessionRequest::from_json(
            r#"{"@context": "https://irma.app/ld/request/signature/v2",
                "message": "Ik maak bezwaar tegen vergunning 2026-114",
                "disclose": [[["demo.utrecht.personal.family_name"]]]}"#,
        )
        .unwrap();
        assert_eq!(s.kind(), SessionKind::Signing);
        assert_eq!(
            s.message(),
            Some("Ik maak bezwaar tegen vergunning 2026-114")
        );

        let i = SessionRequest::from_json(
            r#"{"@context": "https://irma.app/ld/request/issuance/v2",
                "credentials": [{"credential": "demo.utrecht.address",
                  "attributes": {"street": "Domplein", "house_number": "29",
                    "postal_code": "3512JE", "city": "Utrecht", "municipality": "Utrecht"}}]}"#,
        )
        .unwrap();
        let values = i.credentials()[0].attribute_values(&scheme()).unwrap();
        assert_eq!(values[1], AttributeValue::Integer(29));
        assert_eq!(values.len(), 5);
    }

    #[test]
    fn issuance_values_are_checked_against_the_scheme() {
        let s = scheme();
        let mut c = CredentialRequest {
            credential: "demo.utrecht.address".parse().unwrap(),
            attributes: BTreeMap::from([("street".to_owned(), "Domplein".to_owned())]),
        };
        assert!(matches!(
            c.attribute_values(&s),
            Err(RequestSchemeError::MissingIssuedAttribute(_))
        ));
        c.attributes.insert("colour".into(), "blue".into());
        assert!(matches!(
            c.attribute_values(&s),
            Err(RequestSchemeError::UnknownIssuedAttribute(_, _))
        ));
    }

    #[test]
    fn malformed_json_gives_clear_errors() {
        let cases: &[(&str, &str)] = &[
            ("{", "EOF"),
            (
                r#"{"disclose": [[["demo.utrecht.address.city"]]]}"#,
                "@context",
            ),
            (
                r#"{"@context": "https://example.org/other", "disclose": [[["demo.a.b.c"]]]}"#,
                "unknown @context",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[["demo.utrecht.city"]]]}"#,
                "4 dot-separated parts",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[[{"type": "demo.a.b.c", "valeu": "x"}]]]}"#,
                "unknown field `valeu`",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[[42]]]}"#,
                "attribute identifier",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[]]}"#,
                "has no options",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2"}"#,
                "asks for nothing",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/signature/v2", "disclose": [[["demo.a.b.c"]]]}"#,
                "needs a non-empty \"message\"",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "message": "x", "disclose": [[["demo.a.b.c"]]]}"#,
                "only a signature request",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[["demo.a.b.c", "demo.a.b.c"]]]}"#,
                "asked twice",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[["demo.a.b.c"]]], "labels": {"3": {"nl": "x", "en": "x"}}}"#,
                "label 3",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "pseudonym": "a/b"}"#,
                "pseudonym scope",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "predicates": [{"attribute": "demo.a.b.c", "operator": "ageAtLeast"}]}"#,
                "needs \"years\"",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "predicates": [{"attribute": "demo.a.b.c", "operator": "=="}]}"#,
                "unknown variant",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "predicates": [{"attribute": "demo.a.b.c", "operator": "ageAtLeast", "years": 18, "on": "25-11-2026"}]}"#,
                "YYYY-MM-DD",
            ),
            (
                r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[[{"type": "demo.a.b.c", "value": ""}]]]}"#,
                "is empty",
            ),
        ];
        for (json, expected) in cases {
            let err = SessionRequest::from_json(json).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{json}\n  gave: {err}\n  expected: {expected}"
            );
        }
    }

    #[test]
    fn malformed_cbor_is_refused() {
        let r = SessionRequest::from_json(IRMA_STYLE).unwrap();
        let bytes = r.to_cbor();
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            SessionRequest::from_cbor(&long),
            Err(crate::cbor::DecodeError::TrailingBytes)
        );
        for n in 0..bytes.len() {
            assert!(SessionRequest::from_cbor(&bytes[..n]).is_err());
        }
        // The map form where the bare identifier is canonical: non-canonical.
        let raw = crate::cbor::to_cbor(&serde_json::json!({
            "@context": DISCLOSURE_CONTEXT,
            "disclose": [[[{"type": "demo.a.b.c"}]]],
        }));
        assert_eq!(
            SessionRequest::from_cbor(&raw),
            Err(crate::cbor::DecodeError::NonCanonical)
        );
    }

    #[test]
    fn digest_binds_every_part() {
        let r = SessionRequest::from_json(IRMA_STYLE).unwrap();
        let mut other = r.clone();
        other.labels.clear();
        assert_ne!(r.request_digest(), other.request_digest());
        let mut other = r.clone();
        other.disclose[0][1][0].value = Some("Amsterdam".into());
        assert_ne!(r.request_digest(), other.request_digest());
        assert_eq!(r.request_digest(), r.clone().request_digest());
    }

    #[test]
    fn check_against_scheme_reports_problems() {
        let s = scheme();
        let unknown = SessionRequest::builder(SessionKind::Disclosing)
            .attributes([aid("demo.utrecht.address.colour")])
            .build()
            .unwrap();
        assert!(matches!(
            unknown.check_against(&s),
            Err(RequestSchemeError::UnknownAttribute(_))
        ));
        let bad_value = SessionRequest::builder(SessionKind::Disclosing)
            .disjunction(vec![vec![AttributeRequest::with_value(
                aid("demo.utrecht.address.house_number"),
                "twenty-nine",
            )]])
            .build()
            .unwrap();
        assert!(matches!(
            bad_value.check_against(&s),
            Err(RequestSchemeError::BadValue(_, _))
        ));
        let bad_predicate = SessionRequest::builder(SessionKind::Disclosing)
            .predicate(
                aid("demo.utrecht.address.city"),
                Condition::GreaterOrEqual("A".into()),
            )
            .build()
            .unwrap();
        assert!(matches!(
            bad_predicate.check_against(&s),
            Err(RequestSchemeError::PredicateKind(_, AttributeKind::String))
        ));
    }

    #[test]
    fn reference_date_is_filled_in_once() {
        let r = SessionRequest::builder(SessionKind::Disclosing)
            .predicate(
                aid("demo.utrecht.personal.date_of_birth"),
                Condition::AgeAtLeast {
                    years: 18,
                    on: None,
                },
            )
            .build()
            .unwrap();
        assert!(matches!(
            r.predicates()[0].to_predicate(AttributeKind::Date),
            Err(RequestSchemeError::NoReferenceDate(_))
        ));
        let r = r.with_reference_date(date("2026-11-25"));
        assert_eq!(
            r.predicates()[0].to_predicate(AttributeKind::Date).unwrap(),
            Predicate::AgeAtLeast {
                years: 18,
                on: date("2026-11-25")
            }
        );
        let again = r.clone().with_reference_date(date("2030-01-01"));
        assert_eq!(again, r);
    }

    #[test]
    fn pseudonym_scope_is_bound_to_the_verifier() {
        let r = SessionRequest::builder(SessionKind::Disclosing)
            .pseudonym("2026-parks")
            .build()
            .unwrap();
        let v: VerifierId = "demo.poll".parse().unwrap();
        assert_eq!(r.pseudonym_scope(&v).unwrap().0, "demo.poll/2026-parks");
    }

    #[test]
    fn over_asking_is_listed() {
        let s = scheme();
        let parking = s.verifier(&"demo.parking".parse().unwrap()).unwrap();
        let r = SessionRequest::builder(SessionKind::Disclosing)
            .attributes([
                aid("demo.utrecht.address.city"),
                aid("demo.utrecht.personal.bsn"),
            ])
            .predicate(
                aid("demo.utrecht.personal.date_of_birth"),
                Condition::AgeAtLeast {
                    years: 18,
                    on: None,
                },
            )
            .predicate(
                aid("demo.utrecht.address.house_number"),
                Condition::GreaterOrEqual("10".into()),
            )
            .pseudonym("x")
            .build()
            .unwrap();
        assert_eq!(
            r.unregistered(parking),
            vec![
                Unregistered::Attribute(aid("demo.utrecht.personal.bsn")),
                Unregistered::Predicate {
                    attribute: aid("demo.utrecht.address.house_number"),
                    operator: PredicateOperator::GreaterOrEqual
                },
                Unregistered::Pseudonym,
            ]
        );
        let json = serde_json::to_string(&r.unregistered(parking)).unwrap();
        assert_eq!(
            json,
            r#"[{"attribute":"demo.utrecht.personal.bsn"},{"predicate":{"attribute":"demo.utrecht.address.house_number","operator":">="}},"pseudonym"]"#
        );
        let back: Vec<Unregistered> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r.unregistered(parking));
        assert_eq!(back[0].to_string(), "attribute demo.utrecht.personal.bsn");
    }

    fn values(city: &str, postal: &str, municipality: &str) -> Vec<AttributeValue> {
        vec![
            AttributeValue::String("Domplein".into()),
            AttributeValue::Integer(29),
            AttributeValue::String(postal.into()),
            AttributeValue::String(city.into()),
            AttributeValue::String(municipality.into()),
        ]
    }

    #[test]
    fn candidates_list_every_choice_and_plan_follows_it() {
        let s = scheme();
        let address: CredentialTypeId = "demo.utrecht.address".parse().unwrap();
        let vehicle: CredentialTypeId = "demo.rdw.vehicle".parse().unwrap();
        let personal: CredentialTypeId = "demo.utrecht.personal".parse().unwrap();
        let home = values("Utrecht", "3512JE", "Utrecht");
        let old = values("De Meern", "3454AA", "Utrecht");
        let car = vec![
            AttributeValue::String("XX-123-Y".into()),
            AttributeValue::String("Fiat".into()),
            AttributeValue::String("999990019".into()),
        ];
        let me = vec![
            AttributeValue::String("Anna".into()),
            AttributeValue::String("de Vries".into()),
            AttributeValue::Date(date("2001-03-14")),
            AttributeValue::String("999990019".into()),
        ];
        let held = [
            HeldCredential {
                credential_type: &address,
                values: &home,
            },
            HeldCredential {
                credential_type: &vehicle,
                values: &car,
            },
            HeldCredential {
                credential_type: &address,
                values: &old,
            },
            HeldCredential {
                credential_type: &personal,
                values: &me,
            },
        ];
        let r = SessionRequest::from_json(IRMA_STYLE)
            .unwrap()
            .into_builder_for_test()
            .predicate(
                aid("demo.utrecht.personal.date_of_birth"),
                Condition::AgeAtLeast {
                    years: 18,
                    on: Some(date("2026-11-25")),
                },
            )
            .build()
            .unwrap();
        let v: VerifierId = "demo.parking".parse().unwrap();
        let c = Candidates::compute(&r, &s, &v, &held).unwrap();
        assert!(c.satisfiable());
        // Disjunction 0: city+postal from either address, or municipality
        // "Utrecht" from either address: four options.
        let d0 = &c.disjunctions[0];
        assert_eq!(d0.options.len(), 4);
        assert!(!d0.optional);
        assert_eq!(d0.options[0].attributes[0].credential, 0);
        assert_eq!(d0.options[1].attributes[0].credential, 2);
        assert_eq!(d0.options[0].attributes[1].position, 2);
        // Disjunction 1: the licence plate, or nothing (offered last).
        let d1 = &c.disjunctions[1];
        assert!(d1.optional);
        assert_eq!(d1.options.len(), 2);
        assert!(d1.options[1].attributes.is_empty());
        assert_eq!(d1.label.as_ref().unwrap().nl, "Kenteken");
        assert_eq!(c.predicates[0].credentials, vec![3]);
        // The CLI prints the choices as JSON for scripts.
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["disjunctions"][1]["label"]["en"], "Licence plate");
        assert_eq!(
            json["disjunctions"][0]["options"][0]["attributes"][0]["attribute"],
            "demo.utrecht.address.city"
        );

        let plan = c
            .plan(&Choice {
                options: vec![1, 1],
                predicates: vec![0],
            })
            .unwrap();
        assert_eq!(
            plan.credentials,
            vec![
                PlannedCredential {
                    credential: 2,
                    disclose: vec![2, 3],
                    predicates: vec![]
                },
                PlannedCredential {
                    credential: 3,
                    disclose: vec![],
                    predicates: vec![(2, c.predicates[0].predicate.clone())]
                },
            ]
        );
        let plan = c.plan(&c.default_choice()).unwrap();
        assert_eq!(plan.credentials[0].credential, 0);
        assert_eq!(
            plan.credentials[1],
            PlannedCredential {
                credential: 1,
                disclose: vec![0],
                predicates: vec![]
            }
        );

        assert!(matches!(
            c.plan(&Choice {
                options: vec![9, 0],
                predicates: vec![0]
            }),
            Err(PlanError::ChoiceOutOfRange { .. })
        ));
        assert!(matches!(
            c.plan(&Choice {
                options: vec![0],
                predicates: vec![0]
            }),
            Err(PlanError::WrongChoiceLength { .. })
        ));
    }

    #[test]
    fn candidates_respect_values_and_same_credential_rule() {
        let s = scheme();
        let address: CredentialTypeId = "demo.utrecht.address".parse().unwrap();
        let mut partial = values("Utrecht", "", "Amsterdam");
        partial[2] = AttributeValue::Absent;
        let held = [HeldCredential {
            credential_type: &address,
            values: &partial,
        }];
        let v: VerifierId = "demo.parking".parse().unwrap();
        // Not-null on an absent value: unsatisfiable. Required value
        // differs: unsatisfiable.
        let r = SessionRequest::from_json(
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2",
                "disclose": [[
                    [{"type": "demo.utrecht.address.city", "notNull": true},
                     {"type": "demo.utrecht.address.postal_code", "notNull": true}],
                    [{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]
                ]]}"#,
        )
        .unwrap();
        let c = Candidates::compute(&r, &s, &v, &held).unwrap();
        assert!(c.disjunctions[0].options.is_empty());
        assert_eq!(c.first_unsatisfiable(), Some(PlanError::Unsatisfiable(0)));
        assert!(matches!(
            c.plan(&c.default_choice()),
            Err(PlanError::Unsatisfiable(0))
        ));
        // City from one address and postal code from another do not make
        // one address.
        let mut only_postal = values("", "3512JE", "Amsterdam");
        only_postal[3] = AttributeValue::Absent;
        let two = [
            HeldCredential {
                credential_type: &address,
                values: &partial,
            },
            HeldCredential {
                credential_type: &address,
                values: &only_postal,
            },
        ];
        let c = Candidates::compute(&r, &s, &v, &two).unwrap();
        assert!(c.disjunctions[0].options.is_empty());
        // A bare identifier accepts an absent value (disclosed as NULL).
        let r = SessionRequest::builder(SessionKind::Disclosing)
            .attributes([aid("demo.utrecht.address.postal_code")])
            .build()
            .unwrap();
        let c = Candidates::compute(&r, &s, &v, &held).unwrap();
        assert_eq!(
            c.disjunctions[0].options[0].attributes[0].value,
            AttributeValue::Absent
        );
        // A predicate nobody can prove.
        let r = SessionRequest::builder(SessionKind::Disclosing)
            .predicate(
                aid("demo.utrecht.personal.date_of_birth"),
                Condition::AgeAtLeast {
                    years: 18,
                    on: Some(date("2026-11-25")),
                },
            )
            .build()
            .unwrap();
        let c = Candidates::compute(&r, &s, &v, &held).unwrap();
        assert!(matches!(
            c.first_unsatisfiable(),
            Some(PlanError::PredicateUnsatisfiable(_))
        ));
    }

    impl SessionRequest {
        fn into_builder_for_test(self) -> SessionRequestBuilder {
            SessionRequestBuilder { request: self }
        }
    }

    fn arb_attribute() -> impl Strategy<Value = AttributeId> {
        ("[a-z]{1,3}", "[a-z_]{1,5}", "[a-z0-9-]{1,5}")
            .prop_map(|(i, c, a)| format!("demo.{i}.{c}.{a}").parse().unwrap())
    }

    fn arb_attribute_request() -> impl Strategy<Value = AttributeRequest> {
        (
            arb_attribute(),
            proptest::option::of("[ -~]{1,12}"),
            any::<bool>(),
        )
            .prop_map(|(attribute, value, not_null)| AttributeRequest {
                not_null: not_null && value.is_none(),
                attribute,
                value,
            })
    }

    fn arb_request() -> impl Strategy<Value = SessionRequest> {
        let conjunction =
            proptest::collection::vec(arb_attribute_request(), 0..4).prop_map(|mut c| {
                let mut seen = BTreeSet::new();
                c.retain(|a| seen.insert(a.attribute.clone()));
                c
            });
        let disjunction = proptest::collection::vec(conjunction, 1..4);
        let predicate = (
            arb_attribute(),
            0u8..3,
            "[0-9]{1,4}",
            1u8..100,
            any::<bool>(),
        )
            .prop_map(|(attribute, op, bound, years, dated)| PredicateRequest {
                attribute,
                condition: match op {
                    0 => Condition::GreaterOrEqual(bound),
                    1 => Condition::LessOrEqual(bound),
                    _ => Condition::AgeAtLeast {
                        years,
                        on: dated.then(|| date("2026-11-25")),
                    },
                },
            });
        (
            0u8..3,
            proptest::collection::vec(disjunction, 1..4),
            proptest::collection::vec(predicate, 0..3),
            proptest::option::of("[a-z0-9_.-]{1,10}"),
            "[ -~]{1,40}",
            proptest::option::of(("[ -~]{0,10}", "[ -~]{0,10}")),
        )
            .prop_map(|(kind, disclose, predicates, pseudonym, message, label)| {
                let kind = match kind {
                    0 => SessionKind::Disclosing,
                    1 => SessionKind::Signing,
                    _ => SessionKind::Issuing,
                };
                let mut b = SessionRequest::builder(kind);
                for d in disclose {
                    b = b.disjunction(d);
                }
                if let Some((nl, en)) = label {
                    b = b.labelled_disjunction(vec![vec![]], Translated::new(nl, en));
                }
                for p in predicates {
                    b = b.predicate(p.attribute, p.condition);
                }
                if let Some(p) = pseudonym {
                    b = b.pseudonym(p);
                }
                match kind {
                    SessionKind::Signing => b = b.message(message),
                    SessionKind::Issuing => {
                        b = b.credential(CredentialRequest {
                            credential: "demo.utrecht.address".parse().unwrap(),
                            attributes: BTreeMap::from([("city".to_owned(), message)]),
                        })
                    }
                    SessionKind::Disclosing => {}
                }
                b.build().unwrap()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn json_and_cbor_round_trip(r in arb_request()) {
            let json = r.to_json();
            prop_assert_eq!(&SessionRequest::from_json(&json).unwrap(), &r);
            let pretty = r.to_json_pretty();
            prop_assert_eq!(&SessionRequest::from_json(&pretty).unwrap(), &r);
            let cbor = r.to_cbor();
            prop_assert_eq!(&SessionRequest::from_cbor(&cbor).unwrap(), &r);
            prop_assert_eq!(SessionRequest::from_cbor(&cbor).unwrap().request_digest(), r.request_digest());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SessionRequest::from_cbor(&bytes);
            let _ = SessionRequest::from_json(&String::from_utf8_lossy(&bytes));
        }
    }
}
