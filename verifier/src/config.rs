//! Daemon configuration: defaults, a TOML file, `KENMERK_VERIFIER_*`
//! environment overrides, then command-line flags (each later source wins).
//!
//! With nothing configured the daemon listens on `127.0.0.1:8701`, keeps
//! sessions in memory, lets anyone on loopback create sessions and takes the
//! scheme from the local issuer (`http://127.0.0.1:8700/scheme`).
//!
//! ```toml
//! listen = "0.0.0.0:8701"
//! public_url = "https://verifier.example.nl"
//! scheme = "https://issuer.example.nl/scheme"   # URL or file
//! scheme_key = "3b6a27bc…"                      # pinned scheme key (hex)
//! redis_url = "redis://127.0.0.1:6379"
//! session_timeout_secs = 300
//! allowed_origins = ["https://desk.example.nl"]
//! signing_key_file = "/etc/kenmerk/verifier-key.pk8"
//! default_verifier = "demo.parking"
//! max_sessions = 50000                  # held in total (503 beyond)
//! max_sessions_per_requestor = 10000    # held per requestor (429 beyond)
//!
//! [[requestors]]
//! name = "parking-desk"
//! verifier = "demo.parking"
//! token = "long random secret"
//!
//! [[requestors]]
//! name = "poll"
//! jwt_public_key_file = "/etc/kenmerk/poll.pub.pem"   # EdDSA
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use wallet_core::ids::VerifierId;
use wallet_core::scheme::SchemePublicKey;
use zeroize::Zeroizing;

use crate::auth::{Credential, Requestor, RequestorAuth};
pub use crate::scheme_source::SchemeLocation;
use crate::session::StreamLimits;
use crate::store::Limits;

/// Default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8701";
/// Default scheme location: the local issuer's published scheme.
pub const DEFAULT_SCHEME_URL: &str = "http://127.0.0.1:8700/scheme";
/// Default time a wallet has to answer.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(300);
/// Default time a finished session's result stays available.
pub const DEFAULT_RESULT_TTL: Duration = Duration::from_secs(600);
/// Default largest request body (a presentation with 16 tokens and range
/// proofs is well under this).
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;
/// Default interval between scheme re-fetches.
pub const DEFAULT_SCHEME_REFRESH: Duration = Duration::from_secs(30);
/// Default Redis key prefix.
pub const DEFAULT_REDIS_PREFIX: &str = "kenmerk:verifier:";

/// The TOML file (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// Base URL wallets reach this daemon at (for session pointers).
    pub public_url: Option<String>,
    /// Scheme URL or file.
    pub scheme: Option<String>,
    /// Pinned scheme public key, hex.
    pub scheme_key: Option<String>,
    /// Seconds between scheme re-fetches.
    pub scheme_refresh_secs: Option<u64>,
    /// Redis URL; absent means the in-memory store.
    pub redis_url: Option<String>,
    /// Redis key prefix.
    pub redis_prefix: Option<String>,
    /// Seconds a wallet has to answer.
    pub session_timeout_secs: Option<u64>,
    /// Seconds a finished result stays available.
    pub result_ttl_secs: Option<u64>,
    /// Origins allowed by CORS.
    pub allowed_origins: Option<Vec<String>>,
    /// PKCS#8 file of the daemon's Ed25519 key (result JWTs, timestamps).
    pub signing_key_file: Option<PathBuf>,
    /// Verifier identity for requestors not bound to one.
    pub default_verifier: Option<String>,
    /// Largest request body in bytes.
    pub body_limit: Option<usize>,
    /// Verifications running at once (default: one per core).
    pub verify_workers: Option<usize>,
    /// Refused presentations after which a session fails (default 3).
    pub max_wrong_answers: Option<u32>,
    /// Log as JSON lines.
    pub log_json: Option<bool>,
    /// Sessions held in total (default [`Limits::DEFAULT`]).
    pub max_sessions: Option<u64>,
    /// Sessions held per requestor (default [`Limits::DEFAULT`]).
    pub max_sessions_per_requestor: Option<u64>,
    /// Status streams open at once per session (default 4; 429 beyond).
    pub max_status_streams_per_session: Option<usize>,
    /// Status streams open at once in total (default a quarter of the
    /// connection cap; 503 beyond).
    pub max_status_streams: Option<usize>,
    /// Longest a status stream stays open, seconds (default 600).
    pub status_stream_max_secs: Option<u64>,
    /// Serve the requestor API without authentication (no `[[requestors]]`)
    /// on a non-loopback address. Refused at start unless set; logged as a
    /// warning at every start when set.
    pub allow_open_requestor_api: Option<bool>,
    /// Requestors (none: open mode).
    #[serde(default)]
    pub requestors: Vec<RequestorEntry>,
}

/// One `[[requestors]]` entry; exactly one credential field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestorEntry {
    /// Name (JWT issuer, logs).
    pub name: String,
    /// Bound verifier identity.
    pub verifier: Option<String>,
    /// Static bearer token.
    pub token: Option<String>,
    /// Ed25519 public key (PEM file) for EdDSA JWTs.
    pub jwt_public_key_file: Option<PathBuf>,
    /// Shared secret for HS256 JWTs.
    pub jwt_hs256_secret: Option<String>,
}

/// Where sessions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In this process.
    Memory,
    /// In Redis, shared by instances with the same prefix.
    Redis {
        /// `redis://…`
        url: String,
        /// Key prefix.
        prefix: String,
    },
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {0}: {1}")]
    Read(String, std::io::Error),
    /// The file is not valid TOML for this configuration.
    #[error("invalid configuration file {0}: {1}")]
    Toml(String, String),
    /// An environment variable has a malformed value.
    #[error("invalid value in environment variable {0}: {1}")]
    Env(&'static str, String),
    /// A value is not acceptable.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Command-line overrides (from `clap` in the binary).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--scheme`.
    pub scheme: Option<String>,
    /// `--scheme-key`.
    pub scheme_key: Option<String>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--redis-url`.
    pub redis_url: Option<String>,
    /// `--allow-open-requestor-api`.
    pub allow_open_requestor_api: bool,
}

/// The resolved daemon settings (file + environment + flags).
#[derive(Debug)]
pub struct Settings {
    /// Listening address.
    pub listen: SocketAddr,
    /// Base URL for session pointers; `None` derives it from the bound address.
    pub public_url: Option<String>,
    /// Scheme location.
    pub scheme: SchemeLocation,
    /// Pinned scheme key.
    pub scheme_key: Option<SchemePublicKey>,
    /// Re-fetch interval.
    pub scheme_refresh: Duration,
    /// Session store.
    pub store: StoreConfig,
    /// Session timeout.
    pub session_timeout: Duration,
    /// Result retention.
    pub result_ttl: Duration,
    /// CORS origins.
    pub allowed_origins: Vec<String>,
    /// Signing key file.
    pub signing_key_file: Option<PathBuf>,
    /// Default verifier identity.
    pub default_verifier: Option<VerifierId>,
    /// Body limit.
    pub body_limit: usize,
    /// Verification pool size.
    pub verify_workers: usize,
    /// Refused presentations after which a session fails.
    pub max_wrong_answers: u32,
    /// JSON logs.
    pub log_json: bool,
    /// Requestor authentication.
    pub auth: RequestorAuth,
    /// Caps on the sessions held.
    pub limits: Limits,
    /// Caps on status streams.
    pub streams: StreamLimits,
    /// Whether an unauthenticated requestor API may listen beyond loopback.
    pub allow_open_requestor_api: bool,
}

/// Environment lookup, injectable for tests.
pub trait Env {
    /// The variable's value, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn env_parse<T: std::str::FromStr>(
    env: &dyn Env,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    env.var(name)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|e| ConfigError::Env(name, e.to_string()))
        })
        .transpose()
}

impl FileConfig {
    /// Read and parse a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read(path.display().to_string(), e))?;
        toml::from_str(&text)
            .map_err(|e| ConfigError::Toml(path.display().to_string(), e.to_string()))
    }

    /// Apply `KENMERK_VERIFIER_*` variables over the file's values.
    pub fn apply_env(&mut self, env: &dyn Env) -> Result<(), ConfigError> {
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_LISTEN")? {
            self.listen = Some(v);
        }
        for (name, field) in [
            ("KENMERK_VERIFIER_PUBLIC_URL", &mut self.public_url),
            ("KENMERK_VERIFIER_SCHEME", &mut self.scheme),
            ("KENMERK_VERIFIER_SCHEME_KEY", &mut self.scheme_key),
            ("KENMERK_VERIFIER_REDIS_URL", &mut self.redis_url),
            ("KENMERK_VERIFIER_REDIS_PREFIX", &mut self.redis_prefix),
            (
                "KENMERK_VERIFIER_DEFAULT_VERIFIER",
                &mut self.default_verifier,
            ),
        ] {
            if let Some(v) = env.var(name) {
                *field = Some(v);
            }
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_SESSION_TIMEOUT_SECS")? {
            self.session_timeout_secs = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_RESULT_TTL_SECS")? {
            self.result_ttl_secs = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_SCHEME_REFRESH_SECS")? {
            self.scheme_refresh_secs = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_BODY_LIMIT")? {
            self.body_limit = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_VERIFY_WORKERS")? {
            self.verify_workers = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_MAX_WRONG_ANSWERS")? {
            self.max_wrong_answers = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_LOG_JSON")? {
            self.log_json = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_MAX_SESSIONS")? {
            self.max_sessions = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_MAX_SESSIONS_PER_REQUESTOR")? {
            self.max_sessions_per_requestor = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_MAX_STATUS_STREAMS_PER_SESSION")? {
            self.max_status_streams_per_session = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_MAX_STATUS_STREAMS")? {
            self.max_status_streams = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_STATUS_STREAM_MAX_SECS")? {
            self.status_stream_max_secs = Some(v);
        }
        if let Some(v) = env_parse(env, "KENMERK_VERIFIER_ALLOW_OPEN_REQUESTOR_API")? {
            self.allow_open_requestor_api = Some(v);
        }
        if let Some(v) = env.var("KENMERK_VERIFIER_SIGNING_KEY_FILE") {
            self.signing_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env.var("KENMERK_VERIFIER_ALLOWED_ORIGINS") {
            self.allowed_origins = Some(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        // `name=token,name2=token2`: adds bearer-token requestors bound to
        // the default verifier.
        if let Some(v) = env.var("KENMERK_VERIFIER_REQUESTOR_TOKENS") {
            for pair in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (name, token) = pair.split_once('=').ok_or_else(|| {
                    ConfigError::Env(
                        "KENMERK_VERIFIER_REQUESTOR_TOKENS",
                        "expected name=token".into(),
                    )
                })?;
                self.requestors.push(RequestorEntry {
                    name: name.trim().to_owned(),
                    token: Some(token.trim().to_owned()),
                    ..RequestorEntry::default()
                });
            }
        }
        // `name=/path/key.pem,…`: EdDSA JWT requestors.
        if let Some(v) = env.var("KENMERK_VERIFIER_REQUESTOR_JWT_KEYS") {
            for pair in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (name, path) = pair.split_once('=').ok_or_else(|| {
                    ConfigError::Env(
                        "KENMERK_VERIFIER_REQUESTOR_JWT_KEYS",
                        "expected name=path".into(),
                    )
                })?;
                self.requestors.push(RequestorEntry {
                    name: name.trim().to_owned(),
                    jwt_public_key_file: Some(PathBuf::from(path.trim())),
                    ..RequestorEntry::default()
                });
            }
        }
        Ok(())
    }

    /// Resolve into settings, with command-line overrides on top.
    pub fn resolve(self, flags: Overrides) -> Result<Settings, ConfigError> {
        let listen = match flags.listen.or(self.listen) {
            Some(a) => a,
            None => DEFAULT_LISTEN
                .parse()
                .map_err(|_| ConfigError::Invalid("default listen address".into()))?,
        };
        let scheme = SchemeLocation::parse(
            flags
                .scheme
                .as_deref()
                .or(self.scheme.as_deref())
                .unwrap_or(DEFAULT_SCHEME_URL),
        );
        let scheme_key = flags
            .scheme_key
            .or(self.scheme_key)
            .map(|k| {
                k.trim()
                    .parse::<SchemePublicKey>()
                    .map_err(|e| ConfigError::Invalid(format!("scheme_key: {e}")))
            })
            .transpose()?;
        let public_url = flags
            .public_url
            .or(self.public_url)
            .map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "public_url must start with http:// or https://: {u}"
                )));
            }
        }
        let store = match flags.redis_url.or(self.redis_url) {
            Some(url) => StoreConfig::Redis {
                url,
                prefix: self
                    .redis_prefix
                    .unwrap_or_else(|| DEFAULT_REDIS_PREFIX.to_owned()),
            },
            None => StoreConfig::Memory,
        };
        let default_verifier = self
            .default_verifier
            .map(|v| {
                v.parse::<VerifierId>()
                    .map_err(|e| ConfigError::Invalid(format!("default_verifier: {e}")))
            })
            .transpose()?;
        let session_timeout = self
            .session_timeout_secs
            .map_or(DEFAULT_SESSION_TIMEOUT, Duration::from_secs);
        if session_timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "session_timeout_secs must be positive".into(),
            ));
        }
        // Sessions are owned by requestor name: two credentials under one
        // name would read and cancel each other's sessions.
        let mut names = std::collections::HashSet::new();
        for r in &self.requestors {
            if !names.insert(r.name.trim()) {
                return Err(ConfigError::Invalid(format!(
                    "requestor name `{}` is configured more than once (config file \
                     [[requestors]] and KENMERK_VERIFIER_REQUESTOR_* share one set of names)",
                    r.name.trim()
                )));
            }
        }
        let mut requestors = Vec::new();
        for r in self.requestors {
            requestors.push(requestor(r, default_verifier.as_ref())?);
        }
        if self.verify_workers == Some(0) {
            return Err(ConfigError::Invalid(
                "verify_workers must be at least 1".into(),
            ));
        }
        if self.max_wrong_answers == Some(0) {
            return Err(ConfigError::Invalid(
                "max_wrong_answers must be at least 1".into(),
            ));
        }
        let auth = if requestors.is_empty() {
            RequestorAuth::Open
        } else {
            RequestorAuth::Requestors(requestors)
        };
        let limits = Limits {
            total: Some(
                self.max_sessions
                    .unwrap_or(Limits::DEFAULT.total.unwrap_or(0)),
            ),
            per_owner: Some(
                self.max_sessions_per_requestor
                    .unwrap_or(Limits::DEFAULT.per_owner.unwrap_or(0)),
            ),
        };
        let streams = StreamLimits {
            per_session: self
                .max_status_streams_per_session
                .unwrap_or(StreamLimits::default().per_session),
            total: self.max_status_streams,
            max_lifetime: self
                .status_stream_max_secs
                .map_or(StreamLimits::default().max_lifetime, Duration::from_secs),
        };
        if streams.per_session == 0 || streams.total == Some(0) || streams.max_lifetime.is_zero() {
            return Err(ConfigError::Invalid(
                "max_status_streams_per_session, max_status_streams and status_stream_max_secs \
                 must be positive"
                    .into(),
            ));
        }
        if limits.total == Some(0) || limits.per_owner == Some(0) {
            return Err(ConfigError::Invalid(
                "max_sessions and max_sessions_per_requestor must be positive".into(),
            ));
        }
        Ok(Settings {
            streams,
            listen,
            public_url,
            scheme,
            scheme_key,
            scheme_refresh: self
                .scheme_refresh_secs
                .map_or(DEFAULT_SCHEME_REFRESH, Duration::from_secs)
                .max(Duration::from_secs(1)),
            store,
            session_timeout,
            result_ttl: self
                .result_ttl_secs
                .map_or(DEFAULT_RESULT_TTL, Duration::from_secs),
            allowed_origins: self.allowed_origins.unwrap_or_default(),
            signing_key_file: self.signing_key_file,
            default_verifier,
            body_limit: self.body_limit.unwrap_or(DEFAULT_BODY_LIMIT),
            verify_workers: self
                .verify_workers
                .unwrap_or_else(crate::pool::default_size),
            max_wrong_answers: self
                .max_wrong_answers
                .unwrap_or(crate::session::DEFAULT_MAX_WRONG_ANSWERS),
            log_json: self.log_json.unwrap_or(false),
            auth,
            limits,
            allow_open_requestor_api: flags.allow_open_requestor_api
                || self.allow_open_requestor_api.unwrap_or(false),
        })
    }
}

fn requestor(r: RequestorEntry, default: Option<&VerifierId>) -> Result<Requestor, ConfigError> {
    if r.name.is_empty() {
        return Err(ConfigError::Invalid("a requestor has an empty name".into()));
    }
    let verifier =
        match r.verifier {
            Some(v) => Some(v.parse::<VerifierId>().map_err(|e| {
                ConfigError::Invalid(format!("requestor {}: verifier: {e}", r.name))
            })?),
            None => default.cloned(),
        };
    let credential = match (r.token, r.jwt_public_key_file, r.jwt_hs256_secret) {
        (Some(t), None, None) => {
            if t.len() < 16 {
                return Err(ConfigError::Invalid(format!(
                    "requestor {}: token must be at least 16 characters",
                    r.name
                )));
            }
            Credential::Token(Zeroizing::new(t))
        }
        (None, Some(path), None) => {
            let pem = std::fs::read(&path)
                .map_err(|e| ConfigError::Read(path.display().to_string(), e))?;
            let key = jsonwebtoken::DecodingKey::from_ed_pem(&pem)
                .map_err(|e| ConfigError::Invalid(format!("requestor {}: jwt key: {e}", r.name)))?;
            Credential::JwtEdDsa(key)
        }
        (None, None, Some(secret)) => {
            if secret.len() < 32 {
                return Err(ConfigError::Invalid(format!(
                    "requestor {}: HS256 secret must be at least 32 bytes",
                    r.name
                )));
            }
            Credential::JwtHs256(Zeroizing::new(secret.into_bytes()))
        }
        _ => {
            return Err(ConfigError::Invalid(format!(
                "requestor {}: give exactly one of token, jwt_public_key_file, jwt_hs256_secret",
                r.name
            )))
        }
    };
    Ok(Requestor {
        name: r.name,
        verifier,
        credential,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_with_nothing_configured() {
        let s = FileConfig::default().resolve(Overrides::default()).unwrap();
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.scheme, SchemeLocation::Url(DEFAULT_SCHEME_URL.into()));
        assert_eq!(s.store, StoreConfig::Memory);
        assert!(matches!(s.auth, RequestorAuth::Open));
        assert_eq!(s.session_timeout, DEFAULT_SESSION_TIMEOUT);
        assert_eq!(s.limits, Limits::DEFAULT);
        assert!(!s.allow_open_requestor_api);
    }

    #[test]
    fn session_caps_and_open_api_flag() {
        let mut f: FileConfig =
            toml::from_str("max_sessions = 100\nmax_sessions_per_requestor = 10\n").unwrap();
        f.apply_env(&[("KENMERK_VERIFIER_MAX_SESSIONS_PER_REQUESTOR", "20")])
            .unwrap();
        let s = f.resolve(Overrides::default()).unwrap();
        assert_eq!(
            s.limits,
            Limits {
                total: Some(100),
                per_owner: Some(20)
            }
        );
        let f: FileConfig = toml::from_str("max_sessions = 0").unwrap();
        assert!(
            f.resolve(Overrides::default()).is_err(),
            "no cap is no default"
        );
        let s = FileConfig::default()
            .resolve(Overrides {
                allow_open_requestor_api: true,
                ..Overrides::default()
            })
            .unwrap();
        assert!(s.allow_open_requestor_api);
        let mut f = FileConfig::default();
        f.apply_env(&[("KENMERK_VERIFIER_ALLOW_OPEN_REQUESTOR_API", "true")])
            .unwrap();
        assert!(
            f.resolve(Overrides::default())
                .unwrap()
                .allow_open_requestor_api
        );
    }

    #[test]
    fn file_then_env_then_flags() {
        let mut f: FileConfig = toml::from_str(
            r#"
            listen = "127.0.0.1:9000"
            scheme = "/etc/scheme.json"
            session_timeout_secs = 60
            default_verifier = "demo.parking"
            [[requestors]]
            name = "desk"
            token = "0123456789abcdef0123"
            "#,
        )
        .unwrap();
        f.apply_env(&[
            ("KENMERK_VERIFIER_LISTEN", "127.0.0.1:9001"),
            ("KENMERK_VERIFIER_REDIS_URL", "redis://127.0.0.1:6379"),
            (
                "KENMERK_VERIFIER_ALLOWED_ORIGINS",
                "https://a.example, https://b.example",
            ),
            (
                "KENMERK_VERIFIER_REQUESTOR_TOKENS",
                "poll=abcdefghijklmnopqrst",
            ),
        ])
        .unwrap();
        let s = f
            .resolve(Overrides {
                listen: Some("127.0.0.1:9002".parse().unwrap()),
                ..Overrides::default()
            })
            .unwrap();
        assert_eq!(s.listen.port(), 9002);
        assert_eq!(s.scheme, SchemeLocation::File("/etc/scheme.json".into()));
        assert_eq!(s.session_timeout, Duration::from_secs(60));
        assert!(matches!(s.store, StoreConfig::Redis { .. }));
        assert_eq!(
            s.allowed_origins,
            vec!["https://a.example", "https://b.example"]
        );
        let RequestorAuth::Requestors(r) = s.auth else {
            panic!("requestors expected")
        };
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].name, "poll");
        assert_eq!(
            r[1].verifier.as_ref().map(|v| v.as_str()),
            Some("demo.parking")
        );
    }

    #[test]
    fn refuses_bad_values() {
        assert!(toml::from_str::<FileConfig>("unknown = 1").is_err());
        let mut f = FileConfig::default();
        assert!(f
            .apply_env(&[("KENMERK_VERIFIER_LISTEN", "not an address")])
            .is_err());
        let f: FileConfig =
            toml::from_str("[[requestors]]\nname = \"x\"\ntoken = \"short\"\n").unwrap();
        assert!(f.resolve(Overrides::default()).is_err());
        let f: FileConfig = toml::from_str("public_url = \"ftp://x\"").unwrap();
        assert!(f.resolve(Overrides::default()).is_err());
    }

    #[test]
    fn status_stream_caps() {
        let s = FileConfig::default().resolve(Overrides::default()).unwrap();
        assert_eq!(s.streams, StreamLimits::default());
        let f: FileConfig =
            toml::from_str("max_status_streams_per_session = 2\nmax_status_streams = 50\n")
                .unwrap();
        let mut f = f;
        f.apply_env(&[("KENMERK_VERIFIER_STATUS_STREAM_MAX_SECS", "30")])
            .unwrap();
        let s = f.resolve(Overrides::default()).unwrap();
        assert_eq!(s.streams.per_session, 2);
        assert_eq!(s.streams.total, Some(50));
        assert_eq!(s.streams.max_lifetime, Duration::from_secs(30));
        let f: FileConfig = toml::from_str("max_status_streams = 0\n").unwrap();
        assert!(f.resolve(Overrides::default()).is_err());
    }

    #[test]
    fn refuses_duplicate_requestor_names() {
        let two = r#"
            [[requestors]]
            name = "a"
            token = "0123456789abcdef0123"
            [[requestors]]
            name = "a"
            token = "abcdefghijklmnopqrst"
            "#;
        let f: FileConfig = toml::from_str(two).unwrap();
        let Err(e) = f.resolve(Overrides::default()) else {
            panic!("duplicate names accepted")
        };
        let message = e.to_string();
        assert!(message.contains("`a`"), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(!message.contains("0123456789"), "no secret: {message}");

        // A file requestor and an environment requestor of the same name.
        let mut f: FileConfig =
            toml::from_str("[[requestors]]\nname = \"desk\"\ntoken = \"0123456789abcdef0123\"\n")
                .unwrap();
        f.apply_env(&[(
            "KENMERK_VERIFIER_REQUESTOR_TOKENS",
            "desk=abcdefghijklmnopqrst",
        )])
        .unwrap();
        assert!(f.resolve(Overrides::default()).is_err());

        // Distinct names still resolve.
        let mut f: FileConfig =
            toml::from_str("[[requestors]]\nname = \"desk\"\ntoken = \"0123456789abcdef0123\"\n")
                .unwrap();
        f.apply_env(&[(
            "KENMERK_VERIFIER_REQUESTOR_TOKENS",
            "poll=abcdefghijklmnopqrst",
        )])
        .unwrap();
        assert!(f.resolve(Overrides::default()).is_ok());
    }
}
