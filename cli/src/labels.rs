//! Names for the resident: labels of credentials, attributes, issuers and
//! verifiers in their language, from the pinned scheme; the dotted id when
//! the scheme has no label (or is not pinned).

use crate::i18n::Lang;
use crate::wallet::WalletContents;

/// Label for a credential type (`scheme.issuer.credential`).
pub fn credential(contents: &WalletContents, id: &str, lang: Lang) -> String {
    scheme_label(contents, id, lang).unwrap_or_else(|| id.to_owned())
}

/// Label for an attribute (`scheme.issuer.credential.attribute`).
pub fn attribute(contents: &WalletContents, id: &str, lang: Lang) -> String {
    scheme_label(contents, id, lang).unwrap_or_else(|| {
        // Without a scheme, the local name reads better than the full id.
        id.rsplit('.').next().unwrap_or(id).to_owned()
    })
}

/// Issuer id (`scheme.issuer`) of a credential type.
pub fn issuer_id(credential_type: &str) -> String {
    let mut parts = credential_type.splitn(3, '.');
    match (parts.next(), parts.next()) {
        (Some(s), Some(i)) => format!("{s}.{i}"),
        _ => credential_type.to_owned(),
    }
}

/// Label for an issuer (`scheme.issuer`).
pub fn issuer(contents: &WalletContents, id: &str, lang: Lang) -> String {
    scheme_label(contents, id, lang).unwrap_or_else(|| id.to_owned())
}

/// Look a dotted id up in the pinned scheme it belongs to.
fn scheme_label(_contents: &WalletContents, _id: &str, _lang: Lang) -> Option<String> {
    // Filled in once wallet-core's scheme parser exists (issue 4).
    None
}
