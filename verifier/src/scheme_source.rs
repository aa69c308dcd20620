//! Where the verifier's scheme comes from, and keeping it current.
//!
//! The scheme is the trust root: issuer keys and registered verifiers. It is
//! accepted only through wallet-core's [`SignedScheme::verify`] under a
//! pinned key, and never rolled back to a lower version. A [`SchemeHandle`]
//! holds the current one; a refresher task re-fetches the URL (or re-reads
//! the file) and swaps in a newer version when it verifies. A refused update
//! (bad signature, rollback, expired) keeps the current scheme and is logged.
//!
//! Without a pinned key the daemon trusts, on first use and only for a
//! loopback URL (the local issuer in development), the key published beside
//! the scheme at `{url}/key`; it logs the fingerprint so it can be pinned.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use wallet_core::scheme::{
    SchemeParseError, SchemePublicKey, SchemeVerifyError, SignedScheme, VerifiedScheme,
};

use crate::config::SchemeLocation;
use crate::metrics::Metrics;

/// Longest scheme document accepted over HTTP or from a file.
pub use wallet_core::scheme::MAX_SCHEME_BYTES;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a scheme could not be loaded. Each cause is its own variant, so that
/// a bad signature is never reported as a network error.
#[derive(Debug, thiserror::Error)]
pub enum SchemeLoadError {
    /// The URL could not be fetched.
    #[error("cannot fetch the scheme from {url}: {reason}")]
    Fetch {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The file could not be read.
    #[error("cannot read the scheme file {path}: {reason}")]
    Read {
        /// Where.
        path: String,
        /// Why.
        reason: String,
    },
    /// Neither signed-scheme JSON nor CBOR.
    #[error("the scheme document does not decode: {0}")]
    Decode(String),
    /// The document is larger than [`MAX_SCHEME_BYTES`].
    #[error("the scheme document is larger than {MAX_SCHEME_BYTES} bytes")]
    TooLarge,
    /// No key is pinned and none may be trusted on first use.
    #[error("no scheme key is pinned (set scheme_key) and {0} is not a loopback URL")]
    NoKey(String),
    /// The published key could not be read.
    #[error("the scheme key published at {0} is not a hex Ed25519 public key")]
    BadPublishedKey(String),
    /// Signature, format, consistency, rollback or expiry check failed.
    #[error("the scheme is not trusted: {0}")]
    Verify(#[from] SchemeVerifyError),
}

/// The current verified scheme, shared by handlers and swapped by the
/// refresher. Cheap to clone.
#[derive(Clone)]
pub struct SchemeHandle {
    current: Arc<RwLock<Arc<VerifiedScheme>>>,
}

impl std::fmt::Debug for SchemeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.current();
        write!(f, "SchemeHandle({} v{})", s.id, s.version)
    }
}

impl SchemeHandle {
    /// A handle on `scheme` (swappable later by [`SchemeHandle::replace`]).
    pub fn new(scheme: VerifiedScheme) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(scheme))),
        }
    }

    /// The scheme in force now.
    pub fn current(&self) -> Arc<VerifiedScheme> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Swap in `scheme` if its version is at least the current one (no
    /// rollback); returns whether it was swapped.
    pub fn replace(&self, scheme: VerifiedScheme) -> bool {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        if scheme.version < guard.version {
            return false;
        }
        *guard = Arc::new(scheme);
        true
    }
}

/// Loads and re-loads the scheme from its location.
pub struct SchemeLoader {
    location: SchemeLocation,
    key: Option<SchemePublicKey>,
    client: reqwest::Client,
    /// ETag of the last scheme fetched, for `If-None-Match`.
    etag: Option<String>,
    /// Bytes of the last scheme read, to skip re-verifying an unchanged one.
    last: Option<Vec<u8>>,
}

fn now_secs() -> u64 {
    crate::store::now_ms() / 1000
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let host_port = rest.split('/').next().unwrap_or("");
    let host = if let Some(h) = host_port.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// Parse a signed scheme from JSON (`{"v":…,"scheme":…,"sig":…}`) or CBOR
/// (wallet-core's [`SignedScheme::parse`], which the wallet uses too).
pub fn parse_signed(bytes: &[u8]) -> Result<SignedScheme, SchemeLoadError> {
    SignedScheme::parse(bytes).map_err(|e| match e {
        SchemeParseError::TooLarge => SchemeLoadError::TooLarge,
        e => SchemeLoadError::Decode(e.to_string()),
    })
}

impl SchemeLoader {
    /// A loader for `location`, verifying under `key` (or, for a loopback
    /// URL only, the key published beside it).
    pub fn new(location: SchemeLocation, key: Option<SchemePublicKey>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            location,
            key,
            client,
            etag: None,
            last: None,
        }
    }

    /// Where the scheme comes from.
    pub fn location(&self) -> &SchemeLocation {
        &self.location
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, SchemeLoadError> {
        self.fetch_conditional(url, None)
            .await
            .map(|(bytes, _)| bytes.unwrap_or_default())
    }

    /// GET `url`; with `etag`, `Ok((None, _))` means not modified.
    async fn fetch_conditional(
        &self,
        url: &str,
        etag: Option<&str>,
    ) -> Result<(Option<Vec<u8>>, Option<String>), SchemeLoadError> {
        let fail = |reason: String| SchemeLoadError::Fetch {
            url: url.to_owned(),
            reason,
        };
        let mut request = self
            .client
            .get(url)
            .header("accept", "application/cbor, application/json");
        if let Some(tag) = etag {
            request = request.header("if-none-match", tag);
        }
        let response = request.send().await.map_err(|e| fail(e.to_string()))?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok((None, etag.map(str::to_owned)));
        }
        let new_etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !response.status().is_success() {
            return Err(fail(format!("HTTP {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|l| l > MAX_SCHEME_BYTES as u64)
        {
            return Err(SchemeLoadError::TooLarge);
        }
        let bytes = response.bytes().await.map_err(|e| fail(e.to_string()))?;
        if bytes.len() > MAX_SCHEME_BYTES {
            return Err(SchemeLoadError::TooLarge);
        }
        Ok((Some(bytes.to_vec()), new_etag))
    }

    async fn read_file(path: &Path) -> Result<Vec<u8>, SchemeLoadError> {
        let fail = |reason: String| SchemeLoadError::Read {
            path: path.display().to_string(),
            reason,
        };
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if meta.len() > MAX_SCHEME_BYTES as u64 {
            return Err(SchemeLoadError::TooLarge);
        }
        tokio::fs::read(path).await.map_err(|e| fail(e.to_string()))
    }

    async fn trusted_key(&mut self) -> Result<SchemePublicKey, SchemeLoadError> {
        if let Some(k) = self.key {
            return Ok(k);
        }
        let url = match &self.location {
            SchemeLocation::Url(u) if is_loopback_url(u) => u.clone(),
            SchemeLocation::Url(u) => return Err(SchemeLoadError::NoKey(u.clone())),
            SchemeLocation::File(p) => return Err(SchemeLoadError::NoKey(p.display().to_string())),
        };
        let key_url = format!("{}/key", url.trim_end_matches('/'));
        let bytes = self.fetch(&key_url).await?;
        let text = String::from_utf8_lossy(&bytes);
        let key = SchemePublicKey::from_published(&text)
            .map_err(|_| SchemeLoadError::BadPublishedKey(key_url.clone()))?;
        tracing::warn!(
            url = %key_url,
            fingerprint = %key.fingerprint(),
            "no scheme key pinned: trusting the local issuer's key on first use; pin it with scheme_key"
        );
        self.key = Some(key);
        Ok(key)
    }

    /// Fetch or read the scheme and verify it; `previous` is the version in
    /// force (a lower one is refused as a rollback).
    pub async fn load(&mut self, previous: Option<u64>) -> Result<VerifiedScheme, SchemeLoadError> {
        let bytes = match &self.location {
            SchemeLocation::Url(u) => {
                let u = u.clone();
                let (bytes, etag) = self.fetch_conditional(&u, None).await?;
                self.etag = etag;
                bytes.unwrap_or_default()
            }
            SchemeLocation::File(p) => Self::read_file(p).await?,
        };
        let verified = self.verify_bytes(&bytes, previous).await?;
        self.last = Some(bytes);
        Ok(verified)
    }

    async fn verify_bytes(
        &mut self,
        bytes: &[u8],
        previous: Option<u64>,
    ) -> Result<VerifiedScheme, SchemeLoadError> {
        let signed = parse_signed(bytes)?;
        let key = self.trusted_key().await?;
        Ok(signed.verify(&key, previous, now_secs())?)
    }

    /// Like [`SchemeLoader::load`], but `Ok(None)` when the document did not
    /// change since the last load (HTTP 304 on the stored ETag, or the same
    /// bytes).
    pub async fn reload(
        &mut self,
        previous: u64,
    ) -> Result<Option<VerifiedScheme>, SchemeLoadError> {
        let bytes = match &self.location {
            SchemeLocation::Url(u) => {
                let u = u.clone();
                let etag = self.etag.clone();
                let (bytes, etag) = self.fetch_conditional(&u, etag.as_deref()).await?;
                self.etag = etag;
                match bytes {
                    Some(b) => b,
                    None => return Ok(None),
                }
            }
            SchemeLocation::File(p) => Self::read_file(p).await?,
        };
        if self.last.as_deref() == Some(bytes.as_slice()) {
            return Ok(None);
        }
        let verified = self.verify_bytes(&bytes, Some(previous)).await?;
        self.last = Some(bytes);
        Ok(Some(verified))
    }

    /// Re-load every `interval` and swap newer versions into `handle`,
    /// until the task is aborted.
    pub async fn refresh_forever(
        mut self,
        handle: SchemeHandle,
        interval: Duration,
        metrics: Arc<Metrics>,
    ) {
        loop {
            tokio::time::sleep(interval).await;
            let current = handle.current();
            match self.reload(current.version).await {
                Ok(None) => {}
                Ok(Some(fresh)) if fresh.signed() == current.signed() => {}
                Ok(Some(fresh)) => {
                    let version = fresh.version;
                    if handle.replace(fresh) {
                        metrics.scheme_reloaded();
                        tracing::info!(version, "scheme updated");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "scheme refresh refused; keeping the current scheme")
                }
            }
        }
    }
}

/// A file path as a [`SchemeLocation`] (for the library API).
pub fn file(path: impl Into<PathBuf>) -> SchemeLocation {
    SchemeLocation::File(path.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_url("http://127.0.0.1:8700/scheme"));
        assert!(is_loopback_url("http://localhost/scheme"));
        assert!(is_loopback_url("http://[::1]:8700/scheme"));
        assert!(!is_loopback_url("https://issuer.example.nl/scheme"));
        assert!(!is_loopback_url("http://127.0.0.1.example.nl/scheme"));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            parse_signed(b"{nope"),
            Err(SchemeLoadError::Decode(_))
        ));
        assert!(matches!(
            parse_signed(&[0xff, 0x01]),
            Err(SchemeLoadError::Decode(_))
        ));
    }
}
