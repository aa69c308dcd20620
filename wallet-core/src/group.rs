//! Hashing into the group ristretto255 and into its scalars.
//!
//! Every hash in kenmerk is SHA-512 over a *framed* input:
//!
//! ```text
//! frame(label, p1, …, pk) = u32be(len(label)) ‖ label ‖ u32be(len(p1)) ‖ p1 ‖ … ‖ u32be(len(pk)) ‖ pk
//! Hs(label, …) = Scalar::from_bytes_mod_order_wide(SHA-512(frame(label, …)))
//! Hg(label, …) = RistrettoPoint::from_uniform_bytes(SHA-512(frame(label, …)))   (RFC 9496 §4.3.4)
//! ```
//!
//! Labels are versioned (`kenmerk/v1/...`) and every part is length-prefixed,
//! so no two different inputs frame alike and no hash can stand in for
//! another (domain separation).

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

/// The domain-separation labels, one per hash use. `docs/protocol.md` lists
/// each with its inputs.
pub mod label {
    /// Attribute generators `g1..gn` and `gt`.
    pub const GENERATOR: &[u8] = b"kenmerk/v1/generator";
    /// The global holder generator `gd`.
    pub const HOLDER_GENERATOR: &[u8] = b"kenmerk/v1/holder";
    /// Holder secret from the wallet seed.
    pub const HOLDER_SECRET: &[u8] = b"kenmerk/v1/holder-secret";
    /// Holder proof of possession challenge.
    pub const HOLDER_POK: &[u8] = b"kenmerk/v1/holder-pok";
    /// Scope base `Bs` of a pseudonym.
    pub const SCOPE: &[u8] = b"kenmerk/v1/scope";
    /// String attribute encoding.
    pub const ATTR_STRING: &[u8] = b"kenmerk/v1/attr/string";
    /// Token information encoding `xt`.
    pub const TOKEN_INFO: &[u8] = b"kenmerk/v1/ti";
    /// Token signature challenge `sc'`.
    pub const TOKEN: &[u8] = b"kenmerk/v1/token";
    /// Issuer key identifier.
    pub const KEY_ID: &[u8] = b"kenmerk/v1/key-id";
    /// Presentation challenge `c`.
    pub const PRESENTATION: &[u8] = b"kenmerk/v1/presentation";
    /// Digest of a presentation's challenge context.
    pub const PRESENTATION_CONTEXT: &[u8] = b"kenmerk/v1/presentation-context";
    /// Merlin transcript label of a predicate's range proof.
    pub const RANGE_PROOF: &[u8] = b"kenmerk/v1/range-proof";
    /// Hedged secret nonces ([`crate::nonce`]).
    pub const NONCE: &[u8] = b"kenmerk/v1/nonce";
}

/// A framed SHA-512 input under one label (see the module docs).
#[derive(Clone)]
pub struct HashInput {
    hasher: Sha512,
}

impl HashInput {
    /// Starts a hash input under `label`.
    pub fn new(label: &[u8]) -> Self {
        let mut h = HashInput {
            hasher: Sha512::new(),
        };
        h.part(label);
        h
    }

    /// Appends one length-prefixed part.
    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        // Parts are far below 4 GiB; a longer one would be a caller bug and is
        // truncated into the length by design of the frame (never reached).
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.hasher.update(len.to_be_bytes());
        self.hasher.update(bytes);
        self
    }

    /// Appends a point in its 32-byte compressed ristretto255 encoding.
    pub fn point(&mut self, p: &RistrettoPoint) -> &mut Self {
        self.part(p.compress().as_bytes())
    }

    /// Appends a point by the encoding it arrived in (or was compressed to
    /// once): no second compression.
    pub fn wire(&mut self, p: &crate::cbor::WirePoint) -> &mut Self {
        self.part(p.as_bytes())
    }

    /// Appends a scalar in its 32-byte canonical little-endian encoding.
    pub fn scalar(&mut self, s: &Scalar) -> &mut Self {
        self.part(s.as_bytes())
    }

    /// Appends an unsigned integer as 8 bytes big-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.part(&v.to_be_bytes())
    }

    /// `Hs`: the hash reduced to a scalar (wide reduction, no bias).
    pub fn to_scalar(&self) -> Scalar {
        let digest: [u8; 64] = self.hasher.clone().finalize().into();
        Scalar::from_bytes_mod_order_wide(&digest)
    }

    /// `Hg`: the hash mapped to a group element (RFC 9496 one-way map).
    pub fn to_point(&self) -> RistrettoPoint {
        let digest: [u8; 64] = self.hasher.clone().finalize().into();
        RistrettoPoint::from_uniform_bytes(&digest)
    }

    /// The first 32 bytes of the SHA-512 digest (identifiers, not secrets).
    pub fn to_id(&self) -> [u8; 32] {
        let digest: [u8; 64] = self.hasher.clone().finalize().into();
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest[..32]);
        out
    }
}

/// `Hs(label, parts…)`.
pub fn hash_to_scalar(label: &[u8], parts: &[&[u8]]) -> Scalar {
    let mut h = HashInput::new(label);
    for p in parts {
        h.part(p);
    }
    h.to_scalar()
}

/// `Hg(label, parts…)`.
pub fn hash_to_point(label: &[u8], parts: &[&[u8]]) -> RistrettoPoint {
    let mut h = HashInput::new(label);
    for p in parts {
        h.part(p);
    }
    h.to_point()
}

/// The base point `g` of ristretto255.
pub fn g() -> RistrettoPoint {
    RISTRETTO_BASEPOINT_POINT
}

/// The holder generator `gd = Hg("kenmerk/v1/holder")`, one for all issuers,
/// so that one holder secret binds all of a resident's credentials.
pub fn holder_generator() -> RistrettoPoint {
    // A constant: hashed once per process.
    static GD: std::sync::OnceLock<RistrettoPoint> = std::sync::OnceLock::new();
    *GD.get_or_init(|| hash_to_point(label::HOLDER_GENERATOR, &[]))
}

/// The Pedersen blinding generator `H` of predicate commitments: the
/// Bulletproofs crate's `PedersenGens::default().B_blinding`, so that the
/// range proof speaks about the same commitment.
pub fn blinding_generator() -> RistrettoPoint {
    static H: std::sync::OnceLock<RistrettoPoint> = std::sync::OnceLock::new();
    *H.get_or_init(|| bulletproofs::PedersenGens::default().B_blinding)
}

/// A uniformly random non-zero scalar from `rng` (a zero would make a
/// blinding factor or nonce useless).
pub fn random_nonzero_scalar<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Scalar {
    loop {
        let s = Scalar::random(rng);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_separates_parts() {
        // "ab","c" and "a","bc" must hash differently.
        assert_ne!(
            hash_to_scalar(b"l", &[b"ab", b"c"]),
            hash_to_scalar(b"l", &[b"a", b"bc"])
        );
        assert_ne!(
            hash_to_scalar(b"l1", &[b"x"]),
            hash_to_scalar(b"l2", &[b"x"])
        );
    }

    #[test]
    fn generators_are_distinct_and_not_identity() {
        use curve25519_dalek::traits::Identity;
        let gd = holder_generator();
        assert_ne!(gd, RistrettoPoint::identity());
        assert_ne!(gd, g());
        assert_ne!(blinding_generator(), g());
    }
}
