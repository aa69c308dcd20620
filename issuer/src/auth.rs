//! Requestor authentication: static bearer tokens and JWTs (HS256, EdDSA).
//!
//! `Authorization: Bearer <credential>`. A static token is compared by its
//! SHA-256 digest, so the comparison time says nothing about the token. A
//! JWT is accepted when it verifies under a key configured for a requestor,
//! names that requestor as `iss`, has not expired (`exp` required) and is
//! already valid (`nbf`, when present); both with 30 s leeway for clock skew.
//! Anything else is refused ([`AuthError`]); the routes answer 401.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use ring::digest::{digest, SHA256};

use crate::config::RequestorConfig;

/// Why a request was not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token (Authorization: Bearer …)")]
    Missing,
    #[error("invalid or expired bearer token")]
    Invalid,
    #[error("this requestor may not use the admin API")]
    NotAdmin,
    #[error("this requestor may not issue {0}")]
    CredentialTypeNotAllowed(String),
}

/// An authenticated requestor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requestor {
    /// Name from the configuration (audit log actor).
    pub name: String,
    admin: bool,
    credential_types: Vec<String>,
}

impl Requestor {
    /// Refuses unless the requestor may use the admin API.
    pub fn require_admin(&self) -> Result<(), AuthError> {
        if self.admin {
            Ok(())
        } else {
            Err(AuthError::NotAdmin)
        }
    }

    /// Refuses unless the requestor may issue `credential_type`.
    pub fn require_credential_type(&self, credential_type: &str) -> Result<(), AuthError> {
        if self.credential_types.is_empty()
            || self.credential_types.iter().any(|t| t == credential_type)
        {
            Ok(())
        } else {
            Err(AuthError::CredentialTypeNotAllowed(
                credential_type.to_owned(),
            ))
        }
    }
}

struct JwtKey {
    key: DecodingKey,
    algorithm: Algorithm,
    requestor: usize,
}

/// The configured requestors, ready to check credentials.
pub struct Authenticator {
    requestors: Vec<Requestor>,
    /// SHA-256 of each static token, with the requestor index.
    tokens: Vec<([u8; 32], usize)>,
    jwt_keys: Vec<JwtKey>,
}

/// Why the requestor configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("requestor {name:?}: invalid Ed25519 public key PEM: {source}")]
    BadPem {
        name: String,
        source: jsonwebtoken::errors::Error,
    },
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

impl Authenticator {
    /// Prepares the checks for `requestors`.
    pub fn new(requestors: &[RequestorConfig]) -> Result<Self, AuthConfigError> {
        let mut auth = Authenticator {
            requestors: Vec::new(),
            tokens: Vec::new(),
            jwt_keys: Vec::new(),
        };
        for (index, r) in requestors.iter().enumerate() {
            auth.requestors.push(Requestor {
                name: r.name.clone(),
                admin: r.admin,
                credential_types: r.credential_types.clone(),
            });
            if let Some(token) = &r.token {
                auth.tokens.push((sha256(token.as_bytes()), index));
            }
            if let Some(secret) = &r.jwt_hs256_secret {
                auth.jwt_keys.push(JwtKey {
                    key: DecodingKey::from_secret(secret.as_bytes()),
                    algorithm: Algorithm::HS256,
                    requestor: index,
                });
            }
            if let Some(pem) = &r.jwt_ed25519_public_key_pem {
                let key = DecodingKey::from_ed_pem(pem.as_bytes()).map_err(|source| {
                    AuthConfigError::BadPem {
                        name: r.name.clone(),
                        source,
                    }
                })?;
                auth.jwt_keys.push(JwtKey {
                    key,
                    algorithm: Algorithm::EdDSA,
                    requestor: index,
                });
            }
        }
        Ok(auth)
    }

    /// Checks the value of an `Authorization` header.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Requestor, AuthError> {
        let header = authorization.ok_or(AuthError::Missing)?;
        let credential = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or(AuthError::Missing)?;
        let digest = sha256(credential.as_bytes());
        if let Some((_, index)) = self.tokens.iter().find(|(d, _)| *d == digest) {
            return self.requestor(*index);
        }
        // Only something shaped like a JWT goes to the JWT checks.
        if credential.split('.').count() == 3 {
            let header = jsonwebtoken::decode_header(credential).map_err(|_| AuthError::Invalid)?;
            for key in self.jwt_keys.iter().filter(|k| k.algorithm == header.alg) {
                let Some(requestor) = self.requestors.get(key.requestor) else {
                    continue;
                };
                let mut validation = Validation::new(key.algorithm);
                validation.set_required_spec_claims(&["exp", "iss"]);
                validation.set_issuer(&[requestor.name.as_str()]);
                validation.leeway = 30;
                // Off by default in jsonwebtoken: a JWT minted for later use
                // must not work before its time.
                validation.validate_nbf = true;
                if let Ok(token) =
                    jsonwebtoken::decode::<serde_json::Value>(credential, &key.key, &validation)
                {
                    if !time_claims_well_formed(&token.claims) {
                        // Signed, but with an `nbf` (or `exp`) that is not a
                        // NumericDate: invalid, not "no such claim".
                        return Err(AuthError::Invalid);
                    }
                    return Ok(requestor.clone());
                }
            }
        }
        Err(AuthError::Invalid)
    }

    fn requestor(&self, index: usize) -> Result<Requestor, AuthError> {
        self.requestors
            .get(index)
            .cloned()
            .ok_or(AuthError::Invalid)
    }
}

/// Whether the time claims a JWT carries are whole non-negative seconds.
/// jsonwebtoken skips an `nbf` (and an `exp` that is not required) it
/// cannot parse as one, as if it were absent: a string, `true`, a fraction
/// or `1e20` would make "not before" a no-op. Present means well-formed.
fn time_claims_well_formed(claims: &serde_json::Value) -> bool {
    ["nbf", "exp"]
        .iter()
        .all(|name| claims.get(name).is_none_or(|v| v.as_u64().is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    const SECRET: &str = "0123456789abcdef0123456789abcdef-secret";

    fn auth() -> Authenticator {
        Authenticator::new(&[
            RequestorConfig {
                name: "backoffice".to_owned(),
                token: Some("static-token-0123456789".to_owned()),
                credential_types: vec!["demo.utrecht.address".to_owned()],
                ..RequestorConfig::default()
            },
            RequestorConfig {
                name: "jwt-office".to_owned(),
                jwt_hs256_secret: Some(SECRET.to_owned()),
                admin: true,
                ..RequestorConfig::default()
            },
        ])
        .unwrap()
    }

    fn jwt(iss: &str, exp_offset: i64, secret: &str) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        jwt_claims(
            &serde_json::json!({"iss": iss, "exp": now + exp_offset}),
            secret,
        )
    }

    fn jwt_claims(claims: &serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn jwt_not_before_is_honoured() {
        let a = auth();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims =
            |nbf: i64| serde_json::json!({"iss": "jwt-office", "exp": now + 3600, "nbf": nbf});
        // Valid from an hour from now: refused today.
        let later = jwt_claims(&claims(now + 3600), SECRET);
        assert_eq!(
            a.authenticate(Some(&format!("Bearer {later}"))),
            Err(AuthError::Invalid)
        );
        // Already valid, and within the clock-skew leeway: accepted.
        for nbf in [now - 60, now + 10] {
            let ok = jwt_claims(&claims(nbf), SECRET);
            assert!(
                a.authenticate(Some(&format!("Bearer {ok}"))).is_ok(),
                "nbf {nbf}"
            );
        }
    }

    #[test]
    fn jwt_malformed_time_claims_are_invalid() {
        let a = auth();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let bad = [
            serde_json::json!("2020-01-01"),
            serde_json::json!(true),
            serde_json::json!(1e20),
            serde_json::json!(-5),
            serde_json::json!(1.5),
            serde_json::json!(null),
            serde_json::json!([1]),
        ];
        for value in &bad {
            let nbf = serde_json::json!({"iss": "jwt-office", "exp": now + 3600, "nbf": value});
            let token = jwt_claims(&nbf, SECRET);
            assert_eq!(
                a.authenticate(Some(&format!("Bearer {token}"))),
                Err(AuthError::Invalid),
                "nbf {value}"
            );
            let exp = serde_json::json!({"iss": "jwt-office", "exp": value});
            let token = jwt_claims(&exp, SECRET);
            assert_eq!(
                a.authenticate(Some(&format!("Bearer {token}"))),
                Err(AuthError::Invalid),
                "exp {value}"
            );
        }
        // A well-formed nbf still works.
        let ok = serde_json::json!({"iss": "jwt-office", "exp": now + 3600, "nbf": now});
        assert!(a
            .authenticate(Some(&format!("Bearer {}", jwt_claims(&ok, SECRET))))
            .is_ok());
    }

    #[test]
    fn static_tokens() {
        let a = auth();
        let r = a
            .authenticate(Some("Bearer static-token-0123456789"))
            .unwrap();
        assert_eq!(r.name, "backoffice");
        assert_eq!(r.require_admin(), Err(AuthError::NotAdmin));
        assert!(r.require_credential_type("demo.utrecht.address").is_ok());
        assert!(r.require_credential_type("demo.utrecht.personal").is_err());
        assert_eq!(a.authenticate(None), Err(AuthError::Missing));
        assert_eq!(a.authenticate(Some("Basic abc")), Err(AuthError::Missing));
        assert_eq!(
            a.authenticate(Some("Bearer static-token-012345678")),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn hs256_jwts() {
        let a = auth();
        let ok = jwt("jwt-office", 300, SECRET);
        let r = a.authenticate(Some(&format!("Bearer {ok}"))).unwrap();
        assert_eq!(r.name, "jwt-office");
        assert!(r.require_admin().is_ok());
        for bad in [
            jwt("jwt-office", -300, SECRET),
            jwt("backoffice", 300, SECRET),
            jwt("jwt-office", 300, "another-secret-0123456789abcdef0123"),
            "a.b.c".to_owned(),
        ] {
            assert_eq!(
                a.authenticate(Some(&format!("Bearer {bad}"))),
                Err(AuthError::Invalid),
                "{bad}"
            );
        }
    }
}
