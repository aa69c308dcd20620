//! The issuer's keyring: the scheme signing key, the session state key,
//! the issuer secret keys, and the scheme version published with them,
//! shared by every instance on one database.
//!
//! Key material lives in one of two vaults:
//!
//! - **files** (the default): `key_dir` and `scheme_key_file`, a volume
//!   every instance mounts;
//! - **the database** (with `key_encryption_key_file`): each key sealed
//!   with XChaCha20-Poly1305 under the operator's 32-byte key-encryption
//!   key, associated data `kenmerk-issuer/key-material/v1 NUL <name>`, so a
//!   sealed key copied under another name does not open. Key files found
//!   at start and not yet in the database are imported.
//!
//! Start-up and rotation run under the store's keyring lock
//! ([`crate::store::keyring`]): exactly one instance generates a missing
//! key, the others wait and load it; a rotation first loads what other
//! instances did, takes the next counter above every counter the database
//! ever recorded, and writes a key that never replaces an existing one.
//! Once the database records a scheme version (an earlier start), missing
//! key material is refused instead of generated: a volume that is not
//! mounted must not produce a new trust root.
//!
//! Other instances learn about a rotation within moments: the rotating
//! instance announces it ([`KeyStore::announce_keyring_change`], PostgreSQL
//! `NOTIFY`), every instance also polls the recorded version every
//! [`POLL`], and a session whose key counter is not known yet reloads
//! before it fails. Old keys are never dropped from memory, so a session
//! started before a rotation finishes under its key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use wallet_core::ids::CredentialTypeId;
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey};
use wallet_core::scheme::{SchemeBuilder, SchemeSigningKey};
use zeroize::Zeroizing;

mod vault;

use vault::{place, StoreOr, Unopened, Vault, SCHEME_KEY, STATE_KEY};

use crate::config::IssuerConfig;
use crate::keys::{self, KeyFileError};
use crate::publish::{self, PublishError, Published};
use crate::sealed::{StateKey, STATE_KEY_FILE};
use crate::store::keyring::{KeyStore, KeyringLock, SealedMaterial};
use crate::store::{AnyStore, KeyRecord, Store, StoreError};

/// How often every instance checks the database for a newer scheme
/// version, in case an announcement was missed.
pub const POLL: Duration = Duration::from_secs(2);

type SecretKeys = BTreeMap<(CredentialTypeId, u32), Arc<IssuerSecretKey>>;

/// Why the keyring could not be opened at start.
#[derive(Debug, thiserror::Error)]
pub enum OpenKeyringError {
    #[error("key material: {0}")]
    Keys(#[from] KeyFileError),
    #[error("scheme: {0}")]
    Publish(#[from] PublishError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error(
        "{what} is missing ({place}) while the database records earlier starts; \
         refusing to generate a new one (mount the shared key material, or restore it)"
    )]
    Missing { what: &'static str, place: String },
    #[error("sealed key material {0} does not open (wrong key-encryption key, or altered)")]
    Sealed(String),
}

/// Why a key rotation failed.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("credential type {0} is not in this issuer's scheme")]
    UnknownCredentialType(String),
    #[error("key material: {0}")]
    Keys(#[from] KeyFileError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealed key material {0} does not open")]
    Sealed(String),
    #[error("key counter {counter} of {credential_type} exists already")]
    Clash {
        credential_type: String,
        counter: u32,
    },
}

/// Why the keyring could not follow another instance's change.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("key material: {0}")]
    Keys(#[from] KeyFileError),
    #[error("sealed key material {0} does not open")]
    Sealed(String),
}

/// A finished rotation.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub credential_type: CredentialTypeId,
    pub counter: u32,
    pub public: IssuerPublicKey,
    pub scheme_version: u64,
}

impl From<StoreOr<Unopened>> for OpenKeyringError {
    fn from(e: StoreOr<Unopened>) -> Self {
        match e {
            StoreOr::Store(s) => s.into(),
            StoreOr::Keys(k) => k.into(),
            StoreOr::Other(Unopened(name)) => OpenKeyringError::Sealed(name),
        }
    }
}

impl From<StoreOr<Unopened>> for ReloadError {
    fn from(e: StoreOr<Unopened>) -> Self {
        match e {
            StoreOr::Store(s) => s.into(),
            StoreOr::Keys(k) => k.into(),
            StoreOr::Other(Unopened(name)) => ReloadError::Sealed(name),
        }
    }
}

impl From<StoreOr<Unopened>> for RotateError {
    fn from(e: StoreOr<Unopened>) -> Self {
        match e {
            StoreOr::Store(s) => s.into(),
            StoreOr::Keys(k) => k.into(),
            StoreOr::Other(Unopened(name)) => RotateError::Sealed(name),
        }
    }
}

impl From<ReloadError> for RotateError {
    fn from(e: ReloadError) -> Self {
        match e {
            ReloadError::Store(s) => s.into(),
            ReloadError::Publish(p) => p.into(),
            ReloadError::Keys(k) => k.into(),
            ReloadError::Sealed(n) => RotateError::Sealed(n),
        }
    }
}

/// The keyring of a running issuer.
pub struct Keyring {
    vault: Vault,
    description: String,
    scheme_path: PathBuf,
    key_validity_secs: u64,
    signing_key: SchemeSigningKey,
    keys: RwLock<SecretKeys>,
    published: RwLock<Arc<Published>>,
    /// Orders this instance's rotations and reloads; the store's keyring
    /// lock orders the instances.
    local: tokio::sync::Mutex<()>,
}

/// Takes the store's keyring lock, runs `work`, gives the lock back.
async fn locked<T, E: From<StoreError>>(
    store: &AnyStore,
    work: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let lock: KeyringLock = store.lock_keyring().await.map_err(|e| E::from(e.0))?;
    let result = work.await;
    if let Err(e) = lock.release().await {
        // Its connection was closed instead, which frees the lock too.
        tracing::warn!(error = %e, "keyring lock");
    }
    result
}

impl Keyring {
    /// Opens the keyring at start: loads the key material, generates what
    /// a first start needs (under the store's keyring lock, so that of
    /// several instances starting at once exactly one generates), records
    /// the keys and publishes the scheme. Returns the keyring and the
    /// session state key.
    pub async fn open(
        config: &IssuerConfig,
        store: &AnyStore,
        description: String,
        now: u64,
    ) -> Result<(Keyring, StateKey), OpenKeyringError> {
        let key_dir = config.effective_key_dir();
        let scheme_key_file = config.effective_scheme_key_file();
        let vault = match &config.key_encryption_key_file {
            Some(path) => Vault::Database {
                key_dir,
                scheme_key_file,
                kek: StateKey::from_bytes(&*keys::load_key_encryption_key(path)?),
            },
            None => Vault::Files {
                key_dir,
                scheme_key_file,
            },
        };
        let scheme_path = config.data_dir.join("scheme.cbor");
        locked(
            store,
            Self::open_locked(
                vault,
                store,
                description,
                scheme_path,
                config.key_validity_secs,
                now,
            ),
        )
        .await
    }

    async fn open_locked(
        vault: Vault,
        store: &AnyStore,
        description: String,
        scheme_path: PathBuf,
        key_validity_secs: u64,
        now: u64,
    ) -> Result<(Keyring, StateKey), OpenKeyringError> {
        // An earlier start recorded a version: from then on missing key
        // material is refused, never generated.
        let recorded = publish::recorded_version(store).await?;
        let established = recorded.is_some();
        let opened = vault.opened(store).await?;
        let signing_key = Self::signing_key(&vault, store, &opened, established).await?;
        let state_key = Self::state_key(&vault, store, &opened, established).await?;

        let builder = SchemeBuilder::from_toml(&description).map_err(PublishError::from)?;
        let mut secret_keys = vault.issuer_keys(store).await?;
        let known = store.keys().await?;
        let described = |t: &CredentialTypeId| builder.scheme().credential_type(t).is_some();
        let held = |r: &KeyRecord| {
            secret_keys
                .keys()
                .any(|(t, c)| t.as_str() == r.credential_type && i64::from(*c) == r.counter)
        };
        if !known.is_empty() && !known.iter().any(held) {
            return Err(OpenKeyringError::Missing {
                what: "every issuer key the database records",
                place: place(&vault),
            });
        }
        // Every credential type of the description gets a key valid now,
        // numbered above every counter any instance ever used for it.
        for ct in &builder.scheme().credential_types {
            let has_valid = secret_keys
                .iter()
                .any(|((t, _), k)| t == &ct.id && k.public().is_valid_at(now));
            if has_valid {
                continue;
            }
            let counter = next_counter(&secret_keys, &known, &ct.id);
            let key = IssuerSecretKey::generate(
                &mut rand_core::OsRng,
                ct.key_params(counter, now, now.saturating_add(key_validity_secs)),
            )
            .map_err(|e| KeyFileError::Generate(e.to_string()))?;
            match vault.add_issuer_key(store, &key).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(OpenKeyringError::Keys(KeyFileError::Generate(format!(
                        "key counter {counter} of {} exists already",
                        ct.id
                    ))))
                }
                Err(StoreOr::Store(s)) => return Err(s.into()),
                Err(StoreOr::Keys(k) | StoreOr::Other(k)) => return Err(k.into()),
            }
            tracing::info!(credential_type = %ct.id, counter, "generated an issuer key");
            secret_keys.insert((ct.id.clone(), counter), key);
        }
        // Keys for types the description does not know are not published.
        secret_keys.retain(|(t, _), _| described(t));
        // Start-up writes only what is new (a restart during a full-disk
        // outage must still come up and serve the reads).
        let known: BTreeSet<(String, i64)> = known
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
        let document = store.latest_scheme_document().await.map_err(|e| e.0)?;
        let prepared = publish::prepare(
            &scheme_path,
            &description,
            &publics,
            &signing_key,
            now,
            recorded,
            document.as_ref().map(|(_, d)| d.as_slice()),
        )?;
        // Recorded before it is written or served: a version the store
        // knows with other content is refused here (start fails).
        publish::record(store, &prepared.published).await?;
        let version = i64::try_from(prepared.published.version()).unwrap_or(i64::MAX);
        if document.as_ref().map(|(v, _)| *v) != Some(version) {
            store
                .record_scheme_document(version, &prepared.published.cbor)
                .await
                .map_err(|e| e.0)?;
        }
        if prepared.write_file {
            publish::write(&scheme_path, &prepared.published)?;
        }
        let keyring = Keyring {
            vault,
            description,
            scheme_path,
            key_validity_secs,
            signing_key,
            keys: RwLock::new(
                secret_keys
                    .into_iter()
                    .map(|(id, k)| (id, Arc::new(k)))
                    .collect(),
            ),
            published: RwLock::new(Arc::new(prepared.published)),
            local: tokio::sync::Mutex::new(()),
        };
        Ok((keyring, state_key))
    }

    async fn signing_key(
        vault: &Vault,
        store: &AnyStore,
        opened: &BTreeMap<String, Zeroizing<Vec<u8>>>,
        established: bool,
    ) -> Result<SchemeSigningKey, OpenKeyringError> {
        let path = vault.scheme_key_file();
        if let Some(bytes) = opened.get(SCHEME_KEY) {
            return SchemeSigningKey::from_pkcs8(bytes)
                .map_err(|_| OpenKeyringError::Sealed(SCHEME_KEY.to_owned()));
        }
        let (key, generated) = match keys::load_scheme_key(path)? {
            Some(key) => (key, false),
            None if established => {
                return Err(OpenKeyringError::Missing {
                    what: "the scheme signing key",
                    place: place(vault),
                })
            }
            None => (
                SchemeSigningKey::generate().map_err(|e| KeyFileError::Generate(e.to_string()))?,
                true,
            ),
        };
        match vault {
            Vault::Files { .. } if generated => keys::write_new_secret(path, key.pkcs8())?,
            Vault::Files { .. } => {}
            Vault::Database { kek, .. } => {
                let sealed = Vault::seal(kek, SCHEME_KEY, key.pkcs8())?;
                insert_material(store, SCHEME_KEY, sealed).await?;
            }
        }
        if generated {
            tracing::info!(
                public_key = %key.public_key(),
                "generated a scheme signing key; wallets must pin this public key"
            );
        }
        Ok(key)
    }

    async fn state_key(
        vault: &Vault,
        store: &AnyStore,
        opened: &BTreeMap<String, Zeroizing<Vec<u8>>>,
        established: bool,
    ) -> Result<StateKey, OpenKeyringError> {
        if let Some(bytes) = opened.get(STATE_KEY) {
            let raw: &[u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| OpenKeyringError::Sealed(STATE_KEY.to_owned()))?;
            return Ok(StateKey::from_bytes(raw));
        }
        let path = vault.key_dir().join(STATE_KEY_FILE);
        let raw: Zeroizing<[u8; 32]> = match std::fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let mut raw = Zeroizing::new([0u8; 32]);
                if bytes.len() != 32 {
                    return Err(KeyFileError::StateKey {
                        path,
                        detail: format!("expected 32 bytes, found {}", bytes.len()),
                    }
                    .into());
                }
                raw.copy_from_slice(&bytes);
                raw
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if established {
                    return Err(OpenKeyringError::Missing {
                        what: "the session state key",
                        place: place(vault),
                    });
                }
                let (_, raw) = StateKey::generate();
                if let Vault::Files { .. } = vault {
                    keys::write_new_secret(&path, raw.as_ref())?;
                }
                tracing::info!("generated the session state key");
                raw
            }
            Err(source) => return Err(KeyFileError::Io { path, source }.into()),
        };
        if let Vault::Database { kek, .. } = vault {
            let sealed = Vault::seal(kek, STATE_KEY, raw.as_ref())?;
            insert_material(store, STATE_KEY, sealed).await?;
        }
        Ok(StateKey::from_bytes(&raw))
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

    /// The secret key of `credential_type` and `counter`, if known here.
    pub fn secret_key(
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

    /// As [`Self::secret_key`], but a counter not known yet (another
    /// instance rotated a moment ago) first reloads the keyring.
    pub async fn secret_key_or_reload(
        &self,
        store: &AnyStore,
        credential_type: &CredentialTypeId,
        counter: u32,
    ) -> Option<Arc<IssuerSecretKey>> {
        if let Some(key) = self.secret_key(credential_type, counter) {
            return Some(key);
        }
        if let Err(e) = self.reload(store).await {
            tracing::warn!(error = %e, "could not reload the keyring");
        }
        self.secret_key(credential_type, counter)
    }

    fn install(&self, keys: impl IntoIterator<Item = IssuerSecretKey>, published: Published) {
        {
            // Keys first: whoever sees the new scheme finds its keys.
            let mut held = match self.keys.write() {
                Ok(k) => k,
                Err(poisoned) => poisoned.into_inner(),
            };
            for key in keys {
                let id = (key.public().credential_type.clone(), key.public().counter);
                held.entry(id).or_insert_with(|| Arc::new(key));
            }
        }
        let mut p = match self.published.write() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        *p = Arc::new(published);
    }

    /// Loads a newer scheme version another instance published, with its
    /// keys. True if something changed.
    pub async fn reload(&self, store: &AnyStore) -> Result<bool, ReloadError> {
        let _local = self.local.lock().await;
        self.reload_inner(store).await
    }

    async fn reload_inner(&self, store: &AnyStore) -> Result<bool, ReloadError> {
        // The cheap question first (every instance asks it every POLL).
        let served = self.published().version();
        let recorded = publish::recorded_version(store).await?;
        if recorded.is_none_or(|r| r <= served) {
            return Ok(false);
        }
        let Some((version, document)) = store.latest_scheme_document().await.map_err(|e| e.0)?
        else {
            return Ok(false);
        };
        if u64::try_from(version).unwrap_or(0) <= served {
            // Recorded, but its document is not stored yet (a rotation
            // between the two statements): the next look finds it.
            return Ok(false);
        }
        let published = Published::from_cbor(&document, &self.signing_key, crate::clock::now())?;
        // The document is recorded after its keys are stored, so they are
        // there to load.
        let keys = self.vault.issuer_keys(store).await?;
        let missing: Vec<_> = published
            .scheme
            .issuer_keys
            .iter()
            .filter(|k| !keys.contains_key(&(k.credential_type.clone(), k.counter)))
            .map(|k| format!("{} {}", k.credential_type, k.counter))
            .collect();
        if !missing.is_empty() {
            tracing::warn!(
                ?missing,
                "scheme version lists keys this instance cannot load"
            );
        }
        if let Err(e) = publish::write(&self.scheme_path, &published) {
            tracing::warn!(error = %e, "could not write scheme.cbor");
        }
        tracing::info!(
            scheme_version = published.version(),
            "loaded a scheme version another instance published"
        );
        self.install(keys.into_values(), published);
        Ok(true)
    }

    /// Follows other instances' changes until the task is dropped: at each
    /// announcement, and every [`POLL`] in case one was missed.
    pub async fn follow(&self, store: &AnyStore) {
        let mut changes = None;
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if changes.is_none() {
                match store.keyring_changes().await {
                    Ok(c) => changes = Some(c),
                    Err(e) => tracing::warn!(error = %e, "keyring announcements"),
                }
            }
            match &mut changes {
                Some(c) => {
                    tokio::select! {
                        _ = tick.tick() => {}
                        r = c.next() => if let Err(e) = r {
                            tracing::warn!(error = %e, "keyring announcements");
                            changes = None;
                        }
                    }
                }
                None => {
                    tick.tick().await;
                }
            }
            if let Err(e) = self.reload(store).await {
                tracing::warn!(error = %e, "could not reload the keyring");
            }
        }
    }

    /// A new key counter for `credential_type`, valid from now; the scheme
    /// is re-signed with it. Under the store's keyring lock, after loading
    /// what other instances did: the counter is above every counter the
    /// database ever recorded for the type, and the version above every
    /// recorded one.
    pub async fn rotate(
        &self,
        store: &AnyStore,
        credential_type: &CredentialTypeId,
        actor: &str,
    ) -> Result<Rotation, RotateError> {
        let _local = self.local.lock().await;
        let rotation = locked(store, self.rotate_locked(store, credential_type, actor)).await?;
        if let Err(e) = store.announce_keyring_change().await {
            tracing::warn!(error = %e, "other instances see the rotation at their next poll");
        }
        Ok(rotation)
    }

    async fn rotate_locked(
        &self,
        store: &AnyStore,
        ct_id: &CredentialTypeId,
        actor: &str,
    ) -> Result<Rotation, RotateError> {
        self.reload_inner(store).await?;
        let published = self.published();
        let ct = published
            .scheme
            .credential_type(ct_id)
            .ok_or_else(|| RotateError::UnknownCredentialType(ct_id.to_string()))?;
        let known = store.keys().await?;
        let counter = {
            let held = match self.keys.read() {
                Ok(k) => k,
                Err(poisoned) => poisoned.into_inner(),
            };
            let in_scheme = published
                .scheme
                .issuer_keys
                .iter()
                .filter(|k| &k.credential_type == ct_id)
                .map(|k| k.counter)
                .max()
                .unwrap_or(0);
            next_counter(&*held, &known, ct_id).max(in_scheme.saturating_add(1))
        };
        let now = crate::clock::now();
        let key = IssuerSecretKey::generate(
            &mut rand_core::OsRng,
            ct.key_params(counter, now, now.saturating_add(self.key_validity_secs)),
        )
        .map_err(|e| KeyFileError::Generate(e.to_string()))?;
        let clash = || RotateError::Clash {
            credential_type: ct_id.to_string(),
            counter,
        };
        match self.vault.add_issuer_key(store, &key).await {
            Ok(true) => {}
            Ok(false) => return Err(clash()),
            Err(StoreOr::Store(s)) => return Err(s.into()),
            Err(StoreOr::Keys(k) | StoreOr::Other(k)) => return Err(k.into()),
        }
        let public = key.public().clone();
        if !store.insert_key(&key_record(&public), actor).await? {
            return Err(clash());
        }
        let mut publics = published.scheme.issuer_keys.clone();
        publics.push(public.clone());
        let recorded = publish::recorded_version(store).await?;
        let version = published
            .version()
            .max(recorded.unwrap_or(0))
            .saturating_add(1);
        let next = publish::sign(&self.description, &publics, &self.signing_key, version, now)?;
        publish::record(store, &next).await?;
        store
            .record_scheme_document(i64::try_from(version).unwrap_or(i64::MAX), &next.cbor)
            .await
            .map_err(|e| e.0)?;
        publish::write(&self.scheme_path, &next)?;
        self.install([key], next);
        Ok(Rotation {
            credential_type: ct_id.clone(),
            counter,
            public,
            scheme_version: version,
        })
    }
}

/// The next counter for `ct`: above every key held and every key the
/// database ever recorded (a removed key's counter is never reused).
fn next_counter<K>(
    held: &BTreeMap<(CredentialTypeId, u32), K>,
    known: &[KeyRecord],
    ct: &CredentialTypeId,
) -> u32 {
    let held = held.keys().filter(|(t, _)| t == ct).map(|(_, c)| *c).max();
    let recorded = known
        .iter()
        .filter(|k| k.credential_type == ct.as_str())
        .filter_map(|k| u32::try_from(k.counter).ok())
        .max();
    held.max(recorded).unwrap_or(0).saturating_add(1)
}

async fn insert_material(
    store: &AnyStore,
    name: &str,
    sealed: Vec<u8>,
) -> Result<(), OpenKeyringError> {
    store
        .insert_sealed_material(&SealedMaterial {
            name: name.to_owned(),
            sealed,
            created_at: crate::clock::now_i64(),
        })
        .await
        .map_err(|e| OpenKeyringError::Store(e.0))?;
    Ok(())
}

/// The public part of a key as the store records it.
pub fn key_record(k: &IssuerPublicKey) -> KeyRecord {
    KeyRecord {
        credential_type: k.credential_type.to_string(),
        counter: i64::from(k.counter),
        key_id: k.key_id().0.to_vec(),
        public_key: k.to_bytes(),
        valid_from: i64::try_from(k.valid_from).unwrap_or(i64::MAX),
        valid_until: i64::try_from(k.valid_until).unwrap_or(i64::MAX),
        created_at: crate::clock::now_i64(),
    }
}
