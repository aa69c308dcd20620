//! The encrypted container shared by the wallet file and its backups.
//!
//! Layout (version 1, integers big endian); the whole header is the AEAD's
//! associated data, so no header byte can be changed without detection:
//!
//! ```text
//!  0..8   magic            b"KNMRKWAL" (wallet) or b"KNMRKBAK" (backup)
//!  8..10  format version   1
//! 10      key source       1 = Argon2id(passphrase), 2 = recovery seed
//! 11..15  Argon2 m_cost    KiB (0 for the seed source)
//! 15..19  Argon2 t_cost    iterations (0 for the seed source)
//! 19..23  Argon2 p_cost    lanes (0 for the seed source)
//! 23..39  salt             16 random bytes
//! 39..55  key check        16 bytes derived with the key
//! 55..79  nonce            24 random bytes (XChaCha20-Poly1305)
//! 79..    ciphertext       plaintext plus 16-byte tag
//! ```
//!
//! The key check lets us tell "wrong passphrase" apart from "file damaged":
//! it is derived from the same KDF output as the key, so it gives an
//! attacker nothing an AEAD trial decryption would not.  The version is read
//! before anything else so a file from a newer kenmerk is refused as such
//! rather than as corrupt.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Magic bytes of a wallet file.
pub const WALLET_MAGIC: [u8; 8] = *b"KNMRKWAL";
/// Magic bytes of a backup file.
pub const BACKUP_MAGIC: [u8; 8] = *b"KNMRKBAK";
/// The format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;

const HEADER_LEN: usize = 79;
const TAG_LEN: usize = 16;
const SALT_LEN: usize = 16;
const CHECK_LEN: usize = 16;
const NONCE_LEN: usize = 24;

const SOURCE_PASSPHRASE: u8 = 1;
const SOURCE_SEED: u8 = 2;

/// Upper bounds accepted when reading a header: a crafted file must not make
/// us allocate gigabytes or spin for minutes before it is refused.
const MAX_M_COST_KIB: u32 = 1 << 20;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Argon2id cost parameters, stored in the header so they can be raised later
/// without breaking existing files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane: under a second on a laptop, far above the
    /// OWASP minimum (19 MiB, 2 passes) for an interactive unlock.
    fn default() -> Self {
        Self {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        }
    }
}

impl KdfParams {
    fn in_bounds(&self) -> bool {
        (1..=MAX_T_COST).contains(&self.t_cost)
            && (1..=MAX_P_COST).contains(&self.p_cost)
            && self.m_cost_kib >= 8 * self.p_cost
            && self.m_cost_kib <= MAX_M_COST_KIB
    }
}

/// Where the key of a container comes from.
pub enum KeySource<'a> {
    /// A passphrase, stretched with Argon2id.
    Passphrase(&'a [u8]),
    /// A 32-byte recovery seed; it has full entropy, so a hash suffices.
    Seed(&'a [u8; 32]),
}

/// Why a container could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the file is shorter than a header: it is truncated or not a kenmerk file")]
    Truncated,
    #[error("the file does not start with the expected kenmerk magic bytes")]
    WrongMagic,
    #[error("the file has format version {found}; this kenmerk reads up to {supported}")]
    NewerVersion { found: u16, supported: u16 },
    #[error("the file has format version 0, which never existed")]
    InvalidVersion,
    #[error("the file's key parameters are unknown or out of the accepted range")]
    BadKeyParams,
    #[error("the file is locked with a different kind of key")]
    WrongKeySource,
    #[error("the key does not open this file")]
    WrongKey,
    #[error("the file's contents fail authentication: it is damaged or was altered")]
    Corrupt,
}

/// Why a container could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("encryption failed")]
    Encrypt,
}

/// A derived key with the header fields it belongs to, so that repeated saves
/// of an open wallet do not pay for Argon2 again.
pub struct SealingKey {
    magic: [u8; 8],
    source: u8,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    check: [u8; CHECK_LEN],
    key: Zeroizing<[u8; 32]>,
}

impl SealingKey {
    /// Derive a fresh key (new random salt) for a new file.
    pub fn derive_new(
        magic: [u8; 8],
        source: KeySource<'_>,
        params: KdfParams,
    ) -> Result<Self, SealError> {
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let (source_id, params) = match source {
            KeySource::Passphrase(_) => (SOURCE_PASSPHRASE, params),
            KeySource::Seed(_) => (
                SOURCE_SEED,
                KdfParams {
                    m_cost_kib: 0,
                    t_cost: 0,
                    p_cost: 0,
                },
            ),
        };
        let (key, check) =
            derive(&source, &params, &salt).map_err(|e| SealError::Kdf(e.to_string()))?;
        Ok(Self {
            magic,
            source: source_id,
            params,
            salt,
            check,
            key,
        })
    }

    /// The Argon2 parameters in force (all zero for a seed key).
    pub fn params(&self) -> KdfParams {
        self.params
    }

    /// Encrypt `plaintext` under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let mut header = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        header.extend_from_slice(&self.magic);
        header.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        header.push(self.source);
        header.extend_from_slice(&self.params.m_cost_kib.to_be_bytes());
        header.extend_from_slice(&self.params.t_cost.to_be_bytes());
        header.extend_from_slice(&self.params.p_cost.to_be_bytes());
        header.extend_from_slice(&self.salt);
        header.extend_from_slice(&self.check);
        header.extend_from_slice(&nonce);
        debug_assert_eq!(header.len(), HEADER_LEN);
        let cipher = XChaCha20Poly1305::new(self.key.as_ref().into());
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &header,
                },
            )
            .map_err(|_| SealError::Encrypt)?;
        header.extend_from_slice(&ct);
        Ok(header)
    }
}

/// Parsed header fields of a container, before any key is derived.
struct Header<'a> {
    source: u8,
    params: KdfParams,
    salt: [u8; SALT_LEN],
    check: [u8; CHECK_LEN],
    nonce: &'a [u8],
    aad: &'a [u8],
    ciphertext: &'a [u8],
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

fn parse_header(magic: [u8; 8], bytes: &[u8]) -> Result<Header<'_>, OpenError> {
    // Magic and version first: they are what tells a newer file from junk.
    if bytes.len() < 10 {
        return Err(OpenError::Truncated);
    }
    if bytes[..8] != magic {
        return Err(OpenError::WrongMagic);
    }
    let version = u16::from_be_bytes(array(bytes, 8));
    if version == 0 {
        return Err(OpenError::InvalidVersion);
    }
    if version > FORMAT_VERSION {
        return Err(OpenError::NewerVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if bytes.len() < HEADER_LEN + TAG_LEN {
        return Err(OpenError::Truncated);
    }
    let params = KdfParams {
        m_cost_kib: u32::from_be_bytes(array(bytes, 11)),
        t_cost: u32::from_be_bytes(array(bytes, 15)),
        p_cost: u32::from_be_bytes(array(bytes, 19)),
    };
    let source = bytes[10];
    match source {
        SOURCE_PASSPHRASE if params.in_bounds() => {}
        SOURCE_SEED
            if params
                == (KdfParams {
                    m_cost_kib: 0,
                    t_cost: 0,
                    p_cost: 0,
                }) => {}
        _ => return Err(OpenError::BadKeyParams),
    }
    Ok(Header {
        source,
        params,
        salt: array(bytes, 23),
        check: array(bytes, 39),
        nonce: &bytes[55..HEADER_LEN],
        aad: &bytes[..HEADER_LEN],
        ciphertext: &bytes[HEADER_LEN..],
    })
}

type DerivedKey = (Zeroizing<[u8; 32]>, [u8; CHECK_LEN]);

fn derive(
    source: &KeySource<'_>,
    params: &KdfParams,
    salt: &[u8; SALT_LEN],
) -> Result<DerivedKey, argon2::Error> {
    // 48 bytes of KDF output: 32 for the key, 16 for the check value. The two
    // halves are independent outputs of the KDF, so the check reveals nothing
    // about the key.
    let mut out = Zeroizing::new([0u8; 48]);
    match source {
        KeySource::Passphrase(pass) => {
            let p = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(48))?;
            Argon2::new(Algorithm::Argon2id, Version::V0x13, p).hash_password_into(
                pass,
                salt,
                out.as_mut(),
            )?;
        }
        KeySource::Seed(seed) => {
            let mut h = Sha512::new();
            h.update(b"kenmerk/v1/backup-key");
            h.update(salt);
            h.update(seed.as_slice());
            let mut digest = h.finalize();
            out.copy_from_slice(&digest[..48]);
            zeroize::Zeroize::zeroize(digest.as_mut_slice());
        }
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    Ok((key, array(out.as_ref(), 32)))
}

/// Open a container: returns the plaintext and the key, ready for re-sealing.
pub fn open(
    magic: [u8; 8],
    bytes: &[u8],
    source: KeySource<'_>,
) -> Result<(Zeroizing<Vec<u8>>, SealingKey), OpenError> {
    let header = parse_header(magic, bytes)?;
    let expected_source = match source {
        KeySource::Passphrase(_) => SOURCE_PASSPHRASE,
        KeySource::Seed(_) => SOURCE_SEED,
    };
    if header.source != expected_source {
        return Err(OpenError::WrongKeySource);
    }
    let (key, check) =
        derive(&source, &header.params, &header.salt).map_err(|_| OpenError::BadKeyParams)?;
    if !bool::from(check.ct_eq(&header.check)) {
        return Err(OpenError::WrongKey);
    }
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let plaintext = cipher
        .decrypt(
            XNonce::from_slice(header.nonce),
            Payload {
                msg: header.ciphertext,
                aad: header.aad,
            },
        )
        .map_err(|_| OpenError::Corrupt)?;
    Ok((
        Zeroizing::new(plaintext),
        SealingKey {
            magic,
            source: header.source,
            params: header.params,
            salt: header.salt,
            check: header.check,
            key,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> KdfParams {
        KdfParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    #[test]
    fn round_trip_passphrase() {
        let key = SealingKey::derive_new(
            WALLET_MAGIC,
            KeySource::Passphrase(b"correct horse"),
            cheap(),
        )
        .unwrap();
        let sealed = key.seal(b"hello wallet").unwrap();
        let (plain, _) = open(
            WALLET_MAGIC,
            &sealed,
            KeySource::Passphrase(b"correct horse"),
        )
        .unwrap();
        assert_eq!(plain.as_slice(), b"hello wallet");
        assert!(matches!(
            open(WALLET_MAGIC, &sealed, KeySource::Passphrase(b"wrong horse")),
            Err(OpenError::WrongKey)
        ));
    }

    #[test]
    fn round_trip_seed_and_source_mismatch() {
        let seed = [7u8; 32];
        let key = SealingKey::derive_new(BACKUP_MAGIC, KeySource::Seed(&seed), cheap()).unwrap();
        let sealed = key.seal(b"backup").unwrap();
        let (plain, _) = open(BACKUP_MAGIC, &sealed, KeySource::Seed(&seed)).unwrap();
        assert_eq!(plain.as_slice(), b"backup");
        assert!(matches!(
            open(BACKUP_MAGIC, &sealed, KeySource::Seed(&[8u8; 32])),
            Err(OpenError::WrongKey)
        ));
        assert!(matches!(
            open(BACKUP_MAGIC, &sealed, KeySource::Passphrase(b"x")),
            Err(OpenError::WrongKeySource)
        ));
        assert!(matches!(
            open(WALLET_MAGIC, &sealed, KeySource::Seed(&seed)),
            Err(OpenError::WrongMagic)
        ));
    }

    #[test]
    fn every_byte_flip_is_refused() {
        let key =
            SealingKey::derive_new(WALLET_MAGIC, KeySource::Passphrase(b"pw"), cheap()).unwrap();
        let sealed = key.seal(b"some contents").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                open(WALLET_MAGIC, &bad, KeySource::Passphrase(b"pw")).is_err(),
                "flip at byte {i} accepted"
            );
        }
    }

    #[test]
    fn truncation_and_versions() {
        let key =
            SealingKey::derive_new(WALLET_MAGIC, KeySource::Passphrase(b"pw"), cheap()).unwrap();
        let sealed = key.seal(b"contents").unwrap();
        for len in [0, 5, 9, 40, HEADER_LEN, HEADER_LEN + TAG_LEN - 1] {
            assert!(matches!(
                open(WALLET_MAGIC, &sealed[..len], KeySource::Passphrase(b"pw")),
                Err(OpenError::Truncated)
            ));
        }
        // Cut inside the ciphertext: authentication fails.
        assert!(matches!(
            open(
                WALLET_MAGIC,
                &sealed[..sealed.len() - 1],
                KeySource::Passphrase(b"pw")
            ),
            Err(OpenError::Corrupt)
        ));
        let mut newer = sealed.clone();
        newer[8..10].copy_from_slice(&2u16.to_be_bytes());
        assert!(matches!(
            open(WALLET_MAGIC, &newer, KeySource::Passphrase(b"pw")),
            Err(OpenError::NewerVersion {
                found: 2,
                supported: 1
            })
        ));
        // A newer file is recognised even when its header is shorter.
        assert!(matches!(
            open(WALLET_MAGIC, &newer[..12], KeySource::Passphrase(b"pw")),
            Err(OpenError::NewerVersion { .. })
        ));
    }

    #[test]
    fn absurd_kdf_params_refused_before_derivation() {
        let key =
            SealingKey::derive_new(WALLET_MAGIC, KeySource::Passphrase(b"pw"), cheap()).unwrap();
        let mut sealed = key.seal(b"contents").unwrap();
        sealed[11..15].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            open(WALLET_MAGIC, &sealed, KeySource::Passphrase(b"pw")),
            Err(OpenError::BadKeyParams)
        ));
    }
}
