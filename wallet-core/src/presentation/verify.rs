//! The verifier's side: checking a presentation.
//!
//! Checks, in order (each failure has its own [`VerifyError`]): the number
//! of tokens, pseudonyms, equalities and predicates against what was asked
//! ([`Expected`], Rule 11, before any group operation); per token the issuer key (known, valid now), the token
//! information (matches the key, not expired), the token check (Rule 1), the
//! partition of positions (Rule 5) and the kinds of disclosed values; the
//! equalities; the predicate statements; the challenge `c` over everything
//! (Rule 6); finally the range proofs. All data is public here, so
//! variable-time arithmetic is used.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;

use super::shape::{Expected, Shape, Unrequested};
use super::{
    challenge, ChallengeContext, Commitments, Disclosed, Equality, Hidden, IssuerKeys,
    Presentation, MAX_TOKENS,
};
use crate::encoding::AttributeValue;
use crate::group::{blinding_generator, g, holder_generator};
use crate::ids::CredentialTypeId;
use crate::keys::{IssuerPublicKey, KeyId};
use crate::predicate::{verify_range, Predicate, PredicateError};
use crate::pseudonym::{Pseudonym, Scope, MAX_SCOPE_BYTES};
use crate::token::TokenCheckError;

/// Which check a presentation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Unrequested(#[from] Unrequested),
    #[error("a presentation must show 1 to {MAX_TOKENS} tokens")]
    TokenCount,
    #[error("token {token}: unknown issuer key {key_id}")]
    UnknownKey { token: usize, key_id: KeyId },
    #[error(
        "token {token}: the issuer key is not valid at this time (rotated out or not yet valid)"
    )]
    KeyNotValid { token: usize },
    #[error("token {token}: token information does not match the issuer key")]
    TokenInfo { token: usize },
    #[error("token {token}: expired")]
    Expired { token: usize },
    #[error("token {token}: {error}")]
    TokenCheck {
        token: usize,
        error: TokenCheckError,
    },
    #[error("token {token}: disclosed and hidden positions do not partition the attributes")]
    Partition { token: usize },
    #[error("token {token}, position {position}: disclosed value has the wrong kind")]
    DisclosedKind { token: usize, position: usize },
    #[error("equality {0} names an attribute that is not hidden, or the values differ")]
    Equality(usize),
    #[error("pseudonym {0}: empty or too long scope")]
    Scope(usize),
    #[error("predicate {index}: {error}")]
    Predicate { index: usize, error: PredicateError },
    #[error("predicate {0} names an attribute that is not hidden")]
    PredicateTarget(usize),
    #[error("the challenge does not match: the proof is invalid or was made for another context")]
    Challenge,
}

/// One shown credential, as verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCredential {
    /// Credential type.
    pub credential_type: CredentialTypeId,
    /// The issuer key that signed the token.
    pub key_id: KeyId,
    /// Its counter.
    pub key_counter: u32,
    /// Token expiry, Unix seconds.
    pub expiry: u64,
    /// Disclosed attributes by position.
    pub disclosed: Vec<(usize, AttributeValue)>,
}

/// A proven predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPredicate {
    /// Index into [`VerifiedPresentation::credentials`].
    pub credential: usize,
    /// Attribute position.
    pub position: usize,
    /// The statement that holds.
    pub predicate: Predicate,
}

/// A presentation that passed every check. Only [`verify`] makes one
/// (`non_exhaustive`: no other crate can construct it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedPresentation {
    /// Shown credentials, in presentation order (all of one holder).
    pub credentials: Vec<VerifiedCredential>,
    /// Pseudonyms by scope.
    pub pseudonyms: Vec<(Scope, Pseudonym)>,
    /// Proven equalities of hidden attributes: ((credential, position), (credential, position)).
    pub equalities: Vec<((usize, usize), (usize, usize))>,
    /// Proven predicates.
    pub predicates: Vec<VerifiedPredicate>,
    /// The context it answered.
    pub context: ChallengeContext,
}

fn hidden_response(p: &Presentation, token: usize, position: usize) -> Option<Scalar> {
    p.tokens.get(token).and_then(|t| {
        t.hidden
            .iter()
            .find(|Hidden(i, _)| usize::from(*i) == position)
            .map(|Hidden(_, r)| *r)
    })
}

/// Positions must be strictly ascending within each list, and together be
/// exactly `0..n` (Rule 5).
fn check_partition(disclosed: &[Disclosed], hidden: &[Hidden], n: usize) -> bool {
    let d: Vec<usize> = disclosed
        .iter()
        .map(|Disclosed(i, _)| usize::from(*i))
        .collect();
    let u: Vec<usize> = hidden.iter().map(|Hidden(i, _)| usize::from(*i)).collect();
    let ascending = |v: &[usize]| v.windows(2).all(|w| w[0] < w[1]);
    if !ascending(&d) || !ascending(&u) || d.len() + u.len() != n {
        return false;
    }
    let mut all: Vec<usize> = d.iter().chain(&u).copied().collect();
    all.sort_unstable();
    all.iter().enumerate().all(|(k, &i)| k == i)
}

/// Verifies `presentation`, which may carry no more than `expected`
/// allows, for `context` at time `now` (Unix seconds), with issuer keys
/// from `keys` (the pinned scheme).
///
/// For bytes from the network, check the counts before decoding with
/// [`Expected::decode`]: decoding decompresses points, which is work too.
pub fn verify<K: IssuerKeys + ?Sized>(
    presentation: &Presentation,
    expected: &Expected,
    context: &ChallengeContext,
    keys: &K,
    now: u64,
) -> Result<VerifiedPresentation, VerifyError> {
    let p = presentation;
    // Rule 11: refuse what was not asked before any group operation.
    expected.check(&Shape::of(p))?;
    if p.tokens.is_empty() || p.tokens.len() > MAX_TOKENS {
        return Err(VerifyError::TokenCount);
    }
    let gd = holder_generator();
    let mut used_keys: Vec<&IssuerPublicKey> = Vec::with_capacity(p.tokens.len());
    let mut token_commitments = Vec::with_capacity(p.tokens.len());
    let mut credentials = Vec::with_capacity(p.tokens.len());
    for (token, t) in p.tokens.iter().enumerate() {
        let key = keys
            .issuer_key(&t.token.key_id)
            .ok_or(VerifyError::UnknownKey {
                token,
                key_id: t.token.key_id,
            })?;
        if !key.is_valid_at(now) {
            return Err(VerifyError::KeyNotValid { token });
        }
        t.token
            .ti
            .check_key(key)
            .map_err(|_| VerifyError::TokenInfo { token })?;
        if t.token.ti.expiry <= now {
            return Err(VerifyError::Expired { token });
        }
        t.token
            .check_with_key_id(key)
            .map_err(|error| VerifyError::TokenCheck { token, error })?;
        let n = key.attribute_count();
        if !check_partition(&t.disclosed, &t.hidden, n) {
            return Err(VerifyError::Partition { token });
        }
        for Disclosed(i, v) in &t.disclosed {
            let position = usize::from(*i);
            v.check(key.attributes[position])
                .map_err(|_| VerifyError::DisclosedKind { token, position })?;
        }

        // a_j = K^-c · h^r0 · Π_U gi^ri · gd^rd, with K = g0 · gt^xt · Π_D gi^xi.
        let gens = key.generators();
        let mut scalars = vec![-p.c, -p.c * t.token.ti.encode(), t.r0, p.rd];
        let mut points = vec![key.g0, gens.gt, *t.token.h, gd];
        for Disclosed(i, v) in &t.disclosed {
            scalars.push(-p.c * v.encode());
            points.push(gens.attributes[usize::from(*i)]);
        }
        for Hidden(i, r) in &t.hidden {
            scalars.push(*r);
            points.push(gens.attributes[usize::from(*i)]);
        }
        token_commitments.push(RistrettoPoint::vartime_multiscalar_mul(&scalars, &points));
        used_keys.push(key);
        credentials.push(VerifiedCredential {
            credential_type: t.token.ti.credential_type.clone(),
            key_id: t.token.key_id,
            key_counter: t.token.ti.key_counter,
            expiry: t.token.ti.expiry,
            disclosed: t
                .disclosed
                .iter()
                .map(|Disclosed(i, v)| (usize::from(*i), v.clone()))
                .collect(),
        });
    }

    // As = Ps^c · Bs^rd.
    let mut pseudonym_commitments = Vec::with_capacity(p.pseudonyms.len());
    for (index, ps) in p.pseudonyms.iter().enumerate() {
        if ps.scope.0.is_empty() || ps.scope.0.len() > MAX_SCOPE_BYTES {
            return Err(VerifyError::Scope(index));
        }
        pseudonym_commitments.push(RistrettoPoint::vartime_multiscalar_mul(
            [p.c, p.rd],
            [ps.pseudonym, ps.scope.base()],
        ));
    }

    // Equal hidden attributes share their response.
    for (index, Equality(a, b)) in p.equalities.iter().enumerate() {
        let ra = hidden_response(p, usize::from(a.0), usize::from(a.1));
        let rb = hidden_response(p, usize::from(b.0), usize::from(b.1));
        match (ra, rb) {
            (Some(ra), Some(rb)) if ra == rb && a != b => {}
            _ => return Err(VerifyError::Equality(index)),
        }
    }

    // AC = C^c · g^ri · H^rt, statement bounds from the scheme's kind.
    let big_h = blinding_generator();
    let mut predicate_commitments = Vec::with_capacity(p.predicates.len());
    let mut bounds = Vec::with_capacity(p.predicates.len());
    for (index, q) in p.predicates.iter().enumerate() {
        let (token, position) = (usize::from(q.token), usize::from(q.position));
        let ri = hidden_response(p, token, position).ok_or(VerifyError::PredicateTarget(index))?;
        let kind = used_keys[token].attributes[position];
        let b = q
            .predicate
            .bounds(kind)
            .map_err(|error| VerifyError::Predicate { index, error })?;
        bounds.push(b);
        predicate_commitments.push(RistrettoPoint::vartime_multiscalar_mul(
            [p.c, ri, q.rt],
            [q.commitment, g(), big_h],
        ));
    }

    let expected = challenge(
        context,
        p,
        &Commitments {
            token_commitments: &token_commitments,
            pseudonym_commitments: &pseudonym_commitments,
            predicate_commitments: &predicate_commitments,
        },
        &bounds,
    );
    if expected != p.c {
        return Err(VerifyError::Challenge);
    }

    let context_digest = context.digest();
    for (index, (q, b)) in p.predicates.iter().zip(&bounds).enumerate() {
        verify_range(&context_digest, &q.commitment, *b, &q.range_proof)
            .map_err(|error| VerifyError::Predicate { index, error })?;
    }

    Ok(VerifiedPresentation {
        credentials,
        pseudonyms: p
            .pseudonyms
            .iter()
            .map(|ps| (ps.scope.clone(), Pseudonym(ps.pseudonym)))
            .collect(),
        equalities: p
            .equalities
            .iter()
            .map(|Equality(a, b)| {
                (
                    (usize::from(a.0), usize::from(a.1)),
                    (usize::from(b.0), usize::from(b.1)),
                )
            })
            .collect(),
        predicates: p
            .predicates
            .iter()
            .map(|q| VerifiedPredicate {
                credential: usize::from(q.token),
                position: usize::from(q.position),
                predicate: q.predicate.clone(),
            })
            .collect(),
        context: context.clone(),
    })
}
