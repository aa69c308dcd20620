//! What an issuance request asks the issuer to issue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::RequestSchemeError;
use crate::encoding::AttributeValue;
use crate::ids::CredentialTypeId;
use crate::scheme::Scheme;

/// One credential an issuance request asks the issuer to issue: its type and
/// the attribute values by local attribute name, in text form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// The credential type to issue.
    pub credential: CredentialTypeId,
    /// Values by attribute name (`"city": "Utrecht"`); optional attributes
    /// may be left out (absent).
    pub attributes: BTreeMap<String, String>,
}

impl CredentialRequest {
    /// The values in the credential type's attribute order, parsed by kind;
    /// left-out optional attributes are [`AttributeValue::Absent`].
    pub fn attribute_values(
        &self,
        scheme: &Scheme,
    ) -> Result<Vec<AttributeValue>, RequestSchemeError> {
        let ct = scheme
            .credential_type(&self.credential)
            .ok_or_else(|| RequestSchemeError::UnknownCredentialType(self.credential.clone()))?;
        for name in self.attributes.keys() {
            if !ct.attributes.iter().any(|a| a.id.name() == name) {
                return Err(RequestSchemeError::UnknownIssuedAttribute(
                    self.credential.clone(),
                    name.clone(),
                ));
            }
        }
        ct.attributes
            .iter()
            .map(|a| match self.attributes.get(a.id.name()) {
                Some(text) => AttributeValue::parse(a.kind, text)
                    .map_err(|e| RequestSchemeError::BadValue(a.id.clone(), e.to_string())),
                None if a.optional => Ok(AttributeValue::Absent),
                None => Err(RequestSchemeError::MissingIssuedAttribute(a.id.clone())),
            })
            .collect()
    }
}
