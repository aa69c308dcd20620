//! The issuer service: the protocol state machine over the store.
//!
//! Handlers only extract and call these methods; every cryptographic step
//! and every wire message is wallet-core's. A session moves
//!
//! ```text
//! requestor POST /session ─► Initialized ─(offer fetched)─► Connected
//!   ─(HolderCommitment | RefreshProof: holder proof checked, nonces w drawn)─► Committed
//!   ─(ChallengesMessage: answered, w deleted, record written, one transaction)─► Done
//! any open state ─► Cancelled (requestor) | Timeout (clock) | Failed (bad proof, revoked)
//! ```
//!
//! Retries are idempotent: the same commitment message gets the stored
//! signer commitments, the same challenges the stored responses (rule 3);
//! anything else after a step is refused.

pub mod admin;
pub mod requestor;
pub mod wallet;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use wallet_core::ids::CredentialTypeId;
use wallet_core::keys::IssuerSecretKey;

pub use admin::{AdminError, CredentialView, RotatedKey};
pub use requestor::{
    CancelError, CreateSessionError, LookupError, SessionCreated, SessionResult, SessionStatus,
};
pub use wallet::{ChallengesError, CommitError, OfferError, RefreshError, RefreshStarted};

use crate::auth::{AuthConfigError, Authenticator};
use crate::clock::{now, now_i64};
use crate::config::{IssuerConfig, RequestorConfig};
use crate::keyring::{Keyring, OpenKeyringError};
use crate::keys::{self, KeyFileError};
use crate::metrics::Metrics;
use crate::publish::{PublishError, Published};
use crate::sealed::StateKey;
use crate::store::{AnyStore, Store, StoreError};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("key material: {0}")]
    Keys(#[from] KeyFileError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("scheme: {0}")]
    Publish(#[from] PublishError),
    #[error("{0}")]
    Keyring(OpenKeyringError),
    #[error("requestor configuration: {0}")]
    Auth(#[from] AuthConfigError),
    #[error("cannot read scheme description {path}: {source}")]
    SchemeFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

impl From<OpenKeyringError> for StartError {
    fn from(e: OpenKeyringError) -> Self {
        // The variants callers already match on keep their place.
        match e {
            OpenKeyringError::Keys(k) => StartError::Keys(k),
            OpenKeyringError::Publish(p) => StartError::Publish(p),
            OpenKeyringError::Store(s) => StartError::Store(s),
            other => StartError::Keyring(other),
        }
    }
}

/// A status change of a session, for server-sent events.
#[derive(Debug, Clone)]
pub(crate) struct StatusEvent {
    pub session_id: String,
    pub status: SessionStatus,
}

/// Settings the protocol steps read.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub batch_size: usize,
    pub session_timeout_secs: u64,
    pub finished_session_retention_secs: u64,
}

/// The running issuer's state.
pub struct Service {
    store: AnyStore,
    auth: Authenticator,
    settings: Settings,
    public_url: String,
    /// Issuer keys (old counters stay for sessions that started before a
    /// rotation), the scheme signing key and the published scheme.
    keyring: Keyring,
    /// Seals the secret session state (nonces `w`) before it reaches the
    /// database; see [`crate::sealed`].
    state_key: StateKey,
    metrics: Metrics,
    events: broadcast::Sender<StatusEvent>,
    shutdown: watch::Receiver<bool>,
}

/// SHA-256, for recognising retried messages.
pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

impl Service {
    /// Opens the store, loads or generates key material, publishes the
    /// scheme. `public_url` is where wallets reach this service.
    pub(crate) async fn open(
        config: &IssuerConfig,
        public_url: String,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StartError> {
        config.validate()?;
        keys::create_private_dir(&config.data_dir)?;
        let key_dir = config.effective_key_dir();
        keys::create_private_dir(&key_dir)?;
        if config.database_url.is_none() {
            // The database holds personal data: create it private.
            keys::create_private_file(&config.data_dir.join("issuer.db"))?;
        }
        let store = AnyStore::connect(&config.effective_database_url()).await?;

        let scheme_description = match &config.scheme_file {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|source| StartError::SchemeFile {
                    path: path.clone(),
                    source,
                })?
            }
            None => wallet_core::scheme::demo::DEMO_SCHEME_TOML.to_owned(),
        };
        let description = wallet_core::scheme::SchemeBuilder::from_toml(&scheme_description)
            .map_err(PublishError::from)?;
        // The scheme is the one source of the token validity (config.rs).
        config.check_against_scheme(description.scheme())?;
        // Key material and the published scheme: shared by every instance
        // on the database, generated by exactly one (crate::keyring).
        let (keyring, state_key) = Keyring::open(config, &store, scheme_description, now()).await?;

        let mut requestors = config.requestors.clone();
        if requestors.is_empty() {
            let path = config.data_dir.join("requestor-token");
            let token = keys::load_or_generate_token(&path)?;
            tracing::info!(path = %path.display(), "no requestors configured: local admin token file");
            requestors.push(RequestorConfig {
                name: "local".to_owned(),
                token: Some(token.to_string()),
                admin: true,
                ..RequestorConfig::default()
            });
        }
        let auth = Authenticator::new(&requestors)?;
        let (events, _) = broadcast::channel(1024);
        Ok(Service {
            store,
            auth,
            settings: Settings {
                batch_size: config.batch_size,
                session_timeout_secs: config.session_timeout_secs,
                finished_session_retention_secs: config.finished_session_retention_secs,
            },
            public_url,
            keyring,
            state_key,
            metrics: Metrics::default(),
            events,
            shutdown,
        })
    }

    /// The requestor authenticator.
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The store (for /readyz).
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The scheme as published now.
    pub fn published(&self) -> Arc<Published> {
        self.keyring.published()
    }

    /// The scheme signing public key wallets pin.
    pub fn scheme_public_key(&self) -> wallet_core::scheme::SchemePublicKey {
        self.keyring.scheme_public_key()
    }

    /// Follows other instances' key rotations until the task is dropped.
    pub(crate) async fn follow_keyring(&self) {
        self.keyring.follow(&self.store).await
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<StatusEvent> {
        self.events.subscribe()
    }

    fn notify(&self, session_id: &str, status: SessionStatus) {
        // No subscribers is fine.
        let _ = self.events.send(StatusEvent {
            session_id: session_id.to_owned(),
            status,
        });
    }

    /// The secret key a session was offered under; a counter another
    /// instance created a moment ago is loaded first.
    async fn secret_key(
        &self,
        credential_type: &CredentialTypeId,
        counter: u32,
    ) -> Option<Arc<IssuerSecretKey>> {
        self.keyring
            .secret_key_or_reload(&self.store, credential_type, counter)
            .await
    }

    /// The counter of the newest key of `credential_type` valid now that
    /// this issuer holds the secret of.
    fn current_counter(&self, credential_type: &CredentialTypeId, now: u64) -> Option<u32> {
        let published = self.published();
        let key = published.scheme.current_issuer_key(credential_type, now)?;
        self.keyring
            .secret_key(credential_type, key.counter)
            .map(|_| key.counter)
    }

    /// Times out sessions past their expiry (run periodically).
    pub(crate) async fn expire_sessions(&self) -> Result<(), StoreError> {
        let expired = self.store.expire_sessions(now_i64()).await?;
        for id in expired {
            crate::metrics::inc(&self.metrics.sessions_timed_out);
            self.notify(&id, SessionStatus::Timeout);
        }
        Ok(())
    }

    /// Deletes finished sessions older than the retention (run
    /// periodically): their attribute values and responses are no longer
    /// needed once the requestor had time to fetch the result.
    pub(crate) async fn purge_finished_sessions(&self) -> Result<(), StoreError> {
        let retention =
            i64::try_from(self.settings.finished_session_retention_secs).unwrap_or(i64::MAX);
        let purged = self
            .store
            .purge_finished_sessions(now_i64().saturating_sub(retention))
            .await?;
        if purged > 0 {
            tracing::info!(purged, "deleted finished sessions past their retention");
        }
        Ok(())
    }
}
