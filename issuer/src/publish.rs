//! The published scheme: the description (demo or configured TOML) plus
//! every issuer public key, signed with the scheme signing key.
//!
//! A new version is signed when the keys change (start-up with new keys,
//! rotation) or the current one nears its expiry; otherwise the stored
//! `scheme.cbor` is served again unchanged, so its ETag stays stable across
//! restarts.

use std::path::Path;

use serde::Serialize;
use wallet_core::keys::IssuerPublicKey;
use wallet_core::scheme::{
    SchemeBuildError, SchemeBuilder, SchemeError, SchemeSigningKey, SchemeVerifyError,
    SignedScheme, VerifiedScheme,
};

/// How long a signed scheme version is valid.
pub const SCHEME_VALIDITY_SECS: u64 = 365 * 24 * 3600;
/// Re-sign when less than this is left.
const RESIGN_MARGIN_SECS: u64 = 30 * 24 * 3600;

/// Why the scheme could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("scheme description: {0}")]
    Description(#[from] SchemeBuildError),
    #[error("scheme: {0}")]
    Scheme(#[from] SchemeError),
    #[error("the freshly signed scheme does not verify: {0}")]
    Verify(#[from] SchemeVerifyError),
    #[error("writing the scheme: {0}")]
    Write(#[from] crate::keys::KeyFileError),
}

/// A public key as listed on `GET /keys`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublishedKey {
    /// Credential type.
    pub credential_type: String,
    /// Key counter.
    pub counter: u32,
    /// Key id, hex.
    pub key_id: String,
    /// Start of validity, Unix seconds.
    pub valid_from: u64,
    /// End of validity, Unix seconds.
    pub valid_until: u64,
    /// The public key, canonical CBOR in hex (as in the scheme).
    pub public_key: String,
}

/// Everything `GET /scheme` and `GET /keys` serve, prepared once per version.
pub struct Published {
    /// The verified scheme (the issuer trusts only what it can verify).
    pub scheme: VerifiedScheme,
    /// CBOR of the signed scheme.
    pub cbor: Vec<u8>,
    /// JSON of the signed scheme.
    pub json: String,
    /// Strong ETag of this version.
    pub etag: String,
    /// `GET /keys` body.
    pub keys_json: String,
}

impl Published {
    fn new(signed: SignedScheme, key: &SchemeSigningKey, now: u64) -> Result<Self, PublishError> {
        let scheme = signed.verify(&key.public_key(), None, now)?;
        let cbor = signed.to_cbor();
        let json = signed.to_json_pretty()?;
        let digest = ring::digest::digest(&ring::digest::SHA256, &cbor);
        let etag = format!(
            "\"v{}-{}\"",
            scheme.version,
            hex::encode(&digest.as_ref()[..8])
        );
        let keys: Vec<PublishedKey> = scheme.issuer_keys.iter().map(published_key).collect();
        let keys_json = serde_json::to_string_pretty(&keys).unwrap_or_default();
        Ok(Published {
            scheme,
            cbor,
            json,
            etag,
            keys_json,
        })
    }

    /// The document version.
    pub fn version(&self) -> u64 {
        self.scheme.version
    }
}

fn published_key(k: &IssuerPublicKey) -> PublishedKey {
    PublishedKey {
        credential_type: k.credential_type.to_string(),
        counter: k.counter,
        key_id: k.key_id().to_string(),
        valid_from: k.valid_from,
        valid_until: k.valid_until,
        public_key: hex::encode(k.to_bytes()),
    }
}

fn build(
    description: &str,
    keys: &[IssuerPublicKey],
    version: u64,
    issued_at: u64,
    expires_at: u64,
) -> Result<wallet_core::scheme::Scheme, PublishError> {
    let builder = keys.iter().cloned().fold(
        SchemeBuilder::from_toml(description)?
            .version(version)
            .validity(issued_at, expires_at),
        SchemeBuilder::add_issuer_key,
    );
    Ok(builder.build()?)
}

/// Publishes the scheme for `keys`: reuses the version stored at `path` when
/// it holds exactly these keys, verifies under `signing_key` and is not
/// about to expire; otherwise signs the next version and stores it.
pub fn publish(
    path: &Path,
    description: &str,
    keys: &[IssuerPublicKey],
    signing_key: &SchemeSigningKey,
    now: u64,
) -> Result<Published, PublishError> {
    let stored = std::fs::read(path)
        .ok()
        .and_then(|bytes| SignedScheme::from_cbor(&bytes).ok());
    let mut next_version = SchemeBuilder::from_toml(description)?.scheme().version;
    if let Some(stored) = stored {
        next_version = next_version.max(stored.unverified_version().unwrap_or(0).saturating_add(1));
        if let Ok(verified) = stored.verify(&signing_key.public_key(), None, now) {
            let same = build(
                description,
                keys,
                verified.version,
                verified.issued_at,
                verified.expires_at,
            )
            .map(|candidate| &candidate == verified.scheme())
            .unwrap_or(false);
            if same && verified.expires_at > now.saturating_add(RESIGN_MARGIN_SECS) {
                return Published::new(stored, signing_key, now);
            }
        }
    }
    resign(path, description, keys, signing_key, next_version, now)
}

/// Signs `version` of the scheme with `keys` and stores it at `path`.
pub fn resign(
    path: &Path,
    description: &str,
    keys: &[IssuerPublicKey],
    signing_key: &SchemeSigningKey,
    version: u64,
    now: u64,
) -> Result<Published, PublishError> {
    let scheme = build(
        description,
        keys,
        version,
        now,
        now.saturating_add(SCHEME_VALIDITY_SECS),
    )?;
    let signed = scheme.sign(signing_key)?;
    crate::keys::write_atomic(path, &signed.to_cbor(), false)?;
    Published::new(signed, signing_key, now)
}
