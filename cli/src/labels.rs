//! Names for the resident: labels of credentials, attributes, issuers and
//! verifiers in their language, from the pinned schemes; the dotted id (or
//! its last part) when no pinned scheme knows it.

use wallet_core::scheme::Scheme;

use crate::i18n::Lang;
use crate::scheme_store;
use crate::wallet::WalletContents;

/// The wallet's pinned schemes, decoded once for display.
pub struct Labels {
    lang: Lang,
    schemes: Vec<Scheme>,
}

impl Labels {
    /// Decode the pinned schemes (those whose signature still verifies).
    pub fn new(contents: &WalletContents, lang: Lang) -> Self {
        Self {
            lang,
            schemes: contents
                .schemes
                .iter()
                .filter_map(scheme_store::display_scheme)
                .collect(),
        }
    }

    fn lookup(&self, id: &str) -> Option<String> {
        let scheme_id = id.split('.').next()?;
        let scheme = self.schemes.iter().find(|s| s.id.as_str() == scheme_id)?;
        scheme_store::label_in(scheme, id, self.lang)
    }

    /// Label of a credential type, issuer or verifier; else the id.
    pub fn name(&self, id: &str) -> String {
        self.lookup(id).unwrap_or_else(|| id.to_owned())
    }

    /// Label of an attribute; else its local name.
    pub fn attribute(&self, id: &str) -> String {
        self.lookup(id)
            .unwrap_or_else(|| id.rsplit('.').next().unwrap_or(id).to_owned())
    }
}

/// Issuer id (`scheme.issuer`) of a credential type.
pub fn issuer_id(credential_type: &str) -> String {
    let mut parts = credential_type.splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some(s), Some(i)) => format!("{s}.{i}"),
        _ => credential_type.to_owned(),
    }
}
