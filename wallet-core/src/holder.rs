//! The resident's holder secret `xd`, its public key `hd = gd^xd`, and the
//! proof of possession the issuer checks before it signs (Rule 2).
//!
//! ```text
//! xd = Hs("kenmerk/v1/holder-secret", seed)            seed: 32 bytes from the wallet's recovery phrase
//! prove:  k = hedged nonce (S = xd, T = key id ‖ hd ‖ nonce),  T = gd^k,  e = Hs("kenmerk/v1/holder-pok", nonce, key id, hd, T),  s = k + e·xd
//! wire:   (e, s)
//! check:  hd != 1,  T' = gd^s · hd^-e,  e == Hs("kenmerk/v1/holder-pok", nonce, key id, hd, T')
//! ```
//!
//! The check is the usual `gd^s == T · hd^e`, with `T` recomputed rather
//! than sent. Without it a holder could send `hd* = gd^xd · gi^delta` and
//! shift attribute `i` by `delta` (for example its birth date).

use curve25519_dalek::ristretto::{RistrettoPoint, VartimeRistrettoPrecomputation};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimePrecomputedMultiscalarMul};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cbor;
use crate::group::{holder_generator, label, HashInput};
use crate::keys::KeyId;
use crate::nonce::NonceSource;
use crate::tables::FixedBaseTable;

/// The holder secret `xd`. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct HolderSecret {
    xd: Scalar,
}

impl std::fmt::Debug for HolderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolderSecret(..)")
    }
}

/// The holder public key `hd = gd^xd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderPublicKey(#[serde(with = "cbor::point")] pub RistrettoPoint);

/// Proof of knowledge of `xd` bound to one issuance or refresh session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderProof {
    #[serde(with = "cbor::scalar")]
    e: Scalar,
    #[serde(with = "cbor::scalar")]
    s: Scalar,
}

/// Why a holder proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HolderProofError {
    #[error("holder public key is the identity")]
    IdentityKey,
    #[error("holder proof of possession does not verify")]
    Invalid,
}

/// `gd^s`, constant time in `s`: a table of `gd` (a constant, built once
/// per process for about two multiplications' cost), each use much cheaper
/// than a variable-base multiplication. For `hd = gd^xd` and the proof's
/// `T = gd^k`.
fn gd_mul(s: &Scalar) -> RistrettoPoint {
    static TABLE: std::sync::OnceLock<FixedBaseTable> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| FixedBaseTable::new(&holder_generator()))
        .mul(s)
}

/// `gd` precomputed for variable-time multiscalar multiplication (the
/// issuer's proof check: public values only).
fn gd_vartime() -> &'static VartimeRistrettoPrecomputation {
    static GD: std::sync::OnceLock<VartimeRistrettoPrecomputation> = std::sync::OnceLock::new();
    GD.get_or_init(|| VartimeRistrettoPrecomputation::new([holder_generator()]))
}

fn pok_challenge(nonce: &[u8], key_id: &KeyId, hd: &RistrettoPoint, t: &RistrettoPoint) -> Scalar {
    HashInput::new(label::HOLDER_POK)
        .part(nonce)
        .part(&key_id.0)
        .point(hd)
        .point(t)
        .to_scalar()
}

impl HolderSecret {
    /// Derives the holder secret from the wallet seed, so that recovery from
    /// the seed restores the same holder.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        HolderSecret {
            xd: HashInput::new(label::HOLDER_SECRET).part(seed).to_scalar(),
        }
    }

    /// `hd = gd^xd`.
    pub fn public(&self) -> HolderPublicKey {
        HolderPublicKey(gd_mul(&self.xd))
    }

    /// Proves possession of `xd` for the session `nonce` and issuer key.
    pub fn prove_possession<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        nonce: &[u8],
        key_id: &KeyId,
    ) -> HolderProof {
        let hd = self.public().0;
        // Hedged (docs/protocol.md §2.4): a replayed RNG state with another
        // session still gives another k, so two proofs never share one.
        let mut transcript = Vec::with_capacity(64 + nonce.len());
        transcript.extend_from_slice(&key_id.0);
        transcript.extend_from_slice(hd.compress().as_bytes());
        transcript.extend_from_slice(nonce);
        let k =
            NonceSource::new(self.xd.as_bytes(), &transcript).nonzero_scalar(rng, "holder-pok", 0);
        let t = gd_mul(&k);
        let e = pok_challenge(nonce, key_id, &hd, &t);
        let s = *k + e * self.xd;
        HolderProof { e, s }
    }

    pub(crate) fn xd(&self) -> &Scalar {
        &self.xd
    }
}

impl HolderPublicKey {
    /// Checks a proof of possession of `xd` for this key (Rule 2).
    pub fn verify_possession(
        &self,
        proof: &HolderProof,
        nonce: &[u8],
        key_id: &KeyId,
    ) -> Result<(), HolderProofError> {
        if self.0 == RistrettoPoint::identity() {
            return Err(HolderProofError::IdentityKey);
        }
        // Public data only: variable time is fine here; gd from its
        // precomputed table, hd dynamic.
        let t = gd_vartime().vartime_mixed_multiscalar_mul([proof.s], [-proof.e], [self.0]);
        if pok_challenge(nonce, key_id, &self.0, &t) == proof.e {
            Ok(())
        } else {
            Err(HolderProofError::Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn proof_verifies_only_for_its_session() {
        let h = HolderSecret::from_seed(&[7; 32]);
        let kid = KeyId([1; 32]);
        let p = h.prove_possession(&mut OsRng, b"nonce-1", &kid);
        assert_eq!(h.public().verify_possession(&p, b"nonce-1", &kid), Ok(()));
        assert_eq!(
            h.public().verify_possession(&p, b"nonce-2", &kid),
            Err(HolderProofError::Invalid)
        );
        assert_eq!(
            h.public()
                .verify_possession(&p, b"nonce-1", &KeyId([2; 32])),
            Err(HolderProofError::Invalid)
        );
    }

    /// A replayed RNG state (a restored VM snapshot) must not repeat `k`
    /// across sessions: two proofs with one `k` reveal `xd = (s1 - s2) /
    /// (e1 - e2)`.
    #[test]
    fn replayed_rng_does_not_repeat_the_nonce() {
        use rand_chacha::ChaCha20Rng;
        use rand_core::SeedableRng;
        let h = HolderSecret::from_seed(&[7; 32]);
        let kid = KeyId([1; 32]);
        let p1 = h.prove_possession(&mut ChaCha20Rng::from_seed([5; 32]), b"session-1", &kid);
        let p2 = h.prove_possession(&mut ChaCha20Rng::from_seed([5; 32]), b"session-2", &kid);
        let extracted = (p1.s - p2.s) * (p1.e - p2.e).invert();
        assert_ne!(extracted, h.xd, "one nonce answered two challenges");
        // Same RNG state, another secret: another nonce (T = gd^k differs,
        // seen through e for the same session).
        let other = HolderSecret::from_seed(&[8; 32]);
        let p3 = other.prove_possession(&mut ChaCha20Rng::from_seed([5; 32]), b"session-1", &kid);
        let t1 = holder_generator() * p1.s - h.public().0 * p1.e;
        let t3 = holder_generator() * p3.s - other.public().0 * p3.e;
        assert_ne!(t1, t3);
    }

    #[test]
    fn same_seed_same_holder() {
        assert_eq!(
            HolderSecret::from_seed(&[3; 32]).public(),
            HolderSecret::from_seed(&[3; 32]).public()
        );
        assert_ne!(
            HolderSecret::from_seed(&[3; 32]).public(),
            HolderSecret::from_seed(&[4; 32]).public()
        );
    }

    /// Rule 2: a shifted holder key `hd* = hd · g1^delta` cannot be proven
    /// with `xd` (the attacker does not know `log_gd hd*`).
    #[test]
    fn rule2_shifted_holder_key_is_refused() {
        let h = HolderSecret::from_seed(&[9; 32]);
        let kid = KeyId([1; 32]);
        let shift = crate::group::hash_to_point(b"some generator", &[]) * Scalar::from(365u64);
        let shifted = HolderPublicKey(h.public().0 + shift);
        let p = h.prove_possession(&mut OsRng, b"n", &kid);
        assert_eq!(
            shifted.verify_possession(&p, b"n", &kid),
            Err(HolderProofError::Invalid)
        );
        assert_eq!(
            HolderPublicKey(RistrettoPoint::identity()).verify_possession(&p, b"n", &kid),
            Err(HolderProofError::IdentityKey)
        );
    }
}
