//! The wallet on disk: one encrypted file, locked while in use, replaced
//! atomically on every save.
//!
//! Crash safety rests on three steps: the new contents go to a temporary
//! file in the same directory (same file system, so `rename` is atomic), that
//! file is fsynced, renamed over the old one, and the directory is fsynced so
//! the rename itself is durable.  A kill at any point leaves either the old
//! file or the new one; a stray temporary file is ignored on the next run.
//!
//! Concurrency: an exclusive advisory lock on `<wallet>.lock` is taken before
//! the wallet is read and held until the [`WalletFile`] is dropped, so two
//! `kenmerk` processes can never read-modify-write over each other.  The lock
//! lives on a separate file because the wallet itself is replaced by rename,
//! which would silently drop a lock held on the old inode.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;
use tempfile::NamedTempFile;

use crate::envelope::{self, KdfParams, KeySource, OpenError, SealingKey, WALLET_MAGIC};
use crate::wallet::WalletContents;

/// Why the wallet could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenWalletError {
    #[error("no wallet at {0}")]
    NotFound(PathBuf),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, #[source] io::Error),
    #[error(transparent)]
    Envelope(#[from] OpenError),
    #[error("the wallet decrypted but its contents are not understood: {0}")]
    Contents(String),
}

/// Why a new wallet could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateWalletError {
    #[error("a wallet already exists at {0}")]
    Exists(PathBuf),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Save(#[from] SaveWalletError),
}

/// Why the wallet could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SaveWalletError {
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, #[source] io::Error),
    #[error(transparent)]
    Seal(#[from] envelope::SealError),
    #[error("cannot serialise the wallet: {0}")]
    Serialise(String),
}

/// Why the wallet lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another kenmerk process is using the wallet (lock {0})")]
    Busy(PathBuf),
    #[error("cannot lock {0}: {1}")]
    Io(PathBuf, #[source] io::Error),
}

/// How long to wait for another process to release the wallet.
#[derive(Debug, Clone, Copy)]
pub struct LockWait(pub Duration);

impl Default for LockWait {
    fn default() -> Self {
        Self(Duration::from_secs(2))
    }
}

/// An exclusive lock on `<wallet>.lock`, released when dropped (the OS also
/// releases it when the process dies, so a crash never leaves it stuck).
#[derive(Debug)]
pub struct WalletLock {
    _file: File,
    path: PathBuf,
}

impl WalletLock {
    /// The lock file's path for a wallet path.
    pub fn path_for(wallet: &Path) -> PathBuf {
        let mut name = wallet.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Take the lock, retrying until `wait` has passed.
    pub fn acquire(wallet: &Path, wait: LockWait) -> Result<Self, LockError> {
        let path = Self::path_for(wallet);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| LockError::Io(dir.to_owned(), e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        let deadline = Instant::now() + wait.0;
        loop {
            match FileExt::try_lock_exclusive(&file) {
                Ok(()) => return Ok(Self { _file: file, path }),
                Err(e) if is_contended(&e) => {
                    if Instant::now() >= deadline {
                        return Err(LockError::Busy(path));
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(LockError::Io(path, e)),
            }
        }
    }

    /// Path of the lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn is_contended(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
        || e.raw_os_error() == fs4::lock_contended_error().raw_os_error()
}

/// An open, unlocked (decrypted) and locked (against other processes) wallet.
pub struct WalletFile {
    path: PathBuf,
    key: SealingKey,
    lock: WalletLock,
}

impl std::fmt::Debug for WalletFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl WalletFile {
    /// Create a new wallet; refuses to touch an existing file.
    pub fn create(
        path: &Path,
        passphrase: &[u8],
        params: KdfParams,
        contents: &WalletContents,
        wait: LockWait,
    ) -> Result<Self, CreateWalletError> {
        let lock = WalletLock::acquire(path, wait)?;
        // Checked under the lock, so two `init`s cannot both succeed.
        if path.exists() {
            return Err(CreateWalletError::Exists(path.to_owned()));
        }
        let key = SealingKey::derive_new(WALLET_MAGIC, KeySource::Passphrase(passphrase), params)
            .map_err(SaveWalletError::from)?;
        let mut wallet = Self {
            path: path.to_owned(),
            key,
            lock,
        };
        wallet.save(contents)?;
        Ok(wallet)
    }

    /// Lock, read and decrypt the wallet.
    pub fn open(
        path: &Path,
        passphrase: &[u8],
        wait: LockWait,
    ) -> Result<(Self, WalletContents), OpenWalletError> {
        let lock = WalletLock::acquire(path, wait)?;
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(OpenWalletError::NotFound(path.to_owned()))
            }
            Err(e) => return Err(OpenWalletError::Io(path.to_owned(), e)),
        };
        let (plain, key) = envelope::open(WALLET_MAGIC, &bytes, KeySource::Passphrase(passphrase))?;
        let contents = WalletContents::from_plaintext(&plain)
            .map_err(|e| OpenWalletError::Contents(e.to_string()))?;
        Ok((
            Self {
                path: path.to_owned(),
                key,
                lock,
            },
            contents,
        ))
    }

    /// Encrypt and atomically replace the file.
    pub fn save(&mut self, contents: &WalletContents) -> Result<(), SaveWalletError> {
        let bytes = self.seal(contents)?;
        write_atomically(&self.path, &bytes).map_err(|e| SaveWalletError::Io(self.path.clone(), e))
    }

    /// Encrypt the contents without writing them (used by tests that stop a
    /// save half-way).
    pub fn seal(&self, contents: &WalletContents) -> Result<Vec<u8>, SaveWalletError> {
        let plain = contents
            .to_plaintext()
            .map_err(|e| SaveWalletError::Serialise(e.to_string()))?;
        Ok(self.key.seal(&plain)?)
    }

    /// The wallet's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock held for this wallet.
    pub fn lock(&self) -> &WalletLock {
        &self.lock
    }
}

/// First half of an atomic write: the new bytes in a synced temporary file
/// beside `path`.  Dropping the result without [`commit`] leaves `path`
/// untouched (and removes the temporary file).
pub fn stage(path: &Path, bytes: &[u8]) -> io::Result<NamedTempFile> {
    let dir = parent_dir(path);
    fs::create_dir_all(dir)?;
    // tempfile creates the file with mode 0600 on Unix: the wallet is never
    // readable by others, not even for a moment.
    let mut tmp = tempfile::Builder::new()
        .prefix(".kenmerk-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Second half: rename the staged file over `path` and make the rename
/// durable.
pub fn commit(tmp: NamedTempFile, path: &Path) -> io::Result<()> {
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(parent_dir(path))
}

/// Write `bytes` to `path` so that a crash leaves the old or the new file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = stage(path, bytes)?;
    commit(tmp, path)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Windows has no directory fsync; MoveFileEx with replace is durable
    // enough once the data file itself is flushed.
    Ok(())
}
