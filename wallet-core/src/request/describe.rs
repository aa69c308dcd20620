//! What a request asks, for people: the scheme's labels (Dutch and
//! English) arranged as the request arranges them (alternatives, optional
//! parts, required values, predicates, the pseudonym, the message).
//!
//! Everything here is language-independent: the words that join the parts
//! ("or", "optional", "age at least") belong to each front end (the CLI's
//! consent texts, the verifier's session page), which render a
//! [`RequestDescription`] in their own style. What is asked, and under which
//! label, is decided once, here.

use super::attribute::AttributeRequest;
use super::predicate::Condition;
use super::session::SessionRequest;
use crate::ids::{AttributeId, VerifierId};
use crate::pseudonym::Scope;
use crate::scheme::{Scheme, Translated};

/// The label of an attribute from the scheme, or its id when the scheme does
/// not define it (a request is checked against the scheme before it is
/// shown, so that is a fallback, never the normal case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeLabel<'a> {
    id: &'a AttributeId,
    /// The attribute's label and its credential type's name.
    found: Option<(&'a Translated, &'a Translated)>,
}

impl<'a> AttributeLabel<'a> {
    /// The label of `id` in `scheme`.
    pub fn of(scheme: &'a Scheme, id: &'a AttributeId) -> Self {
        Self {
            id,
            found: scheme
                .attribute(id)
                .map(|f| (&f.attribute.label, &f.credential.name)),
        }
    }

    /// The attribute.
    pub fn id(&self) -> &'a AttributeId {
        self.id
    }

    /// The attribute's label in `language` (`"nl"` or `"en"`), or its id.
    pub fn attribute(&self, language: &str) -> String {
        match self.found {
            Some((label, _)) => label.get(language).to_owned(),
            None => self.id.to_string(),
        }
    }

    /// The label with its credential type, `"City (Address)"`, or the id.
    pub fn with_credential(&self, language: &str) -> String {
        match self.found {
            Some((label, credential)) => {
                format!("{} ({})", label.get(language), credential.get(language))
            }
            None => self.id.to_string(),
        }
    }
}

/// One attribute asked, with the value it must have, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedAttribute<'a> {
    /// Its label.
    pub label: AttributeLabel<'a>,
    /// The required value (text form), if the request names one.
    pub required_value: Option<&'a str>,
}

/// One disjunction: the resident gives one of `options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedDisjunction<'a> {
    /// The requestor's label for it, if any.
    pub label: Option<&'a Translated>,
    /// The non-empty alternatives, each a conjunction of attributes.
    pub options: Vec<Vec<DescribedAttribute<'a>>>,
    /// Whether giving nothing is an alternative too (an empty conjunction).
    pub optional: bool,
}

/// One predicate asked: a condition on a hidden attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedPredicate<'a> {
    /// The attribute's label.
    pub label: AttributeLabel<'a>,
    /// The condition proven.
    pub condition: &'a Condition,
}

/// Everything a request asks, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDescription<'a> {
    /// The message to sign (signing sessions).
    pub message: Option<&'a str>,
    /// One entry per disjunction of `disclose`.
    pub disjunctions: Vec<DescribedDisjunction<'a>>,
    /// The predicates.
    pub predicates: Vec<DescribedPredicate<'a>>,
    /// The effective pseudonym scope, bound to the verifier.
    pub pseudonym: Option<Scope>,
}

impl SessionRequest {
    /// What this request asks of a resident, with `scheme`'s labels, for
    /// `verifier` (whose id binds the pseudonym scope).
    pub fn describe<'a>(
        &'a self,
        scheme: &'a Scheme,
        verifier: &VerifierId,
    ) -> RequestDescription<'a> {
        let attribute = |a: &'a AttributeRequest| DescribedAttribute {
            label: AttributeLabel::of(scheme, &a.attribute),
            required_value: a.value.as_deref(),
        };
        let disjunctions = self
            .disclose()
            .iter()
            .enumerate()
            .map(|(i, disjunction)| DescribedDisjunction {
                label: u32::try_from(i).ok().and_then(|i| self.labels().get(&i)),
                options: disjunction
                    .iter()
                    .filter(|c| !c.is_empty())
                    .map(|c| c.iter().map(attribute).collect())
                    .collect(),
                optional: disjunction.iter().any(Vec::is_empty),
            })
            .collect();
        let predicates = self
            .predicates()
            .iter()
            .map(|p| DescribedPredicate {
                label: AttributeLabel::of(scheme, &p.attribute),
                condition: &p.condition,
            })
            .collect();
        RequestDescription {
            message: self.message(),
            disjunctions,
            predicates,
            pseudonym: self.pseudonym_scope(verifier),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::demo::{parking_request, poll_request};
    use crate::scheme::demo::{generate_demo_scheme, verifier_ids};
    use rand_core::OsRng;

    #[test]
    fn parking_request_in_words() {
        let demo = generate_demo_scheme(&mut OsRng, 1_790_000_000).unwrap();
        let scheme = demo
            .signed
            .verify(&demo.signing_key.public_key(), None, 1_790_000_000)
            .unwrap();
        let (parking, poll) = verifier_ids().unwrap();
        let today = time::macros::date!(2026 - 11 - 25);
        let request = parking_request(today).unwrap();
        let d = request.describe(&scheme, &parking);
        assert_eq!(d.disjunctions.len(), 2);
        assert!(!d.disjunctions[0].optional);
        let first: Vec<String> = d.disjunctions[0].options[0]
            .iter()
            .map(|a| a.label.attribute("en"))
            .collect();
        assert_eq!(first.len(), 2);
        assert_ne!(first[0], "demo.utrecht.address.city", "a label, not the id");
        assert!(d.disjunctions[0].options[0][0]
            .label
            .with_credential("nl")
            .ends_with(')'));
        assert_eq!(d.predicates.len(), 1);
        assert!(matches!(
            d.predicates[0].condition,
            Condition::AgeAtLeast { years: 18, .. }
        ));
        assert_eq!(d.pseudonym, None);
        assert_eq!(d.message, None);

        let q = poll_request("Utrecht", "2026-parks").unwrap();
        let d = q.describe(&scheme, &poll);
        assert_eq!(
            d.disjunctions[0].options[0][0].required_value,
            Some("Utrecht")
        );
        assert_eq!(
            d.pseudonym.map(|s| s.to_string()),
            Some("demo.poll/2026-parks".to_owned())
        );
    }

    #[test]
    fn unknown_attribute_falls_back_to_its_id() {
        let demo = generate_demo_scheme(&mut OsRng, 1_790_000_000).unwrap();
        let id: AttributeId = "demo.nowhere.thing.x".parse().unwrap();
        let scheme = demo
            .signed
            .verify(&demo.signing_key.public_key(), None, 1_790_000_000)
            .unwrap();
        let label = AttributeLabel::of(&scheme, &id);
        assert_eq!(label.attribute("nl"), "demo.nowhere.thing.x");
        assert_eq!(label.with_credential("en"), "demo.nowhere.thing.x");
    }
}
