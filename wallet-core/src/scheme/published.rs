//! What an issuer publishes and everyone else reads: the signed scheme
//! document (`GET /scheme`, CBOR or JSON) and the scheme key beside it
//! (`GET /scheme/key`).
//!
//! Both the wallet and the verifier read these from files or URLs; parsing
//! lives here once so that they accept exactly the same documents. Parsing
//! is not trusting: a [`SignedScheme`] means nothing until
//! [`SignedScheme::verify`] checked it under a pinned key.

use serde::{Deserialize, Serialize};

use super::{SchemeJsonError, SchemePublicKey, SignedScheme};
use crate::cbor::DecodeError;

/// Longest signed scheme document accepted (from a URL or a file).
pub const MAX_SCHEME_BYTES: usize = 4 * 1024 * 1024;

/// Why bytes are not a signed scheme document.
#[derive(Debug, thiserror::Error)]
pub enum SchemeParseError {
    /// Larger than [`MAX_SCHEME_BYTES`].
    #[error("the scheme document is larger than {MAX_SCHEME_BYTES} bytes")]
    TooLarge,
    /// Starts like JSON but is not UTF-8.
    #[error("the scheme document is not UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    /// Not the JSON form of a signed scheme.
    #[error(transparent)]
    Json(#[from] SchemeJsonError),
    /// Not the canonical CBOR form of a signed scheme.
    #[error("the scheme document is not signed-scheme CBOR: {0}")]
    Cbor(#[from] DecodeError),
}

impl SignedScheme {
    /// Reads a signed scheme in either form: JSON when the first
    /// non-whitespace byte is `{` (CBOR's map headers are `0xa0`–`0xbf`,
    /// never `{`), canonical CBOR otherwise.
    pub fn parse(bytes: &[u8]) -> Result<Self, SchemeParseError> {
        if bytes.len() > MAX_SCHEME_BYTES {
            return Err(SchemeParseError::TooLarge);
        }
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'{') {
            Ok(Self::from_json(std::str::from_utf8(bytes)?)?)
        } else {
            Ok(Self::from_cbor(bytes)?)
        }
    }
}

/// The scheme key as published at `GET /scheme/key`:
/// `{"key": hex, "fingerprint": "1a2b 3c4d ..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedSchemeKey {
    /// The Ed25519 public key, hex.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key: SchemePublicKey,
    /// Its fingerprint ([`SchemePublicKey::fingerprint`]), for people to
    /// compare out of band. Informative only: readers recompute it.
    pub fingerprint: String,
}

impl PublishedSchemeKey {
    /// The published form of `key`.
    pub fn new(key: SchemePublicKey) -> Self {
        Self {
            fingerprint: key.fingerprint(),
            key,
        }
    }
}

/// Why text is not a published scheme key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the scheme key is not 32 bytes of hex (bare, a JSON string, or JSON {{\"key\": hex}})")]
pub struct PublishedKeyError;

impl SchemePublicKey {
    /// Reads a published scheme key: bare hex, a JSON string of hex, or a
    /// JSON object with `key` (what the issuer publishes, see
    /// [`PublishedSchemeKey`]) or `public_key`. A `fingerprint` beside it is
    /// ignored; whoever pins the key computes it.
    pub fn from_published(text: &str) -> Result<Self, PublishedKeyError> {
        let hex = match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Object(map)) => map
                .get("key")
                .or_else(|| map.get("public_key"))
                .and_then(|k| k.as_str())
                .ok_or(PublishedKeyError)?
                .to_owned(),
            // Bare hex that happens to be a JSON number (all digits) or no
            // JSON at all.
            _ => text.trim().to_owned(),
        };
        hex.parse().map_err(|_| PublishedKeyError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::SchemeSigningKey;

    #[test]
    fn published_key_forms() {
        let key = SchemePublicKey([0x11; 32]);
        let hex = "11".repeat(32);
        let published = serde_json::to_string(&PublishedSchemeKey::new(key)).unwrap();
        for text in [
            hex.clone(),
            format!("  {hex}\n"),
            format!("\"{hex}\""),
            format!("{{\"key\": \"{hex}\"}}"),
            format!("{{\"public_key\": \"{hex}\"}}"),
            published,
        ] {
            assert_eq!(SchemePublicKey::from_published(&text), Ok(key), "{text}");
        }
        for bad in [
            "abc",
            "",
            "{}",
            "{\"key\": 5}",
            "[1,2]",
            &"1".repeat(64)[..63],
        ] {
            assert_eq!(
                SchemePublicKey::from_published(bad),
                Err(PublishedKeyError),
                "{bad}"
            );
        }
        // All-digit hex is valid JSON (a number) and still read as hex.
        assert_eq!(
            SchemePublicKey::from_published(&"1".repeat(64)),
            Ok(SchemePublicKey([0x11; 32]))
        );
    }

    #[test]
    fn published_key_json_shape() {
        let key = SchemeSigningKey::generate().unwrap().public_key();
        let v = serde_json::to_value(PublishedSchemeKey::new(key)).unwrap();
        assert_eq!(v["key"], key.to_string());
        assert_eq!(v["fingerprint"], key.fingerprint());
    }

    #[test]
    fn garbage_is_not_a_scheme() {
        assert!(matches!(
            SignedScheme::parse(b"{nope"),
            Err(SchemeParseError::Json(_))
        ));
        assert!(matches!(
            SignedScheme::parse(&[0xff, 0x01]),
            Err(SchemeParseError::Cbor(_))
        ));
        assert!(matches!(
            SignedScheme::parse(&vec![b' '; MAX_SCHEME_BYTES + 1]),
            Err(SchemeParseError::TooLarge)
        ));
        assert!(matches!(
            SignedScheme::parse(b" {\xff"),
            Err(SchemeParseError::Utf8(_))
        ));
    }
}
