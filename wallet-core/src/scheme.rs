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
mod published;

pub use build::{
    AttributeDescription, CredentialDescription, IssuerDescription, SchemeBuildError,
    SchemeBuilder, SchemeDescription, VerifierDescription,
};
pub use published::{PublishedKeyError, PublishedSchemeKey, SchemeParseError, MAX_SCHEME_BYTES};

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::cbor::{self, check_version, DecodeError};
use crate::encoding::AttributeKind;
use crate::ids::{AttributeId, CredentialTypeId, IssuerId, SchemeId, VerifierId};
use crate::keys::{IssuerPublicKey, KeyId, KeyParams, MAX_ATTRIBUTES};
use crate::presentation::IssuerKeys;
use crate::request::PredicateOperator;
use crate::token::{TokenPolicy, TokenPolicyError};

/// Version of the scheme document format (both the signed envelope and the
/// document inside it).
pub const SCHEME_FORMAT_VERSION: u16 = 1;
/// Domain-separation label of the scheme signature.
pub const SCHEME_SIGNATURE_LABEL: &[u8] = b"kenmerk/v1/scheme";
/// Longest name, label, purpose or contact text, in bytes.
pub const MAX_SCHEME_TEXT: usize = 2048;

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

    /// Validates the document and signs its canonical CBOR.
    pub fn sign(&self, key: &SchemeSigningKey) -> Result<SignedScheme, SchemeError> {
        self.validate()?;
        let scheme = self.to_cbor();
        let signature = key.pair.sign(&signed_message(&scheme)).as_ref().to_vec();
        Ok(SignedScheme {
            v: SCHEME_FORMAT_VERSION,
            scheme,
            signature,
        })
    }

    /// A builder holding this document, to make its next version (add a
    /// rotated key, a verifier; bump the version).
    pub fn into_builder(self) -> SchemeBuilder {
        SchemeBuilder { scheme: self }
    }
}

fn signed_message(scheme_cbor: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + SCHEME_SIGNATURE_LABEL.len() + scheme_cbor.len());
    for part in [SCHEME_SIGNATURE_LABEL, scheme_cbor] {
        // A scheme is far below 4 GiB (decoders cap messages at 1 MiB).
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(part);
    }
    m
}

// ---------------------------------------------------------------------------
// Keys

/// The Ed25519 key that signs schemes (kept offline by the scheme manager).
pub struct SchemeSigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Ed25519KeyPair,
}

impl fmt::Debug for SchemeSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemeSigningKey")
            .field("public", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// Why a scheme signing key could not be made or loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeKeyError {
    #[error("the system random generator failed")]
    Random,
    #[error("not an Ed25519 PKCS#8 key: {0}")]
    Rejected(String),
    #[error("a scheme public key is 32 bytes, written as 64 hex digits")]
    PublicKeyFormat,
}

impl SchemeSigningKey {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Result<Self, SchemeKeyError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SchemeKeyError::Random)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Loads a PKCS#8 (v1 or v2) Ed25519 key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, SchemeKeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|e| SchemeKeyError::Rejected(e.to_string()))?;
        Ok(SchemeSigningKey {
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            pair,
        })
    }

    /// The PKCS#8 bytes, for the key file. Secret.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key wallets pin.
    pub fn public_key(&self) -> SchemePublicKey {
        let mut k = [0u8; 32];
        k.copy_from_slice(self.pair.public_key().as_ref());
        SchemePublicKey(k)
    }
}

/// An Ed25519 scheme public key. Hex in text (JSON, TOML, `Display`), a
/// byte string in CBOR.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SchemePublicKey(pub [u8; 32]);

impl SchemePublicKey {
    /// SHA-256 of the key in hex, in groups of four digits, for people to
    /// compare out of band (`"1a2b 3c4d ..."`).
    pub fn fingerprint(&self) -> String {
        let digest = hex::encode(Sha256::digest(self.0));
        digest
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for SchemePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SchemePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SchemePublicKey({self})")
    }
}

impl FromStr for SchemePublicKey {
    type Err = SchemeKeyError;
    fn from_str(s: &str) -> Result<Self, SchemeKeyError> {
        let mut k = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut k).map_err(|_| SchemeKeyError::PublicKeyFormat)?;
        Ok(SchemePublicKey(k))
    }
}

impl Serialize for SchemePublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            cbor::bytes32::serialize(&self.0, s)
        }
    }
}

impl<'de> Deserialize<'de> for SchemePublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            cbor::bytes32::deserialize(d).map(SchemePublicKey)
        }
    }
}

// ---------------------------------------------------------------------------
// Signed scheme

/// A signed scheme: the exact canonical CBOR bytes of the document and the
/// Ed25519 signature over them.
///
/// CBOR: `{"v": 1, "scheme": bytes, "sig": bytes}`. JSON (for people):
/// `{"v": 1, "scheme": {document}, "sig": "hex"}`; reading JSON re-encodes
/// the document canonically, so the signature still verifies if and only if
/// the document is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedScheme {
    v: u16,
    scheme: Vec<u8>,
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedSchemeCbor {
    v: u16,
    #[serde(with = "cbor::bytes")]
    scheme: Vec<u8>,
    #[serde(with = "cbor::bytes")]
    sig: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedSchemeJson {
    v: u16,
    scheme: Scheme,
    sig: String,
}

/// Why a signed scheme is not trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeVerifyError {
    #[error("unknown scheme format version {0}")]
    UnknownFormat(u16),
    #[error("the scheme signature does not verify under the pinned scheme key")]
    BadSignature,
    #[error("the signed scheme document does not decode: {0}")]
    Decode(#[from] DecodeError),
    #[error("the scheme document is inconsistent: {0}")]
    Invalid(#[from] SchemeError),
    #[error("scheme version {found} is older than the trusted version {trusted} (rollback)")]
    Rollback { found: u64, trusted: u64 },
    #[error("the scheme expired at {expires_at} (now {now})")]
    Expired { expires_at: u64, now: u64 },
}

/// Why text is not a signed scheme.
#[derive(Debug, thiserror::Error)]
pub enum SchemeJsonError {
    #[error("invalid scheme JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the signature is not hex")]
    SignatureHex,
}

impl SignedScheme {
    /// Canonical CBOR (the distribution format).
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::to_cbor(&SignedSchemeCbor {
            v: self.v,
            scheme: self.scheme.clone(),
            sig: self.signature.clone(),
        })
    }

    /// Decodes the envelope (the document inside is decoded by [`Self::verify`],
    /// after the signature check).
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: SignedSchemeCbor = cbor::from_cbor(bytes)?;
        check_version(raw.v, SCHEME_FORMAT_VERSION)?;
        Ok(SignedScheme {
            v: raw.v,
            scheme: raw.scheme,
            signature: raw.sig,
        })
    }

    /// Indented JSON with the document readable.
    pub fn to_json_pretty(&self) -> Result<String, SchemeVerifyError> {
        let scheme: Scheme = cbor::from_cbor(&self.scheme)?;
        let json = SignedSchemeJson {
            v: self.v,
            scheme,
            sig: hex::encode(&self.signature),
        };
        Ok(serde_json::to_string_pretty(&json).unwrap_or_default())
    }

    /// Reads the JSON form (see the type docs).
    pub fn from_json(text: &str) -> Result<Self, SchemeJsonError> {
        let json: SignedSchemeJson = serde_json::from_str(text)?;
        Ok(SignedScheme {
            v: json.v,
            scheme: json.scheme.to_cbor(),
            signature: hex::decode(json.sig).map_err(|_| SchemeJsonError::SignatureHex)?,
        })
    }

    /// The document's version *without* checking anything (to show what an
    /// update offers); trust only [`Self::verify`].
    ///
    /// Reads only the `version` field, so that it also works on a document
    /// of an older shape (before the token policy fields): an issuer then
    /// still signs its successor with a higher version, which wallets that
    /// pinned the old one accept.
    pub fn unverified_version(&self) -> Option<u64> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u64,
        }
        if self.scheme.len() > cbor::MAX_MESSAGE_BYTES {
            return None;
        }
        ciborium::from_reader::<VersionOnly, _>(self.scheme.as_slice())
            .ok()
            .map(|s| s.version)
    }

    /// Verifies against the pinned `trusted_key`: signature first, then the
    /// format version, the document's consistency, rollback against
    /// `previously_trusted_version` (an equal version is accepted: the same
    /// document fetched again) and expiry at `now` (Unix seconds).
    pub fn verify(
        &self,
        trusted_key: &SchemePublicKey,
        previously_trusted_version: Option<u64>,
        now: u64,
    ) -> Result<VerifiedScheme, SchemeVerifyError> {
        if self.v != SCHEME_FORMAT_VERSION {
            return Err(SchemeVerifyError::UnknownFormat(self.v));
        }
        UnparsedPublicKey::new(&ED25519, trusted_key.0)
            .verify(&signed_message(&self.scheme), &self.signature)
            .map_err(|_| SchemeVerifyError::BadSignature)?;
        let scheme: Scheme = cbor::from_cbor(&self.scheme)?;
        scheme.validate()?;
        if let Some(trusted) = previously_trusted_version {
            if scheme.version < trusted {
                return Err(SchemeVerifyError::Rollback {
                    found: scheme.version,
                    trusted,
                });
            }
        }
        if now >= scheme.expires_at {
            return Err(SchemeVerifyError::Expired {
                expires_at: scheme.expires_at,
                now,
            });
        }
        let key_ids = scheme
            .issuer_keys
            .iter()
            .map(IssuerPublicKey::key_id)
            .collect();
        Ok(VerifiedScheme {
            scheme,
            key_ids,
            signed: self.clone(),
        })
    }
}

/// A scheme whose signature, format, consistency, version and validity were
/// checked by [`SignedScheme::verify`]; only that function makes one.
#[derive(Debug, Clone)]
pub struct VerifiedScheme {
    scheme: Scheme,
    key_ids: Vec<KeyId>,
    signed: SignedScheme,
}

impl VerifiedScheme {
    /// The document.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The signed form it came from (to store or pass on).
    pub fn signed(&self) -> &SignedScheme {
        &self.signed
    }

    /// The issuer key with this key id, whatever its validity.
    pub fn key_by_id(&self, id: &KeyId) -> Option<&IssuerPublicKey> {
        self.key_ids
            .iter()
            .position(|k| k == id)
            .and_then(|i| self.scheme.issuer_keys.get(i))
    }

    /// The issuer key with this key id if it is valid at `now`; an expired
    /// or not yet valid key is refused.
    pub fn valid_key(&self, id: &KeyId, now: u64) -> Result<&IssuerPublicKey, KeyLookupError> {
        let key = self.key_by_id(id).ok_or(KeyLookupError::Unknown(*id))?;
        if key.is_valid_at(now) {
            Ok(key)
        } else {
            Err(KeyLookupError::NotValid {
                credential_type: key.credential_type.clone(),
                counter: key.counter,
            })
        }
    }
}

/// Presentations verify against the keys of a verified scheme. Validity
/// at the time of verification is the verifier's check
/// ([`VerifiedScheme::valid_key`]).
impl IssuerKeys for VerifiedScheme {
    fn issuer_key(&self, id: &KeyId) -> Option<&IssuerPublicKey> {
        self.key_by_id(id)
    }
}

impl std::ops::Deref for VerifiedScheme {
    type Target = Scheme;
    fn deref(&self) -> &Scheme {
        &self.scheme
    }
}

/// Why an issuer key was not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLookupError {
    #[error("issuer key {0} is not in the scheme")]
    Unknown(KeyId),
    #[error("issuer key {credential_type} counter {counter} is not valid now")]
    NotValid {
        credential_type: CredentialTypeId,
        counter: u32,
    },
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

#[cfg(test)]
mod tests;
