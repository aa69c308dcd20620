//! The signed scheme: the Ed25519 scheme key pair, the signed envelope and
//! the verified scheme only [`SignedScheme::verify`] makes.

use std::fmt;
use std::str::FromStr;

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::document::{Scheme, SchemeError};
use super::{SCHEME_FORMAT_VERSION, SCHEME_SIGNATURE_LABEL};
use crate::cbor::{self, check_version, DecodeError};
use crate::ids::CredentialTypeId;
use crate::keys::{IssuerPublicKey, KeyId};
use crate::presentation::IssuerKeys;

/// The Ed25519 key that signs schemes (kept offline by the scheme manager).
pub struct SchemeSigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    pub(super) pair: Ed25519KeyPair,
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
    pub(super) v: u16,
    pub(super) scheme: Vec<u8>,
    pub(super) signature: Vec<u8>,
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

impl Scheme {
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
}

pub(super) fn signed_message(scheme_cbor: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(8 + SCHEME_SIGNATURE_LABEL.len() + scheme_cbor.len());
    for part in [SCHEME_SIGNATURE_LABEL, scheme_cbor] {
        // A scheme is far below 4 GiB (decoders cap messages at 1 MiB).
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        m.extend_from_slice(&len.to_be_bytes());
        m.extend_from_slice(part);
    }
    m
}
