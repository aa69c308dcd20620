//! Where the issuer's secret key material lives: key files, or sealed in
//! the database under the key-encryption key (see [`super`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use wallet_core::ids::CredentialTypeId;
use wallet_core::keys::IssuerSecretKey;
use zeroize::Zeroizing;

use crate::keys::{self, KeyFileError};
use crate::sealed::StateKey;
use crate::store::keyring::{KeyStore, SealedMaterial};
use crate::store::{AnyStore, StoreError};

pub(super) const SCHEME_KEY: &str = "scheme-signing-key";
pub(super) const STATE_KEY: &str = "state-key";
pub(super) const AAD: &str = "kenmerk-issuer/key-material/v1\0";
/// Where secret key material lives.
pub(super) enum Vault {
    Files {
        key_dir: PathBuf,
        scheme_key_file: PathBuf,
    },
    Database {
        key_dir: PathBuf,
        scheme_key_file: PathBuf,
        kek: StateKey,
    },
}

/// A sealed-material failure, named.
pub(super) struct Unopened(pub(super) String);

impl Vault {
    pub(super) fn key_dir(&self) -> &std::path::Path {
        match self {
            Vault::Files { key_dir, .. } | Vault::Database { key_dir, .. } => key_dir,
        }
    }

    pub(super) fn scheme_key_file(&self) -> &std::path::Path {
        match self {
            Vault::Files {
                scheme_key_file, ..
            }
            | Vault::Database {
                scheme_key_file, ..
            } => scheme_key_file,
        }
    }

    pub(super) fn seal(
        kek: &StateKey,
        name: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeyFileError> {
        kek.seal(&format!("{AAD}{name}"), plaintext)
            .map_err(|e| KeyFileError::Generate(e.to_string()))
    }

    /// Sealed material by name, opened (database vault only).
    pub(super) async fn opened(
        &self,
        store: &AnyStore,
    ) -> Result<BTreeMap<String, Zeroizing<Vec<u8>>>, StoreOr<Unopened>> {
        let Vault::Database { kek, .. } = self else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for m in store
            .sealed_material()
            .await
            .map_err(|e| StoreOr::Store(e.0))?
        {
            let plain = kek
                .open(&format!("{AAD}{}", m.name), &m.sealed)
                .map_err(|_| StoreOr::Other(Unopened(m.name.clone())))?;
            out.insert(m.name, plain);
        }
        Ok(out)
    }

    /// Stores a new issuer key; false if its counter exists already.
    pub(super) async fn add_issuer_key(
        &self,
        store: &AnyStore,
        key: &IssuerSecretKey,
    ) -> Result<bool, StoreOr<KeyFileError>> {
        let public = key.public();
        match self {
            Vault::Files { key_dir, .. } => match keys::write_issuer_key(key_dir, key) {
                Ok(()) => Ok(true),
                Err(KeyFileError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    Ok(false)
                }
                Err(e) => Err(StoreOr::Other(e)),
            },
            Vault::Database { kek, .. } => {
                let name = issuer_key_name(&public.credential_type, public.counter);
                let sealed = Self::seal(kek, &name, &key.to_bytes()).map_err(StoreOr::Other)?;
                store
                    .insert_sealed_material(&SealedMaterial {
                        name,
                        sealed,
                        created_at: crate::clock::now_i64(),
                    })
                    .await
                    .map_err(|e| StoreOr::Store(e.0))
            }
        }
    }

    /// Every issuer secret key in the vault (the database vault also
    /// reads, and imports, key files).
    pub(super) async fn issuer_keys(
        &self,
        store: &AnyStore,
    ) -> Result<BTreeMap<(CredentialTypeId, u32), IssuerSecretKey>, StoreOr<Unopened>> {
        let mut found = keys::load_issuer_keys(self.key_dir()).map_err(StoreOr::Keys)?;
        if let Vault::Database { .. } = self {
            let opened = self.opened(store).await?;
            for (name, bytes) in &opened {
                if !name.starts_with("issuer-key/") {
                    continue;
                }
                let key = IssuerSecretKey::from_bytes(bytes)
                    .map_err(|_| StoreOr::Other(Unopened(name.clone())))?;
                let public = key.public();
                found.insert((public.credential_type.clone(), public.counter), key);
            }
            // Files not in the database yet: imported, so the key
            // directory may be dropped after one start with the
            // key-encryption key.
            for key in found.values() {
                let public = key.public();
                if !opened.contains_key(&issuer_key_name(&public.credential_type, public.counter)) {
                    self.add_issuer_key(store, key).await.map_err(|e| match e {
                        StoreOr::Store(s) => StoreOr::Store(s),
                        StoreOr::Keys(k) | StoreOr::Other(k) => StoreOr::Keys(k),
                    })?;
                }
            }
        }
        Ok(found)
    }
}

/// A store failure or another one (keeps the per-operation enums small).
pub(super) enum StoreOr<E> {
    Store(StoreError),
    Keys(KeyFileError),
    Other(E),
}

pub(super) fn issuer_key_name(ct: &CredentialTypeId, counter: u32) -> String {
    format!("issuer-key/{ct}/{counter}")
}

pub(super) fn place(vault: &Vault) -> String {
    match vault {
        Vault::Files {
            key_dir,
            scheme_key_file,
        } => format!(
            "key directory {}, scheme key {}",
            key_dir.display(),
            scheme_key_file.display()
        ),
        Vault::Database { .. } => "neither sealed in the database nor as a file".to_owned(),
    }
}
