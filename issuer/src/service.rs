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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::{broadcast, watch};
use wallet_core::ids::CredentialTypeId;
use wallet_core::keys::IssuerSecretKey;
use wallet_core::scheme::SchemeSigningKey;

pub use admin::{AdminError, CredentialView, RotatedKey};
pub use requestor::{
    CancelError, CreateSessionError, LookupError, SessionCreated, SessionResult, SessionStatus,
};
pub use wallet::{ChallengesError, CommitError, OfferError, RefreshError, RefreshStarted};

use crate::auth::{AuthConfigError, Authenticator};
use crate::clock::{now, now_i64};
use crate::config::{IssuerConfig, RequestorConfig};
use crate::keys::{self, KeyFileError};
use crate::metrics::Metrics;
use crate::publish::{self, PublishError, Published};
use crate::sealed::{StateKey, STATE_KEY_FILE};
use crate::store::{AnyStore, KeyRecord, Store, StoreError};

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
    pub key_validity_secs: u64,
    pub finished_session_retention_secs: u64,
}

/// The running issuer's state.
pub struct Service {
    store: AnyStore,
    auth: Authenticator,
    settings: Settings,
    public_url: String,
    scheme_description: String,
    scheme_path: PathBuf,
    key_dir: PathBuf,
    signing_key: SchemeSigningKey,
    /// Seals the secret session state (nonces `w`) before it reaches the
    /// database; see [`crate::sealed`].
    state_key: StateKey,
    /// Issuer secret keys by credential type and counter; old counters stay
    /// for sessions that started before a rotation.
    keys: RwLock<BTreeMap<(CredentialTypeId, u32), Arc<IssuerSecretKey>>>,
    published: RwLock<Arc<Published>>,
    /// Serialises key rotations (and their re-signing of the scheme).
    rotation: tokio::sync::Mutex<()>,
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
        let (signing_key, generated) =
            keys::load_or_generate_scheme_key(&config.effective_scheme_key_file())?;
        if generated {
            tracing::info!(
                public_key = %signing_key.public_key(),
                "generated a scheme signing key; wallets must pin this public key"
            );
        }

        let (state_key, generated) = StateKey::load_or_generate(&key_dir.join(STATE_KEY_FILE))?;
        if generated {
            tracing::info!("generated the session state key");
        }

        // Every credential type of the description gets a key valid now.
        let now = now();
        let mut secret_keys = keys::load_issuer_keys(&key_dir)?;
        let description = wallet_core::scheme::SchemeBuilder::from_toml(&scheme_description)
            .map_err(PublishError::from)?;
        // The scheme is the one source of the token validity (config.rs).
        config.check_against_scheme(description.scheme())?;
        for ct in &description.scheme().credential_types {
            let has_valid = secret_keys
                .iter()
                .any(|((t, _), k)| t == &ct.id && k.public().is_valid_at(now));
            if !has_valid {
                let counter = secret_keys
                    .keys()
                    .filter(|(t, _)| t == &ct.id)
                    .map(|(_, c)| *c)
                    .max()
                    .unwrap_or(0)
                    + 1;
                let params =
                    ct.key_params(counter, now, now.saturating_add(config.key_validity_secs));
                let key = keys::generate_issuer_key(&key_dir, params)?;
                tracing::info!(credential_type = %ct.id, counter, "generated an issuer key");
                secret_keys.insert((ct.id.clone(), counter), key);
            }
        }
        // Keys for types the description does not know are not published.
        secret_keys.retain(|(t, _), _| description.scheme().credential_type(t).is_some());
        // Start-up writes only what is new (a restart during a full-disk
        // outage must still come up and serve the reads): keys the store
        // already knows are not inserted again, and recording a scheme
        // version the store holds with the same digest only reads.
        let known: std::collections::BTreeSet<(String, i64)> = store
            .keys()
            .await?
            .into_iter()
            .map(|k| (k.credential_type, k.counter))
            .collect();
        for key in secret_keys.values() {
            let record = key_record(key.public());
            if !known.contains(&(record.credential_type.clone(), record.counter)) {
                store.insert_key(&record, "system").await?;
            }
        }
        let publics: Vec<_> = secret_keys.values().map(|k| k.public().clone()).collect();
        let scheme_path = config.data_dir.join("scheme.cbor");
        let recorded = publish::recorded_version(&store).await?;
        let prepared = publish::prepare(
            &scheme_path,
            &scheme_description,
            &publics,
            &signing_key,
            now,
            recorded,
        )?;
        // Recorded before it is written or served: a version the store
        // knows with other content is refused here (start fails).
        publish::record(&store, &prepared.published).await?;
        if prepared.fresh {
            publish::write(&scheme_path, &prepared.published)?;
        }
        let published = prepared.published;

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
                key_validity_secs: config.key_validity_secs,
                finished_session_retention_secs: config.finished_session_retention_secs,
            },
            public_url,
            scheme_description,
            scheme_path,
            key_dir,
            signing_key,
            state_key,
            keys: RwLock::new(
                secret_keys
                    .into_iter()
                    .map(|(id, k)| (id, Arc::new(k)))
                    .collect(),
            ),
            published: RwLock::new(Arc::new(published)),
            rotation: tokio::sync::Mutex::new(()),
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
        match self.published.read() {
            Ok(p) => p.clone(),
            // A poisoned lock still holds a consistent Arc.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The scheme signing public key wallets pin.
    pub fn scheme_public_key(&self) -> wallet_core::scheme::SchemePublicKey {
        self.signing_key.public_key()
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

    fn secret_key(
        &self,
        credential_type: &CredentialTypeId,
        counter: u32,
    ) -> Option<Arc<IssuerSecretKey>> {
        let keys = match self.keys.read() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        keys.get(&(credential_type.clone(), counter)).cloned()
    }

    /// The counter of the newest key of `credential_type` valid now that
    /// this issuer holds the secret of.
    fn current_counter(&self, credential_type: &CredentialTypeId, now: u64) -> Option<u32> {
        let published = self.published();
        let key = published.scheme.current_issuer_key(credential_type, now)?;
        self.secret_key(credential_type, key.counter)
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

fn key_record(k: &wallet_core::keys::IssuerPublicKey) -> KeyRecord {
    KeyRecord {
        credential_type: k.credential_type.to_string(),
        counter: i64::from(k.counter),
        key_id: k.key_id().0.to_vec(),
        public_key: k.to_bytes(),
        valid_from: i64::try_from(k.valid_from).unwrap_or(i64::MAX),
        valid_until: i64::try_from(k.valid_until).unwrap_or(i64::MAX),
        created_at: now_i64(),
    }
}
