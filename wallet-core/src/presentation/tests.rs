//! Presentation runs: positive, negative (one per check and rule) and
//! property tests.

use proptest::prelude::*;
use rand_core::OsRng;
use time::{Date, Month};

use super::*;
use crate::encoding::{AttributeKind, AttributeValue};
use crate::holder::HolderSecret;
use crate::issuance::tests::{issue, NOW};
use crate::keys::{IssuerSecretKey, KeyParams};
use crate::predicate::{Predicate, PredicateError};
use crate::pseudonym::Scope;
use crate::token::CredentialToken;

pub(crate) struct World {
    pub personal: IssuerSecretKey,
    pub address: IssuerSecretKey,
    pub holder: HolderSecret,
    pub personal_tokens: Vec<CredentialToken>,
    pub address_tokens: Vec<CredentialToken>,
}

pub(crate) fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

fn key(ct: &str, attributes: Vec<AttributeKind>) -> IssuerSecretKey {
    IssuerSecretKey::generate(
        &mut OsRng,
        KeyParams {
            credential_type: ct.parse().unwrap(),
            counter: 1,
            valid_from: 0,
            valid_until: 4_000_000_000,
            attributes,
        },
    )
    .unwrap()
}

pub(crate) fn world() -> World {
    use AttributeKind::*;
    let personal = key("demo.utrecht.personal", vec![String, String, Date, String]);
    let address = key(
        "demo.utrecht.address",
        vec![String, Integer, String, String, String],
    );
    let holder = HolderSecret::from_seed(&[42; 32]);
    let personal_tokens = issue(
        &personal,
        &holder,
        vec![
            AttributeValue::String("Anna Maria".into()),
            AttributeValue::String("de Vries".into()),
            AttributeValue::Date(date(2001, 3, 14)),
            AttributeValue::String("999990019".into()),
        ],
        4,
    );
    let address_tokens = issue(
        &address,
        &holder,
        vec![
            AttributeValue::String("Domplein".into()),
            AttributeValue::Integer(29),
            AttributeValue::String("3512JE".into()),
            AttributeValue::String("Utrecht".into()),
            AttributeValue::String("Utrecht".into()),
        ],
        4,
    );
    World {
        personal,
        address,
        holder,
        personal_tokens,
        address_tokens,
    }
}

pub(crate) fn keys(w: &World) -> Vec<crate::keys::IssuerPublicKey> {
    vec![w.personal.public().clone(), w.address.public().clone()]
}

pub(crate) fn context(verifier: &str) -> ChallengeContext {
    ChallengeContext {
        verifier: verifier.into(),
        request_digest: [7; 32],
        nonce: vec![9; 32],
        message: None,
        timestamp: None,
    }
}

/// Parking permit: city and postal code disclosed, age >= 18 proven.
pub(crate) fn parking(w: &World) -> Presentation {
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    let a = b.token(&w.address_tokens[0], w.address.public(), &[2, 3]);
    let p = b.token(&w.personal_tokens[0], w.personal.public(), &[]);
    let _ = a;
    b.predicate(
        p,
        2,
        Predicate::AgeAtLeast {
            years: 18,
            on: date(2026, 11, 25),
        },
    );
    b.prove(&mut OsRng).unwrap()
}

#[test]
fn disclosure_only_verifies_and_reveals_only_what_was_shown() {
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    b.token(&w.address_tokens[0], w.address.public(), &[3]);
    let p = b.prove(&mut OsRng).unwrap();
    let p = Presentation::from_bytes(&p.to_bytes()).unwrap();
    let v = verify(
        &p,
        &Expected::protocol_limits(),
        &context("demo.parking"),
        &keys(&w),
        NOW,
    )
    .unwrap();
    assert_eq!(
        v.credentials[0].disclosed,
        vec![(3, AttributeValue::String("Utrecht".into()))]
    );
    // Nothing of the hidden street travels: its text is not in the bytes.
    let bytes = p.to_bytes();
    assert!(!bytes.windows(8).any(|x| x == b"Domplein"));
}

#[test]
fn multi_credential_with_predicate_verifies() {
    let w = world();
    let p = parking(&w);
    let v = verify(
        &p,
        &Expected::protocol_limits(),
        &context("demo.parking"),
        &keys(&w),
        NOW,
    )
    .unwrap();
    assert_eq!(v.credentials.len(), 2);
    assert_eq!(v.predicates.len(), 1);
    assert!(p.to_bytes().len() < 2048, "{} bytes", p.to_bytes().len());
}

#[test]
fn predicate_that_does_not_hold_cannot_be_proven() {
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    let p = b.token(&w.personal_tokens[0], w.personal.public(), &[]);
    b.predicate(
        p,
        2,
        Predicate::AgeAtLeast {
            years: 30,
            on: date(2026, 11, 25),
        },
    );
    assert!(matches!(
        b.prove(&mut OsRng),
        Err(ProveError::Predicate {
            error: PredicateError::False,
            ..
        })
    ));
}

#[test]
fn pseudonym_same_scope_same_value() {
    let w = world();
    let scope = Scope("demo.poll/park-2026".into());
    let make = |t: &CredentialToken| {
        let mut b = PresentationBuilder::new(&w.holder, context("demo.poll"));
        b.token(t, w.address.public(), &[4]);
        b.pseudonym(scope.clone());
        b.prove(&mut OsRng).unwrap()
    };
    let (p1, p2) = (make(&w.address_tokens[0]), make(&w.address_tokens[1]));
    let v1 = verify(
        &p1,
        &Expected::protocol_limits(),
        &context("demo.poll"),
        &keys(&w),
        NOW,
    )
    .unwrap();
    let v2 = verify(
        &p2,
        &Expected::protocol_limits(),
        &context("demo.poll"),
        &keys(&w),
        NOW,
    )
    .unwrap();
    assert_eq!(v1.pseudonyms[0].1, v2.pseudonyms[0].1);
}

/// Rule 6: a second pseudonym for the same scope (another `Ps` swapped in
/// after proving) must not verify.
#[test]
fn rule6_swapped_pseudonym_fails() {
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.poll"));
    b.token(&w.address_tokens[0], w.address.public(), &[4]);
    b.pseudonym(Scope("demo.poll/x".into()));
    let mut p = b.prove(&mut OsRng).unwrap();
    p.pseudonyms[0].pseudonym += crate::group::g();
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.poll"),
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::Challenge
    );
}

#[test]
fn equality_across_credentials() {
    // Two credentials carrying the same hidden city: prove equality.
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    let a = b.token(&w.address_tokens[0], w.address.public(), &[]);
    let c = b.token(&w.address_tokens[1], w.address.public(), &[]);
    b.equal((a, 3), (c, 4));
    let p = b.prove(&mut OsRng).unwrap();
    let v = verify(
        &p,
        &Expected::protocol_limits(),
        &context("demo.parking"),
        &keys(&w),
        NOW,
    )
    .unwrap();
    assert_eq!(v.equalities, vec![((0, 3), (1, 4))]);
    // Unequal values cannot be claimed equal.
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    let a = b.token(&w.address_tokens[0], w.address.public(), &[]);
    b.equal((a, 0), (a, 3));
    assert_eq!(b.prove(&mut OsRng).unwrap_err(), ProveError::NotEqual);
}

#[test]
fn damaged_token_is_an_error_not_a_panic() {
    let w = world();
    let mut damaged = w.address_tokens[0].clone();
    damaged.attributes.pop();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    b.token(&damaged, w.address.public(), &[3]);
    assert_eq!(b.prove(&mut OsRng).unwrap_err(), ProveError::WrongKey(0));
}

#[test]
fn chained_equalities_share_one_nonce() {
    // (1,3)=(2,3) then (0,3)=(1,3): all three cities in one class.
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    let t0 = b.token(&w.address_tokens[0], w.address.public(), &[]);
    let t1 = b.token(&w.address_tokens[1], w.address.public(), &[]);
    let t2 = b.token(&w.address_tokens[2], w.address.public(), &[]);
    b.equal((t1, 3), (t2, 3));
    b.equal((t0, 3), (t1, 3));
    let p = b.prove(&mut OsRng).unwrap();
    verify(
        &p,
        &Expected::protocol_limits(),
        &context("demo.parking"),
        &keys(&w),
        NOW,
    )
    .unwrap();
    // A self-equality proves nothing and is refused.
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    let t0 = b.token(&w.address_tokens[0], w.address.public(), &[]);
    b.equal((t0, 3), (t0, 3));
    assert_eq!(b.prove(&mut OsRng).unwrap_err(), ProveError::NotEqual);
}

#[test]
fn wrong_verifier_replay_and_message_fail() {
    let w = world();
    let p = parking(&w);
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.poll"),
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::Challenge
    );
    let mut other_nonce = context("demo.parking");
    other_nonce.nonce = vec![1; 32];
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &other_nonce,
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::Challenge
    );
    let mut with_message = context("demo.parking");
    with_message.message = Some("I object".into());
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &with_message,
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::Challenge
    );
}

#[test]
fn expired_unknown_and_rotated_keys() {
    let w = world();
    let p = parking(&w);
    let expiry = p.tokens[0].token.ti.expiry;
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &keys(&w),
            expiry
        )
        .unwrap_err(),
        VerifyError::Expired { token: 0 }
    );
    assert!(matches!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &vec![w.personal.public().clone()],
            NOW
        )
        .unwrap_err(),
        VerifyError::UnknownKey { token: 0, .. }
    ));
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &keys(&w),
            4_000_000_000
        )
        .unwrap_err(),
        VerifyError::KeyNotValid { token: 0 }
    );
}

/// Rule 5: a hidden attribute also listed as disclosed (under a false
/// value) is refused by the partition check.
#[test]
fn rule5_overlapping_partition_fails() {
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    b.token(&w.address_tokens[0], w.address.public(), &[3]);
    let mut p = b.prove(&mut OsRng).unwrap();
    p.tokens[0]
        .disclosed
        .insert(0, Disclosed(0, AttributeValue::String("Elsewhere".into())));
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::Partition { token: 0 }
    );
    // Dropping a position is refused too.
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    b.token(&w.address_tokens[0], w.address.public(), &[3]);
    let mut p = b.prove(&mut OsRng).unwrap();
    p.tokens[0].hidden.pop();
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::Partition { token: 0 }
    );
}

/// Rule 6: a predicate moved to another bound fails.
#[test]
fn rule6_predicate_moved_to_other_bound_fails() {
    let w = world();
    let mut p = parking(&w);
    p.predicates[0].predicate = Predicate::AgeAtLeast {
        years: 21,
        on: date(2026, 11, 25),
    };
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::Challenge
    );
}

#[test]
fn tampered_token_fails_token_check() {
    let w = world();
    let mut p = parking(&w);
    p.tokens[0].token.sr += curve25519_dalek::scalar::Scalar::ONE;
    assert!(matches!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::TokenCheck { token: 0, .. }
    ));
}

#[test]
fn disclosed_value_kind_must_match() {
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    b.token(&w.address_tokens[0], w.address.public(), &[1]);
    let mut p = b.prove(&mut OsRng).unwrap();
    p.tokens[0].disclosed[0].1 = AttributeValue::String("29".into());
    assert_eq!(
        verify(
            &p,
            &Expected::protocol_limits(),
            &context("demo.parking"),
            &keys(&w),
            NOW
        )
        .unwrap_err(),
        VerifyError::DisclosedKind {
            token: 0,
            position: 1
        }
    );
}

#[test]
fn signature_verifies_later_and_binds_message() {
    let w = world();
    let mut ctx = context("demo.parking");
    ctx.message = Some("I object to permit 2026-114".into());
    ctx.timestamp = Some(NOW);
    let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
    b.token(&w.address_tokens[0], w.address.public(), &[0, 1]);
    let sig = crate::signature::AttributeSignature::new(ctx, b.prove(&mut OsRng).unwrap()).unwrap();
    let sig = crate::signature::AttributeSignature::from_bytes(&sig.to_bytes()).unwrap();
    // Verified long after the tokens expired, at the time a trusted
    // timestamp vouches for; at "now" the expired tokens are refused.
    sig.verify(&Expected::protocol_limits(), &keys(&w), NOW)
        .unwrap();
    assert!(sig
        .verify(&Expected::protocol_limits(), &keys(&w), NOW + 365 * 86_400)
        .is_err());
    let mut forged = sig.clone();
    forged.context.message = Some("I support permit 2026-114".into());
    assert!(forged
        .verify(&Expected::protocol_limits(), &keys(&w), NOW)
        .is_err());
}

#[test]
fn every_single_byte_change_fails() {
    let w = world();
    let mut b = PresentationBuilder::new(&w.holder, context("demo.poll"));
    b.token(&w.address_tokens[0], w.address.public(), &[3]);
    b.pseudonym(Scope("demo.poll/x".into()));
    let bytes = b.prove(&mut OsRng).unwrap().to_bytes();
    for i in 0..bytes.len() {
        let mut m = bytes.clone();
        m[i] ^= 0x01;
        let ok = Presentation::from_bytes(&m).ok().and_then(|p| {
            verify(
                &p,
                &Expected::protocol_limits(),
                &context("demo.poll"),
                &keys(&w),
                NOW,
            )
            .ok()
        });
        assert!(ok.is_none(), "flipping byte {i} still verifies");
    }
}

#[test]
fn two_presentations_share_no_token_material() {
    let w = world();
    let show = |t: &CredentialToken| {
        let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
        b.token(t, w.address.public(), &[3]);
        b.prove(&mut OsRng).unwrap()
    };
    let (p1, p2) = (show(&w.address_tokens[0]), show(&w.address_tokens[1]));
    let parts = |p: &Presentation| {
        let t = &p.tokens[0].token;
        vec![
            *t.h.as_bytes(),
            *t.sz.as_bytes(),
            *t.sa.as_bytes(),
            *t.sb.as_bytes(),
            t.sr.to_bytes(),
            p.tokens[0].r0.to_bytes(),
            p.rd.to_bytes(),
        ]
    };
    let (a, b) = (parts(&p1), parts(&p2));
    for x in &a {
        assert!(!b.contains(x));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, .. ProptestConfig::default() })]

    /// Any attribute values and any disclosure set verify, and disclose
    /// exactly the chosen values.
    #[test]
    fn any_values_any_disclosure_verify(
        street in ".{0,40}",
        number in crate::encoding::MIN_INTEGER..=crate::encoding::MAX_INTEGER,
        absent_city in any::<bool>(),
        mask in 0u8..32,
    ) {
        let address = key("demo.utrecht.address", vec![AttributeKind::String, AttributeKind::Integer, AttributeKind::String, AttributeKind::String, AttributeKind::String]);
        let holder = HolderSecret::from_seed(&[5; 32]);
        let values = vec![
            AttributeValue::String(street),
            AttributeValue::Integer(number),
            AttributeValue::String("1234AB".into()),
            if absent_city { AttributeValue::Absent } else { AttributeValue::String("Utrecht".into()) },
            AttributeValue::Absent,
        ];
        let tokens = issue(&address, &holder, values.clone(), 1);
        let disclosed: Vec<usize> = (0..5).filter(|i| mask & (1 << i) != 0).collect();
        let mut b = PresentationBuilder::new(&holder, context("demo.x"));
        b.token(&tokens[0], address.public(), &disclosed);
        let p = b.prove(&mut OsRng).unwrap();
        let v = verify(&p, &Expected::protocol_limits(), &context("demo.x"), &vec![address.public().clone()], NOW).unwrap();
        let expected: Vec<(usize, AttributeValue)> = disclosed.iter().map(|&i| (i, values[i].clone())).collect();
        prop_assert_eq!(&v.credentials[0].disclosed, &expected);
    }

    /// Same scope, same pseudonym; different scopes, different pseudonyms.
    #[test]
    fn pseudonyms_per_scope(a in "[a-z]{1,12}", b in "[a-z]{1,12}", seed in any::<[u8; 32]>()) {
        let holder = HolderSecret::from_seed(&seed);
        let (sa, sb) = (Scope(a.clone()), Scope(b.clone()));
        let pa = sa.base() * holder.xd();
        let pb = sb.base() * holder.xd();
        prop_assert_eq!(a == b, pa == pb);
    }
}

/// Hedged nonces: a wallet restored twice from one snapshot (the same RNG
/// state) answering two challenges must not reuse `wd`; otherwise
/// `xd = (rd2 - rd1) / (c1 - c2)`. Shown for another verifier nonce and for
/// another statement under the same context.
#[test]
fn replayed_rng_does_not_repeat_presentation_nonces() {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    let w = world();
    let prove = |ctx: ChallengeContext, disclosed: &[usize]| {
        let mut b = PresentationBuilder::new(&w.holder, ctx);
        b.token(&w.address_tokens[0], w.address.public(), disclosed);
        b.prove(&mut ChaCha20Rng::from_seed([79; 32])).unwrap()
    };
    let first = prove(context("demo.parking"), &[2, 3]);
    let mut other_nonce = context("demo.parking");
    other_nonce.nonce = vec![10; 32];
    for second in [
        prove(other_nonce, &[2, 3]),
        prove(context("demo.parking"), &[3]),
    ] {
        let xd = (second.rd - first.rd) * (first.c - second.c).invert();
        assert_ne!(
            crate::group::holder_generator() * xd,
            w.holder.public().0,
            "two presentations revealed xd"
        );
        // alpha_inv leaks the same way through r0 when w0 repeats.
        let alpha_inv = (first.tokens[0].r0 - second.tokens[0].r0) * (first.c - second.c).invert();
        assert_ne!(alpha_inv, w.address_tokens[0].alpha_inv);
    }
}

/// Secrets of the protocol states are wiped by their own drop, on every
/// path (a compile-time check: these types must stay `ZeroizeOnDrop`).
#[test]
fn secret_states_zeroize_on_drop() {
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<crate::holder::HolderSecret>();
    zeroize_on_drop::<crate::issuance::issuer::IssuerSession>();
    zeroize_on_drop::<crate::token::CredentialToken>();
    zeroize_on_drop::<crate::keys::IssuerSecretKey>();
    zeroize_on_drop::<zeroize::Zeroizing<Vec<curve25519_dalek::scalar::Scalar>>>();
}
