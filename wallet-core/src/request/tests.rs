//! Tests of session requests: parsing, the scheme checks, the over-asking
//! check and the wallet's candidates and plans.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;

use super::*;
use crate::encoding::{AttributeKind, AttributeValue};
use crate::ids::{AttributeId, CredentialTypeId, VerifierId};
use crate::predicate::Predicate;
use crate::scheme::demo::{demo_builder, generate_demo_issuer_keys};
use crate::scheme::{Scheme, Translated};
use proptest::prelude::*;
use rand_core::OsRng;

fn scheme() -> Scheme {
    let keys = generate_demo_issuer_keys(&mut OsRng, 1_000).unwrap();
    keys.iter()
        .fold(demo_builder().unwrap().validity(1_000, 2_000), |b, k| {
            b.add_issuer_key(k.public().clone())
        })
        .build()
        .unwrap()
}

fn aid(s: &str) -> AttributeId {
    s.parse().unwrap()
}

fn date(s: &str) -> Date {
    opt_date::parse(s).unwrap()
}

/// A request in IRMA's shape: two disjunctions, one with alternatives
/// across credential types, one optional, a required value, a label.
const IRMA_STYLE: &str = r#"{
    "@context": "https://irma.app/ld/request/disclosure/v2",
    "disclose": [
        [
            ["demo.utrecht.address.city", "demo.utrecht.address.postal_code"],
            [{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]
        ],
        [
            [],
            [{"type": "demo.rdw.vehicle.licence_plate", "notNull": true}]
        ]
    ],
    "labels": {"1": {"nl": "Kenteken", "en": "Licence plate"}}
}"#;

#[test]
fn parses_irma_style_request() {
    let r = SessionRequest::from_json(IRMA_STYLE).unwrap();
    assert_eq!(r.kind(), SessionKind::Disclosing);
    assert_eq!(r.disclose().len(), 2);
    assert_eq!(r.disclose()[0][1][0].value.as_deref(), Some("Utrecht"));
    assert!(r.disclose()[1][0].is_empty());
    assert!(r.disclose()[1][1][0].not_null);
    assert_eq!(r.labels()[&1].en, "Licence plate");
    r.check_against(&scheme()).unwrap();
    // Printing and parsing again gives the same request, in JSON and CBOR.
    assert_eq!(SessionRequest::from_json(&r.to_json()).unwrap(), r);
    assert_eq!(SessionRequest::from_cbor(&r.to_cbor()).unwrap(), r);
    assert!(r.to_json().contains(r#""demo.utrecht.address.city""#));
}

#[test]
fn parses_signature_and_issuance_requests() {
    let s = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/signature/v2",
            "message": "Ik maak bezwaar tegen vergunning 2026-114",
            "disclose": [[["demo.utrecht.personal.family_name"]]]}"#,
    )
    .unwrap();
    assert_eq!(s.kind(), SessionKind::Signing);
    assert_eq!(
        s.message(),
        Some("Ik maak bezwaar tegen vergunning 2026-114")
    );

    let i = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/issuance/v2",
            "credentials": [{"credential": "demo.utrecht.address",
              "attributes": {"street": "Domplein", "house_number": "29",
                "postal_code": "3512JE", "city": "Utrecht", "municipality": "Utrecht"}}]}"#,
    )
    .unwrap();
    let values = i.credentials()[0].attribute_values(&scheme()).unwrap();
    assert_eq!(values[1], AttributeValue::Integer(29));
    assert_eq!(values.len(), 5);
}

#[test]
fn issuance_values_are_checked_against_the_scheme() {
    let s = scheme();
    let mut c = CredentialRequest {
        credential: "demo.utrecht.address".parse().unwrap(),
        attributes: BTreeMap::from([("street".to_owned(), "Domplein".to_owned())]),
    };
    assert!(matches!(
        c.attribute_values(&s),
        Err(RequestSchemeError::MissingIssuedAttribute(_))
    ));
    c.attributes.insert("colour".into(), "blue".into());
    assert!(matches!(
        c.attribute_values(&s),
        Err(RequestSchemeError::UnknownIssuedAttribute(_, _))
    ));
}

#[test]
fn malformed_json_gives_clear_errors() {
    let cases: &[(&str, &str)] = &[
        ("{", "EOF"),
        (
            r#"{"disclose": [[["demo.utrecht.address.city"]]]}"#,
            "@context",
        ),
        (
            r#"{"@context": "https://example.org/other", "disclose": [[["demo.a.b.c"]]]}"#,
            "unknown @context",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[["demo.utrecht.city"]]]}"#,
            "4 dot-separated parts",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[[{"type": "demo.a.b.c", "valeu": "x"}]]]}"#,
            "unknown field `valeu`",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[[42]]]}"#,
            "attribute identifier",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[]]}"#,
            "has no options",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2"}"#,
            "asks for nothing",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/signature/v2", "disclose": [[["demo.a.b.c"]]]}"#,
            "needs a non-empty \"message\"",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "message": "x", "disclose": [[["demo.a.b.c"]]]}"#,
            "only a signature request",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[["demo.a.b.c", "demo.a.b.c"]]]}"#,
            "asked twice",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[["demo.a.b.c"]]], "labels": {"3": {"nl": "x", "en": "x"}}}"#,
            "label 3",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "pseudonym": "a/b"}"#,
            "pseudonym scope",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "predicates": [{"attribute": "demo.a.b.c", "operator": "ageAtLeast"}]}"#,
            "needs \"years\"",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "predicates": [{"attribute": "demo.a.b.c", "operator": "=="}]}"#,
            "unknown variant",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "predicates": [{"attribute": "demo.a.b.c", "operator": "ageAtLeast", "years": 18, "on": "25-11-2026"}]}"#,
            "YYYY-MM-DD",
        ),
        (
            r#"{"@context": "https://irma.app/ld/request/disclosure/v2", "disclose": [[[{"type": "demo.a.b.c", "value": ""}]]]}"#,
            "is empty",
        ),
    ];
    for (json, expected) in cases {
        let err = SessionRequest::from_json(json).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{json}\n  gave: {err}\n  expected: {expected}"
        );
    }
}

#[test]
fn malformed_cbor_is_refused() {
    let r = SessionRequest::from_json(IRMA_STYLE).unwrap();
    let bytes = r.to_cbor();
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        SessionRequest::from_cbor(&long),
        Err(crate::cbor::DecodeError::TrailingBytes)
    );
    for n in 0..bytes.len() {
        assert!(SessionRequest::from_cbor(&bytes[..n]).is_err());
    }
    // The map form where the bare identifier is canonical: non-canonical.
    let raw = crate::cbor::to_cbor(&serde_json::json!({
        "@context": DISCLOSURE_CONTEXT,
        "disclose": [[[{"type": "demo.a.b.c"}]]],
    }));
    assert_eq!(
        SessionRequest::from_cbor(&raw),
        Err(crate::cbor::DecodeError::NonCanonical)
    );
}

#[test]
fn digest_binds_every_part() {
    let r = SessionRequest::from_json(IRMA_STYLE).unwrap();
    let mut other = r.clone();
    other.labels.clear();
    assert_ne!(r.request_digest(), other.request_digest());
    let mut other = r.clone();
    other.disclose[0][1][0].value = Some("Amsterdam".into());
    assert_ne!(r.request_digest(), other.request_digest());
    assert_eq!(r.request_digest(), r.clone().request_digest());
}

#[test]
fn check_against_scheme_reports_problems() {
    let s = scheme();
    let unknown = SessionRequest::builder(SessionKind::Disclosing)
        .attributes([aid("demo.utrecht.address.colour")])
        .build()
        .unwrap();
    assert!(matches!(
        unknown.check_against(&s),
        Err(RequestSchemeError::UnknownAttribute(_))
    ));
    let bad_value = SessionRequest::builder(SessionKind::Disclosing)
        .disjunction(vec![vec![AttributeRequest::with_value(
            aid("demo.utrecht.address.house_number"),
            "twenty-nine",
        )]])
        .build()
        .unwrap();
    assert!(matches!(
        bad_value.check_against(&s),
        Err(RequestSchemeError::BadValue(_, _))
    ));
    let bad_predicate = SessionRequest::builder(SessionKind::Disclosing)
        .predicate(
            aid("demo.utrecht.address.city"),
            Condition::GreaterOrEqual("A".into()),
        )
        .build()
        .unwrap();
    assert!(matches!(
        bad_predicate.check_against(&s),
        Err(RequestSchemeError::PredicateKind(_, AttributeKind::String))
    ));
}

#[test]
fn reference_date_is_filled_in_once() {
    let r = SessionRequest::builder(SessionKind::Disclosing)
        .predicate(
            aid("demo.utrecht.personal.date_of_birth"),
            Condition::AgeAtLeast {
                years: 18,
                on: None,
            },
        )
        .build()
        .unwrap();
    assert!(matches!(
        r.predicates()[0].to_predicate(AttributeKind::Date),
        Err(RequestSchemeError::NoReferenceDate(_))
    ));
    let r = r.with_reference_date(date("2026-11-25"));
    assert_eq!(
        r.predicates()[0].to_predicate(AttributeKind::Date).unwrap(),
        Predicate::AgeAtLeast {
            years: 18,
            on: date("2026-11-25")
        }
    );
    let again = r.clone().with_reference_date(date("2030-01-01"));
    assert_eq!(again, r);
}

#[test]
fn pseudonym_scope_is_bound_to_the_verifier() {
    let r = SessionRequest::builder(SessionKind::Disclosing)
        .pseudonym("2026-parks")
        .build()
        .unwrap();
    let v: VerifierId = "demo.poll".parse().unwrap();
    assert_eq!(r.pseudonym_scope(&v).unwrap().0, "demo.poll/2026-parks");
}

#[test]
fn over_asking_is_listed() {
    let s = scheme();
    let parking = s.verifier(&"demo.parking".parse().unwrap()).unwrap();
    let r = SessionRequest::builder(SessionKind::Disclosing)
        .attributes([
            aid("demo.utrecht.address.city"),
            aid("demo.utrecht.personal.bsn"),
        ])
        .predicate(
            aid("demo.utrecht.personal.date_of_birth"),
            Condition::AgeAtLeast {
                years: 18,
                on: None,
            },
        )
        .predicate(
            aid("demo.utrecht.address.house_number"),
            Condition::GreaterOrEqual("10".into()),
        )
        .pseudonym("x")
        .build()
        .unwrap();
    assert_eq!(
        r.unregistered(parking),
        vec![
            Unregistered::Attribute(aid("demo.utrecht.personal.bsn")),
            Unregistered::Predicate {
                attribute: aid("demo.utrecht.address.house_number"),
                operator: PredicateOperator::GreaterOrEqual
            },
            Unregistered::Pseudonym,
        ]
    );
    let json = serde_json::to_string(&r.unregistered(parking)).unwrap();
    assert_eq!(
        json,
        r#"[{"attribute":"demo.utrecht.personal.bsn"},{"predicate":{"attribute":"demo.utrecht.address.house_number","operator":">="}},"pseudonym"]"#
    );
    let back: Vec<Unregistered> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r.unregistered(parking));
    assert_eq!(back[0].to_string(), "attribute demo.utrecht.personal.bsn");
}

fn values(city: &str, postal: &str, municipality: &str) -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Domplein".into()),
        AttributeValue::Integer(29),
        AttributeValue::String(postal.into()),
        AttributeValue::String(city.into()),
        AttributeValue::String(municipality.into()),
    ]
}

#[test]
fn candidates_list_every_choice_and_plan_follows_it() {
    let s = scheme();
    let address: CredentialTypeId = "demo.utrecht.address".parse().unwrap();
    let vehicle: CredentialTypeId = "demo.rdw.vehicle".parse().unwrap();
    let personal: CredentialTypeId = "demo.utrecht.personal".parse().unwrap();
    let home = values("Utrecht", "3512JE", "Utrecht");
    let old = values("De Meern", "3454AA", "Utrecht");
    let car = vec![
        AttributeValue::String("XX-123-Y".into()),
        AttributeValue::String("Fiat".into()),
        AttributeValue::String("999990019".into()),
    ];
    let me = vec![
        AttributeValue::String("Anna".into()),
        AttributeValue::String("de Vries".into()),
        AttributeValue::Date(date("2001-03-14")),
        AttributeValue::String("999990019".into()),
    ];
    let held = [
        HeldCredential {
            credential_type: &address,
            values: &home,
        },
        HeldCredential {
            credential_type: &vehicle,
            values: &car,
        },
        HeldCredential {
            credential_type: &address,
            values: &old,
        },
        HeldCredential {
            credential_type: &personal,
            values: &me,
        },
    ];
    let r = SessionRequest::from_json(IRMA_STYLE)
        .unwrap()
        .into_builder_for_test()
        .predicate(
            aid("demo.utrecht.personal.date_of_birth"),
            Condition::AgeAtLeast {
                years: 18,
                on: Some(date("2026-11-25")),
            },
        )
        .build()
        .unwrap();
    let v: VerifierId = "demo.parking".parse().unwrap();
    let c = Candidates::compute(&r, &s, &v, &held).unwrap();
    assert!(c.satisfiable());
    // Disjunction 0: city+postal from either address, or municipality
    // "Utrecht" from either address: four options.
    let d0 = &c.disjunctions[0];
    assert_eq!(d0.options.len(), 4);
    assert!(!d0.optional);
    assert_eq!(d0.options[0].attributes[0].credential, 0);
    assert_eq!(d0.options[1].attributes[0].credential, 2);
    assert_eq!(d0.options[0].attributes[1].position, 2);
    // Disjunction 1: the licence plate, or nothing (offered last).
    let d1 = &c.disjunctions[1];
    assert!(d1.optional);
    assert_eq!(d1.options.len(), 2);
    assert!(d1.options[1].attributes.is_empty());
    assert_eq!(d1.label.as_ref().unwrap().nl, "Kenteken");
    assert_eq!(c.predicates[0].credentials, vec![3]);
    // The CLI prints the choices as JSON for scripts.
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["disjunctions"][1]["label"]["en"], "Licence plate");
    assert_eq!(
        json["disjunctions"][0]["options"][0]["attributes"][0]["attribute"],
        "demo.utrecht.address.city"
    );

    let plan = c
        .plan(&Choice {
            options: vec![1, 1],
            predicates: vec![0],
        })
        .unwrap();
    assert_eq!(
        plan.credentials,
        vec![
            PlannedCredential {
                credential: 2,
                disclose: vec![2, 3],
                predicates: vec![]
            },
            PlannedCredential {
                credential: 3,
                disclose: vec![],
                predicates: vec![(2, c.predicates[0].predicate.clone())]
            },
        ]
    );
    let plan = c.plan(&c.default_choice()).unwrap();
    assert_eq!(plan.credentials[0].credential, 0);
    assert_eq!(
        plan.credentials[1],
        PlannedCredential {
            credential: 1,
            disclose: vec![0],
            predicates: vec![]
        }
    );

    assert!(matches!(
        c.plan(&Choice {
            options: vec![9, 0],
            predicates: vec![0]
        }),
        Err(PlanError::ChoiceOutOfRange { .. })
    ));
    assert!(matches!(
        c.plan(&Choice {
            options: vec![0],
            predicates: vec![0]
        }),
        Err(PlanError::WrongChoiceLength { .. })
    ));
}

#[test]
fn candidates_respect_values_and_same_credential_rule() {
    let s = scheme();
    let address: CredentialTypeId = "demo.utrecht.address".parse().unwrap();
    let mut partial = values("Utrecht", "", "Amsterdam");
    partial[2] = AttributeValue::Absent;
    let held = [HeldCredential {
        credential_type: &address,
        values: &partial,
    }];
    let v: VerifierId = "demo.parking".parse().unwrap();
    // Not-null on an absent value: unsatisfiable. Required value
    // differs: unsatisfiable.
    let r = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[
                [{"type": "demo.utrecht.address.city", "notNull": true},
                 {"type": "demo.utrecht.address.postal_code", "notNull": true}],
                [{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]
            ]]}"#,
    )
    .unwrap();
    let c = Candidates::compute(&r, &s, &v, &held).unwrap();
    assert!(c.disjunctions[0].options.is_empty());
    assert_eq!(c.first_unsatisfiable(), Some(PlanError::Unsatisfiable(0)));
    assert!(matches!(
        c.plan(&c.default_choice()),
        Err(PlanError::Unsatisfiable(0))
    ));
    // City from one address and postal code from another do not make
    // one address.
    let mut only_postal = values("", "3512JE", "Amsterdam");
    only_postal[3] = AttributeValue::Absent;
    let two = [
        HeldCredential {
            credential_type: &address,
            values: &partial,
        },
        HeldCredential {
            credential_type: &address,
            values: &only_postal,
        },
    ];
    let c = Candidates::compute(&r, &s, &v, &two).unwrap();
    assert!(c.disjunctions[0].options.is_empty());
    // A bare identifier accepts an absent value (disclosed as NULL).
    let r = SessionRequest::builder(SessionKind::Disclosing)
        .attributes([aid("demo.utrecht.address.postal_code")])
        .build()
        .unwrap();
    let c = Candidates::compute(&r, &s, &v, &held).unwrap();
    assert_eq!(
        c.disjunctions[0].options[0].attributes[0].value,
        AttributeValue::Absent
    );
    // A predicate nobody can prove.
    let r = SessionRequest::builder(SessionKind::Disclosing)
        .predicate(
            aid("demo.utrecht.personal.date_of_birth"),
            Condition::AgeAtLeast {
                years: 18,
                on: Some(date("2026-11-25")),
            },
        )
        .build()
        .unwrap();
    let c = Candidates::compute(&r, &s, &v, &held).unwrap();
    assert!(matches!(
        c.first_unsatisfiable(),
        Some(PlanError::PredicateUnsatisfiable(_))
    ));
}

impl SessionRequest {
    fn into_builder_for_test(self) -> SessionRequestBuilder {
        SessionRequestBuilder { request: self }
    }
}

fn arb_attribute() -> impl Strategy<Value = AttributeId> {
    ("[a-z]{1,3}", "[a-z_]{1,5}", "[a-z0-9-]{1,5}")
        .prop_map(|(i, c, a)| format!("demo.{i}.{c}.{a}").parse().unwrap())
}

fn arb_attribute_request() -> impl Strategy<Value = AttributeRequest> {
    (
        arb_attribute(),
        proptest::option::of("[ -~]{1,12}"),
        any::<bool>(),
    )
        .prop_map(|(attribute, value, not_null)| AttributeRequest {
            not_null: not_null && value.is_none(),
            attribute,
            value,
        })
}

fn arb_request() -> impl Strategy<Value = SessionRequest> {
    let conjunction = proptest::collection::vec(arb_attribute_request(), 0..4).prop_map(|mut c| {
        let mut seen = BTreeSet::new();
        c.retain(|a| seen.insert(a.attribute.clone()));
        c
    });
    let disjunction = proptest::collection::vec(conjunction, 1..4);
    let predicate = (
        arb_attribute(),
        0u8..3,
        "[0-9]{1,4}",
        1u8..100,
        any::<bool>(),
    )
        .prop_map(|(attribute, op, bound, years, dated)| PredicateRequest {
            attribute,
            condition: match op {
                0 => Condition::GreaterOrEqual(bound),
                1 => Condition::LessOrEqual(bound),
                _ => Condition::AgeAtLeast {
                    years,
                    on: dated.then(|| date("2026-11-25")),
                },
            },
        });
    (
        0u8..3,
        proptest::collection::vec(disjunction, 1..4),
        proptest::collection::vec(predicate, 0..3),
        proptest::option::of("[a-z0-9_.-]{1,10}"),
        "[ -~]{1,40}",
        proptest::option::of(("[ -~]{0,10}", "[ -~]{0,10}")),
    )
        .prop_map(|(kind, disclose, predicates, pseudonym, message, label)| {
            let kind = match kind {
                0 => SessionKind::Disclosing,
                1 => SessionKind::Signing,
                _ => SessionKind::Issuing,
            };
            let mut b = SessionRequest::builder(kind);
            for d in disclose {
                b = b.disjunction(d);
            }
            if let Some((nl, en)) = label {
                b = b.labelled_disjunction(vec![vec![]], Translated::new(nl, en));
            }
            for p in predicates {
                b = b.predicate(p.attribute, p.condition);
            }
            if let Some(p) = pseudonym {
                b = b.pseudonym(p);
            }
            match kind {
                SessionKind::Signing => b = b.message(message),
                SessionKind::Issuing => {
                    b = b.credential(CredentialRequest {
                        credential: "demo.utrecht.address".parse().unwrap(),
                        attributes: BTreeMap::from([("city".to_owned(), message)]),
                    })
                }
                SessionKind::Disclosing => {}
            }
            b.build().unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn json_and_cbor_round_trip(r in arb_request()) {
        let json = r.to_json();
        prop_assert_eq!(&SessionRequest::from_json(&json).unwrap(), &r);
        let pretty = r.to_json_pretty();
        prop_assert_eq!(&SessionRequest::from_json(&pretty).unwrap(), &r);
        let cbor = r.to_cbor();
        prop_assert_eq!(&SessionRequest::from_cbor(&cbor).unwrap(), &r);
        prop_assert_eq!(SessionRequest::from_cbor(&cbor).unwrap().request_digest(), r.request_digest());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = SessionRequest::from_cbor(&bytes);
        let _ = SessionRequest::from_json(&String::from_utf8_lossy(&bytes));
    }
}
