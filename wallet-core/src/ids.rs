//! Identifiers in IRMA's dotted form: `scheme.issuer.credential.attribute`.
//!
//! Identifiers are parsed once, at the edge, into newtypes; code never passes
//! bare strings around for them. Each part is 1–64 characters of
//! `[A-Za-z0-9_-]`, so the dotted form is unambiguous and safe to print.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("identifier {0:?} must have {1} dot-separated parts")]
    WrongPartCount(String, usize),
    #[error("identifier {0:?} has an empty, too long or invalid part (allowed: 1-64 of A-Z a-z 0-9 _ -)")]
    InvalidPart(String),
}

fn valid_part(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_parts(s: &str, n: usize) -> Result<(), IdError> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != n {
        return Err(IdError::WrongPartCount(s.to_owned(), n));
    }
    if !parts.iter().all(|p| valid_part(p)) {
        return Err(IdError::InvalidPart(s.to_owned()));
    }
    Ok(())
}

macro_rules! dotted_id {
    ($(#[$doc:meta])* $name:ident, $parts:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Number of dot-separated parts in this kind of identifier.
            pub const PARTS: usize = $parts;

            /// The dotted form.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The parts, in order.
            pub fn parts(&self) -> impl Iterator<Item = &str> {
                self.0.split('.')
            }

            /// The last part (the local name).
            pub fn name(&self) -> &str {
                self.0.rsplit('.').next().unwrap_or("")
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_parts(s, $parts)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                parse_parts(&s, $parts)?;
                Ok(Self(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::try_from(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

dotted_id!(
    /// A scheme (trust registry), e.g. `nl-gemeenten`.
    SchemeId, 1
);
dotted_id!(
    /// An issuer within a scheme, e.g. `nl-gemeenten.utrecht`.
    IssuerId, 2
);
dotted_id!(
    /// A credential type, e.g. `nl-gemeenten.utrecht.address`.
    CredentialTypeId, 3
);
dotted_id!(
    /// One attribute of a credential type, e.g. `nl-gemeenten.utrecht.address.city`.
    AttributeId, 4
);
dotted_id!(
    /// A registered verifier, e.g. `nl-gemeenten.parking-desk`.
    VerifierId, 2
);

impl IssuerId {
    /// The scheme this issuer belongs to.
    pub fn scheme(&self) -> SchemeId {
        SchemeId(self.0.split('.').next().unwrap_or("").to_owned())
    }
    /// A credential type of this issuer.
    pub fn credential(&self, name: &str) -> Result<CredentialTypeId, IdError> {
        format!("{}.{}", self.0, name).parse()
    }
}

impl CredentialTypeId {
    /// The issuer of this credential type.
    pub fn issuer(&self) -> IssuerId {
        let end = self.0.rfind('.').unwrap_or(0);
        IssuerId(self.0[..end].to_owned())
    }
    /// An attribute of this credential type.
    pub fn attribute(&self, name: &str) -> Result<AttributeId, IdError> {
        format!("{}.{}", self.0, name).parse()
    }
}

impl AttributeId {
    /// The credential type this attribute belongs to.
    pub fn credential_type(&self) -> CredentialTypeId {
        let end = self.0.rfind('.').unwrap_or(0);
        CredentialTypeId(self.0[..end].to_owned())
    }
}

impl VerifierId {
    /// The scheme this verifier is registered in.
    pub fn scheme(&self) -> SchemeId {
        SchemeId(self.0.split('.').next().unwrap_or("").to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_splits() {
        let a: AttributeId = "demo.utrecht.address.city".parse().unwrap();
        assert_eq!(a.name(), "city");
        assert_eq!(a.credential_type().as_str(), "demo.utrecht.address");
        assert_eq!(a.credential_type().issuer().as_str(), "demo.utrecht");
        assert_eq!(a.credential_type().issuer().scheme().as_str(), "demo");
    }

    #[test]
    fn rejects_bad_ids() {
        assert!("demo.utrecht".parse::<AttributeId>().is_err());
        assert!("demo..address.city".parse::<AttributeId>().is_err());
        assert!("demo.ut recht.address.city".parse::<AttributeId>().is_err());
        assert!("a.b.c.d.e".parse::<AttributeId>().is_err());
        assert!(serde_json::from_str::<CredentialTypeId>("\"x.y\"").is_err());
    }
}
