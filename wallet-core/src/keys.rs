//! Issuer keys and the generators derived from them.
//!
//! One key pair per credential type and key counter: secret `y0`, public
//! `g0 = g^y0`. The public key also fixes the attribute kinds (so `n`, the
//! number of attribute positions, comes from the key: Rule 5) and the period
//! in which the key is valid. Generators are derived, nobody knows their
//! discrete logarithms:
//!
//! ```text
//! gt = Hg("kenmerk/v1/generator", credential type, u32be(counter), u32be(0))
//! gi = Hg("kenmerk/v1/generator", credential type, u32be(counter), u32be(i))   i = 1..n
//! key id = SHA-512(frame("kenmerk/v1/key-id", CBOR(public key)))[0..32]
//! ```

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cbor::{self, check_version, DecodeError};
use crate::encoding::AttributeKind;
use crate::group::{random_nonzero_scalar, HashInput};
use crate::ids::CredentialTypeId;
use crate::msm::KeyTable;
use std::sync::Arc;

/// Most attribute positions a credential type may have.
pub const MAX_ATTRIBUTES: usize = 64;
const KEY_VERSION: u16 = 1;

/// What a new issuer key is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParams {
    /// The credential type this key signs.
    pub credential_type: CredentialTypeId,
    /// Key counter: rotation gives the next number.
    pub counter: u32,
    /// Start of validity, Unix seconds.
    pub valid_from: u64,
    /// End of validity, Unix seconds: tokens under this key verify until then.
    pub valid_until: u64,
    /// The kinds of the attribute positions, in order.
    pub attributes: Vec<AttributeKind>,
}

/// Why key material was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a credential type needs 1 to {MAX_ATTRIBUTES} attributes")]
    AttributeCount,
    #[error("validity ends before it starts")]
    Validity,
    #[error("secret key does not match its public key")]
    Mismatch,
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// The identifier of an issuer public key (32 bytes, shown in hex).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(#[serde(with = "cbor::bytes32")] pub [u8; 32]);

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({})", hex::encode(&self.0[..8]))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// An issuer's public key for one credential type, as published in the scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerPublicKey {
    v: u16,
    /// The credential type.
    #[serde(rename = "ct")]
    pub credential_type: CredentialTypeId,
    /// The key counter.
    #[serde(rename = "kc")]
    pub counter: u32,
    /// Start of validity, Unix seconds.
    #[serde(rename = "vf")]
    pub valid_from: u64,
    /// End of validity, Unix seconds.
    #[serde(rename = "vu")]
    pub valid_until: u64,
    /// Attribute kinds, one per position.
    #[serde(rename = "at")]
    pub attributes: Vec<AttributeKind>,
    /// `g0 = g^y0`.
    #[serde(with = "cbor::point")]
    pub g0: RistrettoPoint,
}

/// The generators of one key: `gt` and `g1..gn`.
#[derive(Debug, Clone)]
pub struct Generators {
    /// Token-information generator `gt`.
    pub gt: RistrettoPoint,
    /// Attribute generators; `attributes[i]` is `g_{i+1}`.
    pub attributes: Vec<RistrettoPoint>,
}

impl IssuerPublicKey {
    /// The key identifier (see the module docs).
    pub fn key_id(&self) -> KeyId {
        KeyId(
            HashInput::new(crate::group::label::KEY_ID)
                .part(&self.to_bytes())
                .to_id(),
        )
    }

    /// Number of attribute positions `n`.
    pub fn attribute_count(&self) -> usize {
        self.attributes.len()
    }

    /// Derives `gt` and `g1..gn` (cached per credential type, counter and
    /// `n`: they are public and the same for every token of the key).
    pub fn generators(&self) -> Generators {
        type CacheKey = (String, u32, usize);
        static CACHE: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashMap<CacheKey, Generators>>,
        > = std::sync::OnceLock::new();
        // Only keys a caller already holds reach this (trusted scheme keys
        // or the caller's own); the bound keeps memory flat regardless.
        const MAX_CACHED: usize = 1024;
        let cache = CACHE.get_or_init(Default::default);
        let id = (
            self.credential_type.as_str().to_owned(),
            self.counter,
            self.attributes.len(),
        );
        if let Ok(map) = cache.lock() {
            if let Some(g) = map.get(&id) {
                return g.clone();
            }
        }
        let derived = self.derive_generators();
        if let Ok(mut map) = cache.lock() {
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            map.insert(id, derived.clone());
        }
        derived
    }

    /// The precomputed table of this key's static bases with g, gd and H
    /// ([`crate::msm::KeyTable`]), cached next to the generators (by
    /// credential type, counter, `n` and `g0`: a look-up compares points, it
    /// compresses nothing).
    pub(crate) fn table(&self) -> Arc<KeyTable> {
        type CacheKey = (String, u32, usize);
        type Entries = Vec<(RistrettoPoint, Arc<KeyTable>)>;
        static CACHE: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashMap<CacheKey, Entries>>,
        > = std::sync::OnceLock::new();
        // A table of n + 5 points takes about 8 KiB a point: keep fewer
        // than generator sets.
        const MAX_CACHED: usize = 64;
        let cache = CACHE.get_or_init(Default::default);
        let id = (
            self.credential_type.as_str().to_owned(),
            self.counter,
            self.attributes.len(),
        );
        if let Ok(map) = cache.lock() {
            if let Some(t) = map
                .get(&id)
                .and_then(|e| e.iter().find(|(g0, _)| *g0 == self.g0))
            {
                return Arc::clone(&t.1);
            }
        }
        let gens = self.generators();
        let table = Arc::new(KeyTable::new(self.g0, gens.gt, &gens.attributes));
        if let Ok(mut map) = cache.lock() {
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            let entries = map.entry(id).or_default();
            if entries.len() >= 4 {
                entries.clear();
            }
            entries.push((self.g0, Arc::clone(&table)));
        }
        table
    }

    fn derive_generators(&self) -> Generators {
        let gen = |i: u32| {
            HashInput::new(crate::group::label::GENERATOR)
                .part(self.credential_type.as_str().as_bytes())
                .part(&self.counter.to_be_bytes())
                .part(&i.to_be_bytes())
                .to_point()
        };
        Generators {
            gt: gen(0),
            attributes: (1..=self.attributes.len() as u32).map(gen).collect(),
        }
    }

    /// Whether the key is valid at `now` (Unix seconds).
    pub fn is_valid_at(&self, now: u64) -> bool {
        self.valid_from <= now && now < self.valid_until
    }

    /// Canonical CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Decodes and checks a public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let k: Self = cbor::from_cbor(bytes)?;
        k.validate()?;
        Ok(k)
    }

    fn validate(&self) -> Result<(), KeyError> {
        check_version(self.v, KEY_VERSION)?;
        if self.attributes.is_empty() || self.attributes.len() > MAX_ATTRIBUTES {
            return Err(KeyError::AttributeCount);
        }
        if self.valid_until <= self.valid_from {
            return Err(KeyError::Validity);
        }
        Ok(())
    }
}

/// An issuer's secret key `y0` with its public key. Zeroized on drop; the
/// `Debug` output never shows the secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct IssuerSecretKey {
    #[zeroize(skip)]
    public: IssuerPublicKey,
    y0: Scalar,
}

impl std::fmt::Debug for IssuerSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerSecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretKeyFile {
    v: u16,
    pk: IssuerPublicKey,
    #[serde(with = "cbor::scalar")]
    y0: Scalar,
}

impl Drop for SecretKeyFile {
    fn drop(&mut self) {
        self.y0.zeroize();
    }
}
// The manual `Drop` above wipes `y0` on every path.
impl zeroize::ZeroizeOnDrop for SecretKeyFile {}

impl IssuerSecretKey {
    /// Generates a fresh key from `rng` (use `OsRng`).
    pub fn generate<R: RngCore + CryptoRng>(
        rng: &mut R,
        params: KeyParams,
    ) -> Result<Self, KeyError> {
        let y0 = random_nonzero_scalar(rng);
        let public = IssuerPublicKey {
            v: KEY_VERSION,
            credential_type: params.credential_type,
            counter: params.counter,
            valid_from: params.valid_from,
            valid_until: params.valid_until,
            attributes: params.attributes,
            g0: RistrettoPoint::mul_base(&y0),
        };
        public.validate()?;
        Ok(IssuerSecretKey { public, y0 })
    }

    /// The public key.
    pub fn public(&self) -> &IssuerPublicKey {
        &self.public
    }

    /// The secret exponent, for the issuance module only.
    pub(crate) fn y0(&self) -> &Scalar {
        &self.y0
    }

    /// Canonical CBOR of the key file (secret: store with mode 0600).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let file = SecretKeyFile {
            v: KEY_VERSION,
            pk: self.public.clone(),
            y0: self.y0,
        };
        cbor::to_cbor_secret(&file)
    }

    /// Decodes a key file; refuses a secret that does not match its public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let file: SecretKeyFile = cbor::from_cbor_secret(bytes)?;
        check_version(file.v, KEY_VERSION)?;
        file.pk.validate()?;
        if RistrettoPoint::mul_base(&file.y0) != file.pk.g0 {
            return Err(KeyError::Mismatch);
        }
        Ok(IssuerSecretKey {
            public: file.pk.clone(),
            y0: file.y0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    pub(crate) fn params() -> KeyParams {
        KeyParams {
            credential_type: "demo.utrecht.address".parse().unwrap(),
            counter: 1,
            valid_from: 0,
            valid_until: 4_000_000_000,
            attributes: vec![AttributeKind::String, AttributeKind::Integer],
        }
    }

    #[test]
    fn secret_key_round_trips_and_checks_pairing() {
        let k = IssuerSecretKey::generate(&mut OsRng, params()).unwrap();
        let back = IssuerSecretKey::from_bytes(&k.to_bytes()).unwrap();
        assert_eq!(back.public(), k.public());
        let other = IssuerSecretKey::generate(&mut OsRng, params()).unwrap();
        // Splice another key's public part: must be refused.
        let mut file: SecretKeyFile = cbor::from_cbor(&k.to_bytes()).unwrap();
        file.pk = other.public().clone();
        assert_eq!(
            IssuerSecretKey::from_bytes(&cbor::to_cbor(&file)).unwrap_err(),
            KeyError::Mismatch
        );
    }

    #[test]
    fn public_key_round_trip_and_id() {
        let k = IssuerSecretKey::generate(&mut OsRng, params()).unwrap();
        let pk = IssuerPublicKey::from_bytes(&k.public().to_bytes()).unwrap();
        assert_eq!(&pk, k.public());
        assert_eq!(pk.key_id(), k.public().key_id());
        let k2 = IssuerSecretKey::generate(&mut OsRng, params()).unwrap();
        assert_ne!(k2.public().key_id(), pk.key_id());
        assert!(!format!("{k:?}").contains("y0"));
    }

    #[test]
    fn rejects_bad_params() {
        let mut p = params();
        p.attributes.clear();
        assert_eq!(
            IssuerSecretKey::generate(&mut OsRng, p).unwrap_err(),
            KeyError::AttributeCount
        );
        let mut p = params();
        p.valid_until = 0;
        assert_eq!(
            IssuerSecretKey::generate(&mut OsRng, p).unwrap_err(),
            KeyError::Validity
        );
    }

    #[test]
    fn generators_differ_per_counter_and_position() {
        let k = IssuerSecretKey::generate(&mut OsRng, params()).unwrap();
        let mut p = params();
        p.counter = 2;
        let k2 = IssuerSecretKey::generate(&mut OsRng, p).unwrap();
        let (a, b) = (k.public().generators(), k2.public().generators());
        assert_ne!(a.attributes[0], b.attributes[0]);
        assert_ne!(a.attributes[0], a.attributes[1]);
        assert_ne!(a.gt, a.attributes[0]);
    }
}
