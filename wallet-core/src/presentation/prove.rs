//! The wallet's side: building a presentation.
//!
//! Every nonce (`w0`, `wi`, `wd`, `t`, `wt` and the range proofs' own
//! blinding) is a hedged nonce ([`crate::nonce`]): derived from `xd` and the
//! tokens' `alpha_inv`, the context and the whole statement, and fresh bytes
//! from the caller's CSPRNG, for each presentation (Rule 3: reusing them
//! across two challenges reveals `xd`). All secret-dependent group
//! operations are constant-time.

use std::collections::BTreeSet;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::{
    challenge, ChallengeContext, Commitments, Disclosed, Equality, Hidden, PredicateProof,
    Presentation, PseudonymProof, TokenProof, MAX_NONCE_BYTES, MAX_TOKENS, MIN_NONCE_BYTES,
    PRESENTATION_VERSION,
};
use crate::group::{blinding_generator, g, holder_generator};
use crate::holder::HolderSecret;
use crate::keys::IssuerPublicKey;
use crate::nonce::{transcript_part, NonceSource};
use crate::predicate::{prove_range, Predicate, PredicateError};
use crate::pseudonym::{Scope, MAX_SCOPE_BYTES};
use crate::token::CredentialToken;

/// Why a presentation could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError {
    #[error("a presentation needs 1 to {MAX_TOKENS} tokens")]
    TokenCount,
    #[error("token {0} does not belong to the given issuer key")]
    WrongKey(usize),
    #[error("token {token}: no attribute at position {position}")]
    Position { token: usize, position: usize },
    #[error(
        "token {token}, position {position}: predicates and equalities need a hidden attribute"
    )]
    NotHidden { token: usize, position: usize },
    #[error("token {token}, position {position}: {error}")]
    Predicate {
        token: usize,
        position: usize,
        error: PredicateError,
    },
    #[error("the attributes said to be equal differ, or are one and the same")]
    NotEqual,
    #[error("pseudonym scope must be 1 to {MAX_SCOPE_BYTES} bytes")]
    Scope,
    #[error("verifier nonce must be {MIN_NONCE_BYTES} to {MAX_NONCE_BYTES} bytes")]
    Nonce,
}

struct Shown<'a> {
    token: &'a CredentialToken,
    key: &'a IssuerPublicKey,
    disclosed: BTreeSet<usize>,
}

/// Builds one presentation; see [`crate::presentation`] for the equations.
pub struct PresentationBuilder<'a> {
    holder: &'a HolderSecret,
    context: ChallengeContext,
    shown: Vec<Shown<'a>>,
    pseudonyms: Vec<Scope>,
    equalities: Vec<Equality>,
    predicates: Vec<(usize, usize, Predicate)>,
    /// Attack mode for invalid test vectors (Rule 7): prove predicates with
    /// this lower bound in the range proof, without checking them.
    #[cfg(feature = "attack-vectors")]
    forged_lower_bound: Option<u64>,
}

impl<'a> PresentationBuilder<'a> {
    /// Starts a presentation for `context`.
    pub fn new(holder: &'a HolderSecret, context: ChallengeContext) -> Self {
        PresentationBuilder {
            holder,
            context,
            shown: Vec::new(),
            pseudonyms: Vec::new(),
            equalities: Vec::new(),
            predicates: Vec::new(),
            #[cfg(feature = "attack-vectors")]
            forged_lower_bound: None,
        }
    }

    /// Attack mode, only for invalid test vectors: skip the wallet's checks
    /// of predicates and build their range proofs with lower bound `lo`
    /// (an absent attribute, 0, "proven" with `lo = 0`).
    #[cfg(feature = "attack-vectors")]
    pub fn forge_predicates_with_lower_bound(&mut self, lo: u64) -> &mut Self {
        self.forged_lower_bound = Some(lo);
        self
    }

    fn forging(&self) -> bool {
        #[cfg(feature = "attack-vectors")]
        {
            self.forged_lower_bound.is_some()
        }
        #[cfg(not(feature = "attack-vectors"))]
        {
            false
        }
    }

    /// Shows `token` (signed under `key`), disclosing the attributes at
    /// `disclosed` positions; returns the token's index in the presentation.
    pub fn token(
        &mut self,
        token: &'a CredentialToken,
        key: &'a IssuerPublicKey,
        disclosed: &[usize],
    ) -> usize {
        self.shown.push(Shown {
            token,
            key,
            disclosed: disclosed.iter().copied().collect(),
        });
        self.shown.len() - 1
    }

    /// Adds the holder's pseudonym in `scope`.
    pub fn pseudonym(&mut self, scope: Scope) -> &mut Self {
        self.pseudonyms.push(scope);
        self
    }

    /// Proves that two hidden attributes `(token, position)` are equal.
    pub fn equal(&mut self, a: (usize, usize), b: (usize, usize)) -> &mut Self {
        self.equalities
            .push(Equality((a.0 as u8, a.1 as u8), (b.0 as u8, b.1 as u8)));
        self
    }

    /// Proves `predicate` on the hidden attribute `(token, position)`.
    pub fn predicate(&mut self, token: usize, position: usize, predicate: Predicate) -> &mut Self {
        self.predicates.push((token, position, predicate));
        self
    }

    fn hidden(&self, token: usize, position: usize) -> Result<(), ProveError> {
        let s = self
            .shown
            .get(token)
            .ok_or(ProveError::Position { token, position })?;
        if position >= s.key.attribute_count() {
            return Err(ProveError::Position { token, position });
        }
        if s.disclosed.contains(&position) {
            return Err(ProveError::NotHidden { token, position });
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ProveError> {
        if self.shown.is_empty() || self.shown.len() > MAX_TOKENS {
            return Err(ProveError::TokenCount);
        }
        let n = self.context.nonce.len();
        if !(MIN_NONCE_BYTES..=MAX_NONCE_BYTES).contains(&n) {
            return Err(ProveError::Nonce);
        }
        for (j, s) in self.shown.iter().enumerate() {
            // The values must fit the key too: a token read back from a
            // damaged wallet file must give an error, not an index panic.
            if s.token.token.key_id != s.key.key_id()
                || s.token.attributes.len() != s.key.attribute_count()
            {
                return Err(ProveError::WrongKey(j));
            }
            if let Some(&position) = s.disclosed.iter().find(|&&i| i >= s.key.attribute_count()) {
                return Err(ProveError::Position { token: j, position });
            }
        }
        for scope in &self.pseudonyms {
            if scope.0.is_empty() || scope.0.len() > MAX_SCOPE_BYTES {
                return Err(ProveError::Scope);
            }
        }
        for Equality(a, b) in &self.equalities {
            let (a, b) = (
                (usize::from(a.0), usize::from(a.1)),
                (usize::from(b.0), usize::from(b.1)),
            );
            if a == b {
                return Err(ProveError::NotEqual);
            }
            self.hidden(a.0, a.1)?;
            self.hidden(b.0, b.1)?;
            let va = &self.shown[a.0].token.attributes[a.1];
            let vb = &self.shown[b.0].token.attributes[b.1];
            if va.encode() != vb.encode() {
                return Err(ProveError::NotEqual);
            }
        }
        for (token, position, predicate) in &self.predicates {
            let (token, position) = (*token, *position);
            self.hidden(token, position)?;
            let s = &self.shown[token];
            let kind = s.key.attributes[position];
            let err = |error| ProveError::Predicate {
                token,
                position,
                error,
            };
            predicate.bounds(kind).map_err(err)?;
            if !self.forging() && !predicate.holds_for(&s.token.attributes[position]) {
                return Err(err(PredicateError::False));
            }
        }
        Ok(())
    }

    /// The nonce source of this presentation (docs/protocol.md §2.4):
    /// `S = xd ‖ alpha_inv_0 ‖ …`, `T` the context digest and the whole
    /// statement, so a replayed RNG state with any other context or
    /// statement gives other nonces.
    fn nonce_source(&self, context_digest: &[u8; 64]) -> NonceSource {
        let mut secret = Zeroizing::new(Vec::with_capacity(32 * (1 + self.shown.len())));
        secret.extend_from_slice(self.holder.xd().as_bytes());
        for s in &self.shown {
            secret.extend_from_slice(s.token.alpha_inv.as_bytes());
        }
        let mut t = Vec::with_capacity(1024);
        t.extend_from_slice(context_digest);
        let count = |t: &mut Vec<u8>, n: usize| {
            t.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes())
        };
        count(&mut t, self.shown.len());
        for s in &self.shown {
            transcript_part(&mut t, &s.token.token.to_bytes());
            let positions: Vec<u8> = s.disclosed.iter().map(|&i| i as u8).collect();
            transcript_part(&mut t, &positions);
        }
        count(&mut t, self.pseudonyms.len());
        for scope in &self.pseudonyms {
            transcript_part(&mut t, scope.0.as_bytes());
        }
        count(&mut t, self.equalities.len());
        for Equality(a, b) in &self.equalities {
            t.extend_from_slice(&[a.0, a.1, b.0, b.1]);
        }
        count(&mut t, self.predicates.len());
        for (token, position, predicate) in &self.predicates {
            t.extend_from_slice(&[*token as u8, *position as u8]);
            transcript_part(&mut t, &crate::cbor::to_cbor(predicate));
        }
        NonceSource::new(&secret, &t)
    }

    /// Derives the nonces, computes the commitments, range proofs, the
    /// challenge and the responses. Every secret lives in a [`Zeroizing`]
    /// wrapper allocated at its final size, so it is wiped on every path,
    /// early returns included.
    pub fn prove<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<Presentation, ProveError> {
        self.validate()?;
        let gd = holder_generator();
        let big_h = blinding_generator();
        let context_digest = self.context.digest();
        let source = self.nonce_source(&context_digest);
        let wd = source.scalar(rng, "wd", 0);

        // One nonce per hidden (token, position), flat at offset[j] + i;
        // disclosed positions keep 0 and are never used.
        let mut offsets = Vec::with_capacity(self.shown.len());
        let mut total = 0usize;
        for s in &self.shown {
            offsets.push(total);
            total += s.key.attribute_count();
        }
        let mut w: Zeroizing<Vec<Scalar>> = Zeroizing::new(Vec::with_capacity(total));
        for (j, s) in self.shown.iter().enumerate() {
            for i in 0..s.key.attribute_count() {
                w.push(if s.disclosed.contains(&i) {
                    Scalar::ZERO
                } else {
                    // j < MAX_TOKENS and i < 64: the index is j·256 + i.
                    *source.scalar(rng, "wi", (j * 256 + i) as u32)
                });
            }
        }
        // Equalities link attributes into classes (a union-find over the
        // flat index); every member of a class takes the nonce of the class
        // representative, so chained equalities share one `wi`.
        let mut parent: Vec<usize> = (0..total).collect();
        fn root(parent: &[usize], mut x: usize) -> usize {
            while parent[x] != x {
                x = parent[x];
            }
            x
        }
        for Equality(a, b) in &self.equalities {
            // validate() checked both are hidden positions of shown tokens.
            let fa = offsets[usize::from(a.0)] + usize::from(a.1);
            let fb = offsets[usize::from(b.0)] + usize::from(b.1);
            let (ra, rb) = (root(&parent, fa), root(&parent, fb));
            if ra != rb {
                parent[rb] = ra;
            }
        }
        for m in 0..total {
            let r = root(&parent, m);
            w[m] = w[r];
        }

        let mut w0s: Zeroizing<Vec<Scalar>> = Zeroizing::new(Vec::with_capacity(self.shown.len()));
        let mut token_commitments = Vec::with_capacity(self.shown.len());
        let mut token_proofs = Vec::with_capacity(self.shown.len());
        for (j, s) in self.shown.iter().enumerate() {
            let gens = s.key.generators();
            let n = s.key.attribute_count();
            let w0 = source.scalar(rng, "w0", j as u32);
            let mut scalars: Zeroizing<Vec<Scalar>> = Zeroizing::new(Vec::with_capacity(n + 2));
            scalars.push(*w0);
            scalars.push(*wd);
            let mut points = Vec::with_capacity(n + 2);
            points.push(*s.token.token.h);
            points.push(gd);
            for i in (0..n).filter(|i| !s.disclosed.contains(i)) {
                scalars.push(w[offsets[j] + i]);
                points.push(gens.attributes[i]);
            }
            // Secret scalars: constant-time multiscalar multiplication.
            token_commitments.push(RistrettoPoint::multiscalar_mul(scalars.iter(), &points));
            w0s.push(*w0);
            token_proofs.push(TokenProof {
                token: s.token.token.clone(),
                disclosed: s
                    .disclosed
                    .iter()
                    .map(|&i| Disclosed(i as u8, s.token.attributes[i].clone()))
                    .collect(),
                // Positions now (they enter the challenge), responses later.
                hidden: (0..n)
                    .filter(|i| !s.disclosed.contains(i))
                    .map(|i| Hidden(i as u8, Scalar::ZERO))
                    .collect(),
                r0: Scalar::ZERO,
            });
        }

        let pseudonym_proofs: Vec<PseudonymProof> = self
            .pseudonyms
            .iter()
            .map(|scope| PseudonymProof {
                scope: scope.clone(),
                pseudonym: scope.base() * self.holder.xd(),
            })
            .collect();
        let pseudonym_commitments: Vec<RistrettoPoint> =
            self.pseudonyms.iter().map(|s| s.base() * *wd).collect();

        let np = self.predicates.len();
        let mut predicate_proofs = Vec::with_capacity(np);
        let mut predicate_commitments = Vec::with_capacity(np);
        let mut bounds = Vec::with_capacity(np);
        let mut ts: Zeroizing<Vec<Scalar>> = Zeroizing::new(Vec::with_capacity(np));
        let mut wts: Zeroizing<Vec<Scalar>> = Zeroizing::new(Vec::with_capacity(np));
        for (k, (token, position, predicate)) in self.predicates.iter().enumerate() {
            let (token, position) = (*token, *position);
            let s = &self.shown[token];
            let value = &s.token.attributes[position];
            let err = |error| ProveError::Predicate {
                token,
                position,
                error,
            };
            let b = predicate.bounds(s.key.attributes[position]).map_err(err)?;
            let x = Zeroizing::new(match value.ordinal() {
                Some(x) => x,
                None if self.forging() => 0,
                None => return Err(err(PredicateError::False)),
            });
            let k = k as u32;
            let t = source.scalar(rng, "t", k);
            let wt = source.scalar(rng, "wt", k);
            // The Bulletproofs prover draws its own blinding factors: give
            // it an RNG seeded from a hedged nonce too.
            let mut proof_rng = source.rng(rng, "range-proof", k);
            let commitment = g() * Scalar::from(*x) + big_h * *t;
            let wi = w[offsets[token] + position];
            predicate_commitments.push(g() * wi + big_h * *wt);
            #[cfg(feature = "attack-vectors")]
            let range_proof = match self.forged_lower_bound {
                Some(lo) => crate::predicate::prove_range_unchecked(
                    &mut proof_rng,
                    &context_digest,
                    &commitment,
                    *x,
                    &t,
                    (lo, b.1),
                ),
                None => prove_range(&mut proof_rng, &context_digest, &commitment, *x, &t, b),
            }
            .map_err(err)?;
            #[cfg(not(feature = "attack-vectors"))]
            let range_proof = prove_range(&mut proof_rng, &context_digest, &commitment, *x, &t, b)
                .map_err(err)?;
            bounds.push(b);
            ts.push(*t);
            wts.push(*wt);
            predicate_proofs.push(PredicateProof {
                token: token as u8,
                position: position as u8,
                predicate: predicate.clone(),
                commitment,
                rt: Scalar::ZERO,
                range_proof,
            });
        }

        let mut presentation = Presentation {
            v: PRESENTATION_VERSION,
            c: Scalar::ZERO,
            rd: Scalar::ZERO,
            tokens: token_proofs,
            pseudonyms: pseudonym_proofs,
            equalities: self.equalities.clone(),
            predicates: predicate_proofs,
        };
        let c = challenge(
            &self.context,
            &presentation,
            &Commitments {
                token_commitments: &token_commitments,
                pseudonym_commitments: &pseudonym_commitments,
                predicate_commitments: &predicate_commitments,
            },
            &bounds,
        );

        presentation.c = c;
        presentation.rd = -c * self.holder.xd() + *wd;
        for (j, (proof, s)) in presentation.tokens.iter_mut().zip(&self.shown).enumerate() {
            proof.r0 = c * s.token.alpha_inv + w0s[j];
            for Hidden(i, r) in proof.hidden.iter_mut() {
                let i = usize::from(*i);
                *r = -c * s.token.attributes[i].encode() + w[offsets[j] + i];
            }
        }
        for (q, (t, wt)) in presentation
            .predicates
            .iter_mut()
            .zip(ts.iter().zip(wts.iter()))
        {
            q.rt = -c * t + wt;
        }
        Ok(presentation)
    }
}
