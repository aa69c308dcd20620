//! The verifier's own Ed25519 key: signs session results as JWTs (EdDSA)
//! for requestors that pass them on, and signs timestamps for
//! attribute-based signatures.
//!
//! Several daemon instances that share one Redis must share this key (a
//! PKCS#8 file in the configuration), otherwise a result fetched from one
//! instance is signed by a key the requestor does not know. Without a file
//! the daemon generates a key at start and says so in the log.

use std::path::Path;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair as _, UnparsedPublicKey, ED25519};
use serde::Serialize;
use zeroize::Zeroizing;

/// Why the signing key could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// The key file could not be read.
    #[error("cannot read signing key file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not an Ed25519 PKCS#8 document.
    #[error("signing key is not an Ed25519 PKCS#8 key (DER or PEM)")]
    Format,
    /// The system's randomness failed.
    #[error("could not generate a signing key")]
    Generate,
    /// Encoding a JWT failed.
    #[error("could not sign the JWT: {0}")]
    Jwt(String),
}

/// The daemon's Ed25519 key pair. `Debug` shows only the public key.
pub struct SigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(public {})", self.public_hex())
    }
}

impl SigningKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Result<Self, SigningKeyError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SigningKeyError::Generate)?;
        Self::from_pkcs8_der(doc.as_ref())
    }

    /// From PKCS#8 DER bytes.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SigningKeyError> {
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| SigningKeyError::Format)?;
        Ok(Self {
            pkcs8: Zeroizing::new(der.to_vec()),
            pair,
        })
    }

    /// From a file holding PKCS#8 as DER or as PEM (`PRIVATE KEY`).
    pub fn from_file(path: &Path) -> Result<Self, SigningKeyError> {
        let bytes =
            Zeroizing::new(std::fs::read(path).map_err(|source| SigningKeyError::Read {
                path: path.display().to_string(),
                source,
            })?);
        match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN") => {
                let body: String = text
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<Vec<_>>()
                    .concat();
                let der = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .decode(body.trim())
                        .map_err(|_| SigningKeyError::Format)?,
                );
                Self::from_pkcs8_der(&der)
            }
            _ => Self::from_pkcs8_der(&bytes),
        }
    }

    /// The PKCS#8 DER bytes (to write a key file).
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }

    /// The public key in hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.public_key())
    }

    /// Key id used in JWT headers and the JWKS: first 8 bytes of the
    /// SHA-256 of the public key, hex.
    pub fn key_id(&self) -> String {
        use sha2::Digest as _;
        hex::encode(&sha2::Sha256::digest(self.public_key())[..8])
    }

    /// Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }

    /// A compact JWS (EdDSA) of `claims`.
    pub fn jwt<T: Serialize>(&self, claims: &T) -> Result<String, SigningKeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.key_id());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))
            .map_err(|e| SigningKeyError::Jwt(e.to_string()))
    }

    /// The key for checking this key's JWTs.
    pub fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ed_der(&self.public_key())
    }

    /// The public key as a JSON Web Key Set (`GET /publickey`).
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": self.key_id(),
                "x": crate::base64url::encode(self.public_key()),
            }]
        })
    }
}

/// Check an Ed25519 signature by `public_key` (raw 32 bytes).
pub fn verify_signature(public_key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_round_trip() {
        let key = SigningKey::generate().unwrap();
        let token = key
            .jwt(&serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}))
            .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        let data =
            jsonwebtoken::decode::<serde_json::Value>(&token, &key.decoding_key(), &validation)
                .unwrap();
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid, Some(key.key_id()));
        let other = SigningKey::generate().unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &other.decoding_key(),
            &validation
        )
        .is_err());
    }

    #[test]
    fn pem_and_der_files_load() {
        let key = SigningKey::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let der = dir.path().join("k.der");
        std::fs::write(&der, key.pkcs8_der()).unwrap();
        assert_eq!(
            SigningKey::from_file(&der).unwrap().public_key(),
            key.public_key()
        );
        let pem = dir.path().join("k.pem");
        let b64 = base64::engine::general_purpose::STANDARD.encode(key.pkcs8_der());
        std::fs::write(
            &pem,
            format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
        )
        .unwrap();
        assert_eq!(
            SigningKey::from_file(&pem).unwrap().public_key(),
            key.public_key()
        );
        std::fs::write(&der, b"garbage").unwrap();
        assert!(SigningKey::from_file(&der).is_err());
    }

    #[test]
    fn signatures_verify() {
        let key = SigningKey::generate().unwrap();
        let sig = key.sign(b"m");
        assert!(verify_signature(&key.public_key(), b"m", &sig));
        assert!(!verify_signature(&key.public_key(), b"n", &sig));
    }
}
