//! Encryption at rest of the issuer's secret session state (the nonces `w`
//! of an open issuance, protocol rule 3).
//!
//! While a session is committed, the database holds the nonces it will
//! answer with. Whoever reads the database or a backup in that window and
//! also ran the session as the wallet could compute a second answer for
//! the same nonces and so the issuer's secret key share `y0`. The state is
//! therefore stored sealed with XChaCha20-Poly1305 under a 32-byte state
//! key that lives in the key directory, next to the issuer keys, and never
//! in the database. Several instances sharing one database must share the
//! key directory anyway (they sign with the same issuer keys), so they
//! share the state key too.
//!
//! Stored format: `version (1 byte) ‖ nonce (24 bytes) ‖ ciphertext ‖ tag`.
//! The associated data is the session id, so a sealed state copied into
//! another session's row does not open there.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::keys::{write_atomic, KeyFileError};

/// The file name of the state key inside the key directory. Not `*.key`:
/// that pattern is reserved for issuer key files, which are all loaded.
pub const STATE_KEY_FILE: &str = "state.secret";

/// The only format version written and accepted.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;

/// Why sealed state could not be opened. Deliberately without detail: a
/// wrong key, a flipped bit and a foreign row look the same.
#[derive(Debug, thiserror::Error)]
#[error("sealed session state does not open (unknown version, wrong key or altered)")]
pub struct OpenError;

/// Why state could not be sealed.
#[derive(Debug, thiserror::Error)]
#[error("cannot seal session state")]
pub struct SealError;

/// The key sealing the secret session state. The cipher zeroizes its key
/// copy on drop.
#[derive(Clone)]
pub struct StateKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    /// A key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        StateKey {
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }

    /// A fresh random key (tests and first start).
    pub fn generate() -> (Self, Zeroizing<[u8; KEY_LEN]>) {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(bytes.as_mut());
        (Self::from_bytes(&bytes), bytes)
    }

    /// Loads the key from `path` (exactly 32 bytes), generating it with
    /// mode 0600 when missing. Returns the key and whether it was generated.
    pub fn load_or_generate(path: &Path) -> Result<(Self, bool), KeyFileError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let raw: &[u8; KEY_LEN] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| KeyFileError::StateKey {
                            path: path.to_owned(),
                            detail: format!("expected {KEY_LEN} bytes, found {}", bytes.len()),
                        })?;
                Ok((Self::from_bytes(raw), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (key, bytes) = Self::generate();
                write_atomic(path, bytes.as_ref(), true)?;
                Ok((key, true))
            }
            Err(source) => Err(KeyFileError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Seals `plaintext` for the session `session_id` under a fresh random
    /// nonce (random 24-byte nonces never repeat in practice, so no
    /// counter has to be shared between instances).
    pub fn seal(&self, session_id: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: session_id.as_bytes(),
        };
        // Fails only beyond the cipher's length limit (256 GiB).
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SealError)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens state sealed by [`StateKey::seal`] for `session_id`.
    pub fn open(&self, session_id: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let (&version, rest) = sealed.split_first().ok_or(OpenError)?;
        if version != VERSION {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = rest.split_first_chunk::<NONCE_LEN>().ok_or(OpenError)?;
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: session_id.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let (key, _) = StateKey::generate();
        let plain = b"framed issuer session state".to_vec();
        let sealed = key.seal("session-a", &plain).unwrap();
        assert_eq!(sealed[0], VERSION);
        assert_eq!(sealed.len(), 1 + NONCE_LEN + plain.len() + 16);
        assert!(!sealed.windows(plain.len()).any(|w| w == plain.as_slice()));
        assert_eq!(key.open("session-a", &sealed).unwrap().as_slice(), plain);
        // Fresh nonce per write.
        assert_ne!(key.seal("session-a", &plain).unwrap(), sealed);

        // Another key, another session id, a flipped bit anywhere, another
        // version, truncation: all refused.
        let (other, _) = StateKey::generate();
        assert!(other.open("session-a", &sealed).is_err());
        assert!(key.open("session-b", &sealed).is_err());
        for i in 0..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[i] ^= 0x01;
            assert!(key.open("session-a", &flipped).is_err(), "bit flip at {i}");
        }
        assert!(key.open("session-a", &sealed[..sealed.len() - 1]).is_err());
        assert!(key.open("session-a", &[]).is_err());
        assert!(key.open("session-a", &[VERSION]).is_err());
    }

    #[test]
    fn key_file_generated_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_KEY_FILE);
        let (k1, generated) = StateKey::load_or_generate(&path).unwrap();
        assert!(generated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let (k2, generated) = StateKey::load_or_generate(&path).unwrap();
        assert!(!generated);
        let sealed = k1.seal("s", b"nonces").unwrap();
        assert_eq!(k2.open("s", &sealed).unwrap().as_slice(), b"nonces");
        // A damaged key file is an error, never silently replaced.
        std::fs::write(&path, b"short").unwrap();
        assert!(StateKey::load_or_generate(&path).is_err());
    }
}
