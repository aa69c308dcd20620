//! The verifier's side: checking a presentation (version 2).
//!
//! Checks, in order (each failure has its own [`VerifyError`]): the number
//! of tokens, pseudonyms, equalities and predicates against what was asked
//! ([`Expected`], Rule 11, before any group operation); per token the issuer
//! key (known, valid now), the token information (matches the key, not
//! expired), no identity `h`, `sz'`, the partition of positions (Rule 5)
//! and the kinds of disclosed values; the scopes; the equalities; the
//! predicate targets, statements and presence-proof fields. Only then the
//! group: `c` is recomputed from everything (Rule 6) and every equation
//! (per token (T1), (T2), (P_j); per pseudonym; per predicate; per presence
//! proof) is checked in ONE multi-scalar multiplication with random weights
//! ([`crate::msm`]); finally the range proof. All data is public here, so
//! variable-time arithmetic is used.

use curve25519_dalek::scalar::Scalar;

use super::range::{self, Form, Statement};
use super::shape::{Expected, Shape, Unrequested};
use super::{
    challenge, ChallengeContext, Disclosed, Equality, Hidden, IssuerKeys, Presentation, MAX_TOKENS,
};
use crate::cbor::WirePoint;
use crate::encoding::AttributeValue;
use crate::ids::CredentialTypeId;
use crate::keys::{IssuerPublicKey, KeyId};
use crate::msm::{Base, Equation, Equations};
use crate::predicate::{Predicate, PredicateError};
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
    #[error("predicate {0}: the presence proof (n, na, nb) is missing or incomplete for an at-most form, or present for an at-least form")]
    Presence(usize),
    #[error(
        "the proof equations do not hold: the proof is invalid or was made for another context"
    )]
    Challenge,
    #[error("the range proof: {0}")]
    RangeProof(PredicateError),
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
    let prepared = prepare(presentation, expected, context, keys, now)?;
    if !prepared.equations.is_identity() {
        return Err(prepared.diagnose(presentation));
    }
    prepared.finish(presentation)
}

/// A presentation that passed every check but the group equations and the
/// range proof: its equations, ready for one multiplication (alone or in a
/// batch).
pub(crate) struct Prepared<'k> {
    pub(crate) equations: Equations,
    keys: Vec<&'k IssuerPublicKey>,
    range: Vec<(WirePoint, Statement)>,
    context_digest: [u8; 64],
    result: VerifiedPresentation,
}

impl Prepared<'_> {
    /// After the equations held: the range proof (§10.5 steps 17–18).
    pub(crate) fn finish(self, p: &Presentation) -> Result<VerifiedPresentation, VerifyError> {
        range::verify(&self.context_digest, &self.range, &p.range_proof)
            .map_err(VerifyError::RangeProof)?;
        Ok(self.result)
    }

    /// After the equations failed: a token whose own equations (T1), (T2)
    /// fail is named (`TokenCheck`, as a lone token check would say),
    /// otherwise the presentation's proof is wrong (`Challenge`).
    pub(crate) fn diagnose(&self, p: &Presentation) -> VerifyError {
        for (token, (t, key)) in p.tokens.iter().zip(&self.keys).enumerate() {
            if let Err(error) = t.token.check_with_key_id(key) {
                return VerifyError::TokenCheck { token, error };
            }
        }
        VerifyError::Challenge
    }
}

/// Every check of §10.5 except the group equations and the range proof,
/// in order; then `c` and the weighted equations.
pub(crate) fn prepare<'k, K: IssuerKeys + ?Sized>(
    p: &Presentation,
    expected: &Expected,
    context: &ChallengeContext,
    keys: &'k K,
    now: u64,
) -> Result<Prepared<'k>, VerifyError> {
    // Rule 11: refuse what was not asked before any group operation.
    expected.check(&Shape::of(p))?;
    if p.tokens.is_empty() || p.tokens.len() > MAX_TOKENS {
        return Err(VerifyError::TokenCount);
    }
    let mut used_keys: Vec<&IssuerPublicKey> = Vec::with_capacity(p.tokens.len());
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
        {
            use curve25519_dalek::traits::IsIdentity;
            if t.token.h.is_identity() || t.token.sz.is_identity() {
                return Err(VerifyError::TokenCheck {
                    token,
                    error: TokenCheckError::Identity,
                });
            }
        }
        let n = key.attribute_count();
        if !check_partition(&t.disclosed, &t.hidden, n) {
            return Err(VerifyError::Partition { token });
        }
        for Disclosed(i, v) in &t.disclosed {
            let position = usize::from(*i);
            v.check(key.attributes[position])
                .map_err(|_| VerifyError::DisclosedKind { token, position })?;
        }
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

    for (index, ps) in p.pseudonyms.iter().enumerate() {
        if ps.scope.0.is_empty() || ps.scope.0.len() > MAX_SCOPE_BYTES {
            return Err(VerifyError::Scope(index));
        }
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

    // Statements from the scheme's kind; the presence proof exactly for
    // the at-most forms.
    let mut statements = Vec::with_capacity(p.predicates.len());
    let mut responses = Vec::with_capacity(p.predicates.len());
    for (index, q) in p.predicates.iter().enumerate() {
        let (token, position) = (usize::from(q.token), usize::from(q.position));
        let ri = hidden_response(p, token, position).ok_or(VerifyError::PredicateTarget(index))?;
        let kind = used_keys[token].attributes[position];
        let statement = range::statement(&q.predicate, kind)
            .map_err(|error| VerifyError::Predicate { index, error })?;
        let fields = (
            q.presence.is_some(),
            q.presence_a.is_some(),
            q.presence_b.is_some(),
        );
        let wanted = matches!(statement.form, Form::AtMost(_));
        if fields != (wanted, wanted, wanted) {
            return Err(VerifyError::Presence(index));
        }
        statements.push(statement);
        responses.push(ri);
    }

    let context_digest = context.digest();
    let c = challenge(&context_digest, p, &statements);
    let equations = equations(p, &used_keys, &c, &responses);

    Ok(Prepared {
        equations,
        keys: used_keys,
        range: p
            .predicates
            .iter()
            .zip(&statements)
            .map(|(q, s)| (q.commitment, *s))
            .collect(),
        context_digest,
        result: VerifiedPresentation {
            credentials,
            pseudonyms: p
                .pseudonyms
                .iter()
                .map(|ps| (ps.scope.clone(), Pseudonym(*ps.pseudonym.point())))
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
        },
    })
}

/// Every group equation of `p` with its weight (§10.5), given `c` and each
/// predicate's hidden response. Equations that share a dynamic point (`h`
/// in (T2) and (P_j), `C` in a predicate's and its presence equation) are
/// written as one term with the weighted sum of their scalars.
fn equations(
    p: &Presentation,
    keys: &[&IssuerPublicKey],
    c: &Scalar,
    predicate_responses: &[Scalar],
) -> Equations {
    let mut acc = Equations::new();
    let one = Scalar::ONE;
    for (t, key) in p.tokens.iter().zip(keys) {
        let slot = acc.key(&key.table());
        let token = &t.token;
        let sc = token.challenge();
        // (T1)  g^sr' · g0^-sc' · sa'^-1 == 1
        let w1 = acc.weight();
        let mut e = Equation::with_capacity(3);
        e.term(token.sr, Base::G)
            .term(-sc, slot.g0())
            .term(-one, Base::Point(*token.sa));
        acc.add(&e, &w1);
        // (T2)  h^sr' · sz'^-sc' · sb'^-1 == 1, weight w2, and
        // (P_j) g0^-c · gt^(-c·xt) · Π_D g_(i+1)^(-c·x_i) · h^r0
        //       · Π_U g_(i+1)^r_i · gd^rd · a_j^-1 == 1, weight w3.
        let (w2, w3) = (acc.weight(), acc.weight());
        let mut e = Equation::with_capacity(8 + t.disclosed.len() + t.hidden.len());
        e.term(w2 * token.sr + w3 * t.r0, Base::Point(*token.h))
            .term(-(w2 * sc), Base::Point(*token.sz))
            .term(-w2, Base::Point(*token.sb))
            .term(-(w3 * c), slot.g0())
            .term(-(w3 * c * token.ti.encode()), slot.gt())
            .term(w3 * p.rd, Base::Gd)
            .term(-w3, Base::Point(*t.commitment));
        for Disclosed(i, v) in &t.disclosed {
            e.term(-(w3 * c * v.encode()), slot.attribute(usize::from(*i)));
        }
        for Hidden(i, r) in &t.hidden {
            e.term(w3 * r, slot.attribute(usize::from(*i)));
        }
        acc.add(&e, &one);
    }
    // As == Ps^c · Bs^rd
    for ps in &p.pseudonyms {
        let w = acc.weight();
        let mut e = Equation::with_capacity(3);
        e.term(*c, Base::Point(*ps.pseudonym))
            .term(p.rd, Base::Point(ps.scope.base()))
            .term(-one, Base::Point(*ps.commitment));
        acc.add(&e, &w);
    }
    // AC == C^c · g^r_i · H^rt, weight w; for the at-most forms also the
    // presence equation N == C^sa · H^sb · g^c, weight v.
    for (q, ri) in p.predicates.iter().zip(predicate_responses) {
        let w = acc.weight();
        let mut e = Equation::with_capacity(6);
        let mut on_c = w * c;
        let mut on_g = w * ri;
        let mut on_h = w * q.rt;
        if let (Some(n), Some(sa), Some(sb)) = (&q.presence, &q.presence_a, &q.presence_b) {
            let v = acc.weight();
            on_c += v * sa;
            on_h += v * sb;
            on_g += v * c;
            e.term(-v, Base::Point(**n));
        }
        e.term(on_c, Base::Point(*q.commitment))
            .term(on_g, Base::G)
            .term(on_h, Base::H)
            .term(-w, Base::Point(*q.commitment_nonce));
        acc.add(&e, &one);
    }
    acc
}
