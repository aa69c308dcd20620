//! Hedged nonces: every secret nonce is derived from the secret it protects,
//! the transcript so far and fresh randomness.
//!
//! ```text
//! nonce = Hs("kenmerk/v1/nonce", S, T, R, utf8(purpose), u32be(index))
//!   S: the secret key bytes of the operation (y0, or xd ‖ alpha_inv…)
//!   T: the transcript so far (public values the nonce is used for)
//!   R: 32 bytes drawn from the caller's RNG for this one nonce
//! ```
//!
//! Why: with plain `Scalar::random(rng)`, a VM snapshot restored twice or a
//! repeated RNG state repeats a nonce, and one nonce answering two
//! challenges reveals the secret (Rule 3). Hedged, a repeated `R` still
//! gives a different nonce as soon as the transcript differs, and a
//! predictable `R` still gives nonces nobody can compute without `S`. With
//! a good RNG the nonce is as random as before. `purpose` and `index` keep
//! the nonces of one operation apart even when the RNG returns constants.
//!
//! The framed input holding `S` lives in a pre-allocated [`Zeroizing`]
//! buffer, so it is wiped on every path, including early returns.

use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::group::label;

/// Bytes drawn from the RNG per nonce.
pub const FRESH_BYTES: usize = 32;

/// The secret and the transcript of one operation, ready to derive its
/// nonces. Holds `S`, so it is wiped on drop.
pub struct NonceSource {
    /// `frame(label, S, T)`, the common prefix of every nonce's hash input.
    prefix: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for NonceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceSource(..)")
    }
}

fn push_part(buf: &mut Vec<u8>, part: &[u8]) {
    // Parts are far below 4 GiB (a transcript is at most a few KiB).
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(part);
}

impl NonceSource {
    /// A source for nonces protecting `secret`, bound to `transcript`.
    pub fn new(secret: &[u8], transcript: &[u8]) -> Self {
        // Exact capacity: the buffer never reallocates, so no copy of the
        // secret is left behind in freed memory.
        let cap = 4 + label::NONCE.len() + 4 + secret.len() + 4 + transcript.len();
        let mut prefix = Zeroizing::new(Vec::with_capacity(cap));
        push_part(&mut prefix, label::NONCE);
        push_part(&mut prefix, secret);
        push_part(&mut prefix, transcript);
        NonceSource { prefix }
    }

    /// The 64-byte digest for one nonce; draws `R` from `rng`.
    fn digest<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        purpose: &str,
        index: u32,
    ) -> Zeroizing<[u8; 64]> {
        let mut fresh = Zeroizing::new([0u8; FRESH_BYTES]);
        rng.fill_bytes(fresh.as_mut());
        let cap = self.prefix.len() + 4 + FRESH_BYTES + 4 + purpose.len() + 4 + 4;
        let mut input = Zeroizing::new(Vec::with_capacity(cap));
        input.extend_from_slice(&self.prefix);
        push_part(&mut input, fresh.as_ref());
        push_part(&mut input, purpose.as_bytes());
        push_part(&mut input, &index.to_be_bytes());
        Zeroizing::new(Sha512::digest(input.as_slice()).into())
    }

    /// A nonce scalar: `Hs("kenmerk/v1/nonce", S, T, R, purpose, index)`.
    pub fn scalar<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        purpose: &str,
        index: u32,
    ) -> Zeroizing<Scalar> {
        Zeroizing::new(Scalar::from_bytes_mod_order_wide(
            &self.digest(rng, purpose, index),
        ))
    }

    /// A non-zero nonce scalar: a 0 (probability `1/q`) is drawn again with
    /// a fresh `R`.
    pub fn nonzero_scalar<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        purpose: &str,
        index: u32,
    ) -> Zeroizing<Scalar> {
        loop {
            let s = self.scalar(rng, purpose, index);
            if *s != Scalar::ZERO {
                return s;
            }
        }
    }

    /// A deterministic RNG for a library that draws its own blinding (the
    /// Bulletproofs prover): ChaCha20 seeded with the 32-byte encoding of
    /// the nonce scalar for `purpose` and `index`.
    pub fn rng<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        purpose: &str,
        index: u32,
    ) -> ChaCha20Rng {
        let seed = self.scalar(rng, purpose, index);
        ChaCha20Rng::from_seed(seed.to_bytes())
    }
}

/// Appends `part` to a transcript with a `u32be` length prefix (the framing
/// of `docs/protocol.md` §2.1), so transcripts built from several values
/// cannot collide.
pub(crate) fn transcript_part(t: &mut Vec<u8>, part: &[u8]) {
    push_part(t, part);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;

    fn replayed() -> ChaCha20Rng {
        ChaCha20Rng::from_seed([9; 32])
    }

    #[test]
    fn replayed_rng_other_transcript_gives_other_nonce() {
        let a = NonceSource::new(b"secret", b"transcript 1").scalar(&mut replayed(), "w", 0);
        let b = NonceSource::new(b"secret", b"transcript 2").scalar(&mut replayed(), "w", 0);
        assert_ne!(*a, *b);
    }

    #[test]
    fn replayed_rng_other_secret_gives_other_nonce() {
        let a = NonceSource::new(b"secret 1", b"transcript").scalar(&mut replayed(), "w", 0);
        let b = NonceSource::new(b"secret 2", b"transcript").scalar(&mut replayed(), "w", 0);
        assert_ne!(*a, *b);
    }

    #[test]
    fn same_everything_is_deterministic_and_purposes_differ() {
        let s = NonceSource::new(b"secret", b"transcript");
        assert_eq!(
            *s.scalar(&mut replayed(), "w", 0),
            *s.scalar(&mut replayed(), "w", 0)
        );
        assert_ne!(
            *s.scalar(&mut replayed(), "w", 0),
            *s.scalar(&mut replayed(), "w", 1)
        );
        assert_ne!(
            *s.scalar(&mut replayed(), "w", 0),
            *s.scalar(&mut replayed(), "t", 0)
        );
    }

    /// The byte-exact derivation of `docs/protocol.md` §2.4, from an RNG
    /// that returns zeros.
    #[test]
    fn derivation_matches_the_spec() {
        struct Zeros;
        impl RngCore for Zeros {
            fn next_u32(&mut self) -> u32 {
                0
            }
            fn next_u64(&mut self) -> u64 {
                0
            }
            fn fill_bytes(&mut self, d: &mut [u8]) {
                d.fill(0)
            }
            fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), rand_core::Error> {
                d.fill(0);
                Ok(())
            }
        }
        impl CryptoRng for Zeros {}
        let got = NonceSource::new(b"S", b"T").scalar(&mut Zeros, "p", 7);
        let want = crate::group::hash_to_scalar(
            b"kenmerk/v1/nonce",
            &[b"S", b"T", &[0u8; 32], b"p", &7u32.to_be_bytes()],
        );
        assert_eq!(*got, want);
    }
}
