//! Attribute values and their encoding to scalars.
//!
//! Each attribute position of a credential type has a kind, fixed in the
//! issuer's public key. The encoding `enc: value -> Zq` is injective per kind
//! and keeps an absent (optional, empty) attribute apart from every value:
//!
//! | kind    | domain                         | enc(value)                                  |
//! |---------|--------------------------------|---------------------------------------------|
//! | absent  | —                              | `0`                                         |
//! | string  | UTF-8, at most 4096 bytes      | `Hs("kenmerk/v1/attr/string", utf8)`        |
//! | integer | `-2^62 ..= 2^62`               | `v + 2^62 + 1`                              |
//! | date    | `1800-01-01 ..= 9999-12-31`    | days since 1800-01-01, plus 1               |
//! | boolean | false, true                    | `1`, `2`                                    |
//!
//! Integers and dates are small numbers `>= 1` (below `2^63 + 2`), which is
//! what predicates (range proofs with a lower bound of at least 1, Rule 7)
//! rely on: the absent value `0` can never satisfy a predicate.

use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use crate::group::{hash_to_scalar, label};

/// Longest string attribute, in bytes.
pub const MAX_STRING_BYTES: usize = 4096;
/// Smallest integer attribute value.
pub const MIN_INTEGER: i64 = -(1 << 62);
/// Largest integer attribute value.
pub const MAX_INTEGER: i64 = 1 << 62;

/// The kind of an attribute position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeKind {
    /// UTF-8 text.
    String,
    /// A signed integer.
    Integer,
    /// A calendar date (no time of day).
    Date,
    /// Yes or no.
    Boolean,
}

impl AttributeKind {
    /// Whether predicates (`>=`, `<=`, age) can be proven on this kind.
    pub fn is_ordered(self) -> bool {
        matches!(self, AttributeKind::Integer | AttributeKind::Date)
    }

    /// The kind's name as written in schemes.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeKind::String => "string",
            AttributeKind::Integer => "integer",
            AttributeKind::Date => "date",
            AttributeKind::Boolean => "boolean",
        }
    }
}

/// The value of one attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AttributeValue {
    /// An optional attribute without value.
    #[serde(rename = "a")]
    Absent,
    /// Text.
    #[serde(rename = "s")]
    String(String),
    /// An integer.
    #[serde(rename = "i")]
    Integer(i64),
    /// A date, written `YYYY-MM-DD`.
    #[serde(rename = "d", with = "iso_date")]
    Date(Date),
    /// A boolean.
    #[serde(rename = "b")]
    Boolean(bool),
}

/// Why a value cannot be an attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("a {expected} value was expected, not {found}")]
    WrongKind {
        expected: &'static str,
        found: &'static str,
    },
    #[error("text longer than {MAX_STRING_BYTES} bytes")]
    StringTooLong,
    #[error("integer outside -2^62..=2^62")]
    IntegerOutOfRange,
    #[error("date outside 1800-01-01..=9999-12-31")]
    DateOutOfRange,
    #[error("{0:?} is not a valid {1}")]
    Unparsable(String, &'static str),
}

fn epoch() -> Date {
    // 1800-01-01 is a valid date; the fallback is never taken.
    Date::from_calendar_date(1800, Month::January, 1).unwrap_or(Date::MIN)
}

fn last_date() -> Date {
    Date::from_calendar_date(9999, Month::December, 31).unwrap_or(Date::MAX)
}

impl AttributeValue {
    /// The kind of this value, `None` when absent.
    pub fn kind(&self) -> Option<AttributeKind> {
        match self {
            AttributeValue::Absent => None,
            AttributeValue::String(_) => Some(AttributeKind::String),
            AttributeValue::Integer(_) => Some(AttributeKind::Integer),
            AttributeValue::Date(_) => Some(AttributeKind::Date),
            AttributeValue::Boolean(_) => Some(AttributeKind::Boolean),
        }
    }

    fn kind_name(&self) -> &'static str {
        self.kind().map_or("absent", AttributeKind::as_str)
    }

    /// Checks that this value fits an attribute position of `kind`
    /// (absent fits every kind; optionality is the scheme's business).
    pub fn check(&self, kind: AttributeKind) -> Result<(), ValueError> {
        match (self, kind) {
            (AttributeValue::Absent, _) => Ok(()),
            (AttributeValue::String(s), AttributeKind::String) => {
                if s.len() > MAX_STRING_BYTES {
                    Err(ValueError::StringTooLong)
                } else {
                    Ok(())
                }
            }
            (AttributeValue::Integer(i), AttributeKind::Integer) => {
                if (MIN_INTEGER..=MAX_INTEGER).contains(i) {
                    Ok(())
                } else {
                    Err(ValueError::IntegerOutOfRange)
                }
            }
            (AttributeValue::Date(d), AttributeKind::Date) => {
                if *d >= epoch() && *d <= last_date() {
                    Ok(())
                } else {
                    Err(ValueError::DateOutOfRange)
                }
            }
            (AttributeValue::Boolean(_), AttributeKind::Boolean) => Ok(()),
            (v, k) => Err(ValueError::WrongKind {
                expected: k.as_str(),
                found: v.kind_name(),
            }),
        }
    }

    /// The small-integer encoding of an integer or date (`>= 1`), the
    /// quantity predicates compare. `None` for other kinds and out-of-range
    /// values.
    pub fn ordinal(&self) -> Option<u64> {
        match self {
            AttributeValue::Integer(i) if (MIN_INTEGER..=MAX_INTEGER).contains(i) => {
                Some((i128::from(*i) - i128::from(MIN_INTEGER) + 1) as u64)
            }
            AttributeValue::Date(d) if *d >= epoch() && *d <= last_date() => {
                Some((d.to_julian_day() - epoch().to_julian_day()) as u64 + 1)
            }
            _ => None,
        }
    }

    /// `enc(value)` as in the module table. Callers check the value against
    /// its kind first ([`AttributeValue::check`]); an out-of-range value
    /// encodes as absent and will not match any issued token.
    pub fn encode(&self) -> Scalar {
        match self {
            AttributeValue::Absent => Scalar::ZERO,
            AttributeValue::String(s) => hash_to_scalar(label::ATTR_STRING, &[s.as_bytes()]),
            AttributeValue::Integer(_) | AttributeValue::Date(_) => {
                self.ordinal().map_or(Scalar::ZERO, Scalar::from)
            }
            AttributeValue::Boolean(b) => Scalar::from(if *b { 2u64 } else { 1u64 }),
        }
    }

    /// Parses text as a value of `kind`; the empty string is absent.
    /// Integers in decimal, dates as `YYYY-MM-DD`, booleans as
    /// `true`/`false`/`ja`/`nee`/`yes`/`no`.
    pub fn parse(kind: AttributeKind, text: &str) -> Result<Self, ValueError> {
        if text.is_empty() {
            return Ok(AttributeValue::Absent);
        }
        let v = match kind {
            AttributeKind::String => AttributeValue::String(text.to_owned()),
            AttributeKind::Integer => AttributeValue::Integer(
                text.parse()
                    .map_err(|_| ValueError::Unparsable(text.to_owned(), "integer"))?,
            ),
            AttributeKind::Date => AttributeValue::Date(
                iso_date::parse(text)
                    .ok_or_else(|| ValueError::Unparsable(text.to_owned(), "date"))?,
            ),
            AttributeKind::Boolean => match text {
                "true" | "ja" | "yes" => AttributeValue::Boolean(true),
                "false" | "nee" | "no" => AttributeValue::Boolean(false),
                _ => return Err(ValueError::Unparsable(text.to_owned(), "boolean")),
            },
        };
        v.check(kind)?;
        Ok(v)
    }
}

impl std::fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttributeValue::Absent => Ok(()),
            AttributeValue::String(s) => f.write_str(s),
            AttributeValue::Integer(i) => write!(f, "{i}"),
            AttributeValue::Date(d) => f.write_str(&iso_date::format(*d)),
            AttributeValue::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// serde for a [`Date`] as the text `YYYY-MM-DD` (years 0000–9999 only).
pub mod iso_date {
    use super::*;

    /// Formats as `YYYY-MM-DD`.
    pub fn format(d: Date) -> String {
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// Parses exactly `YYYY-MM-DD` (no other forms, so the text is canonical).
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let y = i32::try_from(digits(0..4)?).ok()?;
        let m = Month::try_from(u8::try_from(digits(5..7)?).ok()?).ok()?;
        let d = u8::try_from(digits(8..10)?).ok()?;
        Date::from_calendar_date(y, m, d).ok()
    }

    /// Serializes as text.
    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    /// Deserializes from `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom("date must be YYYY-MM-DD"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
    }

    #[test]
    fn absent_is_zero_and_values_are_at_least_one() {
        assert_eq!(AttributeValue::Absent.encode(), Scalar::ZERO);
        assert_eq!(
            AttributeValue::Integer(MIN_INTEGER).encode(),
            Scalar::from(1u64)
        );
        assert_eq!(
            AttributeValue::Date(date(1800, 1, 1)).encode(),
            Scalar::from(1u64)
        );
        assert_eq!(AttributeValue::Boolean(false).encode(), Scalar::ONE);
    }

    #[test]
    fn range_checks() {
        assert_eq!(
            AttributeValue::Integer(MAX_INTEGER + 1).check(AttributeKind::Integer),
            Err(ValueError::IntegerOutOfRange)
        );
        assert_eq!(
            AttributeValue::Date(date(1799, 12, 31)).check(AttributeKind::Date),
            Err(ValueError::DateOutOfRange)
        );
        assert!(AttributeValue::String("x".into())
            .check(AttributeKind::Integer)
            .is_err());
        assert!(AttributeValue::Absent.check(AttributeKind::Date).is_ok());
    }

    #[test]
    fn parse_forms() {
        assert_eq!(
            AttributeValue::parse(AttributeKind::Date, "2000-02-29").unwrap(),
            AttributeValue::Date(date(2000, 2, 29))
        );
        assert!(AttributeValue::parse(AttributeKind::Date, "2001-02-29").is_err());
        assert!(AttributeValue::parse(AttributeKind::Date, "+2000-01-01").is_err());
        assert_eq!(
            AttributeValue::parse(AttributeKind::Integer, "").unwrap(),
            AttributeValue::Absent
        );
        assert!(AttributeValue::parse(AttributeKind::Boolean, "maybe").is_err());
    }

    proptest! {
        #[test]
        fn integer_encoding_is_order_preserving(a in MIN_INTEGER..=MAX_INTEGER, b in MIN_INTEGER..=MAX_INTEGER) {
            let (ea, eb) = (AttributeValue::Integer(a).ordinal().unwrap(), AttributeValue::Integer(b).ordinal().unwrap());
            prop_assert!(ea >= 1 && eb >= 1);
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
        }

        #[test]
        fn date_text_round_trips(days in 0i32..2_900_000) {
            let d = Date::from_julian_day(epoch().to_julian_day() + days % 2_998_000).unwrap();
            if d <= last_date() {
                prop_assert_eq!(iso_date::parse(&iso_date::format(d)), Some(d));
            }
        }
    }
}
