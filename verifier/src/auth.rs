//! Requestor authentication for the requestor API.
//!
//! Three modes: open (local use; anyone on the listening address may create
//! sessions), static bearer tokens per requestor, or JWTs signed by the
//! requestor (EdDSA with its public key, or HS256 with a shared secret).
//! Each requestor may be bound to one registered verifier identity, which
//! then is the identity of every session it creates.
//!
//! Tokens are compared in constant time; secrets are zeroized on drop and
//! never printed (`Debug` is redacted).

use std::fmt;

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use wallet_core::ids::VerifierId;
use zeroize::Zeroizing;

/// How a requestor proves who it is.
pub enum Credential {
    /// `Authorization: Bearer <token>` with this exact token.
    Token(Zeroizing<String>),
    /// `Authorization: Bearer <jwt>`, the JWT signed EdDSA with the key
    /// whose public half this is; `iss` must be the requestor's name.
    JwtEdDsa(DecodingKey),
    /// As above, HS256 with a shared secret.
    JwtHs256(Zeroizing<Vec<u8>>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token(_) => "Token(..)",
            Self::JwtEdDsa(_) => "JwtEdDsa(..)",
            Self::JwtHs256(_) => "JwtHs256(..)",
        })
    }
}

/// A configured requestor.
#[derive(Debug)]
pub struct Requestor {
    /// Name, used in logs and as the JWT issuer.
    pub name: String,
    /// The verifier identity its sessions carry; `None` lets the request
    /// name it (or the daemon's default applies).
    pub verifier: Option<VerifierId>,
    /// How it authenticates.
    pub credential: Credential,
}

/// The requestor API's authentication policy.
#[derive(Debug, Default)]
pub enum RequestorAuth {
    /// No authentication (local use). The daemon logs a warning when it
    /// listens on a non-loopback address in this mode.
    #[default]
    Open,
    /// Only these requestors.
    Requestors(Vec<Requestor>),
}

/// Who made a request, after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// Requestor name (`"anonymous"` in open mode).
    pub name: String,
    /// Verifier identity the requestor is bound to.
    pub verifier: Option<VerifierId>,
}

/// Why a requestor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing Authorization: Bearer header")]
    Missing,
    /// The token or JWT matches no configured requestor.
    #[error("the credentials match no configured requestor")]
    Invalid,
    /// A JWT that verified under a requestor's key has expired.
    #[error("the requestor JWT has expired")]
    Expired,
    /// A JWT that verified under a requestor's key is not valid yet (`nbf`).
    #[error("the requestor JWT is not valid yet (nbf)")]
    NotYetValid,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    /// Kept raw: jsonwebtoken skips an `nbf` (or an `exp`) it cannot parse
    /// as if it were absent, so [`check_jwt`] checks their form itself.
    #[serde(default, deserialize_with = "present")]
    nbf: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    exp: Option<serde_json::Value>,
}

/// A claim that is there, `null` included (plain `Option` reads `null` as
/// absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    <serde_json::Value as Deserialize>::deserialize(d).map(Some)
}

impl Claims {
    /// Time claims, when present, are whole non-negative seconds: a string,
    /// `true`, a fraction or `1e20` makes the JWT invalid instead of
    /// turning "not before" into a no-op.
    fn time_claims_well_formed(&self) -> bool {
        [&self.nbf, &self.exp]
            .iter()
            .all(|v| v.as_ref().is_none_or(|v| v.as_u64().is_some()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}

impl RequestorAuth {
    /// Authenticate from request headers (`Authorization: Bearer …`; IRMA's
    /// `Authorization: <token>` without scheme is accepted too).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Authenticated, AuthError> {
        let requestors = match self {
            Self::Open => {
                return Ok(Authenticated {
                    name: "anonymous".into(),
                    verifier: None,
                })
            }
            Self::Requestors(r) => r,
        };
        let value = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(AuthError::Missing)?;
        let presented = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        if presented.is_empty() {
            return Err(AuthError::Missing);
        }
        // The most specific refusal of a JWT that verified under some
        // requestor's key, if any.
        let mut refusal = AuthError::Invalid;
        for r in requestors {
            let check = match &r.credential {
                Credential::Token(t) => {
                    if constant_time_eq(t.as_bytes(), presented.as_bytes()) {
                        JwtCheck::Valid
                    } else {
                        JwtCheck::Invalid
                    }
                }
                Credential::JwtEdDsa(key) => check_jwt(presented, key, Algorithm::EdDSA, &r.name),
                Credential::JwtHs256(secret) => check_jwt(
                    presented,
                    &DecodingKey::from_secret(secret),
                    Algorithm::HS256,
                    &r.name,
                ),
            };
            let ok = match check {
                JwtCheck::Valid => true,
                JwtCheck::Expired => {
                    refusal = AuthError::Expired;
                    false
                }
                JwtCheck::NotYetValid => {
                    refusal = AuthError::NotYetValid;
                    false
                }
                JwtCheck::Invalid => false,
            };
            if ok {
                return Ok(Authenticated {
                    name: r.name.clone(),
                    verifier: r.verifier.clone(),
                });
            }
        }
        Err(refusal)
    }
}

enum JwtCheck {
    Valid,
    Expired,
    NotYetValid,
    Invalid,
}

fn check_jwt(jwt: &str, key: &DecodingKey, alg: Algorithm, name: &str) -> JwtCheck {
    let mut validation = Validation::new(alg);
    // Requestor JWTs are short-lived credentials: `exp` is required and
    // checked with one minute of leeway for clock skew; `nbf`, when present,
    // with the same leeway, so a JWT minted for later does not work before
    // its time. The times are checked here, after their form: jsonwebtoken
    // reads a fractional or malformed time claim its own way (or skips it),
    // and a malformed claim makes the JWT invalid, whatever its value.
    const LEEWAY: u64 = 60;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp", "iss"]);
    validation.set_issuer(&[name]);
    let claims = match jsonwebtoken::decode::<Claims>(jwt, key, &validation) {
        Ok(data) if data.claims.iss == name && data.claims.time_claims_well_formed() => data.claims,
        _ => return JwtCheck::Invalid,
    };
    let now = jsonwebtoken::get_current_timestamp();
    let Some(exp) = claims.exp.as_ref().and_then(serde_json::Value::as_u64) else {
        return JwtCheck::Invalid;
    };
    if exp.saturating_add(LEEWAY) < now {
        return JwtCheck::Expired;
    }
    if let Some(nbf) = claims.nbf.as_ref().and_then(serde_json::Value::as_u64) {
        if nbf > now.saturating_add(LEEWAY) {
            return JwtCheck::NotYetValid;
        }
    }
    JwtCheck::Valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_str(v).unwrap(),
        );
        h
    }

    #[test]
    fn tokens_and_jwts() {
        let key = crate::signing::SigningKey::generate().unwrap();
        let auth = RequestorAuth::Requestors(vec![
            Requestor {
                name: "desk".into(),
                verifier: Some("demo.parking".parse().unwrap()),
                credential: Credential::Token(Zeroizing::new("s3cret".into())),
            },
            Requestor {
                name: "poll".into(),
                verifier: None,
                credential: Credential::JwtEdDsa(key.decoding_key()),
            },
            Requestor {
                name: "hs".into(),
                verifier: None,
                credential: Credential::JwtHs256(Zeroizing::new(b"shared".to_vec())),
            },
        ]);
        let a = auth.authenticate(&headers("Bearer s3cret")).unwrap();
        assert_eq!(a.name, "desk");
        assert_eq!(auth.authenticate(&headers("s3cret")).unwrap().name, "desk");
        assert_eq!(
            auth.authenticate(&headers("Bearer nope")),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            auth.authenticate(&HeaderMap::new()),
            Err(AuthError::Missing)
        );

        let now = crate::store::now_ms() / 1000;
        let good = key
            .jwt(&serde_json::json!({"iss": "poll", "exp": now + 60}))
            .unwrap();
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {good}")))
                .unwrap()
                .name,
            "poll"
        );
        let wrong_iss = key
            .jwt(&serde_json::json!({"iss": "desk", "exp": now + 60}))
            .unwrap();
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {wrong_iss}"))),
            Err(AuthError::Invalid)
        );
        let old = key
            .jwt(&serde_json::json!({"iss": "poll", "exp": now - 600}))
            .unwrap();
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {old}"))),
            Err(AuthError::Expired)
        );
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &serde_json::json!({"iss": "hs", "exp": now + 60}),
            &jsonwebtoken::EncodingKey::from_secret(b"shared"),
        )
        .unwrap();
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {hs}")))
                .unwrap()
                .name,
            "hs"
        );
    }

    #[test]
    fn jwt_not_before_is_honoured() {
        let key = crate::signing::SigningKey::generate().unwrap();
        let auth = RequestorAuth::Requestors(vec![Requestor {
            name: "poll".into(),
            verifier: None,
            credential: Credential::JwtEdDsa(key.decoding_key()),
        }]);
        let now = crate::store::now_ms() / 1000;
        let jwt = |nbf: u64| {
            key.jwt(&serde_json::json!({"iss": "poll", "exp": now + 7200, "nbf": nbf}))
                .unwrap()
        };
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {}", jwt(now + 3600)))),
            Err(AuthError::NotYetValid)
        );
        // Already valid, or within the clock-skew leeway.
        for nbf in [now - 60, now + 20] {
            assert_eq!(
                auth.authenticate(&headers(&format!("Bearer {}", jwt(nbf))))
                    .unwrap()
                    .name,
                "poll"
            );
        }
    }

    #[test]
    fn jwt_malformed_time_claims_are_invalid() {
        let key = crate::signing::SigningKey::generate().unwrap();
        let auth = RequestorAuth::Requestors(vec![Requestor {
            name: "poll".into(),
            verifier: None,
            credential: Credential::JwtEdDsa(key.decoding_key()),
        }]);
        let now = crate::store::now_ms() / 1000;
        for value in [
            serde_json::json!("2020-01-01"),
            serde_json::json!(true),
            serde_json::json!(1e20),
            serde_json::json!(-5),
            serde_json::json!(1.5),
            serde_json::json!(null),
            serde_json::json!([1]),
        ] {
            let nbf = key
                .jwt(&serde_json::json!({"iss": "poll", "exp": now + 7200, "nbf": value}))
                .unwrap();
            assert_eq!(
                auth.authenticate(&headers(&format!("Bearer {nbf}"))),
                Err(AuthError::Invalid),
                "nbf {value}"
            );
            let exp = key
                .jwt(&serde_json::json!({"iss": "poll", "exp": value}))
                .unwrap();
            assert_eq!(
                auth.authenticate(&headers(&format!("Bearer {exp}"))),
                Err(AuthError::Invalid),
                "exp {value}"
            );
        }
        let ok = key
            .jwt(&serde_json::json!({"iss": "poll", "exp": now + 7200, "nbf": now}))
            .unwrap();
        assert_eq!(
            auth.authenticate(&headers(&format!("Bearer {ok}")))
                .unwrap()
                .name,
            "poll"
        );
    }

    #[test]
    fn open_mode_accepts_anyone() {
        let a = RequestorAuth::Open.authenticate(&HeaderMap::new()).unwrap();
        assert_eq!(a.name, "anonymous");
    }
}
