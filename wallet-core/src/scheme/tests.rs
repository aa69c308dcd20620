//! Tests of the scheme document, its signature and its builder.

use super::demo::{build_demo_scheme, demo_builder, generate_demo_issuer_keys};
use super::signed::signed_message;
use super::*;
use crate::cbor::{self, DecodeError};
use crate::encoding::AttributeKind;
use crate::ids::{CredentialTypeId, IssuerId};
use crate::keys::IssuerSecretKey;
use crate::keys::{IssuerPublicKey, KeyId, KeyParams};
use crate::presentation::IssuerKeys;
use rand_core::OsRng;
use sha2::{Digest, Sha256};

const NOW: u64 = 1_795_000_000;

fn keys() -> Vec<IssuerPublicKey> {
    generate_demo_issuer_keys(&mut OsRng, NOW - 10)
        .unwrap()
        .iter()
        .map(|k| k.public().clone())
        .collect()
}

fn signed(key: &SchemeSigningKey, version: u64) -> SignedScheme {
    build_demo_scheme(key, &keys(), version, NOW).unwrap()
}

#[test]
fn sign_verify_and_round_trip() {
    let key = SchemeSigningKey::generate().unwrap();
    let s = signed(&key, 3);
    let v = s.verify(&key.public_key(), Some(2), NOW + 1).unwrap();
    assert_eq!(v.version, 3);
    assert_eq!(v.signed(), &s);
    // CBOR and JSON round trips keep the signature valid.
    let back = SignedScheme::from_cbor(&s.to_cbor()).unwrap();
    assert_eq!(back, s);
    let json = s.to_json_pretty().unwrap();
    assert!(json.contains("\"demo.utrecht.address.city\""));
    let back = SignedScheme::from_json(&json).unwrap();
    assert_eq!(back, s);
    back.verify(&key.public_key(), Some(3), NOW + 1).unwrap();
    // The key file round-trips.
    let again = SchemeSigningKey::from_pkcs8(key.pkcs8()).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    assert!(!format!("{key:?}").contains(&hex::encode(key.pkcs8())));
}

#[test]
fn rejects_bad_signature_wrong_key_and_tampering() {
    let key = SchemeSigningKey::generate().unwrap();
    let other = SchemeSigningKey::generate().unwrap();
    let s = signed(&key, 1);
    assert_eq!(
        s.verify(&other.public_key(), None, NOW).unwrap_err(),
        SchemeVerifyError::BadSignature
    );
    let mut bad = s.clone();
    bad.signature[0] ^= 1;
    assert_eq!(
        bad.verify(&key.public_key(), None, NOW).unwrap_err(),
        SchemeVerifyError::BadSignature
    );
    // Editing the readable JSON (a verifier granting itself the BSN) breaks it.
    let json = s.to_json_pretty().unwrap().replace(
        "\"demo.utrecht.address.city\",",
        "\"demo.utrecht.personal.bsn\",",
    );
    let edited = SignedScheme::from_json(&json).unwrap();
    assert_eq!(
        edited.verify(&key.public_key(), None, NOW).unwrap_err(),
        SchemeVerifyError::BadSignature
    );
    // Every single-byte change of the CBOR is refused somewhere.
    let bytes = s.to_cbor();
    for i in (0..bytes.len()).step_by(7) {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let accepted = SignedScheme::from_cbor(&b)
            .ok()
            .and_then(|x| x.verify(&key.public_key(), None, NOW).ok());
        assert!(accepted.is_none(), "byte {i} change accepted");
    }
}

#[test]
fn rejects_rollback_expiry_and_unknown_format() {
    let key = SchemeSigningKey::generate().unwrap();
    let s = signed(&key, 4);
    assert_eq!(
        s.verify(&key.public_key(), Some(5), NOW).unwrap_err(),
        SchemeVerifyError::Rollback {
            found: 4,
            trusted: 5
        }
    );
    assert!(s.verify(&key.public_key(), Some(4), NOW).is_ok());
    assert!(matches!(
        s.verify(
            &key.public_key(),
            None,
            NOW + super::demo::DEMO_SCHEME_VALIDITY
        ),
        Err(SchemeVerifyError::Expired { .. })
    ));
    // A future envelope format: refused by the decoder and by verify.
    let mut future = s.clone();
    future.v = 2;
    assert_eq!(
        SignedScheme::from_cbor(&future.to_cbor()).unwrap_err(),
        DecodeError::UnknownVersion(2)
    );
    assert_eq!(
        future.verify(&key.public_key(), None, NOW).unwrap_err(),
        SchemeVerifyError::UnknownFormat(2)
    );
    // A future document format inside a valid signature: refused too.
    let mut doc: Scheme = cbor::from_cbor(&s.scheme).unwrap();
    doc.v = 2;
    let inner = doc.to_cbor();
    let forged = SignedScheme {
        v: 1,
        signature: key.pair.sign(&signed_message(&inner)).as_ref().to_vec(),
        scheme: inner,
    };
    assert_eq!(
        forged.verify(&key.public_key(), None, NOW).unwrap_err(),
        SchemeVerifyError::Invalid(SchemeError::UnknownFormat(2))
    );
    // Trailing bytes after the envelope.
    let mut long = s.to_cbor();
    long.push(0);
    assert_eq!(
        SignedScheme::from_cbor(&long).unwrap_err(),
        DecodeError::TrailingBytes
    );
}

#[test]
fn expired_issuer_keys_are_refused_at_lookup() {
    let key = SchemeSigningKey::generate().unwrap();
    let s = signed(&key, 1);
    let v = s.verify(&key.public_key(), None, NOW).unwrap();
    let id = v.issuer_keys[0].key_id();
    assert!(v.valid_key(&id, NOW).is_ok());
    assert!(v.issuer_key(&id).is_some());
    assert!(matches!(
        v.valid_key(&id, NOW + super::demo::DEMO_KEY_VALIDITY),
        Err(KeyLookupError::NotValid { .. })
    ));
    assert!(matches!(
        v.valid_key(&KeyId([0; 32]), NOW),
        Err(KeyLookupError::Unknown(_))
    ));
    let ct = v.issuer_keys[0].credential_type.clone();
    assert_eq!(v.current_issuer_key(&ct, NOW).unwrap().key_id(), id);
}

#[test]
fn inconsistent_documents_are_refused() {
    let base = || {
        keys()
            .into_iter()
            .fold(demo_builder().unwrap().validity(NOW, NOW + 10), |b, k| {
                b.add_issuer_key(k)
            })
    };
    assert!(base().build().is_ok());
    // A key whose kinds differ from its credential type.
    let mut k = keys().remove(0);
    k.attributes.reverse();
    k.attributes[0] = AttributeKind::Boolean;
    let wrong = IssuerSecretKey::generate(
        &mut OsRng,
        KeyParams {
            credential_type: k.credential_type.clone(),
            counter: 2,
            valid_from: NOW,
            valid_until: NOW + 10,
            attributes: k.attributes.clone(),
        },
    )
    .unwrap();
    assert!(matches!(
        base().add_issuer_key(wrong.public().clone()).build(),
        Err(SchemeError::KeyKindsMismatch(_, 2))
    ));
    // The same key counter twice.
    assert!(matches!(
        base().add_issuer_key(keys().remove(0)).build(),
        Err(SchemeError::Duplicate(_))
    ));
    // A verifier naming an attribute that does not exist.
    let mut v = base().scheme().verifiers[0].clone();
    v.id = "demo.library".parse().unwrap();
    v.attributes
        .push("demo.utrecht.address.colour".parse().unwrap());
    assert!(matches!(
        base().add_verifier(v).build(),
        Err(SchemeError::UnknownVerifierAttribute(_, _))
    ));
    // A verifier of another scheme.
    let mut v = base().scheme().verifiers[0].clone();
    v.id = "other.parking".parse().unwrap();
    assert!(matches!(
        base().add_verifier(v).build(),
        Err(SchemeError::ForeignId(_, _))
    ));
    // Age predicate on a string.
    let mut v = base().scheme().verifiers[0].clone();
    v.id = "demo.desk".parse().unwrap();
    v.predicates = vec![AllowedPredicate {
        attribute: "demo.utrecht.address.city".parse().unwrap(),
        operator: PredicateOperator::AgeAtLeast,
    }];
    assert!(matches!(
        base().add_verifier(v).build(),
        Err(SchemeError::PredicateKind(_, _, _))
    ));
    // Validity.
    assert_eq!(
        base().validity(NOW, NOW).build().unwrap_err(),
        SchemeError::Validity
    );
}

#[test]
fn toml_errors_are_clear() {
    let e = SchemeBuilder::from_toml("id = \"demo\"\nversion = 1\n").unwrap_err();
    assert!(e.to_string().contains("missing field `name`"), "{e}");
    let e = SchemeBuilder::from_toml(
        "id = \"demo\"\nversion = 1\nname = { nl = \"a\", en = \"b\" }\n\
         [[issuers]]\nid = \"ut recht\"\nname = { nl = \"a\", en = \"b\" }\ncontact = \"x\"\n",
    )
    .unwrap_err();
    assert!(matches!(e, SchemeBuildError::Id(_)), "{e}");
    let e =
        SchemeBuilder::from_toml(&DEMO_TOML_WITH_BAD_KIND.replace("KIND", "colour")).unwrap_err();
    assert!(e.to_string().contains("unknown variant `colour`"), "{e}");
}

const DEMO_TOML_WITH_BAD_KIND: &str = r#"
id = "demo"
version = 1
name = { nl = "a", en = "b" }
[[issuers]]
id = "x"
name = { nl = "a", en = "b" }
contact = "c"
[[issuers.credentials]]
id = "y"
name = { nl = "a", en = "b" }
attributes = [{ id = "z", kind = "KIND", label = { nl = "a", en = "b" } }]
"#;

#[test]
fn fingerprint_and_public_key_text() {
    let key = SchemeSigningKey::generate().unwrap();
    let pk = key.public_key();
    let fp = pk.fingerprint();
    assert_eq!(fp.len(), 64 + 15);
    assert_eq!(fp.split(' ').count(), 16);
    assert_eq!(fp.replace(' ', ""), hex::encode(Sha256::digest(pk.0)));
    assert_eq!(pk.to_string().parse::<SchemePublicKey>().unwrap(), pk);
    assert!("abcd".parse::<SchemePublicKey>().is_err());
    let json = serde_json::to_string(&pk).unwrap();
    assert_eq!(serde_json::from_str::<SchemePublicKey>(&json).unwrap(), pk);
    assert_eq!(
        cbor::from_cbor::<SchemePublicKey>(&cbor::to_cbor(&pk)).unwrap(),
        pk
    );
}

mod token_policy {
    use super::*;
    use crate::encoding::AttributeValue;
    use crate::token::{TokenInfo, TokenInfoError, TokenPolicy, DAY, WEEK};
    use crate::wire::{OfferError, OfferedCredential};

    const ADDRESS: &str = "demo.utrecht.address";

    fn offer(counter: u32, expiry: u64) -> OfferedCredential {
        OfferedCredential {
            token_info: TokenInfo {
                credential_type: ADDRESS.parse().unwrap(),
                key_counter: counter,
                expiry,
            },
            attributes: vec![
                AttributeValue::String("Domplein".into()),
                AttributeValue::Integer(29),
                AttributeValue::String("3512JE".into()),
                AttributeValue::String("Utrecht".into()),
                AttributeValue::String("Utrecht".into()),
            ],
            record: "rec-1".parse().unwrap(),
        }
    }

    /// The demo scheme with address key counters 1 and 2, both valid now.
    fn rotated(key: &SchemeSigningKey) -> VerifiedScheme {
        let ct = demo_builder()
            .unwrap()
            .scheme()
            .credential_type(&ADDRESS.parse().unwrap())
            .unwrap()
            .clone();
        let second =
            IssuerSecretKey::generate(&mut OsRng, ct.key_params(2, NOW - 5, NOW + 1000 * DAY))
                .unwrap();
        keys()
            .into_iter()
            .chain([second.public().clone()])
            .fold(
                demo_builder().unwrap().validity(NOW, NOW + 10 * DAY),
                |b, k| b.add_issuer_key(k),
            )
            .build()
            .unwrap()
            .sign(key)
            .unwrap()
            .verify(&key.public_key(), None, NOW)
            .unwrap()
    }

    /// A document signed before the token policy fields existed no longer
    /// verifies, but its version is still read, so the issuer signs the
    /// next one above it (wallets refuse a lower version).
    #[test]
    fn the_version_of_an_older_document_shape_is_still_read() {
        let key = SchemeSigningKey::generate().unwrap();
        let doc: Scheme = cbor::from_cbor(&signed(&key, 7).scheme).unwrap();
        let mut value: ciborium::Value = ciborium::Value::serialized(&doc).unwrap();
        if let ciborium::Value::Map(top) = &mut value {
            for (k, v) in top.iter_mut() {
                if k.as_text() == Some("credential_types") {
                    for ct in v.as_array_mut().unwrap() {
                        ct.as_map_mut().unwrap().retain(|(k, _)| {
                            !matches!(k.as_text(), Some("token_validity" | "grid_step"))
                        });
                    }
                }
            }
        }
        let mut old = Vec::new();
        ciborium::into_writer(&value, &mut old).unwrap();
        let old = SignedScheme {
            v: 1,
            signature: key.pair.sign(&signed_message(&old)).as_ref().to_vec(),
            scheme: old,
        };
        assert!(matches!(
            old.verify(&key.public_key(), None, NOW),
            Err(SchemeVerifyError::Decode(_))
        ));
        assert_eq!(old.unverified_version(), Some(7));
    }

    #[test]
    fn descriptions_without_policy_get_the_weekly_default() {
        let b = demo_builder().unwrap();
        for ct in &b.scheme().credential_types {
            assert_eq!(
                ct.token_policy().unwrap(),
                TokenPolicy::default(),
                "{}",
                ct.id
            );
            assert_eq!((ct.token_validity, ct.grid_step), (WEEK, WEEK));
        }
        let toml = DEMO_SCHEME_TOML_WITH_POLICY
            .replace("VALIDITY", "172800")
            .replace("STEP", "86400");
        let b = SchemeBuilder::from_toml(&toml).unwrap();
        let ct = &b.scheme().credential_types[0];
        assert_eq!(
            ct.token_policy().unwrap(),
            TokenPolicy::new(2 * DAY, DAY).unwrap()
        );
    }

    #[test]
    fn out_of_range_policies_are_refused() {
        for (validity, step) in [("0", "86400"), ("4838401", "604800"), ("86400", "3600")] {
            let toml = DEMO_SCHEME_TOML_WITH_POLICY
                .replace("VALIDITY", validity)
                .replace("STEP", step);
            let e = SchemeBuilder::from_toml(&toml)
                .unwrap()
                .validity(NOW, NOW + 10)
                .build()
                .unwrap_err();
            assert!(matches!(e, SchemeError::TokenPolicy(_, _)), "{e}");
        }
    }

    #[test]
    fn the_signature_covers_validity_and_grid_step() {
        let key = SchemeSigningKey::generate().unwrap();
        let s = signed(&key, 1);
        let json = s.to_json_pretty().unwrap();
        assert!(json.contains("\"grid_step\": 604800"), "{json}");
        for (from, to) in [
            ("\"grid_step\": 604800", "\"grid_step\": 86400"),
            ("\"token_validity\": 604800", "\"token_validity\": 4838400"),
        ] {
            let edited = SignedScheme::from_json(&json.replacen(from, to, 1)).unwrap();
            assert_eq!(
                edited.verify(&key.public_key(), None, NOW).unwrap_err(),
                SchemeVerifyError::BadSignature
            );
        }
        // The CBOR document carries both fields under these names, always.
        let doc: Scheme = cbor::from_cbor(&s.scheme).unwrap();
        let bytes = doc.to_cbor();
        let find = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(find(b"\x6etoken_validity"));
        assert!(find(b"\x69grid_step"));
    }

    /// Rule 8 through the wallet's offer check: an old key that is still
    /// valid is refused; the current one passes.
    #[test]
    fn rule8_offer_with_old_key_is_refused() {
        let key = SchemeSigningKey::generate().unwrap();
        let scheme = rotated(&key);
        let issuer: IssuerId = "demo.utrecht".parse().unwrap();
        let ct: CredentialTypeId = ADDRESS.parse().unwrap();
        let expiry = scheme
            .credential_type(&ct)
            .unwrap()
            .token_policy()
            .unwrap()
            .expiry_at(NOW);
        assert!(scheme
            .issuer_key_by_counter(&ct, 1)
            .unwrap()
            .is_valid_at(NOW));
        assert_eq!(
            offer(1, expiry).check(&issuer, &scheme, NOW).unwrap_err(),
            OfferError::TokenInfo(TokenInfoError::NotCurrentKey)
        );
        assert_eq!(
            offer(2, expiry)
                .check(&issuer, &scheme, NOW)
                .unwrap()
                .counter,
            2
        );
    }

    /// Rule 8 through the offer check: a far expiry on the grid is refused.
    #[test]
    fn rule8_offer_with_far_expiry_is_refused() {
        let key = SchemeSigningKey::generate().unwrap();
        let scheme = signed(&key, 1)
            .verify(&key.public_key(), None, NOW)
            .unwrap();
        let issuer: IssuerId = "demo.utrecht".parse().unwrap();
        let derived = TokenPolicy::default().expiry_at(NOW);
        assert!(offer(1, derived).check(&issuer, &scheme, NOW).is_ok());
        assert_eq!(
            offer(1, derived + 4 * WEEK)
                .check(&issuer, &scheme, NOW)
                .unwrap_err(),
            OfferError::TokenInfo(TokenInfoError::ExpiryNotFromScheme)
        );
    }

    const DEMO_SCHEME_TOML_WITH_POLICY: &str = r#"
id = "demo"
version = 1
name = { nl = "a", en = "b" }
[[issuers]]
id = "x"
name = { nl = "a", en = "b" }
contact = "c"
[[issuers.credentials]]
id = "y"
name = { nl = "a", en = "b" }
token_validity = VALIDITY
grid_step = STEP
attributes = [{ id = "z", kind = "string", label = { nl = "a", en = "b" } }]
"#;
}
