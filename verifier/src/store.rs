//! Where session state lives: the [`SessionStore`] trait and its backends.
//!
//! A store is a small key–value table with compare-and-set. It knows the
//! session's key, its wallet token (the second lookup key, from the QR code),
//! its [`SessionStatus`], a version counter and an expiry; the rest of the
//! session is an opaque body that [`crate::session`] encodes. Keeping the
//! store ignorant of the protocol keeps each backend small and lets one test
//! suite (`tests/store_suite.rs`) run unchanged on every backend.
//!
//! One-shot completion rests on [`SessionStore::update`]: it writes only if
//! the stored version is the one the caller read, atomically (a Lua script
//! in Redis, a mutex in memory). Two daemons that share one Redis and receive
//! the same presentation at once therefore cannot both complete a session.
//!
//! Every write is announced on [`SessionStore::subscribe`] so that status
//! streams (server-sent events) wake up at once, also when the write happened
//! on another daemon instance (Redis pub/sub).

pub mod memory;
pub mod redis;

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

pub use self::memory::MemoryStore;
pub use self::redis::RedisStore;

// The session status and the requestor token are contract types of the
// requestor API, defined once in wallet-core.
pub use wallet_core::wire::{RequestorToken, SessionStatus};

/// Why a token from a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed session token")]
pub struct MalformedToken;

/// Number of random bytes in a wallet token: 128 bits (public in the QR
/// code, only needs to be unguessable among live sessions).
const WALLET_TOKEN_BYTES: usize = 16;

fn random_token(len: usize) -> String {
    use base64::Engine as _;
    use rand_core::RngCore as _;
    let mut bytes = vec![0u8; len];
    rand_core::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn parse_token(s: &str, len: usize) -> Result<String, MalformedToken> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| MalformedToken)?;
    if bytes.len() != len {
        return Err(MalformedToken);
    }
    Ok(s.to_owned())
}

/// The wallet's handle on a session, carried in the session pointer (QR).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WalletToken(String);

impl WalletToken {
    /// A fresh token from the operating system's randomness.
    pub fn generate() -> Self {
        Self(random_token(WALLET_TOKEN_BYTES))
    }
    /// The token as it appears in URLs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WalletToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for WalletToken {
    type Err = MalformedToken;
    fn from_str(s: &str) -> Result<Self, MalformedToken> {
        parse_token(s, WALLET_TOKEN_BYTES).map(Self)
    }
}

impl TryFrom<String> for WalletToken {
    type Error = MalformedToken;
    fn try_from(s: String) -> Result<Self, MalformedToken> {
        s.parse()
    }
}

impl From<WalletToken> for String {
    fn from(t: WalletToken) -> String {
        t.0
    }
}

/// Number of secret bytes in a page token after the wallet token's bytes.
const PAGE_SECRET_BYTES: usize = 16;

/// The handle of the session page shown to residents: the session's wallet
/// token (public anyway: it is in the QR code on the page) followed by 128
/// secret bits. It shows the page, the status and the page's summary of
/// the result; it does not open the requestor's result, result JWT or
/// cancel, which need the [`RequestorToken`] and the requestor's
/// credentials. The store keeps only a digest of the secret part.
///
/// Its `Debug` form is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PageToken {
    wallet: WalletToken,
    secret: zeroize::Zeroizing<[u8; PAGE_SECRET_BYTES]>,
}

impl PageToken {
    /// A fresh page token for the session of `wallet`.
    pub fn generate(wallet: &WalletToken) -> Self {
        use rand_core::RngCore as _;
        let mut secret = zeroize::Zeroizing::new([0u8; PAGE_SECRET_BYTES]);
        rand_core::OsRng.fill_bytes(secret.as_mut());
        Self {
            wallet: wallet.clone(),
            secret,
        }
    }

    /// The session's wallet token (the lookup key).
    pub fn wallet_token(&self) -> &WalletToken {
        &self.wallet
    }

    /// Domain-separated SHA-256 of the secret part, hex: what the session
    /// keeps.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"kenmerk-verifier/page-token/v1\0");
        h.update(self.secret.as_ref());
        hex::encode(h.finalize())
    }

    /// Whether `stored` (a [`PageToken::digest`]) is this token's digest, in
    /// constant time.
    pub fn matches(&self, stored: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        let mine = self.digest();
        mine.len() == stored.len() && bool::from(mine.as_bytes().ct_eq(stored.as_bytes()))
    }

    /// The token as it appears in URLs (base64url, 43 characters).
    pub fn to_url_string(&self) -> String {
        use base64::Engine as _;
        let mut bytes =
            zeroize::Zeroizing::new(Vec::with_capacity(WALLET_TOKEN_BYTES + PAGE_SECRET_BYTES));
        if let Ok(w) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(self.wallet.as_str())
        {
            bytes.extend_from_slice(&w);
        }
        bytes.extend_from_slice(self.secret.as_ref());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice())
    }
}

impl fmt::Debug for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PageToken(..)")
    }
}

impl FromStr for PageToken {
    type Err = MalformedToken;
    fn from_str(s: &str) -> Result<Self, MalformedToken> {
        use base64::Engine as _;
        let bytes = zeroize::Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| MalformedToken)?,
        );
        if bytes.len() != WALLET_TOKEN_BYTES + PAGE_SECRET_BYTES {
            return Err(MalformedToken);
        }
        let (wallet, secret) = bytes.split_at(WALLET_TOKEN_BYTES);
        let mut out = zeroize::Zeroizing::new([0u8; PAGE_SECRET_BYTES]);
        out.copy_from_slice(secret);
        Ok(Self {
            wallet: WalletToken(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(wallet)),
            secret: out,
        })
    }
}

/// Store key of a session: hex SHA-256 of its requestor token.
///
/// Keying by a hash means that whoever reads the store (a Redis dump, a
/// monitoring tool) does not get the bearer tokens that give access to
/// results.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionId(String);

impl SessionId {
    /// The key of the session that `token` gives access to.
    pub fn for_token(token: &RequestorToken) -> Self {
        Self(hex::encode(Sha256::digest(token.as_str().as_bytes())))
    }
    /// The hex form used in store keys.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Parse the hex form (as published by a store's change events).
    pub fn from_hex(s: &str) -> Option<Self> {
        (s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| Self(s.to_owned()))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One stored session: lookup keys, status, version and an opaque body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    /// Primary key.
    pub id: SessionId,
    /// Secondary key, for the wallet API.
    pub wallet_token: WalletToken,
    /// Current status.
    pub status: SessionStatus,
    /// Incremented by every successful [`SessionStore::update`]; starts at 0.
    pub version: u64,
    /// Unix time (milliseconds) after which the store may forget the session.
    pub purge_at_ms: u64,
    /// Name of the requestor that created the session: counted against its
    /// cap ([`Limits::per_owner`]); never changed by an update.
    #[serde(default)]
    pub owner: String,
    /// The rest of the session, encoded by [`crate::session`].
    #[serde(with = "wallet_core::cbor::bytes")]
    pub body: Vec<u8>,
}

impl StoredSession {
    /// Whether the store may forget this session at `now_ms`.
    pub fn is_purgeable(&self, now_ms: u64) -> bool {
        now_ms >= self.purge_at_ms
    }

    /// Encoding used by stores that keep bytes (Redis).
    pub fn to_bytes(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        ciborium::into_writer(self, &mut out).map_err(|e| StoreError::Encoding(e.to_string()))?;
        Ok(out)
    }

    /// Inverse of [`StoredSession::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        ciborium::from_reader(bytes).map_err(|e| StoreError::Encoding(e.to_string()))
    }
}

/// Outcome of a compare-and-set [`SessionStore::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Written; the stored version is now `expected + 1`.
    Updated,
    /// Someone else wrote first: re-read and decide again.
    Conflict,
    /// The session is gone (deleted or purged).
    Missing,
}

/// How many sessions a store may hold when it inserts one more.
///
/// A session counts from its insert until the store may forget it
/// ([`StoredSession::purge_at_ms`]): finished sessions count while their
/// result is kept, because what the caps bound is the memory the store uses.
/// `None` is no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Sessions held in total (all requestors).
    pub total: Option<u64>,
    /// Sessions held per owner (requestor name).
    pub per_owner: Option<u64>,
}

impl Limits {
    /// No cap (tests, embedding programs that bound load themselves).
    pub const NONE: Self = Self {
        total: None,
        per_owner: None,
    };

    /// The daemon's defaults: 50,000 sessions in total, 10,000 per
    /// requestor (a session takes about 2 KiB in memory: about 100 MiB at
    /// the total cap; see docs/operations.md).
    pub const DEFAULT: Self = Self {
        total: Some(50_000),
        per_owner: Some(10_000),
    };
}

/// Which cap refused an insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtCapacity {
    /// The owner holds [`Limits::per_owner`] sessions; the first of them may
    /// be forgotten at `retry_at_ms` (the caller is at fault: retry later).
    Owner {
        /// The cap.
        limit: u64,
        /// When the owner's oldest-purging session goes.
        retry_at_ms: u64,
    },
    /// The store holds [`Limits::total`] sessions (the service is full).
    Total {
        /// The cap.
        limit: u64,
    },
}

/// A store failure (the backend, not the caller, is at fault; except for
/// [`StoreError::AtCapacity`], which is load).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or answered with an error.
    #[error("session store unavailable: {0}")]
    Backend(String),
    /// A stored record could not be encoded or decoded.
    #[error("stored session could not be encoded or decoded: {0}")]
    Encoding(String),
    /// A session with this key or wallet token already exists.
    #[error("session already exists")]
    Duplicate,
    /// A cap of [`Limits`] refused the insert.
    #[error("too many live sessions: {0:?}")]
    AtCapacity(AtCapacity),
}

/// Backend for session state. Implementations must make [`update`] atomic
/// with respect to all other writers (other tasks, other daemon instances).
///
/// [`update`]: SessionStore::update
pub trait SessionStore: Send + Sync + 'static {
    /// Store a new session; fails with [`StoreError::Duplicate`] if its key
    /// or wallet token is taken, and with [`StoreError::AtCapacity`] if the
    /// store already holds `limits` sessions (checked atomically with the
    /// write: two instances cannot both take the last slot).
    ///
    /// An insert is idempotent for its caller: when a backend retries it on
    /// a new connection after a lost reply, the retry recognises its own
    /// earlier write and succeeds.
    fn insert(
        &self,
        session: StoredSession,
        limits: Limits,
    ) -> BoxFuture<'_, Result<(), StoreError>>;

    /// The session under `id`, unless absent or purgeable.
    fn get<'a>(
        &'a self,
        id: &'a SessionId,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;

    /// The session a wallet token points to, unless absent or purgeable.
    fn get_by_wallet<'a>(
        &'a self,
        wallet: &'a WalletToken,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;

    /// Replace the session if its stored version equals `expected_version`;
    /// the written record carries version `expected_version + 1` whatever
    /// `next.version` says, and the stored owner whatever `next.owner` says.
    /// Idempotent like [`SessionStore::insert`]: a retry after a lost reply
    /// answers `Updated`, not `Conflict` with its own write.
    fn update(
        &self,
        expected_version: u64,
        next: StoredSession,
    ) -> BoxFuture<'_, Result<UpdateOutcome, StoreError>>;

    /// Forget a session; `Ok(false)` if it was not there.
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Change notifications: the id of every session written or deleted,
    /// by this or (for shared backends) any other instance. Receivers that
    /// lag must re-read the sessions they watch.
    fn subscribe(&self) -> broadcast::Receiver<SessionId>;

    /// Number of sessions held now (what [`Limits`] count), after dropping
    /// those whose purge time has come.
    fn held(&self) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// Whether the backend answers (for `/readyz`).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Milliseconds since the Unix epoch, by the system clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let t = RequestorToken::generate();
        assert_eq!(t.as_str().parse::<RequestorToken>().unwrap(), t);
        assert!("short".parse::<RequestorToken>().is_err());
        assert!("!!!!".parse::<WalletToken>().is_err());
        let w = WalletToken::generate();
        assert!(
            w.as_str().parse::<RequestorToken>().is_err(),
            "lengths differ"
        );
        assert_eq!(format!("{t:?}"), "RequestorToken(..)");
    }

    #[test]
    fn page_tokens_round_trip_and_carry_the_wallet_token() {
        let w = WalletToken::generate();
        let p = PageToken::generate(&w);
        let url = p.to_url_string();
        assert_eq!(url.len(), 43);
        let back: PageToken = url.parse().unwrap();
        assert_eq!(back, p);
        assert_eq!(back.wallet_token(), &w);
        assert!(back.matches(&p.digest()));
        assert!(!PageToken::generate(&w).matches(&p.digest()));
        assert!(!p.matches(""));
        assert!(w.as_str().parse::<PageToken>().is_err(), "too short");
        assert!(format!("{url}A").parse::<PageToken>().is_err());
        assert_eq!(format!("{p:?}"), "PageToken(..)");
    }

    #[test]
    fn session_id_is_hash_of_token() {
        let t = RequestorToken::generate();
        let id = SessionId::for_token(&t);
        assert_eq!(id.as_str().len(), 64);
        assert_eq!(SessionId::from_hex(id.as_str()), Some(id.clone()));
        assert_ne!(id.as_str(), t.as_str());
        assert!(SessionId::from_hex("zz").is_none());
    }

    #[test]
    fn stored_session_bytes_round_trip() {
        let s = StoredSession {
            id: SessionId::for_token(&RequestorToken::generate()),
            wallet_token: WalletToken::generate(),
            status: SessionStatus::Connected,
            version: 3,
            purge_at_ms: 42,
            owner: "desk".into(),
            body: vec![1, 2, 3],
        };
        assert_eq!(
            StoredSession::from_bytes(&s.to_bytes().unwrap()).unwrap(),
            s
        );
        assert!(StoredSession::from_bytes(&[0xff, 0x00]).is_err());
    }
}
