//! One requested attribute, and the conjunctions and disjunctions a
//! request's `disclose` is built of.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::encoding::{AttributeKind, AttributeValue};
use crate::ids::AttributeId;

/// One requested attribute, optionally with a value it must have.
///
/// JSON: a bare identifier, or `{"type": id, "value": "...", "notNull": true}`.
/// A bare identifier accepts a disclosed *absent* value (an optional
/// attribute the credential lacks: status `NULL` in the result); `notNull`
/// or a required value refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeRequest {
    /// The attribute asked for.
    pub attribute: AttributeId,
    /// The value it must have, in its text form, if any.
    pub value: Option<String>,
    /// Whether an absent value is refused (implied by `value`).
    pub not_null: bool,
}

impl AttributeRequest {
    /// Asks for `attribute`, any value (absent included).
    pub fn new(attribute: AttributeId) -> Self {
        AttributeRequest {
            attribute,
            value: None,
            not_null: false,
        }
    }

    /// Asks for `attribute` with exactly this value.
    pub fn with_value(attribute: AttributeId, value: impl Into<String>) -> Self {
        AttributeRequest {
            attribute,
            value: Some(value.into()),
            not_null: false,
        }
    }

    /// Asks for `attribute`, refusing an absent value.
    pub fn not_null(attribute: AttributeId) -> Self {
        AttributeRequest {
            attribute,
            value: None,
            not_null: true,
        }
    }

    /// Whether an absent value fails this request.
    pub fn requires_present(&self) -> bool {
        self.not_null || self.value.is_some()
    }

    /// Whether `disclosed` (a value of an attribute of `kind`) meets this
    /// request. A required value that does not parse as `kind` matches
    /// nothing ([`SessionRequest::check_against`] reports it earlier).
    pub fn accepts(&self, kind: AttributeKind, disclosed: &AttributeValue) -> bool {
        if matches!(disclosed, AttributeValue::Absent) {
            return !self.requires_present();
        }
        match &self.value {
            None => true,
            Some(text) => match AttributeValue::parse(kind, text) {
                Ok(required) => &required == disclosed,
                Err(_) => false,
            },
        }
    }
}

impl Serialize for AttributeRequest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One canonical form per meaning: the bare identifier when nothing
        // else is said; `notNull` only when no value (a value implies it).
        match (&self.value, self.not_null) {
            (None, false) => self.attribute.serialize(s),
            (Some(v), _) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", &self.attribute)?;
                m.serialize_entry("value", v)?;
                m.end()
            }
            (None, true) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", &self.attribute)?;
                m.serialize_entry("notNull", &true)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for AttributeRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A hand-written visitor instead of `#[serde(untagged)]`: untagged
        // enums report only "did not match any variant", which tells a
        // requestor nothing.
        d.deserialize_any(AttributeRequestVisitor)
    }
}

struct AttributeRequestVisitor;

impl<'de> de::Visitor<'de> for AttributeRequestVisitor {
    type Value = AttributeRequest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an attribute identifier \"scheme.issuer.credential.attribute\" \
             or an object {\"type\": identifier, \"value\": text, \"notNull\": bool}",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AttributeRequest, E> {
        let attribute = v.parse::<AttributeId>().map_err(E::custom)?;
        Ok(AttributeRequest::new(attribute))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<AttributeRequest, A::Error> {
        const FIELDS: &[&str] = &["type", "value", "notNull"];
        let mut attribute: Option<AttributeId> = None;
        let mut value: Option<Option<String>> = None;
        let mut not_null: Option<bool> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => {
                    if attribute.is_some() {
                        return Err(de::Error::duplicate_field("type"));
                    }
                    attribute = Some(map.next_value()?);
                }
                "value" => {
                    if value.is_some() {
                        return Err(de::Error::duplicate_field("value"));
                    }
                    value = Some(map.next_value()?);
                }
                "notNull" => {
                    if not_null.is_some() {
                        return Err(de::Error::duplicate_field("notNull"));
                    }
                    not_null = Some(map.next_value()?);
                }
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let attribute = attribute.ok_or_else(|| de::Error::missing_field("type"))?;
        let value = value.flatten();
        Ok(AttributeRequest {
            attribute,
            // Normalised: a required value already refuses absence.
            not_null: not_null.unwrap_or(false) && value.is_none(),
            value,
        })
    }
}

/// An inner conjunction: all of these, from one credential per type.
pub type Conjunction = Vec<AttributeRequest>;
/// A disjunction: one of these conjunctions (an empty one makes it optional).
pub type Disjunction = Vec<Conjunction>;
