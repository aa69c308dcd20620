//! The published scheme: the description (demo or configured TOML) plus
//! every issuer public key, signed with the scheme signing key.
//!
//! A new version is signed when the keys change (start-up with new keys,
//! rotation) or the current one nears its expiry; otherwise the stored
//! `scheme.cbor` is served again unchanged, so its ETag stays stable across
//! restarts.
//!
//! The store records every version with a digest of its document
//! (the service calls [`record`] before [`write`]): a
//! version number is signed once. A stored `scheme.cbor` whose version the
//! store knows with other content is refused, and a lost `scheme.cbor`
//! continues after the highest recorded version.

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
    #[error("a stored scheme document: {0}")]
    Decode(#[from] wallet_core::cbor::DecodeError),
    #[error("the freshly signed scheme does not verify: {0}")]
    Verify(#[from] SchemeVerifyError),
    #[error("writing the scheme: {0}")]
    Write(#[from] crate::keys::KeyFileError),
    #[error(
        "scheme version {0} was already published with other content \
         (another instance, or a scheme.cbor that is not the shared one); refusing to \
         give one version number two meanings"
    )]
    VersionConflict(u64),
    #[error("the store: {0}")]
    Store(#[from] crate::store::StoreError),
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

    /// A signed document as another instance recorded it, verified under
    /// `key` (a document that does not verify is never served).
    pub fn from_cbor(cbor: &[u8], key: &SchemeSigningKey, now: u64) -> Result<Self, PublishError> {
        Self::new(SignedScheme::from_cbor(cbor)?, key, now)
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
    // One canonical key order (credential type, then counter), whatever
    // order the caller collected them in: a rotation appends its key while
    // start-up reads the key directory, and `prepare` compares whole
    // documents, so any other order would re-sign the same keys.
    let mut keys = keys.to_vec();
    keys.sort_by(|a, b| (&a.credential_type, a.counter).cmp(&(&b.credential_type, b.counter)));
    let builder = keys.into_iter().fold(
        SchemeBuilder::from_toml(description)?
            .version(version)
            .validity(issued_at, expires_at),
        SchemeBuilder::add_issuer_key,
    );
    Ok(builder.build()?)
}

/// A scheme version ready to serve: the stored `scheme.cbor` again, the
/// newest document the store holds (signed by another instance, or this
/// one with another `data_dir`), or a freshly signed version that still
/// has to be recorded and written.
pub struct Prepared {
    pub published: Published,
    /// Newly signed: record it in the store, then [`write`] it.
    pub fresh: bool,
    /// Not what `scheme.cbor` holds: [`write`] it there.
    pub write_file: bool,
}

/// Prepares the scheme for `keys`: reuses the version stored at `path`, or
/// else the newest document the store holds (`recorded_document`), when it
/// holds exactly these keys, verifies under `signing_key`, is not about to
/// expire and is not older than the newest version the store recorded
/// (`recorded`); otherwise signs the next version: above the description's,
/// the stored file's and every recorded one, so a lost `scheme.cbor` never
/// makes a version number come back with other content.
pub fn prepare(
    path: &Path,
    description: &str,
    keys: &[IssuerPublicKey],
    signing_key: &SchemeSigningKey,
    now: u64,
    recorded: Option<u64>,
    recorded_document: Option<&[u8]>,
) -> Result<Prepared, PublishError> {
    let stored = std::fs::read(path)
        .ok()
        .and_then(|bytes| SignedScheme::from_cbor(&bytes).ok());
    let in_store = recorded_document.and_then(|bytes| SignedScheme::from_cbor(bytes).ok());
    let mut next_version = SchemeBuilder::from_toml(description)?.scheme().version;
    if let Some(recorded) = recorded {
        next_version = next_version.max(recorded.saturating_add(1));
    }
    // The file first: a file the store knows with other content must
    // still reach `record` and be refused there.
    for (candidate, from_file) in [(stored, true), (in_store, false)] {
        let Some(candidate) = candidate else { continue };
        next_version = next_version.max(
            candidate
                .unverified_version()
                .unwrap_or(0)
                .saturating_add(1),
        );
        let Ok(verified) = candidate.verify(&signing_key.public_key(), None, now) else {
            continue;
        };
        let same = build(
            description,
            keys,
            verified.version,
            verified.issued_at,
            verified.expires_at,
        )
        .map(|built| &built == verified.scheme())
        .unwrap_or(false);
        let current = recorded.is_none_or(|r| verified.version >= r);
        if same && current && verified.expires_at > now.saturating_add(RESIGN_MARGIN_SECS) {
            return Ok(Prepared {
                published: Published::new(candidate, signing_key, now)?,
                fresh: false,
                write_file: !from_file,
            });
        }
    }
    Ok(Prepared {
        published: sign(description, keys, signing_key, next_version, now)?,
        fresh: true,
        write_file: true,
    })
}

/// Signs `version` of the scheme with `keys` (not stored: record it, then
/// [`write`] it).
pub fn sign(
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
    Published::new(signed, signing_key, now)
}

/// Stores a signed version at `path` (atomically).
pub fn write(path: &Path, published: &Published) -> Result<(), PublishError> {
    crate::keys::write_atomic(path, &published.cbor, false)?;
    Ok(())
}

/// The digest under which the store records a signed scheme document
/// (domain-separated SHA-256 of its CBOR).
pub fn digest(published: &Published) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"kenmerk-issuer/scheme-version/v1\0");
    ctx.update(&published.cbor);
    ctx.finish().as_ref().to_vec()
}

/// Records `published` in `store` as the content of its version; refuses
/// a version the store knows with other content.
pub async fn record<S: crate::store::Store>(
    store: &S,
    published: &Published,
) -> Result<(), PublishError> {
    let version = published.version();
    let outcome = store
        .record_scheme_version(
            i64::try_from(version).unwrap_or(i64::MAX),
            &digest(published),
            crate::clock::now_i64(),
        )
        .await?;
    match outcome {
        crate::store::RecordScheme::Recorded | crate::store::RecordScheme::Same => Ok(()),
        crate::store::RecordScheme::Conflict => Err(PublishError::VersionConflict(version)),
    }
}

/// The highest version the store recorded.
pub async fn recorded_version<S: crate::store::Store>(
    store: &S,
) -> Result<Option<u64>, PublishError> {
    Ok(store
        .latest_scheme_version()
        .await?
        .map(|v| u64::try_from(v).unwrap_or(0)))
}
