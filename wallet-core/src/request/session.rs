//! The session request: parsing and validation, its parts, the check
//! against the scheme and the over-asking check, and its builder.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Date;

use super::attribute::{AttributeRequest, Disjunction};
use super::credential::CredentialRequest;
use super::error::{RequestError, RequestParseError, RequestSchemeError};
use super::predicate::{Condition, PredicateOperator, PredicateRequest};
use super::{
    SessionKind, MAX_CONJUNCTION_LEN, MAX_CREDENTIALS, MAX_DISJUNCTIONS, MAX_MESSAGE, MAX_OPTIONS,
    MAX_PREDICATES, MAX_SCOPE_NAME, MAX_TEXT,
};
use crate::encoding::AttributeValue;
use crate::ids::{AttributeId, VerifierId};
use crate::pseudonym::Scope;
use crate::scheme::{RegisteredVerifier, Scheme, Translated};

/// A well-formed session request (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSessionRequest", into = "RawSessionRequest")]
pub struct SessionRequest {
    pub(super) kind: SessionKind,
    pub(super) disclose: Vec<Disjunction>,
    pub(super) predicates: Vec<PredicateRequest>,
    pub(super) pseudonym: Option<String>,
    pub(super) message: Option<String>,
    pub(super) labels: BTreeMap<u32, Translated>,
    pub(super) credentials: Vec<CredentialRequest>,
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

    /// The challenge context a presentation answering this request for
    /// `verifier` with the session's `nonce` must carry: the request's
    /// digest, and its message for a signing request. `timestamp` is the
    /// verifier's for a signing session, `None` otherwise. The one place
    /// both sides build it (wallet, wire messages, verifier sessions).
    pub fn challenge_context(
        &self,
        verifier: &VerifierId,
        nonce: &[u8],
        timestamp: Option<u64>,
    ) -> crate::presentation::ChallengeContext {
        crate::presentation::ChallengeContext {
            verifier: verifier.to_string(),
            request_digest: self.request_digest(),
            nonce: nonce.to_vec(),
            message: self.message().map(str::to_owned),
            timestamp,
        }
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
    pub(super) request: SessionRequest,
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
