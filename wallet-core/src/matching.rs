//! Matching a verified presentation against the session request: the result
//! a verifier returns to its requestor.
//!
//! [`presentation::verify`](crate::presentation::verify) says the proof is
//! sound; this module says whether it answers *the request*:
//!
//! - each disjunction of `disclose` is satisfied by one of its inner
//!   conjunctions, with the attributes of one credential type taken from one
//!   shown credential, required values equal and `notNull` respected;
//!   non-empty conjunctions are tried before an empty (optional) one;
//! - each requested predicate is proven on the right attribute (or that
//!   attribute was disclosed with a value that satisfies it);
//! - the requested pseudonym is present in the effective scope
//!   `"<verifier id>/<scope name>"`;
//! - for a signature, the message is the requested one.
//!
//! The result uses IRMA's names. `proofStatus`: `VALID`, `INVALID` (the
//! proof failed), `EXPIRED` (a token or key expired), `UNMATCHED_REQUEST`
//! (something shown contradicts the request: a required value differs, the
//! message differs), `MISSING_ATTRIBUTES` (something asked is not shown).
//! `disclosed` has one list per disjunction, in request order, each attribute
//! with status `PRESENT` or `NULL` (disclosed, but absent in the
//! credential); attributes shown beyond the request follow as one more
//! list with status `EXTRA`, so the requestor sees everything it received.

mod reason;

pub use reason::Reason;

use serde::{Deserialize, Serialize};

use crate::encoding::AttributeValue;
use crate::ids::{AttributeId, CredentialTypeId, VerifierId};
use crate::keys::MAX_ATTRIBUTES;
use crate::presentation::{
    self, ChallengeContext, Expected, Presentation, Shape, VerifiedPresentation, VerifyError,
    MAX_TOKENS,
};
use crate::pseudonym::Scope;
use crate::request::{
    AttributeRequest, Conjunction, PredicateRequest, SessionKind, SessionRequest,
};
use crate::scheme::{Scheme, VerifiedScheme};

/// Overall outcome, IRMA's `proofStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProofStatus {
    /// The proof is valid and answers the request.
    Valid,
    /// The proof is invalid.
    Invalid,
    /// A credential (token) or issuer key has expired.
    Expired,
    /// What was shown contradicts the request.
    UnmatchedRequest,
    /// Something requested was not shown.
    MissingAttributes,
}

impl ProofStatus {
    /// IRMA's name, as on the wire (`"VALID"`, `"UNMATCHED_REQUEST"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Invalid => "INVALID",
            Self::Expired => "EXPIRED",
            Self::UnmatchedRequest => "UNMATCHED_REQUEST",
            Self::MissingAttributes => "MISSING_ATTRIBUTES",
        }
    }
}

impl std::fmt::Display for ProofStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Status of one disclosed attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttributeStatus {
    /// Requested and disclosed with a value.
    Present,
    /// Requested and disclosed, but the credential has no value for it.
    Null,
    /// Disclosed without being requested.
    Extra,
}

/// One disclosed attribute in the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosedAttribute {
    /// The attribute.
    pub id: AttributeId,
    /// Its value as text; `null` when absent.
    #[serde(rename = "rawvalue")]
    pub raw_value: Option<String>,
    /// PRESENT, NULL or EXTRA.
    pub status: AttributeStatus,
    /// Expiry of the credential (token) it came from, Unix seconds.
    pub expiry: u64,
}

/// Status of a requested predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PredicateStatus {
    /// Proven (or the attribute was disclosed with a value satisfying it).
    Proven,
    /// Not shown.
    Missing,
}

/// The outcome of one requested predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredicateOutcome {
    /// The predicate as requested.
    pub predicate: PredicateRequest,
    /// PROVEN or MISSING.
    pub status: PredicateStatus,
}

/// The pseudonym shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PseudonymOutcome {
    /// Effective scope (`"<verifier id>/<scope name>"`).
    pub scope: Scope,
    /// The pseudonym, hex; equal for the same resident in the same scope.
    pub value: String,
}

/// What a verifier returns for a session (its `result` body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentationResult {
    /// Overall status.
    #[serde(rename = "proofStatus")]
    pub proof_status: ProofStatus,
    /// One list per disjunction, then one list of EXTRA attributes if any.
    pub disclosed: Vec<Vec<DisclosedAttribute>>,
    /// Per requested predicate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub predicates: Vec<PredicateOutcome>,
    /// The pseudonym, if requested and shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<PseudonymOutcome>,
    /// The signed message (signatures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The verifier's timestamp (signatures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// Why the status is not VALID, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PresentationResult {
    /// The result for a presentation that failed verification: `EXPIRED`
    /// for an expired token or key, `INVALID` otherwise.
    pub fn from_verify_error(error: &VerifyError) -> Self {
        let proof_status = match error {
            VerifyError::Expired { .. } | VerifyError::KeyNotValid { .. } => ProofStatus::Expired,
            _ => ProofStatus::Invalid,
        };
        PresentationResult {
            proof_status,
            disclosed: Vec::new(),
            predicates: Vec::new(),
            pseudonym: None,
            message: None,
            timestamp: None,
            error: Some(error.to_string()),
        }
    }

    /// Whether the status is VALID.
    pub fn is_valid(&self) -> bool {
        self.proof_status == ProofStatus::Valid
    }

    /// Compact JSON (what the verifier daemon returns).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The value of a requested (PRESENT) attribute, if disclosed.
    pub fn value_of(&self, id: &AttributeId) -> Option<&str> {
        self.disclosed
            .iter()
            .flatten()
            .find(|a| &a.id == id && a.status == AttributeStatus::Present)
            .and_then(|a| a.raw_value.as_deref())
    }
}

/// One disclosed value of the presentation, flattened.
struct Shown<'a> {
    credential: usize,
    credential_type: &'a CredentialTypeId,
    attribute: AttributeId,
    value: &'a AttributeValue,
    expiry: u64,
    used: bool,
}

/// How well one conjunction is met.
enum ConjunctionMatch {
    /// Met: indices into the shown list, in conjunction order.
    Met(Vec<usize>),
    /// Every attribute was shown but some value is wrong or absent.
    WrongValue(AttributeId),
    /// Some attribute was not shown (or not from one credential): why.
    Missing(String),
}

fn match_conjunction(
    conjunction: &Conjunction,
    shown: &[Shown<'_>],
    scheme: &Scheme,
) -> ConjunctionMatch {
    // Group the requests by credential type: one shown credential per type.
    let mut types: Vec<CredentialTypeId> = Vec::new();
    for a in conjunction {
        let ct = a.attribute.credential_type();
        if !types.contains(&ct) {
            types.push(ct);
        }
    }
    let mut picked: Vec<(usize, usize)> = Vec::new(); // (request index, shown index)
    let mut wrong: Option<AttributeId> = None;
    for ct in &types {
        let requests: Vec<(usize, &AttributeRequest)> = conjunction
            .iter()
            .enumerate()
            .filter(|(_, a)| &a.attribute.credential_type() == ct)
            .collect();
        let mut credentials: Vec<usize> = shown
            .iter()
            .filter(|s| s.credential_type == ct)
            .map(|s| s.credential)
            .collect();
        credentials.dedup();
        let mut found = None;
        for credential in credentials {
            let mut fill = Vec::new();
            for (ri, a) in &requests {
                let Some(si) = shown
                    .iter()
                    .position(|s| s.credential == credential && s.attribute == a.attribute)
                else {
                    break;
                };
                let kind = scheme.attribute(&a.attribute).map(|f| f.attribute.kind);
                let accepted = kind.is_some_and(|k| a.accepts(k, shown[si].value));
                if !accepted {
                    wrong.get_or_insert_with(|| a.attribute.clone());
                    break;
                }
                fill.push((*ri, si));
            }
            if fill.len() == requests.len() {
                found = Some(fill);
                break;
            }
        }
        match found {
            Some(fill) => picked.extend(fill),
            None => {
                return match wrong {
                    Some(a) => ConjunctionMatch::WrongValue(a),
                    None => ConjunctionMatch::Missing(
                        requests
                            .iter()
                            .map(|(_, a)| &a.attribute)
                            .find(|id| !shown.iter().any(|s| &s.attribute == *id))
                            .map_or_else(
                                || {
                                    format!(
                                        "the attributes of {ct} do not come from one credential"
                                    )
                                },
                                |id| format!("{id} was not disclosed"),
                            ),
                    ),
                }
            }
        }
    }
    picked.sort_by_key(|(ri, _)| *ri);
    ConjunctionMatch::Met(picked.into_iter().map(|(_, si)| si).collect())
}

fn raw(value: &AttributeValue) -> Option<String> {
    match value {
        AttributeValue::Absent => None,
        v => Some(v.to_string()),
    }
}

/// Matches a verified presentation against `request` made by `verifier`.
///
/// The presentation's context was already bound to the request digest by
/// [`presentation::verify`]; this checks the *content*.
pub fn match_presentation(
    verified: &VerifiedPresentation,
    request: &SessionRequest,
    scheme: &Scheme,
    verifier: &VerifierId,
) -> PresentationResult {
    let mut shown: Vec<Shown<'_>> = Vec::new();
    let mut unknown: Option<String> = None;
    for (ci, c) in verified.credentials.iter().enumerate() {
        for (position, value) in &c.disclosed {
            match scheme.attribute_at(&c.credential_type, *position) {
                Some(def) => shown.push(Shown {
                    credential: ci,
                    credential_type: &c.credential_type,
                    attribute: def.id.clone(),
                    value,
                    expiry: c.expiry,
                    used: false,
                }),
                None => {
                    unknown.get_or_insert_with(|| {
                        format!(
                            "{} position {position} is not in the scheme",
                            c.credential_type
                        )
                    });
                }
            }
        }
    }

    let mut status = if unknown.is_some() {
        ProofStatus::Invalid
    } else {
        ProofStatus::Valid
    };
    let mut error: Option<String> = unknown;
    let mut fail = |s: ProofStatus, why: String, status: &mut ProofStatus| {
        // UNMATCHED_REQUEST outranks MISSING_ATTRIBUTES: something shown is wrong.
        let rank = |s: ProofStatus| match s {
            ProofStatus::Valid => 0,
            ProofStatus::MissingAttributes => 1,
            ProofStatus::UnmatchedRequest => 2,
            _ => 3,
        };
        if rank(s) > rank(*status) {
            *status = s;
            error = Some(why);
        } else if error.is_none() {
            error = Some(why);
        }
    };

    let mut disclosed = Vec::with_capacity(request.disclose().len() + 1);
    for (di, disjunction) in request.disclose().iter().enumerate() {
        let optional = disjunction.iter().any(Vec::is_empty);
        let mut met = None;
        let mut first_problem: Option<(ProofStatus, String)> = None;
        for conjunction in disjunction.iter().filter(|c| !c.is_empty()) {
            match match_conjunction(conjunction, &shown, scheme) {
                ConjunctionMatch::Met(indices) => {
                    met = Some(indices);
                    break;
                }
                ConjunctionMatch::WrongValue(a) => {
                    if !matches!(first_problem, Some((ProofStatus::UnmatchedRequest, _))) {
                        first_problem = Some((
                            ProofStatus::UnmatchedRequest,
                            format!("disclose[{di}]: {a} does not have the required value"),
                        ));
                    }
                }
                ConjunctionMatch::Missing(why) => {
                    first_problem.get_or_insert((
                        ProofStatus::MissingAttributes,
                        format!("disclose[{di}]: {why}"),
                    ));
                }
            }
        }
        let mut list = Vec::new();
        match met {
            Some(indices) => {
                for si in indices {
                    let s = &mut shown[si];
                    s.used = true;
                    list.push(DisclosedAttribute {
                        id: s.attribute.clone(),
                        raw_value: raw(s.value),
                        status: if matches!(s.value, AttributeValue::Absent) {
                            AttributeStatus::Null
                        } else {
                            AttributeStatus::Present
                        },
                        expiry: s.expiry,
                    });
                }
            }
            None if optional => {}
            None => {
                let (s, why) = first_problem.unwrap_or((
                    ProofStatus::MissingAttributes,
                    format!("disclose[{di}] is not satisfied"),
                ));
                fail(s, why, &mut status);
            }
        }
        disclosed.push(list);
    }
    let extra: Vec<DisclosedAttribute> = shown
        .iter()
        .filter(|s| !s.used)
        .map(|s| DisclosedAttribute {
            id: s.attribute.clone(),
            raw_value: raw(s.value),
            status: AttributeStatus::Extra,
            expiry: s.expiry,
        })
        .collect();
    if !extra.is_empty() {
        disclosed.push(extra);
    }

    let mut predicates = Vec::with_capacity(request.predicates().len());
    for p in request.predicates() {
        let proven = scheme.attribute(&p.attribute).is_some_and(|found| {
            let Ok(expected) = p.to_predicate(found.attribute.kind) else {
                return false;
            };
            let ct = &found.credential.id;
            let by_proof = verified.predicates.iter().any(|v| {
                v.position == found.position
                    && v.predicate == expected
                    && verified
                        .credentials
                        .get(v.credential)
                        .is_some_and(|c| &c.credential_type == ct)
            });
            // A disclosed value that satisfies the predicate answers it too
            // (the verifier learns more than asked, never less).
            let by_value = shown
                .iter()
                .any(|s| s.attribute == p.attribute && expected.holds_for(s.value));
            by_proof || by_value
        });
        if !proven {
            fail(
                ProofStatus::MissingAttributes,
                format!(
                    "predicate {} on {} was not proven",
                    p.condition.operator(),
                    p.attribute
                ),
                &mut status,
            );
        }
        predicates.push(PredicateOutcome {
            predicate: p.clone(),
            status: if proven {
                PredicateStatus::Proven
            } else {
                PredicateStatus::Missing
            },
        });
    }

    let mut pseudonym = None;
    if let Some(scope) = request.pseudonym_scope(verifier) {
        match verified.pseudonyms.iter().find(|(s, _)| *s == scope) {
            Some((s, ps)) => {
                pseudonym = Some(PseudonymOutcome {
                    scope: s.clone(),
                    value: ps.to_hex(),
                })
            }
            None => fail(
                ProofStatus::MissingAttributes,
                format!("no pseudonym in scope {scope}"),
                &mut status,
            ),
        }
    }

    let context = &verified.context;
    let mut message = None;
    let mut timestamp = None;
    if request.kind() == SessionKind::Signing {
        if context.message.as_deref() != request.message() {
            fail(
                ProofStatus::UnmatchedRequest,
                "the signed message is not the requested one".to_owned(),
                &mut status,
            );
        }
        message = context.message.clone();
        timestamp = context.timestamp;
    }
    if context.verifier != verifier.as_str() || context.request_digest != request.request_digest() {
        fail(
            ProofStatus::UnmatchedRequest,
            "the presentation answers another verifier or request".to_owned(),
            &mut status,
        );
    }

    PresentationResult {
        proof_status: status,
        disclosed,
        predicates,
        pseudonym,
        message,
        timestamp,
        error: if status == ProofStatus::Valid {
            None
        } else {
            error
        },
    }
}

/// The counts a request allows (Rule 11, `docs/protocol.md` §10.6). Here
/// rather than in `presentation/shape.rs` so that `presentation` does not
/// import `request` (which imports `presentation`).
impl Expected {
    /// What an honest wallet can send for `request`: per disjunction the
    /// widest conjunction's number of credential types (one credential per
    /// type per conjunction; the wallet merges repeats, so this is an upper
    /// bound), plus one per predicate (each may come from its own
    /// credential), at least one token if a pseudonym is asked, at most
    /// [`MAX_TOKENS`]; one pseudonym if asked; no equalities (a request
    /// cannot ask for one); the requested predicates.
    pub fn for_request(request: &SessionRequest) -> Self {
        let disclosed: usize = request
            .disclose()
            .iter()
            .map(|disjunction| {
                disjunction
                    .iter()
                    .map(|conjunction| {
                        let mut types: Vec<CredentialTypeId> = Vec::new();
                        for a in conjunction {
                            let ct = a.attribute.credential_type();
                            if !types.contains(&ct) {
                                types.push(ct);
                            }
                        }
                        types.len()
                    })
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        let pseudonyms = usize::from(request.pseudonym().is_some());
        let tokens = (disclosed + request.predicates().len())
            .max(pseudonyms)
            .min(MAX_TOKENS);
        Expected::at_most(Shape {
            tokens,
            pseudonyms,
            equalities: 0,
            predicates: request.predicates().len(),
            attributes: MAX_ATTRIBUTES,
        })
    }
}

/// Verifies `presentation` for `context` with the keys of `scheme` at `now`
/// and matches it against `request`: the verifier's whole decision, as a
/// pure function.
pub fn evaluate(
    presentation: &Presentation,
    context: &ChallengeContext,
    request: &SessionRequest,
    scheme: &VerifiedScheme,
    verifier: &VerifierId,
    now: u64,
) -> PresentationResult {
    let expected = Expected::for_request(request);
    match presentation::verify(presentation, &expected, context, scheme, now) {
        Ok(verified) => match_presentation(&verified, request, scheme, verifier),
        Err(e) => PresentationResult::from_verify_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_irmas() {
        let names: Vec<String> = [
            ProofStatus::Valid,
            ProofStatus::Invalid,
            ProofStatus::Expired,
            ProofStatus::UnmatchedRequest,
            ProofStatus::MissingAttributes,
        ]
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"VALID\"",
                "\"INVALID\"",
                "\"EXPIRED\"",
                "\"UNMATCHED_REQUEST\"",
                "\"MISSING_ATTRIBUTES\""
            ]
        );
        assert_eq!(
            serde_json::to_string(&AttributeStatus::Null).unwrap(),
            "\"NULL\""
        );
    }

    #[test]
    fn verify_errors_map_to_invalid_or_expired() {
        let expired = PresentationResult::from_verify_error(&VerifyError::Expired { token: 0 });
        assert_eq!(expired.proof_status, ProofStatus::Expired);
        let rotated = PresentationResult::from_verify_error(&VerifyError::KeyNotValid { token: 1 });
        assert_eq!(rotated.proof_status, ProofStatus::Expired);
        let bad = PresentationResult::from_verify_error(&VerifyError::Challenge);
        assert_eq!(bad.proof_status, ProofStatus::Invalid);
        assert!(bad.disclosed.is_empty());
        let json = bad.to_json();
        assert!(json.contains("\"proofStatus\":\"INVALID\""));
        assert!(json.contains("another context"));
        assert!(!bad.is_valid());
    }
}
