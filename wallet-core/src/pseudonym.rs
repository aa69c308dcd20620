//! Scope pseudonyms: "one resident, one vote" without saying who.
//!
//! ```text
//! Bs = Hg("kenmerk/v1/scope", scope)      Ps = Bs^xd
//! commitment As = Bs^wd (wd shared with the token proofs), check As == Ps^c · Bs^rd
//! ```
//!
//! Same resident and scope: same pseudonym; different scopes: unlinkable
//! (DDH in ristretto255). The scope is derived by the wallet from the
//! verifier's registered identity (`<verifier id>/<scope name>`), so no
//! verifier can ask for another service's pseudonym. `Ps` and `As` are in
//! the challenge (Rule 6): otherwise a second pseudonym for the same scope
//! verifies and a resident votes twice.

use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Serialize};

use crate::cbor;
use crate::group::{hash_to_point, label};

/// Longest scope, in bytes.
pub const MAX_SCOPE_BYTES: usize = 256;

/// A pseudonym scope, e.g. `demo.poll/2026-park`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope(pub String);

impl Scope {
    /// The scope of a registered verifier's named scope.
    pub fn for_verifier(verifier: &crate::ids::VerifierId, name: &str) -> Self {
        Scope(format!("{verifier}/{name}"))
    }

    /// `Bs = Hg("kenmerk/v1/scope", scope)`.
    pub fn base(&self) -> RistrettoPoint {
        hash_to_point(label::SCOPE, &[self.0.as_bytes()])
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pseudonym `Ps` in a scope, as a verifier stores it (compare bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pseudonym(#[serde(with = "cbor::point")] pub RistrettoPoint);

impl Pseudonym {
    /// 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.compress().to_bytes()
    }
    /// Hex text, for storage and display.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }
}
