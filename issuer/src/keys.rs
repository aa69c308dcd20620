//! Secret key material on disk: issuer secret keys (one file per credential
//! type and key counter) and the scheme signing key.
//!
//! Files are written atomically (temporary file, fsync, rename) with mode
//! 0600 in directories with mode 0700; their contents never reach a log.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use wallet_core::ids::CredentialTypeId;
use wallet_core::keys::{IssuerSecretKey, KeyError, KeyParams};
use wallet_core::scheme::{SchemeKeyError, SchemeSigningKey};
use zeroize::Zeroizing;

/// Why key material could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an issuer key file: {source}")]
    IssuerKey { path: PathBuf, source: KeyError },
    #[error("{path}: not a scheme signing key: {source}")]
    SchemeKey {
        path: PathBuf,
        source: SchemeKeyError,
    },
    #[error("{path}: not a state key: {detail}")]
    StateKey { path: PathBuf, detail: String },
    #[error("{path}: not a key-encryption key: {detail}")]
    KeyEncryptionKey { path: PathBuf, detail: String },
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (and parents) with mode 0700 where it is new.
pub fn create_private_dir(dir: &Path) -> Result<(), KeyFileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))
}

/// Writes `bytes` to `path` atomically; `secret` files get mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8], secret: bool) -> Result<(), KeyFileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let result = (|| {
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        // Best effort: do not leave a partial secret behind.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to a new secret file at `path` (mode 0600), refusing to
/// replace an existing one: written to a temporary file and fsynced first,
/// then hard-linked into place, so the name appears only with its whole
/// content and a second writer of the same name gets `AlreadyExists`
/// instead of silently overwriting the first one's key.
pub fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::hard_link(&tmp, path).map_err(io(path))
    })();
    // The temporary name goes either way (after the link it is a second
    // name of the same file).
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Loads the key-encryption key that seals key material in the database:
/// exactly 32 bytes, raw or as 64 hex digits (surrounding whitespace
/// ignored). Never generated: a missing file stops the start, because a
/// new key could not open what the other instances sealed.
pub fn load_key_encryption_key(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(io(path))?);
    let bad = |detail: String| KeyFileError::KeyEncryptionKey {
        path: path.to_owned(),
        detail,
    };
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() == 32 {
        key.copy_from_slice(&bytes);
        return Ok(key);
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        bad(format!(
            "expected 32 bytes or 64 hex digits, found {} bytes",
            bytes.len()
        ))
    })?;
    hex::decode_to_slice(text.trim(), key.as_mut())
        .map_err(|_| bad("expected 32 bytes or 64 hex digits".to_owned()))?;
    Ok(key)
}

/// Creates an empty file with mode 0600 unless it exists.
pub fn create_private_file(path: &Path) -> Result<(), KeyFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}

/// The file name of an issuer key: `<credential type>.<counter>.key`.
pub fn issuer_key_path(dir: &Path, credential_type: &CredentialTypeId, counter: u32) -> PathBuf {
    dir.join(format!("{credential_type}.{counter}.key"))
}

/// All issuer keys in `dir`, by credential type and counter.
pub fn load_issuer_keys(
    dir: &Path,
) -> Result<BTreeMap<(CredentialTypeId, u32), IssuerSecretKey>, KeyFileError> {
    let mut keys = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("key") {
            continue;
        }
        let bytes = Zeroizing::new(std::fs::read(&path).map_err(io(&path))?);
        let key =
            IssuerSecretKey::from_bytes(&bytes).map_err(|source| KeyFileError::IssuerKey {
                path: path.clone(),
                source,
            })?;
        let public = key.public();
        keys.insert((public.credential_type.clone(), public.counter), key);
    }
    Ok(keys)
}

/// Generates an issuer key and writes its file (mode 0600); an existing
/// file of that counter is never replaced (an error instead).
pub fn generate_issuer_key(dir: &Path, params: KeyParams) -> Result<IssuerSecretKey, KeyFileError> {
    let key = IssuerSecretKey::generate(&mut rand_core::OsRng, params)
        .map_err(|e| KeyFileError::Generate(e.to_string()))?;
    let public = key.public();
    let path = issuer_key_path(dir, &public.credential_type, public.counter);
    write_new_secret(&path, &key.to_bytes())?;
    Ok(key)
}

/// Writes the file of an existing issuer key (mode 0600); an existing
/// file of that counter is never replaced (`AlreadyExists`).
pub fn write_issuer_key(dir: &Path, key: &IssuerSecretKey) -> Result<(), KeyFileError> {
    let public = key.public();
    let path = issuer_key_path(dir, &public.credential_type, public.counter);
    write_new_secret(&path, &key.to_bytes())
}

/// Loads the scheme signing key from `path`, `None` when there is none.
pub fn load_scheme_key(path: &Path) -> Result<Option<SchemeSigningKey>, KeyFileError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            SchemeSigningKey::from_pkcs8(&bytes)
                .map(Some)
                .map_err(|source| KeyFileError::SchemeKey {
                    path: path.to_owned(),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Loads the scheme signing key from `path`, generating it when missing.
/// Returns the key and whether it was generated.
pub fn load_or_generate_scheme_key(path: &Path) -> Result<(SchemeSigningKey, bool), KeyFileError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let key =
                SchemeSigningKey::from_pkcs8(&bytes).map_err(|source| KeyFileError::SchemeKey {
                    path: path.to_owned(),
                    source,
                })?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key =
                SchemeSigningKey::generate().map_err(|e| KeyFileError::Generate(e.to_string()))?;
            write_atomic(path, key.pkcs8(), true)?;
            Ok((key, true))
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// Reads a secret text file (for example the local requestor token),
/// generating 32 random bytes as hex when missing.
pub fn load_or_generate_token(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Zeroizing::new(text.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = Zeroizing::new(crate::random::random_hex(32));
            write_atomic(path, token.as_bytes(), true)?;
            Ok(token)
        }
        Err(e) => Err(io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        create_private_dir(&keys_dir).unwrap();
        let ct: CredentialTypeId = "demo.utrecht.address".parse().unwrap();
        let key = generate_issuer_key(
            &keys_dir,
            KeyParams {
                credential_type: ct.clone(),
                counter: 2,
                valid_from: 1,
                valid_until: 1_000,
                attributes: vec![wallet_core::encoding::AttributeKind::String],
            },
        )
        .unwrap();
        let loaded = load_issuer_keys(&keys_dir).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[&(ct.clone(), 2)].public(), key.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&issuer_key_path(&keys_dir, &ct, 2)), 0o600);
            assert_eq!(mode(&keys_dir), 0o700);
            let scheme_key = dir.path().join("scheme.key");
            let (k1, generated) = load_or_generate_scheme_key(&scheme_key).unwrap();
            assert!(generated);
            assert_eq!(mode(&scheme_key), 0o600);
            let (k2, generated) = load_or_generate_scheme_key(&scheme_key).unwrap();
            assert!(!generated);
            assert_eq!(k1.public_key(), k2.public_key());
        }
        // A second key with the same counter never replaces the first.
        let again = generate_issuer_key(
            &keys_dir,
            KeyParams {
                credential_type: ct.clone(),
                counter: 2,
                valid_from: 1,
                valid_until: 1_000,
                attributes: vec![wallet_core::encoding::AttributeKind::String],
            },
        );
        assert!(again.is_err());
        assert_eq!(
            load_issuer_keys(&keys_dir).unwrap()[&(ct.clone(), 2)].public(),
            key.public()
        );
        // A missing key-encryption key is an error, never generated.
        assert!(load_key_encryption_key(&dir.path().join("kek")).is_err());
        std::fs::write(dir.path().join("kek"), format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(
            *load_key_encryption_key(&dir.path().join("kek")).unwrap(),
            [0xab; 32]
        );
        std::fs::write(dir.path().join("kek"), "abcd").unwrap();
        assert!(load_key_encryption_key(&dir.path().join("kek")).is_err());
        // A damaged key file is an error, not a silently skipped key.
        std::fs::write(keys_dir.join("broken.key"), b"nope").unwrap();
        assert!(load_issuer_keys(&keys_dir).is_err());
    }
}
