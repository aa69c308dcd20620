//! Starting and stopping the issuer: the library API the binary and the
//! CLI's embedded demo use.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::IssuerConfig;
use crate::edge::{self, EdgeLimits};
use crate::routes::{router, AppState};
use crate::service::{Service, StartError};
use crate::store::Store;

/// A running issuer: its address, its scheme key, and the way to stop it.
pub struct RunningIssuer {
    addr: SocketAddr,
    public_url: String,
    store_kind: &'static str,
    service: Arc<Service>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
    /// Follows other instances' key rotations (PostgreSQL only).
    follower: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningIssuer")
            .field("addr", &self.addr)
            .field("store", &self.store_kind)
            .finish_non_exhaustive()
    }
}

impl RunningIssuer {
    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL wallets use (session pointers point below it).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// `sqlite` or `postgres`.
    pub fn store_kind(&self) -> &'static str {
        self.store_kind
    }

    /// The scheme signing public key wallets pin.
    pub fn scheme_public_key(&self) -> wallet_core::scheme::SchemePublicKey {
        self.service.scheme_public_key()
    }

    /// The signed scheme as published now (CBOR).
    pub fn signed_scheme_cbor(&self) -> Vec<u8> {
        self.service.published().cbor.clone()
    }

    /// Stops accepting connections, lets running requests finish, ends
    /// open event streams, and waits for the server to stop.
    pub async fn shutdown(self) -> std::io::Result<()> {
        // Receivers may be gone already; the server then stops anyway.
        let _ = self.shutdown.send(true);
        self.sweeper.abort();
        if let Some(follower) = &self.follower {
            follower.abort();
        }
        match self.server.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// Waits until the server stops (after [`Self::shutdown`] from another
    /// handle, or an I/O failure).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match (&mut self.server).await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// A handle that triggers shutdown (for a signal handler).
    pub fn shutdown_trigger(&self) -> impl Fn() + Send + Sync + 'static {
        let tx = self.shutdown.clone();
        move || {
            let _ = tx.send(true);
        }
    }
}

/// Starts the issuer described by `config` and returns once it listens.
pub async fn start(config: IssuerConfig) -> Result<RunningIssuer, StartError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let service = Arc::new(Service::open(&config, public_url.clone(), shutdown_rx.clone()).await?);
    let store_kind = service.store().kind();
    let state = AppState {
        service: service.clone(),
        max_body_bytes: config.max_body_bytes,
    };
    let app = router(
        state,
        config.max_concurrent_requests,
        Duration::from_secs(config.body_timeout_secs),
    );
    let limits = EdgeLimits {
        header_timeout: Duration::from_secs(config.header_timeout_secs),
        body_timeout: Duration::from_secs(config.body_timeout_secs),
        max_connections: config.max_connections,
    };

    let mut stop = shutdown_rx.clone();
    let server = tokio::spawn(edge::serve(listener, app, limits, async move {
        // Resolves on `true` or when every sender is gone.
        let _ = stop.wait_for(|v| *v).await;
    }));

    let sweep_every = Duration::from_secs((config.session_timeout_secs / 4).clamp(1, 10));
    let sweeping = service.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(sweep_every);
        loop {
            tick.tick().await;
            if let Err(e) = sweeping.expire_sessions().await {
                tracing::warn!(error = %e, "could not time out expired sessions");
            }
            if let Err(e) = sweeping.purge_finished_sessions().await {
                tracing::warn!(error = %e, "could not delete finished sessions");
            }
        }
    });

    // Several instances share one PostgreSQL database: follow the key
    // rotations of the others (announced, and polled as a fallback).
    // SQLite serves one instance only.
    let follower = matches!(service.store(), crate::store::AnyStore::Postgres(_)).then(|| {
        let following = service.clone();
        tokio::spawn(async move { following.follow_keyring().await })
    });

    tracing::info!(%addr, store = store_kind, public_url = %public_url, "kenmerk-issuer listening");
    // Readiness is a property of the store; check once so a broken
    // database shows up at start rather than at the first request.
    if let Err(e) = service.store().ping().await {
        tracing::warn!(error = %e, "store not reachable at start");
    }
    Ok(RunningIssuer {
        addr,
        public_url,
        store_kind,
        service,
        shutdown: shutdown_tx,
        server,
        sweeper,
        follower,
    })
}
