//! What the wallet holds, independent of how it is stored.
//!
//! The contents are serialised as JSON inside the encrypted envelope; secret
//! byte strings (the seed, credential tokens) are hex and live in
//! zeroize-on-drop buffers.  Protocol objects (tokens, pending issuance
//! state) are kept as the canonical CBOR bytes that wallet-core produces, so
//! the file format does not depend on wallet-core's Rust types.
//!
//! The disclosure log is append-only: [`DisclosureLog`] has no method that
//! removes or changes an entry.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// Version of the JSON contents inside the envelope.
pub const CONTENTS_VERSION: u32 = 1;

/// The 32-byte recovery seed from which the holder secret is derived.
#[derive(Clone)]
pub struct HolderSeed(Zeroizing<[u8; 32]>);

impl HolderSeed {
    /// Wrap seed bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh seed from the operating system's randomness.
    pub fn generate() -> Self {
        use rand_core::{OsRng, RngCore};
        let mut seed = Self::new([0u8; 32]);
        OsRng.fill_bytes(seed.0.as_mut());
        seed
    }

    /// The seed bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for HolderSeed {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(other.0.as_ref()).into()
    }
}

impl fmt::Debug for HolderSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderSeed(<secret>)")
    }
}

impl Serialize for HolderSeed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex = Zeroizing::new(hex::encode(self.0.as_ref()));
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for HolderSeed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Borrowed from the (zeroized) plaintext buffer: no stray copy.
        let s: &'de str = Deserialize::deserialize(d)?;
        let mut seed = Self::new([0u8; 32]);
        hex::decode_to_slice(s, seed.0.as_mut()).map_err(serde::de::Error::custom)?;
        Ok(seed)
    }
}

/// Secret bytes (a wallet-held token), hex in the file, wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wrap bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes>)", self.0.len())
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex = Zeroizing::new(hex::encode(self.0.as_slice()));
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: &'de str = Deserialize::deserialize(d)?;
        let mut out = Zeroizing::new(vec![0u8; s.len() / 2]);
        hex::decode_to_slice(s, out.as_mut_slice()).map_err(serde::de::Error::custom)?;
        Ok(Self(out))
    }
}

/// Public bytes kept in hex (scheme documents, keys).
mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: &'de str = Deserialize::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// A pinned scheme: the trust registry the wallet accepts keys from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PinnedScheme {
    /// Scheme identifier (first part of every dotted id).
    pub id: String,
    /// The scheme's Ed25519 signing key, pinned on first add.
    #[serde(with = "hex_bytes")]
    pub public_key: Vec<u8>,
    /// Human-checkable fingerprint of `public_key`.
    pub fingerprint: String,
    /// Scheme document version; updates must not go backwards.
    pub version: u64,
    /// The signed scheme document as received.
    #[serde(with = "hex_bytes")]
    pub document: Vec<u8>,
    /// Where it came from (URL or file), for `scheme update`.
    pub source: String,
    /// When it was pinned or last updated (unix seconds).
    pub updated_at: i64,
}

/// One attribute of a stored credential, as shown to the resident.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredAttribute {
    /// Attribute identifier, `scheme.issuer.credential.attribute`.
    pub id: String,
    /// The value as text; `None` when the attribute is absent.
    pub value: Option<String>,
}

/// One one-show token of a credential.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredToken {
    /// The wallet-held token (wallet-core `CredentialToken`, canonical CBOR).
    pub token: SecretBytes,
    /// Set, and saved, before a presentation with this token leaves the
    /// wallet, so a crash can never lead to showing it twice.
    pub used: bool,
}

/// A credential: attributes plus a batch of one-show tokens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredCredential {
    /// Local handle shown by `kenmerk list` (`c1`, `c2`, ...).
    pub id: String,
    /// `scheme.issuer.credential`.
    pub credential_type: String,
    /// Attributes in scheme order.
    pub attributes: Vec<StoredAttribute>,
    /// Issuer key counter the tokens were signed under.
    pub key_counter: u32,
    /// When this batch was issued (unix seconds).
    pub issued_at: i64,
    /// Expiry of the tokens (unix seconds, on the weekly grid).
    pub expiry: i64,
    /// Base URL of the issuer's wallet API, for refresh.
    pub issuer_url: String,
    /// The issuer's handle for this credential record, for refresh.
    pub record: Option<String>,
    /// The tokens of the batch.
    pub tokens: Vec<StoredToken>,
}

impl StoredCredential {
    /// Tokens not yet shown.
    pub fn tokens_left(&self) -> usize {
        self.tokens.iter().filter(|t| !t.used).count()
    }
}

/// What kind of event a log entry records.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// Attributes disclosed to a verifier.
    Disclosure,
    /// A statement signed with attributes.
    Signature,
    /// A credential received.
    Issuance,
    /// A credential batch renewed.
    Refresh,
    /// An offline presentation shown as a QR code.
    OfflineDisclosure,
}

/// One disclosed attribute in the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoggedAttribute {
    /// Attribute identifier.
    pub id: String,
    /// Value disclosed (absent attributes are logged as `None`).
    pub value: Option<String>,
}

/// One predicate proven, in the log: the attribute and the statement, so
/// it can be put in words in whatever language the log is read in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoggedPredicate {
    /// Attribute identifier.
    pub attribute: String,
    /// The statement proven.
    pub predicate: wallet_core::predicate::Predicate,
}

/// One entry of the disclosure log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogEntry {
    /// When (unix seconds).
    pub at: i64,
    /// What happened.
    pub kind: LogKind,
    /// Verifier or issuer identifier, if registered.
    pub party: Option<String>,
    /// Host the wallet talked to.
    pub host: Option<String>,
    /// Attributes disclosed (or received, for issuance).
    pub attributes: Vec<LoggedAttribute>,
    /// Predicates proven.
    pub predicates: Vec<LoggedPredicate>,
    /// Pseudonym scope, if a pseudonym was given.
    pub pseudonym_scope: Option<String>,
    /// The signed message, for signatures.
    pub message: Option<String>,
    /// How it ended, as reported by the other side (for example `VALID`).
    pub outcome: Option<String>,
}

/// The append-only disclosure log.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DisclosureLog(Vec<LogEntry>);

impl DisclosureLog {
    /// Add an entry at the end.
    pub fn append(&mut self, entry: LogEntry) {
        self.0.push(entry);
    }

    /// All entries, oldest first.
    pub fn entries(&self) -> &[LogEntry] {
        &self.0
    }
}

/// Work begun but not finished when the wallet was last saved, so that a
/// crash mid-session is visible and recoverable.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PendingState {
    /// A presentation was built and its tokens marked used, but no answer
    /// from the verifier was recorded.
    Presentation {
        /// Session URL it was sent to.
        session: String,
        /// When it was started (unix seconds).
        started_at: i64,
        /// Log entry to append once the verifier answers.
        entry: LogEntry,
    },
    /// An issuance whose challenges were sent but whose tokens were not yet
    /// received (wallet-core `PendingIssuance`, canonical bytes).
    Issuance {
        /// Session URL.
        session: String,
        /// When it was started (unix seconds).
        started_at: i64,
        /// Credential type being issued.
        credential_type: String,
    },
}

/// Everything inside the wallet file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WalletContents {
    /// Contents version; see [`CONTENTS_VERSION`].
    pub version: u32,
    /// The recovery seed (holder secret source).
    pub seed: HolderSeed,
    /// When the wallet was created (unix seconds).
    pub created_at: i64,
    /// Pinned schemes.
    pub schemes: Vec<PinnedScheme>,
    /// Credentials held.
    pub credentials: Vec<StoredCredential>,
    /// The disclosure log.
    pub log: DisclosureLog,
    /// Unfinished work.
    pub pending: Vec<PendingState>,
    /// Counter for local credential handles; never reused, so `c3` always
    /// means the same credential in the log and on screen.
    pub next_credential: u64,
}

/// Why the decrypted contents could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ContentsError {
    #[error("malformed wallet contents: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(
        "wallet contents version {0} is newer than this kenmerk supports ({CONTENTS_VERSION})"
    )]
    NewerVersion(u32),
}

impl WalletContents {
    /// An empty wallet for a seed.
    pub fn new(seed: HolderSeed, now: i64) -> Self {
        Self {
            version: CONTENTS_VERSION,
            seed,
            created_at: now,
            schemes: Vec::new(),
            credentials: Vec::new(),
            log: DisclosureLog::default(),
            pending: Vec::new(),
            next_credential: 1,
        }
    }

    /// Parse decrypted bytes.
    pub fn from_plaintext(bytes: &[u8]) -> Result<Self, ContentsError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u32,
        }
        let v: VersionOnly = serde_json::from_slice(bytes)?;
        if v.version > CONTENTS_VERSION {
            return Err(ContentsError::NewerVersion(v.version));
        }
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Serialise into a buffer that is wiped on drop. The buffer is
    /// allocated at its final size (a first pass counts the bytes): a
    /// growing `Vec` would reallocate and leave copies of the seed and the
    /// tokens in freed memory that nothing wipes.
    pub fn to_plaintext(&self) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0 += b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut count = Count(0);
        serde_json::to_writer(&mut count, self)?;
        let mut out = Zeroizing::new(Vec::with_capacity(count.0));
        serde_json::to_writer(&mut *out, self)?;
        Ok(out)
    }

    /// Allocate the next local credential handle.
    pub fn next_credential_id(&mut self) -> String {
        let id = format!("c{}", self.next_credential);
        self.next_credential += 1;
        id
    }

    /// Find a credential by local handle (`c2`) or by credential type; a
    /// type matching several credentials is ambiguous.
    pub fn find_credential(&self, key: &str) -> Result<&StoredCredential, FindError> {
        if let Some(c) = self.credentials.iter().find(|c| c.id == key) {
            return Ok(c);
        }
        let mut by_type = self.credentials.iter().filter(|c| {
            c.credential_type == key || c.credential_type.ends_with(&format!(".{key}"))
        });
        match (by_type.next(), by_type.next()) {
            (Some(c), None) => Ok(c),
            (Some(_), Some(_)) => Err(FindError::Ambiguous(key.to_owned())),
            (None, _) => Err(FindError::NotFound(key.to_owned())),
        }
    }

    /// The pinned scheme with this id.
    pub fn scheme(&self, id: &str) -> Option<&PinnedScheme> {
        self.schemes.iter().find(|s| s.id == id)
    }
}

/// Why a credential lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("no credential {0:?} in the wallet")]
    NotFound(String),
    #[error("{0:?} matches more than one credential; use its id from `kenmerk list`")]
    Ambiguous(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plaintext (seed, tokens) is written into a buffer of exactly its
    /// size: no reallocation leaves an unwiped copy behind.
    #[test]
    fn plaintext_buffer_never_reallocates() {
        let p = sample().to_plaintext().unwrap();
        assert_eq!(p.capacity(), p.len());
        assert!(WalletContents::from_plaintext(&p).is_ok());
    }

    fn sample() -> WalletContents {
        let mut w = WalletContents::new(HolderSeed::new([9u8; 32]), 1_700_000_000);
        let id = w.next_credential_id();
        w.credentials.push(StoredCredential {
            id,
            credential_type: "demo.gemeente.address".into(),
            attributes: vec![StoredAttribute {
                id: "demo.gemeente.address.city".into(),
                value: Some("Utrecht".into()),
            }],
            key_counter: 1,
            issued_at: 1_700_000_000,
            expiry: 1_700_600_000,
            issuer_url: "http://127.0.0.1:8700".into(),
            record: Some("rec-1".into()),
            tokens: vec![
                StoredToken {
                    token: SecretBytes::new(vec![1, 2, 3]),
                    used: false,
                },
                StoredToken {
                    token: SecretBytes::new(vec![4, 5]),
                    used: true,
                },
            ],
        });
        w.log.append(LogEntry {
            at: 1_700_000_100,
            kind: LogKind::Disclosure,
            party: Some("demo.parking".into()),
            host: Some("parking.example".into()),
            attributes: vec![],
            predicates: vec![LoggedPredicate {
                attribute: "demo.gemeente.personal.date_of_birth".into(),
                predicate: wallet_core::predicate::Predicate::AgeAtLeast {
                    years: 18,
                    on: time::macros::date!(2026 - 11 - 25),
                },
            }],
            pseudonym_scope: None,
            message: None,
            outcome: Some("VALID".into()),
        });
        w
    }

    #[test]
    fn contents_round_trip() {
        let w = sample();
        let bytes = w.to_plaintext().unwrap();
        let back = WalletContents::from_plaintext(&bytes).unwrap();
        assert_eq!(back, w);
        assert_eq!(back.credentials[0].tokens_left(), 1);
        assert_eq!(back.next_credential, 2);
    }

    #[test]
    fn newer_contents_version_refused() {
        let mut w = sample();
        w.version = CONTENTS_VERSION + 1;
        let bytes = w.to_plaintext().unwrap();
        assert!(matches!(
            WalletContents::from_plaintext(&bytes),
            Err(ContentsError::NewerVersion(_))
        ));
    }

    #[test]
    fn find_by_id_type_and_suffix() {
        let mut w = sample();
        assert_eq!(w.find_credential("c1").unwrap().id, "c1");
        assert_eq!(w.find_credential("address").unwrap().id, "c1");
        assert_eq!(w.find_credential("demo.gemeente.address").unwrap().id, "c1");
        assert!(matches!(
            w.find_credential("c9"),
            Err(FindError::NotFound(_))
        ));
        let mut second = w.credentials[0].clone();
        second.id = w.next_credential_id();
        w.credentials.push(second);
        assert!(matches!(
            w.find_credential("address"),
            Err(FindError::Ambiguous(_))
        ));
        assert_eq!(w.find_credential("c2").unwrap().id, "c2");
    }

    #[test]
    fn seed_debug_does_not_leak() {
        let s = HolderSeed::new([0xab; 32]);
        assert!(!format!("{s:?}").contains("ab"));
    }
}
