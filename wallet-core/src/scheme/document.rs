//! The scheme document: issuers, credential types with their attributes,
//! registered verifiers and issuer keys, and its consistency check. What
//! the document means before anyone signed it; [`super::signed`] makes it
//! trusted.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{MAX_SCHEME_TEXT, SCHEME_FORMAT_VERSION};
use crate::cbor;
use crate::encoding::AttributeKind;
use crate::ids::{AttributeId, CredentialTypeId, IssuerId, SchemeId, VerifierId};
use crate::keys::{IssuerPublicKey, KeyParams, MAX_ATTRIBUTES};
use crate::token::{TokenPolicy, TokenPolicyError};

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

/// A text in Dutch and English.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Translated {
    /// Dutch.
    pub nl: String,
    /// English.
    pub en: String,
}

impl Translated {
    /// A text in both languages.
    pub fn new(nl: impl Into<String>, en: impl Into<String>) -> Self {
        Translated {
            nl: nl.into(),
            en: en.into(),
        }
    }

    /// The text for `language` (`"nl"`, otherwise English).
    pub fn get(&self, language: &str) -> &str {
        if language == "nl" {
            &self.nl
        } else {
            &self.en
        }
    }

    fn too_long(&self) -> bool {
        self.nl.len() > MAX_SCHEME_TEXT || self.en.len() > MAX_SCHEME_TEXT
    }
}

/// An issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    /// `scheme.issuer`.
    pub id: IssuerId,
    /// Display name.
    pub name: Translated,
    /// Contact (web page or e-mail address) for residents.
    pub contact: String,
}

/// One attribute of a credential type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeType {
    /// `scheme.issuer.credential.attribute`.
    pub id: AttributeId,
    /// How values are encoded.
    pub kind: AttributeKind,
    /// Whether a credential may lack it (absent value).
    pub optional: bool,
    /// Label shown to the resident.
    pub label: Translated,
}

/// A credential type: its attributes in position order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialType {
    /// `scheme.issuer.credential`.
    pub id: CredentialTypeId,
    /// Display name.
    pub name: Translated,
    /// The attributes; index = attribute position (0-based).
    pub attributes: Vec<AttributeType>,
    /// How long its tokens are valid, seconds (1 s to 8 weeks): the
    /// revocation latency. Wallets accept only the expiry that follows
    /// ([`crate::token::TokenPolicy`]).
    pub token_validity: u64,
    /// Expiry grid step, seconds: 86400 (midnights UTC) or 604800 (Mondays
    /// 00:00 UTC).
    pub grid_step: u64,
}

impl CredentialType {
    /// The attribute kinds in position order (what an issuer key fixes).
    pub fn kinds(&self) -> Vec<AttributeKind> {
        self.attributes.iter().map(|a| a.kind).collect()
    }

    /// Position (0-based) of an attribute of this type.
    pub fn position(&self, attribute: &AttributeId) -> Option<usize> {
        self.attributes.iter().position(|a| &a.id == attribute)
    }

    /// The token validity and grid step as a checked policy.
    pub fn token_policy(&self) -> Result<TokenPolicy, TokenPolicyError> {
        TokenPolicy::new(self.token_validity, self.grid_step)
    }

    /// Parameters for generating an issuer key for this type.
    pub fn key_params(&self, counter: u32, valid_from: u64, valid_until: u64) -> KeyParams {
        KeyParams {
            credential_type: self.id.clone(),
            counter,
            valid_from,
            valid_until,
            attributes: self.kinds(),
        }
    }
}

/// A predicate a verifier may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedPredicate {
    /// The attribute.
    pub attribute: AttributeId,
    /// The comparison.
    pub operator: PredicateOperator,
}

/// A verifier registered in the scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredVerifier {
    /// `scheme.verifier`; bound into every presentation made for it.
    pub id: VerifierId,
    /// Display name.
    pub name: Translated,
    /// Host names the verifier serves sessions from.
    pub hosts: Vec<String>,
    /// Attributes it may ask to be disclosed.
    pub attributes: Vec<AttributeId>,
    /// Predicates it may ask for.
    pub predicates: Vec<AllowedPredicate>,
    /// Whether it may ask a pseudonym (in its own scopes only).
    pub pseudonym: bool,
    /// Why it asks, shown on the consent screen.
    pub purpose: Translated,
}

impl RegisteredVerifier {
    /// Whether `host` is one of the registered host names (ASCII
    /// case-insensitive, exact).
    pub fn serves_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// The scheme document (unsigned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    /// Format version, [`SCHEME_FORMAT_VERSION`].
    pub v: u16,
    /// The scheme id, first part of every identifier in it.
    pub id: SchemeId,
    /// Monotonic document version; wallets refuse to go back.
    pub version: u64,
    /// Unix seconds when this version was made.
    pub issued_at: u64,
    /// Unix seconds after which this version is no longer trusted.
    pub expires_at: u64,
    /// Display name.
    pub name: Translated,
    /// Issuers.
    pub issuers: Vec<Issuer>,
    /// Credential types.
    pub credential_types: Vec<CredentialType>,
    /// Issuer public keys, all counters (old ones stay until `valid_until`).
    #[serde(with = "issuer_keys_serde")]
    pub issuer_keys: Vec<IssuerPublicKey>,
    /// Registered verifiers.
    pub verifiers: Vec<RegisteredVerifier>,
}

/// An attribute found in the scheme, with its credential type and position.
#[derive(Debug, Clone, Copy)]
pub struct FoundAttribute<'a> {
    /// The credential type holding it.
    pub credential: &'a CredentialType,
    /// Its position (0-based).
    pub position: usize,
    /// Its definition.
    pub attribute: &'a AttributeType,
}

/// Why a scheme document is inconsistent (or cannot be built).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    #[error("unknown scheme format version {0}")]
    UnknownFormat(u16),
    #[error("{0} does not belong to scheme {1}")]
    ForeignId(String, SchemeId),
    #[error("{0} is defined twice")]
    Duplicate(String),
    #[error("credential type {0} names issuer {1}, which is not in the scheme")]
    UnknownIssuer(CredentialTypeId, IssuerId),
    #[error("credential type {0} must have 1 to {MAX_ATTRIBUTES} attributes")]
    AttributeCount(CredentialTypeId),
    #[error("attribute {0} does not belong to credential type {1}")]
    MisplacedAttribute(AttributeId, CredentialTypeId),
    #[error("credential type {0}: {1}")]
    TokenPolicy(CredentialTypeId, TokenPolicyError),
    #[error("issuer key {0} (counter {1}) is for a credential type not in the scheme")]
    KeyForUnknownType(CredentialTypeId, u32),
    #[error(
        "issuer key {0} (counter {1}) has attribute kinds that differ from the credential type"
    )]
    KeyKindsMismatch(CredentialTypeId, u32),
    #[error("issuer key {0} (counter {1}) is invalid: {2}")]
    BadKey(CredentialTypeId, u32, String),
    #[error("verifier {0} names attribute {1}, which is not in the scheme")]
    UnknownVerifierAttribute(VerifierId, AttributeId),
    #[error("verifier {0} registers predicate {1} on {2}, which does not fit its kind")]
    PredicateKind(VerifierId, PredicateOperator, AttributeId),
    #[error("verifier {0} has no host names")]
    NoHosts(VerifierId),
    #[error("the scheme expires before it is issued")]
    Validity,
    #[error("a text of {0} is empty or longer than {MAX_SCHEME_TEXT} bytes")]
    Text(String),
}

fn check_text(t: &Translated, owner: &dyn fmt::Display) -> Result<(), SchemeError> {
    if t.too_long() || t.nl.is_empty() || t.en.is_empty() {
        return Err(SchemeError::Text(owner.to_string()));
    }
    Ok(())
}

impl Scheme {
    /// The credential type `id`.
    pub fn credential_type(&self, id: &CredentialTypeId) -> Option<&CredentialType> {
        self.credential_types.iter().find(|c| &c.id == id)
    }

    /// The attribute `id` with its credential type and position.
    pub fn attribute(&self, id: &AttributeId) -> Option<FoundAttribute<'_>> {
        let credential = self.credential_type(&id.credential_type())?;
        let position = credential.position(id)?;
        let attribute = credential.attributes.get(position)?;
        Some(FoundAttribute {
            credential,
            position,
            attribute,
        })
    }

    /// The attribute at `position` of credential type `credential`.
    pub fn attribute_at(
        &self,
        credential: &CredentialTypeId,
        position: usize,
    ) -> Option<&AttributeType> {
        self.credential_type(credential)?.attributes.get(position)
    }

    /// The issuer `id`.
    pub fn issuer(&self, id: &IssuerId) -> Option<&Issuer> {
        self.issuers.iter().find(|i| &i.id == id)
    }

    /// The registered verifier `id`.
    pub fn verifier(&self, id: &VerifierId) -> Option<&RegisteredVerifier> {
        self.verifiers.iter().find(|v| &v.id == id)
    }

    /// The issuer key for `credential` with `counter`.
    pub fn issuer_key_by_counter(
        &self,
        credential: &CredentialTypeId,
        counter: u32,
    ) -> Option<&IssuerPublicKey> {
        self.issuer_keys
            .iter()
            .find(|k| &k.credential_type == credential && k.counter == counter)
    }

    /// The newest key of `credential` valid at `now` (what an issuer signs with).
    pub fn current_issuer_key(
        &self,
        credential: &CredentialTypeId,
        now: u64,
    ) -> Option<&IssuerPublicKey> {
        self.issuer_keys
            .iter()
            .filter(|k| &k.credential_type == credential && k.is_valid_at(now))
            .max_by_key(|k| k.counter)
    }

    /// Indented JSON of the (unsigned) document, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Canonical CBOR of the document (what is signed).
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Checks the document is consistent: every identifier belongs to this
    /// scheme and is defined once, every credential type has a listed issuer
    /// and its own attributes, every key matches its credential type's kinds,
    /// every verifier names existing attributes and fitting predicates.
    pub fn validate(&self) -> Result<(), SchemeError> {
        if self.v != SCHEME_FORMAT_VERSION {
            return Err(SchemeError::UnknownFormat(self.v));
        }
        if self.expires_at <= self.issued_at {
            return Err(SchemeError::Validity);
        }
        check_text(&self.name, &self.id)?;
        let foreign = |id: &dyn fmt::Display, scheme: SchemeId| {
            if scheme == self.id {
                Ok(())
            } else {
                Err(SchemeError::ForeignId(id.to_string(), self.id.clone()))
            }
        };
        let mut seen = BTreeSet::new();
        let mut once = |id: &dyn fmt::Display| {
            let s = id.to_string();
            if seen.insert(s.clone()) {
                Ok(())
            } else {
                Err(SchemeError::Duplicate(s))
            }
        };
        for i in &self.issuers {
            foreign(&i.id, i.id.scheme())?;
            once(&i.id)?;
            check_text(&i.name, &i.id)?;
            if i.contact.len() > MAX_SCHEME_TEXT {
                return Err(SchemeError::Text(i.id.to_string()));
            }
        }
        for c in &self.credential_types {
            once(&c.id)?;
            let issuer = c.id.issuer();
            if self.issuer(&issuer).is_none() {
                return Err(SchemeError::UnknownIssuer(c.id.clone(), issuer));
            }
            check_text(&c.name, &c.id)?;
            c.token_policy()
                .map_err(|e| SchemeError::TokenPolicy(c.id.clone(), e))?;
            if c.attributes.is_empty() || c.attributes.len() > MAX_ATTRIBUTES {
                return Err(SchemeError::AttributeCount(c.id.clone()));
            }
            for a in &c.attributes {
                if a.id.credential_type() != c.id {
                    return Err(SchemeError::MisplacedAttribute(a.id.clone(), c.id.clone()));
                }
                once(&a.id)?;
                check_text(&a.label, &a.id)?;
            }
        }
        let mut key_slots = BTreeSet::new();
        for k in &self.issuer_keys {
            let ct = self.credential_type(&k.credential_type).ok_or_else(|| {
                SchemeError::KeyForUnknownType(k.credential_type.clone(), k.counter)
            })?;
            if !key_slots.insert((k.credential_type.clone(), k.counter)) {
                return Err(SchemeError::Duplicate(format!(
                    "issuer key {} counter {}",
                    k.credential_type, k.counter
                )));
            }
            // Re-decoding runs the key's own checks (version, attribute
            // count, validity period) on keys that arrived inside the scheme.
            IssuerPublicKey::from_bytes(&k.to_bytes()).map_err(|e| {
                SchemeError::BadKey(k.credential_type.clone(), k.counter, e.to_string())
            })?;
            if k.attributes != ct.kinds() {
                return Err(SchemeError::KeyKindsMismatch(
                    k.credential_type.clone(),
                    k.counter,
                ));
            }
        }
        for v in &self.verifiers {
            foreign(&v.id, v.id.scheme())?;
            once(&v.id)?;
            check_text(&v.name, &v.id)?;
            check_text(&v.purpose, &v.id)?;
            if v.hosts.is_empty() || v.hosts.iter().any(|h| h.is_empty() || h.len() > 253) {
                return Err(SchemeError::NoHosts(v.id.clone()));
            }
            for a in &v.attributes {
                if self.attribute(a).is_none() {
                    return Err(SchemeError::UnknownVerifierAttribute(
                        v.id.clone(),
                        a.clone(),
                    ));
                }
            }
            for p in &v.predicates {
                let found = self.attribute(&p.attribute).ok_or_else(|| {
                    SchemeError::UnknownVerifierAttribute(v.id.clone(), p.attribute.clone())
                })?;
                let fits = match p.operator {
                    PredicateOperator::AgeAtLeast => found.attribute.kind == AttributeKind::Date,
                    _ => found.attribute.kind.is_ordered(),
                };
                if !fits {
                    return Err(SchemeError::PredicateKind(
                        v.id.clone(),
                        p.operator,
                        p.attribute.clone(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// serde of the issuer key list: in CBOR the keys themselves; in JSON a
/// readable summary plus the key's own canonical CBOR in hex (the summary
/// is checked against the bytes on reading).
mod issuer_keys_serde {
    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ReadableKey {
        key_id: String,
        credential_type: CredentialTypeId,
        counter: u32,
        valid_from: u64,
        valid_until: u64,
        key: String,
    }

    pub fn serialize<S: Serializer>(keys: &[IssuerPublicKey], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            let readable: Vec<ReadableKey> = keys
                .iter()
                .map(|k| ReadableKey {
                    key_id: k.key_id().to_string(),
                    credential_type: k.credential_type.clone(),
                    counter: k.counter,
                    valid_from: k.valid_from,
                    valid_until: k.valid_until,
                    key: hex::encode(k.to_bytes()),
                })
                .collect();
            readable.serialize(s)
        } else {
            keys.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IssuerPublicKey>, D::Error> {
        use serde::de::Error;
        if d.is_human_readable() {
            let readable = Vec::<ReadableKey>::deserialize(d)?;
            readable
                .into_iter()
                .map(|r| {
                    let bytes = hex::decode(&r.key)
                        .map_err(|_| D::Error::custom("issuer key \"key\" is not hex"))?;
                    let k = IssuerPublicKey::from_bytes(&bytes).map_err(D::Error::custom)?;
                    if k.key_id().to_string() != r.key_id
                        || k.credential_type != r.credential_type
                        || k.counter != r.counter
                        || k.valid_from != r.valid_from
                        || k.valid_until != r.valid_until
                    {
                        return Err(D::Error::custom(
                            "issuer key summary does not match its key bytes",
                        ));
                    }
                    Ok(k)
                })
                .collect()
        } else {
            Vec::<IssuerPublicKey>::deserialize(d)
        }
    }
}
