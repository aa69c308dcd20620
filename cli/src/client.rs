//! HTTP to the issuer and verifier daemons: canonical CBOR wire messages
//! from wallet-core in both directions, RFC 7807 problems on failure.
//!
//! Responses are size-capped before decoding and every body goes through
//! the wire message's own decoder (canonical CBOR, version, consistency), so
//! nothing a peer sends is trusted before wallet-core has checked it.

use std::time::Duration;

use serde::Deserialize;
use wallet_core::cbor::{DecodeError, MAX_MESSAGE_BYTES};
use wallet_core::wire::WireMessage;

/// Media type of wire messages.
pub const CBOR: &str = "application/cbor";
/// Media type of RFC 7807 problems.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// HTTP paths of the daemons' wallet APIs, relative to the session URL `u`
/// of a session pointer or to the issuer's base URL. Kept in one place so
/// they match the routes in `issuer/src/routes` and `verifier/src/router`.
pub mod paths {
    /// Issuance: GET the offer (`IssuanceOffer`).
    pub const ISSUANCE_OFFER: &str = "";
    /// Issuance: POST `HolderCommitment` → `SignerCommitmentsMessage`.
    pub const ISSUANCE_COMMITMENT: &str = "/commitment";
    /// Issuance and refresh: POST `ChallengesMessage` → `ResponsesMessage`.
    pub const ISSUANCE_CHALLENGES: &str = "/challenges";
    /// The part of an issuance session URL after the issuer's base URL.
    pub const ISSUANCE_SESSION_MARK: &str = "/wallet/session/";
    /// Refresh, on the issuer's base URL: POST `RefreshRequest` → 201
    /// `IssuanceOffer` with the refresh session's URL in `Location`.
    pub const REFRESH: &str = "/wallet/refresh";
    /// Refresh, on the refresh session URL: POST `RefreshProof` →
    /// `SignerCommitmentsMessage`.
    pub const REFRESH_PROOF: &str = "/refresh-proof";
    /// Disclosure/signing: GET the request message.
    pub const REQUEST: &str = "";
    /// Disclosure/signing: POST `PresentationMessage`; DELETE the session
    /// URL itself to decline.
    pub const PROOFS: &str = "/presentation";
    /// Scheme: GET the published signed scheme.
    pub const SCHEME: &str = "/scheme";
    /// Scheme key: GET, below the scheme URL (hex or JSON `{"key": hex}`).
    pub const SCHEME_KEY: &str = "/key";
}

/// An RFC 7807 problem as a daemon reports it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// URI of the problem type.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Short summary.
    #[serde(default)]
    pub title: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Explanation of this occurrence.
    #[serde(default)]
    pub detail: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.detail {
            Some(d) if !d.is_empty() => write!(f, "{}: {d}", self.title),
            _ => f.write_str(&self.title),
        }
    }
}

/// Why an HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    #[error("{url} answered {status}: {problem}")]
    Refused {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The problem document (or a summary of the body).
        problem: Problem,
    },
    #[error("{url} answered with more than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge {
        /// The URL.
        url: String,
    },
    #[error("{url} answered with a message kenmerk does not accept: {error}")]
    Decode {
        /// The URL.
        url: String,
        /// Why.
        error: DecodeError,
    },
    #[error("cannot set up HTTP: {0}")]
    Setup(String),
}

impl ClientError {
    /// The HTTP status when the peer refused.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A reqwest client with the wallet's timeouts.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
}

/// Join a base URL and a path without doubling slashes.
pub fn join(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_owned();
    }
    format!("{}{}", base.trim_end_matches('/'), path)
}

impl Client {
    /// A client with connect and total timeouts suitable for a person
    /// waiting at a terminal.
    pub fn new() -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("kenmerk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Self { http })
    }

    async fn read(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, ClientError> {
        self.read_with_location(url, request).await.map(|(b, _)| b)
    }

    async fn read_with_location(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(Vec<u8>, Option<String>), ClientError> {
        let connect = |e: reqwest::Error| ClientError::Connect {
            url: url.to_owned(),
            reason: e.to_string(),
        };
        let mut response = request.send().await.map_err(connect)?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if response
            .content_length()
            .is_some_and(|l| l > MAX_MESSAGE_BYTES as u64)
        {
            return Err(ClientError::TooLarge {
                url: url.to_owned(),
            });
        }
        // Read in chunks so a peer cannot make us buffer an unbounded body.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(connect)? {
            if body.len() + chunk.len() > MAX_MESSAGE_BYTES {
                return Err(ClientError::TooLarge {
                    url: url.to_owned(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok((body, location));
        }
        let problem = serde_json::from_slice::<Problem>(&body).unwrap_or_else(|_| Problem {
            kind: String::new(),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail: std::str::from_utf8(&body)
                .ok()
                .map(|s| s.chars().take(200).collect()),
        });
        Err(ClientError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            problem,
        })
    }

    /// GET raw bytes (schemes, keys).
    pub async fn get_bytes(&self, url: &str) -> Result<Vec<u8>, ClientError> {
        self.read(url, self.http.get(url)).await
    }

    /// GET a body asking for CBOR (the caller picks the decoder).
    pub async fn get_cbor_bytes(&self, url: &str) -> Result<Vec<u8>, ClientError> {
        self.read(
            url,
            self.http.get(url).header(reqwest::header::ACCEPT, CBOR),
        )
        .await
    }

    /// GET and decode a wire message.
    pub async fn get_wire<T: WireMessage>(&self, url: &str) -> Result<T, ClientError> {
        let body = self
            .read(
                url,
                self.http.get(url).header(reqwest::header::ACCEPT, CBOR),
            )
            .await?;
        T::from_bytes(&body).map_err(|error| ClientError::Decode {
            url: url.to_owned(),
            error,
        })
    }

    /// DELETE (decline a session).
    pub async fn delete(&self, url: &str) -> Result<(), ClientError> {
        self.read(url, self.http.delete(url)).await.map(|_| ())
    }

    /// POST a wire message and return the raw answer.
    pub async fn post_wire_raw<T: WireMessage>(
        &self,
        url: &str,
        message: &T,
    ) -> Result<Vec<u8>, ClientError> {
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, CBOR)
            .header(reqwest::header::ACCEPT, CBOR)
            .body(message.to_bytes());
        self.read(url, request).await
    }

    /// POST a wire message; the decoded answer and the `Location` header.
    pub async fn post_wire_located<T: WireMessage, R: WireMessage>(
        &self,
        url: &str,
        message: &T,
    ) -> Result<(R, Option<String>), ClientError> {
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, CBOR)
            .header(reqwest::header::ACCEPT, CBOR)
            .body(message.to_bytes());
        let (body, location) = self.read_with_location(url, request).await?;
        let decoded = R::from_bytes(&body).map_err(|error| ClientError::Decode {
            url: url.to_owned(),
            error,
        })?;
        Ok((decoded, location))
    }

    /// POST a wire message and decode the wire message answered.
    pub async fn post_wire<T: WireMessage, R: WireMessage>(
        &self,
        url: &str,
        message: &T,
    ) -> Result<R, ClientError> {
        let body = self.post_wire_raw(url, message).await?;
        R::from_bytes(&body).map_err(|error| ClientError::Decode {
            url: url.to_owned(),
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_urls() {
        assert_eq!(join("http://h/s/1/", "/proofs"), "http://h/s/1/proofs");
        assert_eq!(join("http://h/s/1", ""), "http://h/s/1");
    }

    #[test]
    fn problem_display() {
        let p = Problem {
            kind: "about:blank".into(),
            title: "Revoked".into(),
            status: 410,
            detail: Some("credential revoked".into()),
        };
        assert_eq!(p.to_string(), "Revoked: credential revoked");
    }
}
