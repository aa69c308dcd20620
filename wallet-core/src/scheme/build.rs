//! Building a scheme document from its TOML description.

use serde::Deserialize;

use super::{
    AllowedPredicate, AttributeType, CredentialType, Issuer, RegisteredVerifier, Scheme,
    SchemeError, Translated, SCHEME_FORMAT_VERSION,
};
use crate::encoding::AttributeKind;
use crate::ids::{AttributeId, IdError, IssuerId, SchemeId};
use crate::keys::IssuerPublicKey;

/// Why a scheme description could not be turned into a scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeBuildError {
    #[error("invalid scheme description TOML: {0}")]
    Toml(String),
    #[error("invalid identifier in the description: {0}")]
    Id(#[from] IdError),
    #[error(transparent)]
    Scheme(#[from] SchemeError),
}

/// The TOML description of a scheme: local names, composed into full
/// identifiers under the scheme id. See `docs/scheme-and-requests.md` and
/// `scheme/demo.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeDescription {
    /// Scheme id.
    pub id: SchemeId,
    /// Document version.
    pub version: u64,
    /// Display name.
    pub name: Translated,
    /// Issuers and their credential types.
    #[serde(default)]
    pub issuers: Vec<IssuerDescription>,
    /// Registered verifiers.
    #[serde(default)]
    pub verifiers: Vec<VerifierDescription>,
}

/// An issuer in a TOML description.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerDescription {
    /// Local name (`utrecht`).
    pub id: String,
    /// Display name.
    pub name: Translated,
    /// Contact.
    pub contact: String,
    /// Its credential types.
    #[serde(default)]
    pub credentials: Vec<CredentialDescription>,
}

/// A credential type in a TOML description.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialDescription {
    /// Local name (`address`).
    pub id: String,
    /// Display name.
    pub name: Translated,
    /// Attributes in position order.
    pub attributes: Vec<AttributeDescription>,
    /// Token validity, seconds; default one week.
    #[serde(default = "default_token_validity")]
    pub token_validity: u64,
    /// Expiry grid step, seconds (86400 or 604800); default one week.
    #[serde(default = "default_grid_step")]
    pub grid_step: u64,
}

fn default_token_validity() -> u64 {
    crate::token::DEFAULT_TOKEN_VALIDITY
}

fn default_grid_step() -> u64 {
    crate::token::WEEK
}

/// An attribute in a TOML description.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeDescription {
    /// Local name (`city`).
    pub id: String,
    /// Kind (`string`, `integer`, `date`, `boolean`).
    pub kind: AttributeKind,
    /// Whether it may be absent.
    #[serde(default)]
    pub optional: bool,
    /// Label.
    pub label: Translated,
}

/// A verifier in a TOML description (attributes by full identifier, as
/// they may span issuers).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierDescription {
    /// Local name (`parking`).
    pub id: String,
    /// Display name.
    pub name: Translated,
    /// Host names.
    pub hosts: Vec<String>,
    /// Attributes it may ask.
    #[serde(default)]
    pub attributes: Vec<AttributeId>,
    /// Predicates it may ask.
    #[serde(default)]
    pub predicates: Vec<AllowedPredicate>,
    /// Whether it may ask a pseudonym.
    #[serde(default)]
    pub pseudonym: bool,
    /// Purpose.
    pub purpose: Translated,
}

/// Assembles a scheme document; [`Self::build`] validates it.
#[derive(Debug, Clone)]
pub struct SchemeBuilder {
    pub(super) scheme: Scheme,
}

impl SchemeBuilder {
    /// An empty scheme `id` at `version`, valid from `issued_at` to `expires_at`.
    pub fn new(id: SchemeId, name: Translated, version: u64) -> Self {
        SchemeBuilder {
            scheme: Scheme {
                v: SCHEME_FORMAT_VERSION,
                id,
                version,
                issued_at: 0,
                expires_at: 0,
                name,
                issuers: Vec::new(),
                credential_types: Vec::new(),
                issuer_keys: Vec::new(),
                verifiers: Vec::new(),
            },
        }
    }

    /// Starts from a TOML description (issuers, credential types, verifiers).
    pub fn from_toml(text: &str) -> Result<Self, SchemeBuildError> {
        let d: SchemeDescription =
            toml::from_str(text).map_err(|e| SchemeBuildError::Toml(e.to_string()))?;
        Self::from_description(d)
    }

    /// Starts from a parsed description.
    pub fn from_description(d: SchemeDescription) -> Result<Self, SchemeBuildError> {
        let mut b = SchemeBuilder::new(d.id.clone(), d.name, d.version);
        for i in d.issuers {
            let issuer: IssuerId = format!("{}.{}", d.id, i.id).parse()?;
            for c in i.credentials {
                let ct = issuer.credential(&c.id)?;
                let attributes = c
                    .attributes
                    .into_iter()
                    .map(|a| {
                        Ok(AttributeType {
                            id: ct.attribute(&a.id)?,
                            kind: a.kind,
                            optional: a.optional,
                            label: a.label,
                        })
                    })
                    .collect::<Result<Vec<_>, IdError>>()?;
                b = b.add_credential_type(CredentialType {
                    id: ct,
                    name: c.name,
                    attributes,
                    token_validity: c.token_validity,
                    grid_step: c.grid_step,
                });
            }
            b = b.add_issuer(Issuer {
                id: issuer,
                name: i.name,
                contact: i.contact,
            });
        }
        for v in d.verifiers {
            b = b.add_verifier(RegisteredVerifier {
                id: format!("{}.{}", d.id, v.id).parse()?,
                name: v.name,
                hosts: v.hosts,
                attributes: v.attributes,
                predicates: v.predicates,
                pseudonym: v.pseudonym,
                purpose: v.purpose,
            });
        }
        Ok(b)
    }

    /// Sets the document version.
    pub fn version(mut self, version: u64) -> Self {
        self.scheme.version = version;
        self
    }

    /// Sets the validity period (Unix seconds).
    pub fn validity(mut self, issued_at: u64, expires_at: u64) -> Self {
        self.scheme.issued_at = issued_at;
        self.scheme.expires_at = expires_at;
        self
    }

    /// Adds an issuer.
    pub fn add_issuer(mut self, issuer: Issuer) -> Self {
        self.scheme.issuers.push(issuer);
        self
    }

    /// Adds a credential type.
    pub fn add_credential_type(mut self, credential: CredentialType) -> Self {
        self.scheme.credential_types.push(credential);
        self
    }

    /// Adds an issuer public key (a new counter for rotation).
    pub fn add_issuer_key(mut self, key: IssuerPublicKey) -> Self {
        self.scheme.issuer_keys.push(key);
        self
    }

    /// Adds a verifier.
    pub fn add_verifier(mut self, verifier: RegisteredVerifier) -> Self {
        self.scheme.verifiers.push(verifier);
        self
    }

    /// The document so far (to read credential types while generating keys).
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Validates and returns the document.
    pub fn build(self) -> Result<Scheme, SchemeError> {
        self.scheme.validate()?;
        Ok(self.scheme)
    }
}

impl Scheme {
    /// A builder holding this document, to make its next version (add a
    /// rotated key, a verifier; bump the version).
    pub fn into_builder(self) -> SchemeBuilder {
        SchemeBuilder { scheme: self }
    }
}
