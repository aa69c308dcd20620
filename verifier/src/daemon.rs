//! Running the verifier as a server: [`start`] binds, loads the scheme,
//! opens the store and serves all routers until [`VerifierHandle::shutdown`].
//! The `kenmerk-verifier serve` binary and the CLI's embedded demo both use
//! it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, Method};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use wallet_core::ids::VerifierId;
use wallet_core::scheme::{SchemePublicKey, VerifiedScheme};

use crate::auth::RequestorAuth;
use crate::config::{self, SchemeLocation, Settings, StoreConfig};
use crate::edge::{self, EdgeLimits};
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::router::{full_router, RequestorState};
use crate::scheme_source::{SchemeHandle, SchemeLoadError, SchemeLoader};
use crate::session::{SessionSettings, Sessions, StreamLimits};
use crate::signing::{SigningKey, SigningKeyError};
use crate::store::{Limits, MemoryStore, RedisStore, SessionStore, StoreError};

/// Where the scheme comes from.
pub enum SchemeConfig {
    /// Loaded from a URL or file, verified under `key` (or, for a loopback
    /// URL, the key published there), re-loaded every `refresh`.
    Location {
        /// URL or file.
        location: SchemeLocation,
        /// Pinned key.
        key: Option<SchemePublicKey>,
        /// Re-load interval.
        refresh: Duration,
    },
    /// Given directly (already verified by the caller), never re-loaded
    /// unless swapped through [`Sessions::scheme_handle`].
    Verified(VerifiedScheme),
}

/// Everything [`start`] needs.
pub struct VerifierConfig {
    /// Address to bind (port 0 for any free port).
    pub listen: SocketAddr,
    /// Base URL for pointers; default `http://{bound address}`.
    pub public_url: Option<String>,
    /// The scheme.
    pub scheme: SchemeConfig,
    /// Session store.
    pub store: StoreConfig,
    /// Time a wallet has to answer.
    pub session_timeout: Duration,
    /// Time a result stays available.
    pub result_ttl: Duration,
    /// Requestor authentication.
    pub auth: RequestorAuth,
    /// Verifier identity for requests that name none.
    pub default_verifier: Option<VerifierId>,
    /// CORS origins (none: no cross-origin access).
    pub allowed_origins: Vec<String>,
    /// Key for result JWTs and timestamps (generated if `None`).
    pub signing_key: Option<SigningKey>,
    /// Largest request body.
    pub body_limit: usize,
    /// Verifications running at once; more get `503`.
    pub verify_workers: usize,
    /// Refused presentations after which a session is FAILED.
    pub max_wrong_answers: u32,
    /// Header and body timeouts, connection cap.
    pub edge: EdgeLimits,
    /// Caps on status streams; `total: None` is a quarter of
    /// `edge.max_connections`.
    pub streams: StreamLimits,
    /// Caps on the sessions held, in total and per requestor.
    pub limits: Limits,
    /// Allow an unauthenticated requestor API ([`RequestorAuth::Open`]) on a
    /// non-loopback address; without it [`start`] refuses.
    pub allow_open_requestor_api: bool,
}

impl VerifierConfig {
    /// Defaults (loopback, any free port, memory store, open requestor API)
    /// with the scheme given directly: what an embedding program or a test
    /// uses.
    pub fn with_scheme(scheme: VerifiedScheme) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            scheme: SchemeConfig::Verified(scheme),
            store: StoreConfig::Memory,
            session_timeout: config::DEFAULT_SESSION_TIMEOUT,
            result_ttl: config::DEFAULT_RESULT_TTL,
            auth: RequestorAuth::Open,
            default_verifier: None,
            allowed_origins: Vec::new(),
            signing_key: None,
            body_limit: config::DEFAULT_BODY_LIMIT,
            verify_workers: crate::pool::default_size(),
            max_wrong_answers: crate::session::DEFAULT_MAX_WRONG_ANSWERS,
            edge: EdgeLimits::default(),
            streams: StreamLimits::default(),
            limits: Limits::DEFAULT,
            allow_open_requestor_api: false,
        }
    }

    /// From resolved daemon settings (file, environment, flags).
    pub fn from_settings(s: Settings) -> Result<Self, StartError> {
        let signing_key = s
            .signing_key_file
            .as_deref()
            .map(SigningKey::from_file)
            .transpose()?;
        Ok(Self {
            listen: s.listen,
            public_url: s.public_url,
            scheme: SchemeConfig::Location {
                location: s.scheme,
                key: s.scheme_key,
                refresh: s.scheme_refresh,
            },
            store: s.store,
            session_timeout: s.session_timeout,
            result_ttl: s.result_ttl,
            auth: s.auth,
            default_verifier: s.default_verifier,
            allowed_origins: s.allowed_origins,
            signing_key,
            body_limit: s.body_limit,
            verify_workers: s.verify_workers,
            max_wrong_answers: s.max_wrong_answers,
            edge: EdgeLimits::default(),
            streams: s.streams,
            limits: s.limits,
            allow_open_requestor_api: s.allow_open_requestor_api,
        })
    }
}

/// Why the daemon did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The scheme could not be loaded or is not trusted.
    #[error(transparent)]
    Scheme(#[from] SchemeLoadError),
    /// The store could not be opened.
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    /// The signing key could not be loaded or made.
    #[error(transparent)]
    SigningKey(#[from] SigningKeyError),
    /// A configured origin is not a valid header value.
    #[error("invalid CORS origin {0:?}")]
    Origin(String),
    /// The requestor API has no authentication and the address is not
    /// loopback, and the operator did not allow that explicitly.
    #[error("refusing to serve the requestor API without authentication on {0}: configure [[requestors]], listen on 127.0.0.1, or pass --allow-open-requestor-api")]
    OpenRequestorApi(SocketAddr),
}

/// A running verifier.
pub struct VerifierHandle {
    addr: SocketAddr,
    public_url: String,
    sessions: Sessions,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    refresher: Option<JoinHandle<()>>,
}

impl VerifierHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The public base URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The session manager (for embedding: create sessions in-process).
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Stop accepting connections, let open requests finish, and wait.
    /// Open status streams are ended by the shutdown.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.sessions.close_streams();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(r) = self.refresher.take() {
            r.abort();
        }
        match self.server.take() {
            Some(server) => match server.await {
                Ok(r) => r,
                Err(e) => Err(std::io::Error::other(e)),
            },
            None => Ok(()),
        }
    }

    /// Wait until the server stops by itself (it does not, short of an I/O
    /// error); used by the binary together with a signal handler.
    pub async fn wait_for(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        signal.await;
        tracing::info!("shutting down");
        self.shutdown().await
    }
}

impl Drop for VerifierHandle {
    fn drop(&mut self) {
        self.sessions.close_streams();
        if let Some(r) = self.refresher.take() {
            r.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn cors(origins: &[String]) -> Result<Option<CorsLayer>, StartError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let values = origins
        .iter()
        .map(|o| HeaderValue::from_str(o).map_err(|_| StartError::Origin(o.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(values))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .max_age(Duration::from_secs(600)),
    ))
}

/// How long start-up waits for an unreachable scheme URL (the local issuer
/// may be starting at the same time).
const INITIAL_SCHEME_WAIT: Duration = Duration::from_secs(30);

/// Load the scheme at start; retry only while the URL is unreachable. A
/// scheme that arrives but is not trusted fails at once.
async fn load_initial(loader: &mut SchemeLoader) -> Result<VerifiedScheme, SchemeLoadError> {
    let start = std::time::Instant::now();
    let mut logged = false;
    loop {
        match loader.load(None).await {
            Err(e @ SchemeLoadError::Fetch { .. }) if start.elapsed() < INITIAL_SCHEME_WAIT => {
                if !logged {
                    tracing::warn!(error = %e, "waiting for the scheme to become available");
                    logged = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

async fn not_found() -> Problem {
    Problem::new(
        axum::http::StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such endpoint",
    )
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this endpoint does not accept this method",
    )
}

/// Start serving; returns once the socket is bound and the scheme loaded.
pub async fn start(config: VerifierConfig) -> Result<VerifierHandle, StartError> {
    // Secure by default: anyone who reaches an open requestor API can
    // create sessions as any verifier and read every result, so beyond
    // loopback it takes the operator's explicit word. Checked before the
    // bind, so nothing listens even for a moment.
    let open = matches!(config.auth, RequestorAuth::Open);
    if open && !config.listen.ip().is_loopback() && !config.allow_open_requestor_api {
        return Err(StartError::OpenRequestorApi(config.listen));
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Bind(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(config.listen, e))?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let metrics = Metrics::new();

    let (scheme, loader) = match config.scheme {
        SchemeConfig::Verified(s) => (SchemeHandle::new(s), None),
        SchemeConfig::Location {
            location,
            key,
            refresh,
        } => {
            let mut loader = SchemeLoader::new(location, key);
            let scheme = load_initial(&mut loader).await?;
            (SchemeHandle::new(scheme), Some((loader, refresh)))
        }
    };
    metrics.scheme_reloaded();
    let refresher = loader.map(|(loader, refresh)| {
        tokio::spawn(loader.refresh_forever(scheme.clone(), refresh, metrics.clone()))
    });

    let store: Arc<dyn SessionStore> = match &config.store {
        StoreConfig::Memory => Arc::new(MemoryStore::new()),
        StoreConfig::Redis { url, prefix } => Arc::new(RedisStore::connect(url, prefix).await?),
    };
    let key = match config.signing_key {
        Some(k) => k,
        None => {
            let k = SigningKey::generate()?;
            tracing::warn!(
                public_key = %k.public_hex(),
                "no signing key configured: generated one for this run (result JWTs and timestamps will not verify after a restart)"
            );
            k
        }
    };
    let sessions = Sessions::new(
        store,
        scheme.clone(),
        SessionSettings {
            public_url: public_url.clone(),
            session_timeout: config.session_timeout,
            result_ttl: config.result_ttl,
            verify_workers: config.verify_workers,
            max_wrong_answers: config.max_wrong_answers,
            limits: config.limits,
        },
        Arc::new(key),
        metrics.clone(),
    );
    sessions.set_stream_limits(StreamLimits {
        total: Some(
            config
                .streams
                .total
                .unwrap_or(config.edge.max_connections / 4)
                .max(1),
        ),
        ..config.streams
    });
    if open && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "requestor API is open (no requestors configured) on a non-loopback address: allowed by allow_open_requestor_api");
    }
    let state = RequestorState {
        sessions: sessions.clone(),
        auth: Arc::new(config.auth),
        default_verifier: config.default_verifier,
    };
    let body_limit = config.body_limit;
    let body_timeout = config.edge.body_timeout;
    let mut app: Router = full_router(state)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            crate::metrics::track,
        ))
        // Spans name the route template, never the URI: URIs carry
        // requestor tokens, which must not reach the logs.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                let route = request
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("unmatched", |p| p.as_str())
                    .to_owned();
                tracing::debug_span!("http", method = %request.method(), route)
            }),
        )
        // The whole body arrives within the body timeout before a handler
        // runs; over-long URIs and axum's own text errors become problems.
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next| {
                service_edge::read_body_first::<Problem>(body_limit, body_timeout, req, next)
            },
        ))
        .layer(axum::middleware::from_fn(
            service_edge::limit_uri::<Problem>,
        ))
        .layer(axum::middleware::from_fn(
            service_edge::problem_layer::<Problem>,
        ));
    if let Some(c) = cors(&config.allowed_origins)? {
        app = app.layer(c);
    }

    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(edge::serve(listener, app, config.edge, async move {
        let _ = rx.await;
    }));
    let current = scheme.current();
    tracing::info!(
        %addr,
        %public_url,
        store = match config.store { StoreConfig::Memory => "memory", StoreConfig::Redis { .. } => "redis" },
        scheme = %current.id,
        scheme_version = current.version,
        "kenmerk-verifier listening"
    );
    Ok(VerifierHandle {
        addr,
        public_url,
        sessions,
        shutdown: Some(tx),
        server: Some(server),
        refresher,
    })
}
