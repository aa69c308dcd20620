//! Pinned schemes: the wallet's trust roots.
//!
//! The first `kenmerk scheme add` pins the scheme's Ed25519 key (trust on
//! first use, or checked against a fingerprint obtained out of band). Every
//! later update must be signed by that same key and must not lower the
//! document version; both refusals are errors, never silent replacements.
//! The signed document is stored as received and re-verified (signature,
//! consistency, expiry) each time it is used, so a tampered wallet file or
//! an expired scheme is noticed.

use wallet_core::ids::{AttributeId, CredentialTypeId, IssuerId, VerifierId};
use wallet_core::scheme::{
    PublishedKeyError, Scheme, SchemeParseError, SchemePublicKey, SchemeVerifyError, SignedScheme,
    VerifiedScheme,
};

use crate::i18n::Lang;
use crate::wallet::{PinnedScheme, WalletContents};

/// Why a scheme could not be pinned or used.
#[derive(Debug, thiserror::Error)]
pub enum SchemeStoreError {
    #[error("the scheme document is neither signed-scheme CBOR nor JSON: {0}")]
    Format(String),
    #[error(transparent)]
    Parse(#[from] SchemeParseError),
    #[error("the scheme key is not 32 bytes of hex")]
    KeyFormat,
    #[error("the scheme key's fingerprint {actual} differs from the expected {expected}")]
    FingerprintMismatch { expected: String, actual: String },
    #[error(
        "scheme {scheme} is pinned to another key (fingerprint {pinned}); this one has {offered}"
    )]
    OtherKey {
        scheme: String,
        pinned: String,
        offered: String,
    },
    #[error(transparent)]
    Verify(#[from] SchemeVerifyError),
    #[error("scheme {0} is not pinned in this wallet")]
    NotPinned(String),
    #[error("the stored scheme {0} no longer verifies: {1}")]
    Stored(String, SchemeVerifyError),
}

/// What `pin` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinOutcome {
    /// First pin of this scheme.
    Pinned,
    /// A newer version replaced the stored one.
    Updated {
        /// The version before.
        from: u64,
    },
    /// The same version again; nothing changed.
    Unchanged,
}

impl From<PublishedKeyError> for SchemeStoreError {
    fn from(_: PublishedKeyError) -> Self {
        SchemeStoreError::KeyFormat
    }
}

/// Normalise a fingerprint typed by a person: hex digits only, lower case.
pub fn normalise_fingerprint(f: &str) -> String {
    f.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Pin or update a scheme in the wallet.
///
/// `key` is the scheme key offered with the document; `expected_fingerprint`
/// is what the resident got out of band (required to match when given).
pub fn pin(
    contents: &mut WalletContents,
    signed: &SignedScheme,
    key: &SchemePublicKey,
    expected_fingerprint: Option<&str>,
    source: &str,
    now: i64,
) -> Result<(VerifiedScheme, PinOutcome), SchemeStoreError> {
    let offered_fp = key.fingerprint();
    if let Some(expected) = expected_fingerprint {
        if normalise_fingerprint(expected) != normalise_fingerprint(&offered_fp) {
            return Err(SchemeStoreError::FingerprintMismatch {
                expected: expected.to_owned(),
                actual: offered_fp,
            });
        }
    }
    let now_u = u64::try_from(now).unwrap_or(0);
    // Verify once without rollback context to learn the scheme id; the id is
    // only trusted because the signature verified under `key`.
    let verified = signed.verify(key, None, now_u)?;
    let id = verified.scheme().id.to_string();
    let version = verified.scheme().version;
    match contents.schemes.iter_mut().find(|s| s.id == id) {
        None => {
            contents.schemes.push(PinnedScheme {
                id,
                public_key: key.0.to_vec(),
                fingerprint: offered_fp,
                version,
                document: signed.to_cbor(),
                source: source.to_owned(),
                updated_at: now,
            });
            Ok((verified, PinOutcome::Pinned))
        }
        Some(pinned) => {
            if pinned.public_key != key.0 {
                return Err(SchemeStoreError::OtherKey {
                    scheme: id,
                    pinned: pinned.fingerprint.clone(),
                    offered: offered_fp,
                });
            }
            let verified = signed.verify(key, Some(pinned.version), now_u)?;
            if version == pinned.version {
                return Ok((verified, PinOutcome::Unchanged));
            }
            let from = pinned.version;
            pinned.version = version;
            pinned.document = signed.to_cbor();
            pinned.source = source.to_owned();
            pinned.updated_at = now;
            Ok((verified, PinOutcome::Updated { from }))
        }
    }
}

/// The pinned key of a stored scheme.
pub fn pinned_key(pinned: &PinnedScheme) -> Result<SchemePublicKey, SchemeStoreError> {
    let bytes: [u8; 32] = pinned
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| SchemeStoreError::KeyFormat)?;
    Ok(SchemePublicKey(bytes))
}

/// Re-verify a stored scheme at `now`.
pub fn verified(pinned: &PinnedScheme, now: i64) -> Result<VerifiedScheme, SchemeStoreError> {
    let key = pinned_key(pinned)?;
    let signed = SignedScheme::from_cbor(&pinned.document)
        .map_err(|e| SchemeStoreError::Stored(pinned.id.clone(), e.into()))?;
    signed
        .verify(&key, Some(pinned.version), u64::try_from(now).unwrap_or(0))
        .map_err(|e| SchemeStoreError::Stored(pinned.id.clone(), e))
}

/// The verified scheme a dotted id belongs to.
pub fn scheme_for(
    contents: &WalletContents,
    scheme_id: &str,
    now: i64,
) -> Result<VerifiedScheme, SchemeStoreError> {
    let pinned = contents
        .scheme(scheme_id)
        .ok_or_else(|| SchemeStoreError::NotPinned(scheme_id.to_owned()))?;
    verified(pinned, now)
}

/// The stored document for display: signature checked, expiry ignored
/// (labels are display only; an expired scheme's names are still right).
pub fn display_scheme(pinned: &PinnedScheme) -> Option<Scheme> {
    let key = pinned_key(pinned).ok()?;
    let signed = SignedScheme::from_cbor(&pinned.document).ok()?;
    // At time 0 no scheme has expired (validation requires expires_at >
    // issued_at >= 0).
    Some(signed.verify(&key, None, 0).ok()?.scheme().clone())
}

/// The label of a dotted id (issuer, verifier, credential type, attribute)
/// in `lang`.
pub fn label_in(scheme: &Scheme, id: &str, lang: Lang) -> Option<String> {
    let l = lang.code();
    match id.split('.').count() {
        2 => {
            if let Ok(issuer) = id.parse::<IssuerId>() {
                if let Some(i) = scheme.issuer(&issuer) {
                    return Some(i.name.get(l).to_owned());
                }
            }
            let verifier: VerifierId = id.parse().ok()?;
            scheme.verifier(&verifier).map(|v| v.name.get(l).to_owned())
        }
        3 => {
            let ct: CredentialTypeId = id.parse().ok()?;
            scheme
                .credential_type(&ct)
                .map(|c| c.name.get(l).to_owned())
        }
        4 => {
            let a: AttributeId = id.parse().ok()?;
            scheme
                .attribute(&a)
                .map(|f| f.attribute.label.get(l).to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::HolderSeed;
    use wallet_core::scheme::demo::{build_demo_scheme, generate_demo_issuer_keys};
    use wallet_core::scheme::SchemeSigningKey;

    fn now() -> i64 {
        1_790_000_000
    }

    fn demo(key: &SchemeSigningKey, version: u64) -> SignedScheme {
        let mut rng = rand_core::OsRng;
        let keys = generate_demo_issuer_keys(&mut rng, now() as u64).unwrap();
        let publics: Vec<_> = keys.iter().map(|k| k.public().clone()).collect();
        build_demo_scheme(key, &publics, version, now() as u64).unwrap()
    }

    #[test]
    fn pin_update_rollback_other_key() {
        let key = SchemeSigningKey::generate().unwrap();
        let mut w = WalletContents::new(HolderSeed::new([1; 32]), now());
        let v2 = demo(&key, 2);
        let pk = key.public_key();
        let (_, out) = pin(&mut w, &v2, &pk, Some(&pk.fingerprint()), "file", now()).unwrap();
        assert_eq!(out, PinOutcome::Pinned);
        assert_eq!(w.schemes[0].id, "demo");
        let (_, out) = pin(&mut w, &v2, &pk, None, "file", now()).unwrap();
        assert_eq!(out, PinOutcome::Unchanged);

        // Rollback refused, stored version kept.
        let v1 = demo(&key, 1);
        assert!(matches!(
            pin(&mut w, &v1, &pk, None, "file", now()),
            Err(SchemeStoreError::Verify(SchemeVerifyError::Rollback { .. }))
        ));
        assert_eq!(w.schemes[0].version, 2);

        let v3 = demo(&key, 3);
        let (_, out) = pin(&mut w, &v3, &pk, None, "file", now()).unwrap();
        assert_eq!(out, PinOutcome::Updated { from: 2 });

        // Another key, even with a valid signature of its own, is refused.
        let other = SchemeSigningKey::generate().unwrap();
        let v9 = demo(&other, 9);
        assert!(matches!(
            pin(&mut w, &v9, &other.public_key(), None, "file", now()),
            Err(SchemeStoreError::OtherKey { .. })
        ));
        // A document signed by another key does not verify under the pinned one.
        assert!(matches!(
            pin(&mut w, &v9, &pk, None, "file", now()),
            Err(SchemeStoreError::Verify(SchemeVerifyError::BadSignature))
        ));
        assert_eq!(w.schemes[0].version, 3);
    }

    #[test]
    fn fingerprint_must_match_when_given() {
        let key = SchemeSigningKey::generate().unwrap();
        let other = SchemeSigningKey::generate().unwrap();
        let mut w = WalletContents::new(HolderSeed::new([1; 32]), now());
        let doc = demo(&key, 1);
        let wrong = other.public_key().fingerprint();
        assert!(matches!(
            pin(&mut w, &doc, &key.public_key(), Some(&wrong), "f", now()),
            Err(SchemeStoreError::FingerprintMismatch { .. })
        ));
        assert!(w.schemes.is_empty());
        // Spaces and case do not matter.
        let fp = key
            .public_key()
            .fingerprint()
            .to_uppercase()
            .replace(' ', "");
        assert!(pin(&mut w, &doc, &key.public_key(), Some(&fp), "f", now()).is_ok());
    }

    #[test]
    fn labels_and_formats() {
        let key = SchemeSigningKey::generate().unwrap();
        let mut w = WalletContents::new(HolderSeed::new([1; 32]), now());
        let doc = demo(&key, 1);
        // Both distribution formats parse to the same document.
        let from_cbor = SignedScheme::parse(&doc.to_cbor()).unwrap();
        let from_json = SignedScheme::parse(doc.to_json_pretty().unwrap().as_bytes()).unwrap();
        assert_eq!(from_cbor, from_json);
        assert!(SignedScheme::parse(b"garbage").is_err());
        pin(&mut w, &doc, &key.public_key(), None, "f", now()).unwrap();
        let p = &w.schemes[0];
        let scheme = display_scheme(p).unwrap();
        let label = |_p: &PinnedScheme, id: &str, lang: Lang| label_in(&scheme, id, lang);
        assert_eq!(
            label(p, "demo.utrecht.address.city", Lang::Nl).as_deref(),
            Some("Woonplaats")
        );
        assert_eq!(
            label(p, "demo.utrecht.address", Lang::En).as_deref(),
            Some("Address")
        );
        assert!(label(p, "demo.parking", Lang::En)
            .unwrap()
            .contains("parking"));
        assert_eq!(label(p, "demo.utrecht.address.nope", Lang::En), None);
        assert!(verified(p, now()).is_ok());
    }
}
