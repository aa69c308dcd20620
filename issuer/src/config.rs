//! Configuration: defaults, an optional TOML file, then `KENMERK_ISSUER_*`
//! environment overrides, then command-line flags.
//!
//! With no file at all the issuer runs locally: it listens on
//! 127.0.0.1:8700, keeps a SQLite file, its keys and the demo scheme in
//! `./kenmerk-issuer-data`, and writes a random requestor token to
//! `requestor-token` there (mode 0600) for the back office to use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8700";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./kenmerk-issuer-data";
/// Default tokens per batch (protocol notes: 20).
pub const DEFAULT_BATCH_SIZE: usize = 20;
/// The token validity a scheme description gets when it names none (one
/// week, on the weekly grid). The validity itself is set per credential type
/// in the scheme, not here.
pub const DEFAULT_TOKEN_VALIDITY_SECS: u64 = wallet_core::token::DEFAULT_TOKEN_VALIDITY;
/// Default time a wallet has to finish a session.
pub const DEFAULT_SESSION_TIMEOUT_SECS: u64 = 300;
/// Default time a finished session (with its attribute values and
/// responses) is kept before the sweep deletes it: one day.
pub const DEFAULT_FINISHED_SESSION_RETENTION_SECS: u64 = 24 * 3600;
/// Largest retention accepted (ten years), far inside `i64` seconds.
const MAX_FINISHED_SESSION_RETENTION_SECS: u64 = 10 * 365 * 24 * 3600;
/// Default largest request body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default validity of a newly generated issuer key (one year).
pub const DEFAULT_KEY_VALIDITY_SECS: u64 = 365 * 24 * 3600;
/// Default cap on requests handled at once (excess requests wait).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;
/// Default time a client has to send its request line and headers.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Default time a client has to send a request body (64 KiB at the
/// default limit: about 2 KiB/s is enough).
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
/// Default cap on open connections (each may buffer one body).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How one requestor (a back-office system) authenticates.
///
/// A requestor may use a static bearer token, JWTs signed with an HS256
/// secret, JWTs signed with an Ed25519 key (EdDSA), or several of these.
/// JWTs must carry `iss` equal to the requestor's `name` and an `exp`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestorConfig {
    /// Name, used in the audit log and as the JWT issuer.
    pub name: String,
    /// Static bearer token.
    #[serde(default)]
    pub token: Option<String>,
    /// HS256 shared secret for JWTs.
    #[serde(default)]
    pub jwt_hs256_secret: Option<String>,
    /// Ed25519 public key (PEM, `-----BEGIN PUBLIC KEY-----`) for EdDSA JWTs.
    #[serde(default)]
    pub jwt_ed25519_public_key_pem: Option<String>,
    /// May use the admin API (revocation, attribute updates, key rotation).
    #[serde(default)]
    pub admin: bool,
    /// Credential types this requestor may issue; empty means all.
    #[serde(default)]
    pub credential_types: Vec<String>,
}

impl std::fmt::Debug for RequestorConfig {
    // Secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestorConfig")
            .field("name", &self.name)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "jwt_hs256_secret",
                &self.jwt_hs256_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "jwt_ed25519_public_key_pem",
                &self.jwt_ed25519_public_key_pem.is_some(),
            )
            .field("admin", &self.admin)
            .field("credential_types", &self.credential_types)
            .finish()
    }
}

/// Everything the issuer needs to run. Build it with [`IssuerConfig::default`]
/// (local mode) or [`IssuerConfig::load`] (file + environment), then adjust
/// fields; [`crate::start`] takes it.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Directory for the SQLite file, key files and the published scheme.
    pub data_dir: PathBuf,
    /// `sqlite:…` or `postgres://…`; `None`: `sqlite://<data_dir>/issuer.db`.
    pub database_url: Option<String>,
    /// Base URL wallets reach this service at (used in session pointers);
    /// `None`: `http://<bound address>`.
    pub public_url: Option<String>,
    /// Directory of issuer secret key files; `None`: `<data_dir>/keys`.
    pub key_dir: Option<PathBuf>,
    /// Scheme description (TOML, as for `SchemeBuilder::from_toml`);
    /// `None`: the demo scheme.
    pub scheme_file: Option<PathBuf>,
    /// Scheme signing key (PKCS#8); `None`: `<data_dir>/scheme-signing.key`,
    /// generated when missing.
    pub scheme_key_file: Option<PathBuf>,
    /// Key-encryption key (32 bytes, raw or 64 hex digits). Set: the key
    /// material is sealed under it in the database, shared by every
    /// instance (key files found are imported once). `None`: key files.
    /// Never generated; a missing file stops the start.
    pub key_encryption_key_file: Option<PathBuf>,
    /// Tokens per batch.
    pub batch_size: usize,
    /// Token validity in seconds, as a cross-check only: the scheme sets the
    /// validity (and grid step) per credential type and is the one source of
    /// truth. `None` (the default): take it from the scheme. `Some(v)`: the
    /// start is refused unless every credential type of the scheme has
    /// validity `v` (so an operator's old setting cannot silently differ from
    /// what wallets accept).
    pub token_validity_secs: Option<u64>,
    /// Seconds a session stays open.
    pub session_timeout_secs: u64,
    /// Seconds a finished session (done, cancelled, timed out, failed) is
    /// kept for the requestor's result; then it is deleted. Credential
    /// records and the audit log are kept.
    pub finished_session_retention_secs: u64,
    /// Validity of newly generated issuer keys, seconds.
    pub key_validity_secs: u64,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Requests handled at once; more wait in line (health, readiness
    /// and metrics do not).
    pub max_concurrent_requests: usize,
    /// Seconds a client has for its request line and headers; also how
    /// long an idle keep-alive connection stays open.
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request body (408 after).
    pub body_timeout_secs: u64,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Requestors and their credentials. Empty: a local requestor with a
    /// generated token in `<data_dir>/requestor-token`.
    pub requestors: Vec<RequestorConfig>,
    /// Log as JSON lines instead of text.
    pub log_json: bool,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            public_url: None,
            key_dir: None,
            scheme_file: None,
            scheme_key_file: None,
            key_encryption_key_file: None,
            batch_size: DEFAULT_BATCH_SIZE,
            token_validity_secs: None,
            session_timeout_secs: DEFAULT_SESSION_TIMEOUT_SECS,
            finished_session_retention_secs: DEFAULT_FINISHED_SESSION_RETENTION_SECS,
            key_validity_secs: DEFAULT_KEY_VALIDITY_SECS,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            header_timeout_secs: DEFAULT_HEADER_TIMEOUT_SECS,
            body_timeout_secs: DEFAULT_BODY_TIMEOUT_SECS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            requestors: Vec::new(),
            log_json: false,
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {name}: {reason}")]
    Env { name: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The TOML file: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    key_dir: Option<PathBuf>,
    scheme_file: Option<PathBuf>,
    scheme_key_file: Option<PathBuf>,
    key_encryption_key_file: Option<PathBuf>,
    batch_size: Option<usize>,
    token_validity_secs: Option<u64>,
    session_timeout_secs: Option<u64>,
    finished_session_retention_secs: Option<u64>,
    key_validity_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    max_concurrent_requests: Option<usize>,
    header_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    log_json: Option<bool>,
    #[serde(default)]
    requestors: Vec<RequestorConfig>,
}

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "KENMERK_ISSUER_";

impl IssuerConfig {
    /// Defaults, then `file` (if any), then overrides from `env` (pass
    /// `std::env::vars()`). Validates the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config = IssuerConfig::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            let f: FileConfig = toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
            config.apply_file(f);
        }
        for (name, value) in env {
            if let Some(key) = name.strip_prefix(ENV_PREFIX) {
                config.apply_env(key, &value)?;
            }
        }
        config.validate()?;
        Ok(config)
    }

    fn apply_file(&mut self, f: FileConfig) {
        macro_rules! take {
            ($($field:ident),*) => { $( if let Some(v) = f.$field { self.$field = v; } )* };
        }
        take!(
            listen,
            data_dir,
            batch_size,
            session_timeout_secs,
            finished_session_retention_secs,
            key_validity_secs,
            max_body_bytes,
            max_concurrent_requests,
            header_timeout_secs,
            body_timeout_secs,
            max_connections,
            log_json
        );
        macro_rules! take_opt {
            ($($field:ident),*) => { $( if f.$field.is_some() { self.$field = f.$field; } )* };
        }
        take_opt!(
            database_url,
            public_url,
            token_validity_secs,
            key_dir,
            scheme_file,
            scheme_key_file,
            key_encryption_key_file
        );
        self.requestors = f.requestors;
    }

    fn apply_env(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env {
                name: format!("{ENV_PREFIX}{key}"),
                reason: e.to_string(),
            })
        }
        match key {
            "LISTEN" => self.listen = parse(key, value)?,
            "DATA_DIR" => self.data_dir = PathBuf::from(value),
            "DATABASE_URL" => self.database_url = Some(value.to_owned()),
            "PUBLIC_URL" => self.public_url = Some(value.to_owned()),
            "KEY_DIR" => self.key_dir = Some(PathBuf::from(value)),
            "SCHEME_FILE" => self.scheme_file = Some(PathBuf::from(value)),
            "SCHEME_KEY_FILE" => self.scheme_key_file = Some(PathBuf::from(value)),
            "KEY_ENCRYPTION_KEY_FILE" => self.key_encryption_key_file = Some(PathBuf::from(value)),
            "BATCH_SIZE" => self.batch_size = parse(key, value)?,
            "TOKEN_VALIDITY_SECS" => self.token_validity_secs = Some(parse(key, value)?),
            "SESSION_TIMEOUT_SECS" => self.session_timeout_secs = parse(key, value)?,
            "FINISHED_SESSION_RETENTION_SECS" => {
                self.finished_session_retention_secs = parse(key, value)?
            }
            "KEY_VALIDITY_SECS" => self.key_validity_secs = parse(key, value)?,
            "MAX_BODY_BYTES" => self.max_body_bytes = parse(key, value)?,
            "MAX_CONCURRENT_REQUESTS" => self.max_concurrent_requests = parse(key, value)?,
            "HEADER_TIMEOUT_SECS" => self.header_timeout_secs = parse(key, value)?,
            "BODY_TIMEOUT_SECS" => self.body_timeout_secs = parse(key, value)?,
            "MAX_CONNECTIONS" => self.max_connections = parse(key, value)?,
            "LOG_JSON" => self.log_json = parse(key, value)?,
            // One admin requestor from the environment, for containers.
            "REQUESTOR_TOKEN" => self.requestors.push(RequestorConfig {
                name: "env".to_owned(),
                token: Some(value.to_owned()),
                admin: true,
                ..RequestorConfig::default()
            }),
            "JWT_HS256_SECRET" => self.requestors.push(RequestorConfig {
                name: "env-jwt".to_owned(),
                jwt_hs256_secret: Some(value.to_owned()),
                admin: true,
                ..RequestorConfig::default()
            }),
            other => {
                return Err(ConfigError::Env {
                    name: format!("{ENV_PREFIX}{other}"),
                    reason: "unknown setting".to_owned(),
                })
            }
        }
        Ok(())
    }

    /// Checks the settings against the scheme the issuer publishes (the one
    /// source of the token validity): `token_validity_secs`, when set, must
    /// equal every credential type's validity, and generated keys must live
    /// at least as long as the longest validity.
    pub fn check_against_scheme(
        &self,
        scheme: &wallet_core::scheme::Scheme,
    ) -> Result<(), ConfigError> {
        for ct in &scheme.credential_types {
            if let Some(v) = self.token_validity_secs {
                if v != ct.token_validity {
                    return Err(ConfigError::Invalid(format!(
                        "token_validity_secs = {v} disagrees with the scheme, which gives \
                         credential type {} a token validity of {} seconds; wallets accept \
                         only the scheme's: remove token_validity_secs or change the scheme",
                        ct.id, ct.token_validity
                    )));
                }
            }
            if self.key_validity_secs < ct.token_validity {
                return Err(ConfigError::Invalid(format!(
                    "key_validity_secs must be at least the token validity of {} ({} seconds)",
                    ct.id, ct.token_validity
                )));
            }
        }
        Ok(())
    }

    /// Checks ranges and requestor entries.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.batch_size == 0 || self.batch_size > wallet_core::issuance::MAX_BATCH {
            return invalid("batch_size must be 1 to 100");
        }
        if let Some(v) = self.token_validity_secs {
            if v == 0 || v > wallet_core::token::MAX_TOKEN_VALIDITY {
                return invalid(
                    "token_validity_secs must be 1 to 8 weeks (schemes allow no longer); \
                     better leave it out: the scheme sets it per credential type",
                );
            }
        }
        if self.session_timeout_secs == 0 || self.session_timeout_secs > 24 * 3600 {
            return invalid("session_timeout_secs must be 1 to 86400");
        }
        if self.finished_session_retention_secs == 0
            || self.finished_session_retention_secs > MAX_FINISHED_SESSION_RETENTION_SECS
        {
            return invalid("finished_session_retention_secs must be 1 to 315360000 (10 years)");
        }
        if self.key_validity_secs < self.token_validity_secs.unwrap_or(1) {
            return invalid("key_validity_secs must be at least token_validity_secs");
        }
        if self.max_body_bytes < 1024 {
            return invalid("max_body_bytes must be at least 1024");
        }
        if self.max_concurrent_requests == 0 {
            return invalid("max_concurrent_requests must be at least 1");
        }
        if self.header_timeout_secs == 0 || self.header_timeout_secs > 300 {
            return invalid("header_timeout_secs must be 1 to 300");
        }
        if self.body_timeout_secs == 0 || self.body_timeout_secs > 300 {
            return invalid("body_timeout_secs must be 1 to 300");
        }
        if self.max_connections == 0 {
            return invalid("max_connections must be at least 1");
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return invalid("public_url must start with http:// or https://");
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for r in &self.requestors {
            if r.name.is_empty() || !names.insert(r.name.as_str()) {
                return invalid("every requestor needs a unique, non-empty name");
            }
            if r.token.is_none()
                && r.jwt_hs256_secret.is_none()
                && r.jwt_ed25519_public_key_pem.is_none()
            {
                return Err(ConfigError::Invalid(format!(
                    "requestor {:?} has no token, JWT secret or JWT key",
                    r.name
                )));
            }
            if r.token.as_ref().is_some_and(|t| t.len() < 16)
                || r.jwt_hs256_secret.as_ref().is_some_and(|t| t.len() < 32)
            {
                return Err(ConfigError::Invalid(format!(
                    "requestor {:?}: tokens need at least 16 characters, HS256 secrets 32",
                    r.name
                )));
            }
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("issuer.db").display()),
        }
    }

    /// The key directory in effect.
    pub fn effective_key_dir(&self) -> PathBuf {
        self.key_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    /// The scheme signing key file in effect.
    pub fn effective_scheme_key_file(&self) -> PathBuf {
        self.scheme_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("scheme-signing.key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_file() {
        let c = IssuerConfig::load(None, env(&[("PATH", "/bin")])).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(
            c.effective_database_url(),
            "sqlite://./kenmerk-issuer-data/issuer.db"
        );
        assert!(c.requestors.is_empty());
    }

    #[test]
    fn file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.toml");
        std::fs::write(
            &path,
            r#"
listen = "0.0.0.0:9000"
batch_size = 5
database_url = "postgres://db/issuer"
[[requestors]]
name = "backoffice"
token = "0123456789abcdef0123"
admin = true
"#,
        )
        .unwrap();
        let c = IssuerConfig::load(
            Some(&path),
            env(&[
                ("KENMERK_ISSUER_BATCH_SIZE", "7"),
                ("KENMERK_ISSUER_SESSION_TIMEOUT_SECS", "60"),
                ("KENMERK_ISSUER_FINISHED_SESSION_RETENTION_SECS", "3600"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.batch_size, 7);
        assert_eq!(c.session_timeout_secs, 60);
        assert_eq!(c.finished_session_retention_secs, 3600);
        assert_eq!(
            IssuerConfig::default().finished_session_retention_secs,
            24 * 3600
        );
        assert_eq!(c.effective_database_url(), "postgres://db/issuer");
        assert_eq!(c.requestors.len(), 1);
        assert!(c.requestors[0].admin);
        // Secrets stay out of debug output.
        assert!(!format!("{c:?}").contains("0123456789abcdef0123"));
    }

    #[test]
    fn refuses_bad_values() {
        assert!(IssuerConfig::load(None, env(&[("KENMERK_ISSUER_BATCH_SIZE", "0")])).is_err());
        assert!(IssuerConfig::load(None, env(&[("KENMERK_ISSUER_BATCH_SIZE", "x")])).is_err());
        assert!(IssuerConfig::load(None, env(&[("KENMERK_ISSUER_NOPE", "1")])).is_err());
        assert!(IssuerConfig::load(
            None,
            env(&[("KENMERK_ISSUER_TOKEN_VALIDITY_SECS", "99999999")])
        )
        .is_err());
        assert!(
            IssuerConfig::load(None, env(&[("KENMERK_ISSUER_REQUESTOR_TOKEN", "short")])).is_err()
        );
        for bad in ["0", "-1", "999999999999"] {
            assert!(IssuerConfig::load(
                None,
                env(&[("KENMERK_ISSUER_FINISHED_SESSION_RETENTION_SECS", bad)])
            )
            .is_err());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listen = 3\n").unwrap();
        assert!(matches!(
            IssuerConfig::load(Some(&path), Vec::new()),
            Err(ConfigError::Parse { .. })
        ));
        std::fs::write(&path, "unknown_key = 3\n").unwrap();
        assert!(IssuerConfig::load(Some(&path), Vec::new()).is_err());
    }

    /// The scheme is the one source of the token validity: a setting that
    /// disagrees with a credential type's validity refuses the start.
    #[test]
    fn token_validity_must_agree_with_the_scheme() {
        let scheme = wallet_core::scheme::demo::demo_builder().unwrap();
        let scheme = scheme.scheme();
        // Not set: the scheme's validity is used.
        let c = IssuerConfig::load(None, Vec::new()).unwrap();
        assert_eq!(c.token_validity_secs, None);
        assert!(c.check_against_scheme(scheme).is_ok());
        // Set to what the scheme says (one week): accepted.
        let c = IssuerConfig::load(
            None,
            env(&[("KENMERK_ISSUER_TOKEN_VALIDITY_SECS", "604800")]),
        )
        .unwrap();
        assert!(c.check_against_scheme(scheme).is_ok());
        // Set to anything else: refused, naming the credential type.
        let c = IssuerConfig::load(
            None,
            env(&[("KENMERK_ISSUER_TOKEN_VALIDITY_SECS", "1209600")]),
        )
        .unwrap();
        let e = c.check_against_scheme(scheme).unwrap_err().to_string();
        assert!(e.contains("disagrees with the scheme"), "{e}");
        assert!(e.contains("demo.utrecht.personal"), "{e}");
        // Keys must outlive the scheme's validity.
        let c =
            IssuerConfig::load(None, env(&[("KENMERK_ISSUER_KEY_VALIDITY_SECS", "3600")])).unwrap();
        assert!(c.check_against_scheme(scheme).is_err());
    }

    #[test]
    fn client_timeouts_and_connection_cap() {
        let c = IssuerConfig::default();
        assert_eq!(c.header_timeout_secs, DEFAULT_HEADER_TIMEOUT_SECS);
        assert_eq!(c.body_timeout_secs, DEFAULT_BODY_TIMEOUT_SECS);
        assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.toml");
        std::fs::write(&path, "header_timeout_secs = 5\nmax_connections = 64\n").unwrap();
        let c = IssuerConfig::load(
            Some(&path),
            env(&[("KENMERK_ISSUER_BODY_TIMEOUT_SECS", "12")]),
        )
        .unwrap();
        assert_eq!(
            (
                c.header_timeout_secs,
                c.body_timeout_secs,
                c.max_connections
            ),
            (5, 12, 64)
        );
        // No timeout at all, or one long enough to hold a slot for ever,
        // is refused; so is a server that accepts no connection.
        for (name, bad) in [
            ("KENMERK_ISSUER_HEADER_TIMEOUT_SECS", "0"),
            ("KENMERK_ISSUER_HEADER_TIMEOUT_SECS", "301"),
            ("KENMERK_ISSUER_BODY_TIMEOUT_SECS", "0"),
            ("KENMERK_ISSUER_BODY_TIMEOUT_SECS", "3600"),
            ("KENMERK_ISSUER_MAX_CONNECTIONS", "0"),
        ] {
            assert!(
                IssuerConfig::load(None, env(&[(name, bad)])).is_err(),
                "{name}={bad}"
            );
        }
    }
}
