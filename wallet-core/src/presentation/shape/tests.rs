//! Rule 11: counts are derived from the request, checked on undecoded
//! bytes, and every over-count kind is refused before any group operation.

use ciborium::Value;
use proptest::prelude::*;
use rand_core::OsRng;

use super::*;
use crate::cbor::DecodeError;
use crate::issuance::tests::NOW;
use crate::predicate::Predicate;
use crate::presentation::tests::{context, date, keys, parking, world, World};
use crate::presentation::{verify, PresentationBuilder, VerifyError};
use crate::pseudonym::Scope;
use crate::request::{AttributeRequest, Condition, SessionKind, SessionRequest};

/// The parking request: city and postal code of one address, age >= 18.
fn parking_request() -> SessionRequest {
    SessionRequest::builder(SessionKind::Disclosing)
        .disjunction(vec![vec![
            AttributeRequest::new("demo.utrecht.address.postal_code".parse().unwrap()),
            AttributeRequest::new("demo.utrecht.address.city".parse().unwrap()),
        ]])
        .predicate(
            "demo.utrecht.personal.date_of_birth".parse().unwrap(),
            Condition::AgeAtLeast {
                years: 18,
                on: Some(date(2026, 11, 25)),
            },
        )
        .build()
        .unwrap()
}

/// Re-encodes `bytes` with `edit` applied to the top-level map (ciborium
/// keeps the key order, so the result is what an attacker would send).
fn edited(bytes: &[u8], edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut v: Value = ciborium::from_reader(bytes).unwrap();
    let Value::Map(entries) = &mut v else {
        panic!("not a map")
    };
    edit(entries);
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).unwrap();
    out
}

fn array<'a>(entries: &'a mut Vec<(Value, Value)>, key: &str) -> &'a mut Vec<Value> {
    if !entries.iter().any(|(k, _)| k.as_text() == Some(key)) {
        entries.push((Value::Text(key.into()), Value::Array(Vec::new())));
    }
    match entries
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
    {
        Some(Value::Array(a)) => a,
        _ => panic!("{key} is not an array"),
    }
}

#[test]
fn limits_follow_the_request() {
    let e = Expected::for_request(&parking_request());
    assert_eq!(
        e.limits(),
        Shape {
            tokens: 2,
            pseudonyms: 0,
            equalities: 0,
            predicates: 1,
            attributes: crate::keys::MAX_ATTRIBUTES,
        }
    );
    // A pseudonym alone needs one token to carry the holder key.
    let poll = SessionRequest::builder(SessionKind::Disclosing)
        .pseudonym("park-2026")
        .build()
        .unwrap();
    let e = Expected::for_request(&poll);
    assert_eq!((e.limits().tokens, e.limits().pseudonyms), (1, 1));
    // The widest option of a disjunction counts; types, not attributes.
    let wide = SessionRequest::builder(SessionKind::Disclosing)
        .disjunction(vec![
            vec![AttributeRequest::new(
                "demo.utrecht.address.city".parse().unwrap(),
            )],
            vec![
                AttributeRequest::new("demo.utrecht.personal.surname".parse().unwrap()),
                AttributeRequest::new("demo.utrecht.address.street".parse().unwrap()),
                AttributeRequest::new("demo.utrecht.address.city".parse().unwrap()),
            ],
        ])
        .build()
        .unwrap();
    assert_eq!(Expected::for_request(&wide).limits().tokens, 2);
}

#[test]
fn the_honest_presentation_fits_its_request() {
    let w = world();
    let p = parking(&w);
    let e = Expected::for_request(&parking_request());
    let decoded = e.decode(&p.to_bytes()).unwrap();
    verify(&decoded, &e, &context("demo.parking"), &keys(&w), NOW).unwrap();
    // The version 2 layout: `r` and each predicate's presence fields are
    // skipped by their heads, and the counts still agree.
    assert!(p.predicates[0].presence.is_some() && !p.range_proof.is_empty());
    assert_eq!(Shape::of_bytes(&p.to_bytes()).unwrap(), Shape::of(&p));
}

/// Every kind of excess is refused by `verify` with `Unrequested`, naming
/// the part, even though each presentation is otherwise sound.
#[test]
fn every_over_count_kind_is_refused() {
    let w = world();
    let e = Expected::for_request(&parking_request());
    let ctx = context("demo.parking");
    fn base<'a>(w: &'a World, b: &mut PresentationBuilder<'a>) -> (usize, usize) {
        let a = b.token(&w.address_tokens[0], w.address.public(), &[2, 3]);
        let p = b.token(&w.personal_tokens[0], w.personal.public(), &[]);
        b.predicate(
            p,
            2,
            Predicate::AgeAtLeast {
                years: 18,
                on: date(2026, 11, 25),
            },
        );
        (a, p)
    }
    let mut cases: Vec<(Part, Presentation)> = Vec::new();
    {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        base(&w, &mut b);
        b.token(&w.address_tokens[1], w.address.public(), &[]);
        cases.push((Part::Tokens, b.prove(&mut OsRng).unwrap()));
    }
    {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        base(&w, &mut b);
        b.pseudonym(Scope("demo.parking/extra".into()));
        cases.push((Part::Pseudonyms, b.prove(&mut OsRng).unwrap()));
    }
    {
        // City (3) and municipality (4) are both "Utrecht": hide both.
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        let a = b.token(&w.address_tokens[0], w.address.public(), &[2]);
        let p = b.token(&w.personal_tokens[0], w.personal.public(), &[]);
        b.predicate(
            p,
            2,
            Predicate::AgeAtLeast {
                years: 18,
                on: date(2026, 11, 25),
            },
        );
        b.equal((a, 3), (a, 4));
        cases.push((Part::Equalities, b.prove(&mut OsRng).unwrap()));
    }
    {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        let (_, p) = base(&w, &mut b);
        b.predicate(
            p,
            2,
            Predicate::AgeAtLeast {
                years: 16,
                on: date(2026, 11, 25),
            },
        );
        cases.push((Part::Predicates, b.prove(&mut OsRng).unwrap()));
    }
    for (part, p) in cases {
        // Sound under the protocol maxima: only the request's limit refuses it.
        verify(&p, &Expected::protocol_limits(), &ctx, &keys(&w), NOW).unwrap();
        match verify(&p, &e, &ctx, &keys(&w), NOW) {
            Err(VerifyError::Unrequested(u)) => assert_eq!(u.part, part),
            other => panic!("{part}: {other:?}"),
        }
        match e.decode(&p.to_bytes()) {
            Err(ReadError::Unrequested(u)) => assert_eq!(u.part, part),
            other => panic!("{part}: {other:?}"),
        }
    }
}

/// The count is checked on undecoded bytes: excess pseudonyms whose point
/// bytes are not a valid encoding give the count error, not the decoding
/// error that decompressing them would give. So no point was decompressed.
#[test]
fn excess_is_refused_before_any_point_is_decoded() {
    let w = world();
    let bytes = parking(&w).to_bytes();
    let bad_point = Value::Bytes(vec![0xff; 32]);
    let flood = edited(&bytes, |m| {
        let ps = array(m, "p");
        for _ in 0..1000 {
            ps.push(Value::Map(vec![
                (
                    Value::Text("s".into()),
                    Value::Text("demo.parking/x".into()),
                ),
                (Value::Text("p".into()), bad_point.clone()),
            ]));
        }
    });
    let e = Expected::for_request(&parking_request());
    assert_eq!(
        e.decode(&flood),
        Err(ReadError::Unrequested(Unrequested {
            part: Part::Pseudonyms,
            found: 1000,
            max: 0
        }))
    );
    // Without the count check the decoder reaches the points.
    assert_eq!(
        Presentation::from_bytes(&flood),
        Err(DecodeError::NonCanonicalPoint)
    );
}

/// A token's disclosed list longer than any key is refused by its count,
/// before the values are decoded.
#[test]
fn a_token_with_more_entries_than_any_key_is_refused() {
    let w = world();
    let mut p = parking(&w);
    let extra = p.tokens[0].disclosed[0].clone();
    p.tokens[0]
        .disclosed
        .extend(std::iter::repeat_n(extra, crate::keys::MAX_ATTRIBUTES));
    let e = Expected::for_request(&parking_request());
    match e.decode(&p.to_bytes()) {
        Err(ReadError::Unrequested(u)) => assert_eq!(u.part, Part::Attributes),
        other => panic!("{other:?}"),
    }
    match verify(&p, &e, &context("demo.parking"), &keys(&w), NOW) {
        Err(VerifyError::Unrequested(u)) => assert_eq!(u.part, Part::Attributes),
        other => panic!("{other:?}"),
    }
}

/// A header that claims more items than the body holds is refused by its
/// count, without reading on.
#[test]
fn a_claimed_count_is_refused_without_its_items() {
    let w = world();
    let bytes = parking(&w).to_bytes();
    // Replace the token array by a header claiming 2^32 tokens, then stop.
    let t_key = [0x61, b't'];
    let at = bytes.windows(2).position(|x| x == t_key).unwrap() + 2;
    let mut cut = bytes[..at].to_vec();
    cut.extend_from_slice(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0]);
    match Expected::protocol_limits().check_bytes(&cut) {
        Err(ReadError::Unrequested(u)) => {
            assert_eq!(
                (u.part, u.found, u.max),
                (Part::Tokens, 1 << 32, MAX_TOKENS)
            )
        }
        other => panic!("{other:?}"),
    }
    // Only counting, it is a truncated message.
    assert!(Shape::of_bytes(&cut).is_err());
}

#[test]
fn wrapped_presentations_are_counted_in_their_field() {
    let w = world();
    let p = parking(&w);
    let message = crate::wire::PresentationMessage::new(p.clone());
    use crate::wire::WireMessage as _;
    let shape = Expected::protocol_limits()
        .check_field_bytes(&message.to_bytes(), "presentation")
        .unwrap();
    assert_eq!(shape, Shape::of(&p));
    assert!(Expected::protocol_limits()
        .check_field_bytes(&message.to_bytes(), "nope")
        .is_err());
}

#[test]
fn a_signature_with_a_pseudonym_flood_is_refused_before_decoding() {
    let w = world();
    let mut ctx = context("demo.parking");
    ctx.message = Some("ik teken".into());
    let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
    b.token(&w.address_tokens[0], w.address.public(), &[3]);
    let sig = crate::signature::AttributeSignature::new(ctx, b.prove(&mut OsRng).unwrap())
        .unwrap()
        .to_bytes();
    let flood = edited(&sig, |m| {
        let Some((_, Value::Map(p))) = m.iter_mut().find(|(k, _)| k.as_text() == Some("p")) else {
            panic!("no presentation")
        };
        let ps = array(p, "p");
        for _ in 0..=MAX_PARTS {
            ps.push(Value::Map(vec![
                (Value::Text("s".into()), Value::Text("x".into())),
                (Value::Text("p".into()), Value::Bytes(vec![0xff; 32])),
            ]));
        }
    });
    assert!(matches!(
        crate::signature::AttributeSignature::from_bytes(&flood),
        Err(crate::signature::SignatureError::Unrequested(Unrequested {
            part: Part::Pseudonyms,
            ..
        }))
    ));
}

proptest! {
    /// The walk never panics and never loops on arbitrary input.
    #[test]
    fn counting_arbitrary_bytes_is_safe(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Shape::of_bytes(&bytes);
        let _ = Expected::protocol_limits().check_field_bytes(&bytes, "presentation");
    }

    /// Counting the bytes agrees with counting the decoded presentation,
    /// and a presentation within the limits is never refused by them.
    #[test]
    fn counting_bytes_agrees_with_decoding(extra_tokens in 0usize..3, pseudonyms in 0usize..3) {
        let w = world();
        let mut b = PresentationBuilder::new(&w.holder, context("demo.x"));
        for t in 0..=extra_tokens {
            b.token(&w.address_tokens[t], w.address.public(), &[3]);
        }
        for s in 0..pseudonyms {
            b.pseudonym(Scope(format!("demo.x/{s}")));
        }
        let p = b.prove(&mut OsRng).unwrap();
        let bytes = p.to_bytes();
        prop_assert_eq!(Shape::of_bytes(&bytes).unwrap(), Shape::of(&p));
        prop_assert!(Expected::protocol_limits().decode(&bytes).is_ok());
    }
}
