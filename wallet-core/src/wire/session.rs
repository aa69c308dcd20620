//! What a requestor and a wallet hold on a session: its status, its public
//! id and the requestor's secret token.
//!
//! These are the contract types of both services' requestor APIs (the issuer
//! and the verifier answer `GET /session/{token}/status` with a
//! [`SessionStatus`] and take a [`RequestorToken`] in the path) and of the
//! wallet API (the session URL in the QR code ends in a [`SessionId`]). They
//! are defined here once so that the two services cannot drift apart.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Status of a session as the requestor sees it, with IRMA's names
/// (`"INITIALIZED"`, `"CONNECTED"`, `"DONE"`, `"CANCELLED"`, `"TIMEOUT"`,
/// `"FAILED"`).
///
/// The issuer never reports [`SessionStatus::Failed`]: an issuance that ends
/// in a protocol failure is `CANCELLED` with the reason in the result's
/// `error` (docs/issuer.md). The verifier reports `FAILED` after too many
/// wrong presentations (docs/verifier.md, `max_wrong_answers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionStatus {
    /// Created; no wallet has fetched the session yet.
    Initialized,
    /// A wallet fetched the session and is busy with it.
    Connected,
    /// Finished: credentials issued, or a presentation received and checked
    /// (the result says whether it was valid).
    Done,
    /// The requestor cancelled the session or the resident declined (at the
    /// issuer also: ended by a protocol failure, see the result's `error`).
    Cancelled,
    /// Not finished before the session's deadline.
    Timeout,
    /// Verifier only: too many wrong presentations were posted (refused as
    /// malformed, unrequested or for another context).
    Failed,
}

impl SessionStatus {
    /// Whether the session can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Done | Self::Cancelled | Self::Timeout | Self::Failed
        )
    }

    /// The IRMA name, as used on the wire and in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialized => "INITIALIZED",
            Self::Connected => "CONNECTED",
            Self::Done => "DONE",
            Self::Cancelled => "CANCELLED",
            Self::Timeout => "TIMEOUT",
            Self::Failed => "FAILED",
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a session id or requestor token from a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed session {what}: {min}-{max} characters of A-Z a-z 0-9 - _")]
pub struct MalformedSessionHandle {
    what: &'static str,
    min: usize,
    max: usize,
}

/// Whether `s` has `min..=max` characters, all URL-safe (the base64url
/// alphabet, which includes lower-case hex): a handle that needs no escaping
/// in a path and cannot smuggle a `/`, `?` or `%`.
fn check_handle(
    s: &str,
    what: &'static str,
    min: usize,
    max: usize,
) -> Result<(), MalformedSessionHandle> {
    let ok = (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(())
        .ok_or(MalformedSessionHandle { what, min, max })
}

fn random_base64url<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R, n: usize) -> String {
    use base64::Engine as _;
    let mut bytes = zeroize::Zeroizing::new(vec![0u8; n]);
    rng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice())
}

macro_rules! handle_conversions {
    ($t:ident) => {
        impl FromStr for $t {
            type Err = MalformedSessionHandle;
            fn from_str(s: &str) -> Result<Self, MalformedSessionHandle> {
                check_handle(s, $t::WHAT, $t::MIN_LEN, $t::MAX_LEN)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $t {
            type Error = MalformedSessionHandle;
            fn try_from(s: String) -> Result<Self, MalformedSessionHandle> {
                check_handle(&s, $t::WHAT, $t::MIN_LEN, $t::MAX_LEN)?;
                Ok(Self(s))
            }
        }

        impl From<$t> for String {
            fn from(t: $t) -> String {
                t.0
            }
        }

        impl $t {
            /// The handle as it appears in URLs.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// The public id of a session in the wallet API: the last path segment of
/// the session URL in the QR code (the issuer's `/wallet/session/{id}`, the
/// verifier's `/wallet/{token}`). Public by design; unguessable among live
/// sessions so that nobody stumbles into another resident's session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    const WHAT: &'static str = "id";
    /// Shortest accepted id: 16 characters (96 bits as base64url, 64 as hex).
    pub const MIN_LEN: usize = 16;
    /// Longest accepted id.
    pub const MAX_LEN: usize = 128;

    /// A fresh id of 128 random bits (22 base64url characters).
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Self(random_base64url(rng, 16))
    }

    /// [`SessionId::random`] from the operating system's randomness.
    pub fn generate() -> Self {
        Self::random(&mut rand_core::OsRng)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

handle_conversions!(SessionId);

/// The requestor's secret handle on a session (status, result, cancel): a
/// bearer secret, so its `Debug` form is redacted and it has no `Display`,
/// to keep it out of log lines.
///
/// Equality is not constant-time: services look sessions up by a digest of
/// the token (or by the token as a database key), never by comparing
/// tokens in memory.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
#[serde(try_from = "String", into = "String")]
pub struct RequestorToken(String);

impl RequestorToken {
    const WHAT: &'static str = "token";
    /// Shortest accepted token: 32 characters (192 bits as base64url, 128 as
    /// hex).
    pub const MIN_LEN: usize = 32;
    /// Longest accepted token.
    pub const MAX_LEN: usize = 128;

    /// A fresh token of 256 random bits (43 base64url characters).
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        Self(random_base64url(rng, 32))
    }

    /// [`RequestorToken::random`] from the operating system's randomness.
    pub fn generate() -> Self {
        Self::random(&mut rand_core::OsRng)
    }
}

impl fmt::Debug for RequestorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestorToken(..)")
    }
}

handle_conversions!(RequestorToken);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_json_uses_irma_names() {
        let all = [
            (SessionStatus::Initialized, "INITIALIZED"),
            (SessionStatus::Connected, "CONNECTED"),
            (SessionStatus::Done, "DONE"),
            (SessionStatus::Cancelled, "CANCELLED"),
            (SessionStatus::Timeout, "TIMEOUT"),
            (SessionStatus::Failed, "FAILED"),
        ];
        for (status, name) in all {
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{name}\"")
            );
            assert_eq!(status.as_str(), name);
            assert_eq!(status.to_string(), name);
            let back: SessionStatus = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(back, status);
        }
        assert!(serde_json::from_str::<SessionStatus>("\"done\"").is_err());
        let finals: Vec<_> = all.iter().filter(|(s, _)| s.is_final()).collect();
        assert_eq!(finals.len(), 4);
        assert!(!SessionStatus::Initialized.is_final());
        assert!(!SessionStatus::Connected.is_final());
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = RequestorToken::generate();
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.as_str()), "{shown}");
        assert_eq!(shown, "RequestorToken(..)");
        let session = SessionId::generate();
        assert!(format!("{session:?}").contains(session.as_str()));
    }

    #[test]
    fn generated_handles_parse_back() {
        let token = RequestorToken::generate();
        assert_eq!(token.as_str().len(), 43);
        assert_eq!(token.as_str().parse::<RequestorToken>().unwrap(), token);
        let id = SessionId::generate();
        assert_eq!(id.as_str().len(), 22);
        assert_eq!(id.as_str().parse::<SessionId>().unwrap(), id);
        // The issuer's hex forms.
        assert!("0123456789abcdef0123456789abcdef"
            .parse::<SessionId>()
            .is_ok());
        assert!("ab".repeat(32).parse::<RequestorToken>().is_ok());
    }

    #[test]
    fn malformed_handles_are_refused() {
        for bad in [
            "",
            "short",
            "has/slash/and/more/chars0",
            "percent%2Fencoded-xxxxxxx",
            "spaces are not allowed here",
        ] {
            assert!(bad.parse::<SessionId>().is_err(), "{bad}");
        }
        assert!("a".repeat(31).parse::<RequestorToken>().is_err());
        assert!("a".repeat(129).parse::<RequestorToken>().is_err());
        assert!("é".repeat(20).parse::<RequestorToken>().is_err());
        let json = serde_json::to_string(&"x".repeat(10)).unwrap();
        assert!(serde_json::from_str::<RequestorToken>(&json).is_err());
    }

    #[test]
    fn handles_serialise_as_strings() {
        let token: RequestorToken = "t".repeat(40).parse().unwrap();
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(json, format!("\"{}\"", "t".repeat(40)));
        assert_eq!(
            serde_json::from_str::<RequestorToken>(&json).unwrap(),
            token
        );
    }
}
