//! Predicates a request asks for: a condition on a hidden attribute,
//! proven without disclosing it.

use serde::{Deserialize, Serialize};
use time::Date;

use super::error::{RequestError, RequestSchemeError};
use super::opt_date;
use crate::encoding::{AttributeKind, AttributeValue};
use crate::ids::AttributeId;
use crate::predicate::Predicate;
pub use crate::scheme::PredicateOperator;

/// What a predicate asserts of its attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// At least this value (text form, parsed by the attribute's kind).
    GreaterOrEqual(String),
    /// At most this value (text form, parsed by the attribute's kind).
    LessOrEqual(String),
    /// At least `years` old on date `on`. The verifier fixes `on` when it
    /// creates the session ([`SessionRequest::with_reference_date`]) so that
    /// wallet and verifier prove and check the same statement.
    AgeAtLeast {
        /// Minimum age in whole years.
        years: u8,
        /// The day on which the age is measured.
        on: Option<Date>,
    },
}

impl Condition {
    /// The operator of this condition.
    pub fn operator(&self) -> PredicateOperator {
        match self {
            Condition::GreaterOrEqual(_) => PredicateOperator::GreaterOrEqual,
            Condition::LessOrEqual(_) => PredicateOperator::LessOrEqual,
            Condition::AgeAtLeast { .. } => PredicateOperator::AgeAtLeast,
        }
    }
}

/// A predicate over a hidden attribute: proven without disclosing it.
///
/// JSON: `{"attribute": id, "operator": ">=" | "<=", "value": "bound"}` or
/// `{"attribute": id, "operator": "ageAtLeast", "years": 18, "on": "2026-11-25"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPredicate", into = "RawPredicate")]
pub struct PredicateRequest {
    /// The attribute the predicate is about.
    pub attribute: AttributeId,
    /// What is asserted.
    pub condition: Condition,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPredicate {
    attribute: AttributeId,
    operator: PredicateOperator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    years: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_date")]
    on: Option<Date>,
}

impl TryFrom<RawPredicate> for PredicateRequest {
    type Error = RequestError;
    fn try_from(raw: RawPredicate) -> Result<Self, RequestError> {
        let bad = |why: &'static str| RequestError::BadPredicate(raw.attribute.clone(), why);
        let condition = match raw.operator {
            PredicateOperator::GreaterOrEqual | PredicateOperator::LessOrEqual => {
                if raw.years.is_some() || raw.on.is_some() {
                    return Err(bad("\"years\" and \"on\" belong to ageAtLeast only"));
                }
                let value = raw.value.clone().ok_or_else(|| bad("needs a \"value\""))?;
                if raw.operator == PredicateOperator::GreaterOrEqual {
                    Condition::GreaterOrEqual(value)
                } else {
                    Condition::LessOrEqual(value)
                }
            }
            PredicateOperator::AgeAtLeast => {
                if raw.value.is_some() {
                    return Err(bad("ageAtLeast takes \"years\", not \"value\""));
                }
                let years = raw.years.ok_or_else(|| bad("ageAtLeast needs \"years\""))?;
                if years == 0 || years > 150 {
                    return Err(bad("\"years\" must be between 1 and 150"));
                }
                Condition::AgeAtLeast { years, on: raw.on }
            }
        };
        Ok(PredicateRequest {
            attribute: raw.attribute,
            condition,
        })
    }
}

impl From<PredicateRequest> for RawPredicate {
    fn from(p: PredicateRequest) -> Self {
        let operator = p.condition.operator();
        let (value, years, on) = match p.condition {
            Condition::GreaterOrEqual(v) | Condition::LessOrEqual(v) => (Some(v), None, None),
            Condition::AgeAtLeast { years, on } => (None, Some(years), on),
        };
        RawPredicate {
            attribute: p.attribute,
            operator,
            value,
            years,
            on,
        }
    }
}

impl PredicateRequest {
    /// The predicate statement the wallet proves and the verifier checks,
    /// for an attribute of `kind`.
    pub fn to_predicate(&self, kind: AttributeKind) -> Result<Predicate, RequestSchemeError> {
        let unfit = || RequestSchemeError::PredicateKind(self.attribute.clone(), kind);
        match &self.condition {
            Condition::GreaterOrEqual(text) | Condition::LessOrEqual(text) => {
                if !matches!(kind, AttributeKind::Integer | AttributeKind::Date) {
                    return Err(unfit());
                }
                let bound = AttributeValue::parse(kind, text).map_err(|e| {
                    RequestSchemeError::BadValue(self.attribute.clone(), e.to_string())
                })?;
                if bound == AttributeValue::Absent {
                    return Err(RequestSchemeError::BadValue(
                        self.attribute.clone(),
                        "a predicate bound cannot be empty".to_owned(),
                    ));
                }
                Ok(match self.condition {
                    Condition::GreaterOrEqual(_) => Predicate::GreaterOrEqual(bound),
                    _ => Predicate::LessOrEqual(bound),
                })
            }
            Condition::AgeAtLeast { years, on } => {
                if kind != AttributeKind::Date {
                    return Err(unfit());
                }
                let on =
                    on.ok_or_else(|| RequestSchemeError::NoReferenceDate(self.attribute.clone()))?;
                Ok(Predicate::AgeAtLeast { years: *years, on })
            }
        }
    }
}
