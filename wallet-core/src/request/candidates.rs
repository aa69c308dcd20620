//! Wallet side: which held credentials satisfy a request, and the
//! resident's choice turned into a disclosure plan.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::{CryptoRng, RngCore};
use serde::Serialize;

use super::attribute::Conjunction;
use super::error::RequestSchemeError;
use super::predicate::PredicateRequest;
use super::{AttributeRequest, SessionRequest, MAX_CANDIDATE_OPTIONS};
use crate::encoding::AttributeKind;
use crate::encoding::AttributeValue;
use crate::holder::HolderSecret;
use crate::ids::{AttributeId, CredentialTypeId, VerifierId};
use crate::predicate::Predicate;
use crate::presentation::{
    ChallengeContext, IssuerKeys, Presentation, PresentationBuilder, ProveError,
};
use crate::pseudonym::Scope;
use crate::scheme::{Scheme, Translated};
use crate::token::CredentialToken;

/// A credential the wallet holds, as far as matching needs it: its type and
/// its attribute values in the credential type's order.
#[derive(Debug, Clone, Copy)]
pub struct HeldCredential<'a> {
    /// The credential type.
    pub credential_type: &'a CredentialTypeId,
    /// The values, in the scheme's attribute order.
    pub values: &'a [AttributeValue],
}

/// One attribute a candidate option would disclose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateAttribute {
    /// The attribute.
    pub attribute: AttributeId,
    /// Index of the held credential (into the slice given to [`Candidates::compute`]).
    pub credential: usize,
    /// Position of the attribute in its credential type (0-based).
    pub position: usize,
    /// The value that would be disclosed.
    pub value: AttributeValue,
}

/// One way to satisfy a disjunction: an inner conjunction, filled from
/// specific held credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateOption {
    /// Index of the inner conjunction in the request's disjunction.
    pub conjunction: usize,
    /// What would be disclosed (empty: the "share nothing" option of an
    /// optional disjunction).
    pub attributes: Vec<CandidateAttribute>,
}

/// The choices for one disjunction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisjunctionCandidates {
    /// The requestor's label for this disjunction, if any.
    pub label: Option<Translated>,
    /// Whether the disjunction may be left out (it has an empty conjunction).
    pub optional: bool,
    /// The ways the wallet can satisfy it; empty means it cannot.
    pub options: Vec<CandidateOption>,
}

/// The choices for one predicate: which held credentials could prove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PredicateCandidates {
    /// The requested predicate.
    pub request: PredicateRequest,
    /// The statement to prove.
    pub predicate: Predicate,
    /// Position of the attribute in its credential type.
    pub position: usize,
    /// Held credentials whose value satisfies it (indices).
    pub credentials: Vec<usize>,
}

/// Everything the resident can choose for a request, from the credentials
/// the wallet holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Candidates {
    /// Per disjunction, in request order.
    pub disjunctions: Vec<DisjunctionCandidates>,
    /// Per predicate, in request order.
    pub predicates: Vec<PredicateCandidates>,
    /// The effective pseudonym scope, if asked.
    pub pseudonym_scope: Option<Scope>,
}

/// The resident's choice: an option index per disjunction and a held
/// credential index per predicate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Choice {
    /// Index into [`DisjunctionCandidates::options`], per disjunction.
    pub options: Vec<usize>,
    /// Index into [`PredicateCandidates::credentials`], per predicate.
    pub predicates: Vec<usize>,
}

/// What the wallet must prove for one held credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedCredential {
    /// Index of the held credential.
    pub credential: usize,
    /// Attribute positions to disclose (0-based, ascending, unique).
    pub disclose: Vec<usize>,
    /// Predicates to prove on hidden attributes: (position, statement).
    pub predicates: Vec<(usize, Predicate)>,
}

/// The plan for a presentation: which credentials, which positions, which
/// predicates, which pseudonym scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisclosurePlan {
    /// Per credential used, in ascending held index.
    pub credentials: Vec<PlannedCredential>,
    /// The effective pseudonym scope, if asked.
    pub pseudonym_scope: Option<Scope>,
}

/// Why the wallet cannot answer a request, or a choice is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the request does not fit the scheme: {0}")]
    Scheme(#[from] RequestSchemeError),
    #[error("no credential in the wallet satisfies disclose[{0}]")]
    Unsatisfiable(usize),
    #[error("no credential in the wallet can prove the predicate on {0}")]
    PredicateUnsatisfiable(AttributeId),
    #[error("the choice has {found} entries for {expected} {what}")]
    WrongChoiceLength {
        what: &'static str,
        found: usize,
        expected: usize,
    },
    #[error("choice {choice} is out of range for {what} {index}")]
    ChoiceOutOfRange {
        what: &'static str,
        index: usize,
        choice: usize,
    },
}

impl Candidates {
    /// Lists, for `request` by `verifier`, every way the `held`
    /// credentials can satisfy each disjunction and predicate.
    ///
    /// Attributes of one credential type within one conjunction come from
    /// one credential (see the module docs); a conjunction spanning several
    /// types yields one option per combination, at most
    /// [`MAX_CANDIDATE_OPTIONS`] per disjunction.
    pub fn compute(
        request: &SessionRequest,
        scheme: &Scheme,
        verifier: &VerifierId,
        held: &[HeldCredential<'_>],
    ) -> Result<Self, PlanError> {
        let mut disjunctions = Vec::with_capacity(request.disclose().len());
        for (index, disjunction) in request.disclose().iter().enumerate() {
            let mut options = Vec::new();
            let mut optional = false;
            for (ci, conjunction) in disjunction.iter().enumerate() {
                if conjunction.is_empty() {
                    optional = true;
                }
                for attributes in conjunction_options(conjunction, scheme, held)? {
                    if options.len() >= MAX_CANDIDATE_OPTIONS {
                        break;
                    }
                    options.push(CandidateOption {
                        conjunction: ci,
                        attributes,
                    });
                }
            }
            // Offer "share nothing" last, so that a wallet defaulting to the
            // first option shares what was asked, and the resident opts out.
            options.sort_by_key(|o| o.attributes.is_empty());
            let label = u32::try_from(index)
                .ok()
                .and_then(|i| request.labels().get(&i))
                .cloned();
            disjunctions.push(DisjunctionCandidates {
                label,
                optional,
                options,
            });
        }

        let mut predicates = Vec::with_capacity(request.predicates().len());
        for p in request.predicates() {
            let found = scheme
                .attribute(&p.attribute)
                .ok_or_else(|| RequestSchemeError::UnknownAttribute(p.attribute.clone()))?;
            let predicate = p.to_predicate(found.attribute.kind)?;
            let ct = p.attribute.credential_type();
            let credentials = held
                .iter()
                .enumerate()
                .filter(|(_, h)| *h.credential_type == ct)
                .filter(|(_, h)| {
                    h.values
                        .get(found.position)
                        .is_some_and(|v| predicate.holds_for(v))
                })
                .map(|(i, _)| i)
                .collect();
            predicates.push(PredicateCandidates {
                request: p.clone(),
                predicate,
                position: found.position,
                credentials,
            });
        }

        Ok(Candidates {
            disjunctions,
            predicates,
            pseudonym_scope: request.pseudonym_scope(verifier),
        })
    }

    /// Whether every disjunction and predicate can be satisfied.
    pub fn satisfiable(&self) -> bool {
        self.first_unsatisfiable().is_none()
    }

    /// The first part the wallet cannot satisfy, as an error.
    pub fn first_unsatisfiable(&self) -> Option<PlanError> {
        if let Some(i) = self.disjunctions.iter().position(|d| d.options.is_empty()) {
            return Some(PlanError::Unsatisfiable(i));
        }
        self.predicates
            .iter()
            .find(|p| p.credentials.is_empty())
            .map(|p| PlanError::PredicateUnsatisfiable(p.request.attribute.clone()))
    }

    /// The default choice: the first option of every disjunction (for an
    /// optional one that is a real option when the wallet has one) and the
    /// first credential for every predicate.
    pub fn default_choice(&self) -> Choice {
        Choice {
            options: vec![0; self.disjunctions.len()],
            predicates: vec![0; self.predicates.len()],
        }
    }

    /// Turns the resident's choice into a disclosure plan.
    pub fn plan(&self, choice: &Choice) -> Result<DisclosurePlan, PlanError> {
        if let Some(e) = self.first_unsatisfiable() {
            return Err(e);
        }
        if choice.options.len() != self.disjunctions.len() {
            return Err(PlanError::WrongChoiceLength {
                what: "disjunctions",
                found: choice.options.len(),
                expected: self.disjunctions.len(),
            });
        }
        if choice.predicates.len() != self.predicates.len() {
            return Err(PlanError::WrongChoiceLength {
                what: "predicates",
                found: choice.predicates.len(),
                expected: self.predicates.len(),
            });
        }
        let mut per_credential: BTreeMap<usize, PlanEntry> = BTreeMap::new();
        for (index, (d, &pick)) in self.disjunctions.iter().zip(&choice.options).enumerate() {
            let option = d.options.get(pick).ok_or(PlanError::ChoiceOutOfRange {
                what: "disjunction",
                index,
                choice: pick,
            })?;
            for a in &option.attributes {
                per_credential
                    .entry(a.credential)
                    .or_default()
                    .0
                    .insert(a.position);
            }
        }
        for (index, (p, &pick)) in self.predicates.iter().zip(&choice.predicates).enumerate() {
            let credential = *p.credentials.get(pick).ok_or(PlanError::ChoiceOutOfRange {
                what: "predicate",
                index,
                choice: pick,
            })?;
            per_credential
                .entry(credential)
                .or_default()
                .1
                .push((p.position, p.predicate.clone()));
        }
        Ok(DisclosurePlan {
            credentials: per_credential
                .into_iter()
                .map(|(credential, (disclose, predicates))| PlannedCredential {
                    credential,
                    // A predicate on an attribute that is disclosed anyway is
                    // answered by the value (and cannot be proven on a
                    // disclosed position).
                    predicates: predicates
                        .into_iter()
                        .filter(|(position, _)| !disclose.contains(position))
                        .collect(),
                    disclose: disclose.into_iter().collect(),
                })
                .collect(),
            pseudonym_scope: self.pseudonym_scope.clone(),
        })
    }
}

/// Why a plan could not be turned into a presentation.
#[derive(Debug, thiserror::Error)]
pub enum PlanProveError {
    #[error("the plan names held credential {0}, which was not given")]
    MissingCredential(usize),
    #[error("the issuer key of held credential {0} is not in the scheme")]
    UnknownKey(usize),
    #[error(transparent)]
    Prove(#[from] ProveError),
}

impl DisclosurePlan {
    /// Proves this plan for `context`: `held` are the wallet's tokens in
    /// the order given to [`Candidates::compute`] (one unused token per
    /// credential), `keys` the pinned scheme's issuer keys.
    pub fn prove<R: RngCore + CryptoRng, K: IssuerKeys + ?Sized>(
        &self,
        rng: &mut R,
        holder: &HolderSecret,
        context: ChallengeContext,
        held: &[&CredentialToken],
        keys: &K,
    ) -> Result<Presentation, PlanProveError> {
        let mut builder = PresentationBuilder::new(holder, context);
        for planned in &self.credentials {
            let token = *held
                .get(planned.credential)
                .ok_or(PlanProveError::MissingCredential(planned.credential))?;
            let key = keys
                .issuer_key(&token.token().key_id)
                .ok_or(PlanProveError::UnknownKey(planned.credential))?;
            let index = builder.token(token, key, &planned.disclose);
            for (position, predicate) in &planned.predicates {
                builder.predicate(index, *position, predicate.clone());
            }
        }
        if let Some(scope) = &self.pseudonym_scope {
            builder.pseudonym(scope.clone());
        }
        Ok(builder.prove(rng)?)
    }
}

/// Positions to disclose and predicates to prove, for one credential.
type PlanEntry = (BTreeSet<usize>, Vec<(usize, Predicate)>);

/// An attribute request with its position and kind in the scheme.
type RequestAt<'a> = (&'a AttributeRequest, usize, AttributeKind);

/// The ways `held` credentials fill one conjunction: for each credential
/// type in it, every held credential of that type that meets all of that
/// type's attribute requests; then every combination across types.
fn conjunction_options(
    conjunction: &Conjunction,
    scheme: &Scheme,
    held: &[HeldCredential<'_>],
) -> Result<Vec<Vec<CandidateAttribute>>, PlanError> {
    // Group the requests by credential type, keeping request order.
    let mut groups: Vec<(CredentialTypeId, Vec<RequestAt<'_>>)> = Vec::new();
    for a in conjunction {
        let found = scheme
            .attribute(&a.attribute)
            .ok_or_else(|| RequestSchemeError::UnknownAttribute(a.attribute.clone()))?;
        let ct = a.attribute.credential_type();
        let entry = (a, found.position, found.attribute.kind);
        match groups.iter_mut().find(|(t, _)| *t == ct) {
            Some((_, list)) => list.push(entry),
            None => groups.push((ct, vec![entry])),
        }
    }
    let mut combos: Vec<Vec<CandidateAttribute>> = vec![Vec::new()];
    for (ct, requests) in &groups {
        let mut fills: Vec<Vec<CandidateAttribute>> = Vec::new();
        for (hi, h) in held.iter().enumerate() {
            if h.credential_type != ct {
                continue;
            }
            let fill: Option<Vec<CandidateAttribute>> = requests
                .iter()
                .map(|(a, position, kind)| {
                    let value = h.values.get(*position)?;
                    a.accepts(*kind, value).then(|| CandidateAttribute {
                        attribute: a.attribute.clone(),
                        credential: hi,
                        position: *position,
                        value: value.clone(),
                    })
                })
                .collect();
            if let Some(fill) = fill {
                fills.push(fill);
            }
        }
        let mut next = Vec::new();
        'outer: for combo in &combos {
            for fill in &fills {
                if next.len() >= MAX_CANDIDATE_OPTIONS {
                    break 'outer;
                }
                let mut c = combo.clone();
                c.extend(fill.iter().cloned());
                next.push(c);
            }
        }
        combos = next;
        if combos.is_empty() {
            break;
        }
    }
    // Present attributes in the order the request named them.
    for combo in &mut combos {
        combo.sort_by_key(|c| {
            conjunction
                .iter()
                .position(|a| a.attribute == c.attribute)
                .unwrap_or(usize::MAX)
        });
    }
    Ok(combos)
}
