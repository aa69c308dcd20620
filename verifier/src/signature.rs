//! Attribute-based signatures: the verifier's signed timestamps and the
//! verification of stored signatures.
//!
//! A signing session fixes a timestamp in the wallet's challenge
//! (wallet-core's `SigningRequestMessage`). Anyone checking the signature
//! later must know that this time is genuine, so the verifier signs it:
//!
//! ```text
//! Ed25519(verifier key, "kenmerk/v1/verifier-timestamp" ‖ SHA-256(message) ‖ u64be(timestamp))
//! ```
//!
//! [`verify_signature`] then checks the presentation at the vouched time
//! (tokens must have been valid when the resident signed), or at `now` for a
//! signature without timestamp. A timestamp that this verifier's key does not
//! vouch for is refused (`UNTRUSTED_TIMESTAMP`), since otherwise a signer
//! could backdate a signature to a time when an expired token was valid.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wallet_core::presentation::Expected;
use wallet_core::scheme::{SchemePublicKey, SchemeVerifyError, SignedScheme, VerifiedScheme};
use wallet_core::signature::{AttributeSignature, SignatureError};

use crate::signing::{verify_signature as ed25519_verify, SigningKey};
use crate::verify::Reason;

/// Domain-separation label of verifier timestamps.
pub const TIMESTAMP_LABEL: &[u8] = b"kenmerk/v1/verifier-timestamp";

/// A timestamp for a message, signed by a verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedTimestamp {
    /// Unix seconds.
    pub timestamp: u64,
    /// SHA-256 of the message, hex.
    pub message_digest: String,
    /// The verifier's Ed25519 public key, hex.
    pub key: String,
    /// The Ed25519 signature, hex.
    pub signature: String,
}

fn timestamp_message(message_digest: &[u8; 32], timestamp: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(TIMESTAMP_LABEL.len() + 40);
    m.extend_from_slice(TIMESTAMP_LABEL);
    m.extend_from_slice(message_digest);
    m.extend_from_slice(&timestamp.to_be_bytes());
    m
}

/// Sign `timestamp` for `message` with the verifier's key.
pub fn sign_timestamp(key: &SigningKey, message: &str, timestamp: u64) -> SignedTimestamp {
    let digest: [u8; 32] = Sha256::digest(message.as_bytes()).into();
    SignedTimestamp {
        timestamp,
        message_digest: hex::encode(digest),
        key: key.public_hex(),
        signature: hex::encode(key.sign(&timestamp_message(&digest, timestamp))),
    }
}

/// Whether `ts` vouches for `timestamp` on `message` under `trusted_key`.
pub fn check_timestamp(
    ts: &SignedTimestamp,
    trusted_key: &[u8; 32],
    message: &str,
    timestamp: u64,
) -> bool {
    let digest: [u8; 32] = Sha256::digest(message.as_bytes()).into();
    let Ok(signature) = hex::decode(&ts.signature) else {
        return false;
    };
    ts.timestamp == timestamp
        && ts.message_digest == hex::encode(digest)
        && ts.key == hex::encode(trusted_key)
        && ed25519_verify(
            trusted_key,
            &timestamp_message(&digest, timestamp),
            &signature,
        )
}

/// One attribute of a verified signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedAttribute {
    /// The attribute id (or `credential type#position` if the scheme does
    /// not name it).
    pub id: String,
    /// Its value as text; `null` when absent.
    #[serde(rename = "rawvalue")]
    pub raw_value: Option<String>,
}

/// What checking a stored signature found. Only [`verify_signature`] makes
/// one (private fields, no `Deserialize`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureReport {
    /// Whether the signature verifies (and its timestamp, if any, is vouched for).
    valid: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    /// Human-readable detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The signed message.
    message: String,
    /// The verifier the signature was made for.
    verifier: String,
    /// The vouched timestamp, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<u64>,
    /// The attributes the signer disclosed.
    attributes: Vec<SignedAttribute>,
}

impl SignatureReport {
    /// Whether the signature verifies (and its timestamp, if any, is
    /// vouched for).
    pub fn is_valid(&self) -> bool {
        self.valid
    }
    /// Why not.
    pub fn reason(&self) -> Option<Reason> {
        self.reason
    }
    /// Human-readable detail of a failure.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// The signed message.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The verifier the signature was made for.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }
    /// The vouched timestamp, if any.
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }
    /// The attributes the signer disclosed (empty unless valid).
    pub fn attributes(&self) -> &[SignedAttribute] {
        &self.attributes
    }

    fn failed(signature: &AttributeSignature, reason: Reason, error: String) -> Self {
        Self {
            valid: false,
            reason: Some(reason),
            error: Some(error),
            message: signature.message().to_owned(),
            verifier: signature.context.verifier.clone(),
            timestamp: signature.context.timestamp,
            attributes: Vec::new(),
        }
    }
}

/// Verify a stored attribute-based signature against `scheme`.
///
/// `timestamp` is the verifier's [`SignedTimestamp`] for a signature whose
/// context carries a timestamp, checked under `timestamp_key` (the verifier
/// daemon's public key). Without a timestamp in the context the tokens are
/// checked at `now`.
pub fn verify_signature(
    scheme: &VerifiedScheme,
    signature: &AttributeSignature,
    timestamp: Option<&SignedTimestamp>,
    timestamp_key: &[u8; 32],
    now: u64,
) -> SignatureReport {
    // The tokens must have been valid when the resident signed: at the
    // vouched timestamp, or (without one) now.
    let at = match signature.context.timestamp {
        Some(t) => {
            let vouched = timestamp
                .is_some_and(|ts| check_timestamp(ts, timestamp_key, signature.message(), t));
            if !vouched {
                return SignatureReport::failed(
                    signature,
                    Reason::UntrustedTimestamp,
                    "the signature's timestamp is not signed by this verifier".into(),
                );
            }
            t
        }
        None => now,
    };
    match signature.verify(&Expected::protocol_limits(), scheme, at) {
        Ok(verified) => {
            let attributes = verified
                .credentials
                .iter()
                .flat_map(|c| {
                    c.disclosed
                        .iter()
                        .map(move |(position, value)| SignedAttribute {
                            id: scheme
                                .attribute_at(&c.credential_type, *position)
                                .map(|a| a.id.to_string())
                                .unwrap_or_else(|| format!("{}#{position}", c.credential_type)),
                            raw_value: match value {
                                wallet_core::encoding::AttributeValue::Absent => None,
                                v => Some(v.to_string()),
                            },
                        })
                })
                .collect();
            SignatureReport {
                valid: true,
                reason: None,
                error: None,
                message: signature.message().to_owned(),
                verifier: signature.context.verifier.clone(),
                timestamp: signature.context.timestamp,
                attributes,
            }
        }
        Err(SignatureError::Unrequested(e)) => {
            SignatureReport::failed(signature, Reason::Unrequested, e.to_string())
        }
        Err(SignatureError::Verify(e)) => {
            SignatureReport::failed(signature, Reason::from_verify_error(&e), e.to_string())
        }
        Err(e) => SignatureReport::failed(signature, Reason::Malformed, e.to_string()),
    }
}

/// Why a scheme handed in with a signature is not trusted, as a [`Reason`]:
/// a bad signature has its own.
pub fn scheme_reason(e: &SchemeVerifyError) -> Reason {
    match e {
        SchemeVerifyError::BadSignature => Reason::BadSchemeSignature,
        _ => Reason::UntrustedScheme,
    }
}

/// Verify a signature against a signed scheme checked under the pinned
/// `scheme_key` first (for third parties that keep the scheme beside the
/// signature).
pub fn verify_signature_with_scheme(
    signed_scheme: &SignedScheme,
    scheme_key: &SchemePublicKey,
    signature: &AttributeSignature,
    timestamp: Option<&SignedTimestamp>,
    timestamp_key: &[u8; 32],
    now: u64,
) -> SignatureReport {
    match signed_scheme.verify(scheme_key, None, now) {
        Ok(scheme) => verify_signature(&scheme, signature, timestamp, timestamp_key, now),
        Err(e) => SignatureReport::failed(signature, scheme_reason(&e), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_bind_message_time_and_key() {
        let key = SigningKey::generate().unwrap();
        let ts = sign_timestamp(&key, "I object to permit 2026-114", 1_800_000_000);
        let pk = key.public_key();
        assert!(check_timestamp(
            &ts,
            &pk,
            "I object to permit 2026-114",
            1_800_000_000
        ));
        assert!(!check_timestamp(&ts, &pk, "I agree", 1_800_000_000));
        assert!(!check_timestamp(
            &ts,
            &pk,
            "I object to permit 2026-114",
            1_800_000_001
        ));
        let other = SigningKey::generate().unwrap();
        assert!(!check_timestamp(
            &ts,
            &other.public_key(),
            "I object to permit 2026-114",
            1_800_000_000
        ));
        let mut bad = ts.clone();
        bad.signature = "zz".into();
        assert!(!check_timestamp(
            &bad,
            &pk,
            "I object to permit 2026-114",
            1_800_000_000
        ));
    }
}
