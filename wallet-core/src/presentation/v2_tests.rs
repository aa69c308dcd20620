//! Version 2: a negative test for each group equation of the one
//! multiplication, the presence-proof fields, version refusal, single-byte
//! changes and batch verification.

use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use rand_core::OsRng;

use super::tests::{context, keys, parking, world, World};
use super::*;
use crate::cbor::WirePoint;
use crate::encoding::AttributeValue;
use crate::group::g;
use crate::issuance::tests::NOW;
use crate::predicate::Predicate;
use crate::pseudonym::Scope;
use crate::token::TokenCheckError;

fn check(w: &World, p: &Presentation, verifier: &str) -> Result<VerifiedPresentation, VerifyError> {
    verify(
        p,
        &Expected::protocol_limits(),
        &context(verifier),
        &keys(w),
        NOW,
    )
}

/// One address token (city disclosed), a pseudonym and an at-least
/// predicate on the hidden house number.
fn poll(w: &World) -> Presentation {
    let mut b = PresentationBuilder::new(&w.holder, context("demo.poll"));
    let a = b.token(&w.address_tokens[1], w.address.public(), &[3]);
    b.pseudonym(Scope("demo.poll/x".into()));
    b.predicate(a, 1, Predicate::GreaterOrEqual(AttributeValue::Integer(10)));
    b.prove(&mut OsRng).unwrap()
}

fn shifted(p: &WirePoint) -> WirePoint {
    WirePoint::new(**p + g())
}

#[test]
fn the_v2_presentations_verify_and_round_trip() {
    let w = world();
    let p = poll(&w);
    assert_eq!(Presentation::from_bytes(&p.to_bytes()).unwrap(), p);
    let v = check(&w, &p, "demo.poll").unwrap();
    assert_eq!(v.predicates.len(), 1);
    assert!(p.predicates[0].presence.is_none());
    let q = parking(&w);
    assert!(q.predicates[0].presence.is_some());
    check(&w, &q, "demo.parking").unwrap();
}

#[test]
fn tampered_token_commitment_a_j_fails() {
    let w = world();
    let mut p = parking(&w);
    p.tokens[1].commitment = shifted(&p.tokens[1].commitment);
    assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Challenge));
    // A response changed instead: the hash still matches, the equation not.
    let mut p = parking(&w);
    p.tokens[0].r0 += Scalar::ONE;
    assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Challenge));
    let mut p = parking(&w);
    p.rd += Scalar::ONE;
    assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Challenge));
}

#[test]
fn tampered_pseudonym_commitment_fails() {
    let w = world();
    let mut p = poll(&w);
    p.pseudonyms[0].commitment = shifted(&p.pseudonyms[0].commitment);
    assert_eq!(check(&w, &p, "demo.poll"), Err(VerifyError::Challenge));
}

#[test]
fn tampered_predicate_commitments_fail() {
    let w = world();
    let mut p = poll(&w);
    p.predicates[0].commitment_nonce = shifted(&p.predicates[0].commitment_nonce);
    assert_eq!(check(&w, &p, "demo.poll"), Err(VerifyError::Challenge));
    let mut p = poll(&w);
    p.predicates[0].rt += Scalar::ONE;
    assert_eq!(check(&w, &p, "demo.poll"), Err(VerifyError::Challenge));
}

#[test]
fn tampered_presence_proof_fails() {
    let w = world();
    let base = parking(&w);
    let mut p = base.clone();
    let n = p.predicates[0].presence.unwrap();
    p.predicates[0].presence = Some(shifted(&n));
    assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Challenge));
    for field in 0..2 {
        let mut p = base.clone();
        let q = &mut p.predicates[0];
        let s = if field == 0 {
            &mut q.presence_a
        } else {
            &mut q.presence_b
        };
        *s = s.map(|s| s + Scalar::ONE);
        assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Challenge));
    }
}

#[test]
fn presence_fields_exactly_for_the_at_most_forms() {
    let w = world();
    for drop in 0..3 {
        let mut p = parking(&w);
        let q = &mut p.predicates[0];
        match drop {
            0 => q.presence = None,
            1 => q.presence_a = None,
            _ => q.presence_b = None,
        }
        assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Presence(0)));
    }
    // An at-least predicate with a presence proof glued on.
    let mut p = poll(&w);
    let q = parking(&w).predicates[0].clone();
    p.predicates[0].presence = q.presence;
    p.predicates[0].presence_a = q.presence_a;
    p.predicates[0].presence_b = q.presence_b;
    assert_eq!(check(&w, &p, "demo.poll"), Err(VerifyError::Presence(0)));
}

#[test]
fn tampered_token_commitments_sa_sb_fail_the_token_check() {
    let w = world();
    for which in 0..2 {
        let mut p = parking(&w);
        let t = &mut p.tokens[1].token;
        if which == 0 {
            t.sa = shifted(&t.sa);
        } else {
            t.sb = shifted(&t.sb);
        }
        assert_eq!(
            check(&w, &p, "demo.parking"),
            Err(VerifyError::TokenCheck {
                token: 1,
                error: TokenCheckError::Signature
            })
        );
        assert_eq!(
            p.tokens[1].token.check(w.personal.public()),
            Err(TokenCheckError::Signature)
        );
    }
}

#[test]
fn tampered_range_proof_fails_after_the_equations() {
    let w = world();
    let mut p = parking(&w);
    // Bytes that are not the proof: `r` is hashed, so the equations fail.
    let last = p.range_proof.len() - 1;
    p.range_proof[last] ^= 1;
    assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Challenge));
    let mut p = parking(&w);
    p.range_proof.clear();
    assert_eq!(check(&w, &p, "demo.parking"), Err(VerifyError::Challenge));
}

#[test]
fn version_1_is_refused() {
    let w = world();
    let mut p = parking(&w);
    p.v = 1;
    assert_eq!(
        Presentation::from_bytes(&p.to_bytes()),
        Err(crate::cbor::DecodeError::UnknownVersion(1))
    );
    let mut ctx = context("demo.parking");
    ctx.message = Some("m".into());
    let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
    b.token(&w.address_tokens[0], w.address.public(), &[0]);
    let sig = crate::signature::AttributeSignature::new(ctx, b.prove(&mut OsRng).unwrap()).unwrap();
    let mut bytes = sig.to_bytes();
    // `{"v": 2, …}`: the signature's version is the byte after the key.
    let at = bytes.windows(2).position(|x| x == [0x61, b'v']).unwrap() + 2;
    assert_eq!(bytes[at], 2);
    bytes[at] = 1;
    assert_eq!(
        crate::signature::AttributeSignature::from_bytes(&bytes),
        Err(crate::signature::SignatureError::Decode(
            crate::cbor::DecodeError::UnknownVersion(1)
        ))
    );
    assert_eq!(crate::PROTOCOL_VERSION, 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// A random single-byte change anywhere in a v2 presentation (token,
    /// commitments, responses, presence proof, range proof) never verifies.
    #[test]
    fn any_single_byte_change_fails(at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        static W: std::sync::OnceLock<(World, Vec<u8>)> = std::sync::OnceLock::new();
        let (w, bytes) = W.get_or_init(|| {
            let w = world();
            let b = parking(&w).to_bytes();
            (w, b)
        });
        let mut m = bytes.clone();
        let i = at.index(m.len());
        m[i] ^= xor;
        let ok = Presentation::from_bytes(&m)
            .ok()
            .and_then(|p| check(w, &p, "demo.parking").ok());
        prop_assert!(ok.is_none(), "changing byte {} by {:#x} still verifies", i, xor);
    }
}

fn items<'a>(
    ps: &'a [Presentation],
    ctx: &'a ChallengeContext,
    e: &'a Expected,
) -> Vec<BatchItem<'a>> {
    ps.iter()
        .map(|p| BatchItem {
            presentation: p,
            expected: e,
            context: ctx,
        })
        .collect()
}

fn one_credential(w: &World, k: usize) -> Presentation {
    let mut b = PresentationBuilder::new(&w.holder, context("demo.parking"));
    b.token(
        &w.address_tokens[k % w.address_tokens.len()],
        w.address.public(),
        &[3],
    );
    b.prove(&mut OsRng).unwrap()
}

#[test]
fn batch_all_good_and_empty() {
    let w = world();
    let (ctx, e) = (context("demo.parking"), Expected::protocol_limits());
    assert!(verify_batch(&[], &keys(&w), NOW).is_empty());
    let mut ps: Vec<Presentation> = (0..6).map(|k| one_credential(&w, k)).collect();
    ps.push(parking(&w));
    let out = verify_batch(&items(&ps, &ctx, &e), &keys(&w), NOW);
    assert_eq!(out.len(), 7);
    for (p, r) in ps.iter().zip(&out) {
        assert_eq!(r, &check(&w, p, "demo.parking"));
        assert!(r.is_ok());
    }
}

#[test]
fn batch_finds_each_bad_item() {
    let w = world();
    let (ctx, e) = (context("demo.parking"), Expected::protocol_limits());
    let mut ps: Vec<Presentation> = (0..9).map(|k| one_credential(&w, k)).collect();
    ps[4].tokens[0].r0 += Scalar::ONE; // equations fail: Challenge
    ps[7].tokens[0].token.sr += Scalar::ONE; // its token: TokenCheck
    ps[8].tokens[0].disclosed.clear(); // a non-group check: Partition
    let out = verify_batch(&items(&ps, &ctx, &e), &keys(&w), NOW);
    for (k, r) in out.iter().enumerate() {
        match k {
            4 => assert_eq!(r, &Err(VerifyError::Challenge)),
            7 => assert_eq!(
                r,
                &Err(VerifyError::TokenCheck {
                    token: 0,
                    error: TokenCheckError::Signature
                })
            ),
            8 => assert_eq!(r, &Err(VerifyError::Partition { token: 0 })),
            _ => assert!(r.is_ok(), "item {k}: {r:?}"),
        }
        assert_eq!(r, &check(&w, &ps[k], "demo.parking"), "item {k}");
    }
    // A lone bad item, and one for another context than the batch's.
    let one = verify_batch(&items(&ps[4..5], &ctx, &e), &keys(&w), NOW);
    assert_eq!(one, vec![Err(VerifyError::Challenge)]);
    let other = context("demo.poll");
    let out = verify_batch(&items(&ps[..3], &other, &e), &keys(&w), NOW);
    assert!(out.iter().all(|r| r == &Err(VerifyError::Challenge)));
}

/// The bisecting fallback's work is linear in the batch size however many
/// items are bad: plain bisection made `k·(log2 k + 1)` item checks for `k`
/// bad items (an attacker who fills a batch with bad items multiplied the
/// verifier's work by `log2 k + 1` over verifying each item alone).
#[test]
fn batch_fallback_work_is_linear_when_every_item_is_bad() {
    use super::batch::ITEM_CHECKS;
    let w = world();
    let (ctx, e) = (context("demo.parking"), Expected::protocol_limits());
    let k = 16;
    let mut ps: Vec<Presentation> = (0..k).map(|i| one_credential(&w, i)).collect();
    for p in &mut ps {
        p.tokens[0].r0 += Scalar::ONE;
    }
    ITEM_CHECKS.with(|c| c.set(0));
    let out = verify_batch(&items(&ps, &ctx, &e), &keys(&w), NOW);
    let work = ITEM_CHECKS.with(|c| c.get());
    assert!(out.iter().all(|r| r == &Err(VerifyError::Challenge)));
    assert!(work <= 4 * k, "{work} item checks for {k} bad items");
    // Sparse: two bad items, in different halves, and one in a corner.
    for bad in [&[3usize, 12][..], &[15], &[0, 1, 2, 3, 4, 5, 6, 7, 8]] {
        let mut ps: Vec<Presentation> = (0..k).map(|i| one_credential(&w, i)).collect();
        for &b in bad {
            ps[b].tokens[0].r0 += Scalar::ONE;
        }
        ITEM_CHECKS.with(|c| c.set(0));
        let out = verify_batch(&items(&ps, &ctx, &e), &keys(&w), NOW);
        let work = ITEM_CHECKS.with(|c| c.get());
        assert!(work <= 4 * k, "{work} item checks, bad {bad:?}");
        for (i, r) in out.iter().enumerate() {
            assert_eq!(r.is_err(), bad.contains(&i), "item {i}");
            assert_eq!(r, &check(&w, &ps[i], "demo.parking"), "item {i}");
        }
    }
    // Any set of bad items: at most 4·k item checks, the right answers.
    let good: Vec<Presentation> = (0..k).map(|i| one_credential(&w, i)).collect();
    let mut bad = good.clone();
    for p in &mut bad {
        p.tokens[0].r0 += Scalar::ONE;
    }
    for mask in (0u32..1 << k).step_by(257) {
        let ps: Vec<Presentation> = (0..k)
            .map(|i| {
                if mask >> i & 1 == 1 {
                    bad[i].clone()
                } else {
                    good[i].clone()
                }
            })
            .collect();
        ITEM_CHECKS.with(|c| c.set(0));
        let out = verify_batch(&items(&ps, &ctx, &e), &keys(&w), NOW);
        let work = ITEM_CHECKS.with(|c| c.get());
        assert!(work <= 4 * k, "{work} item checks, mask {mask:#x}");
        for (i, r) in out.iter().enumerate() {
            assert_eq!(r.is_err(), mask >> i & 1 == 1, "mask {mask:#x} item {i}");
        }
    }
}

/// Identity elements and zero responses where the new commitments and
/// presence responses go (a presentation built in memory: the decoder
/// refuses identity points, Rule 4) fail cleanly, alone and in a batch.
#[test]
fn identity_commitments_and_zero_presence_responses_fail_without_panic() {
    use curve25519_dalek::ristretto::RistrettoPoint;
    use curve25519_dalek::traits::Identity;
    let w = world();
    let one = WirePoint::new(RistrettoPoint::identity());
    let base = parking(&w);
    let mut bad: Vec<Presentation> = Vec::new();
    for field in 0..7 {
        let mut p = base.clone();
        match field {
            0 => p.tokens[0].commitment = one,
            1 => p.predicates[0].commitment_nonce = one,
            2 => p.predicates[0].presence = Some(one),
            3 => p.predicates[0].commitment = one,
            4 => p.predicates[0].presence_a = Some(Scalar::ZERO),
            5 => p.predicates[0].presence_b = Some(Scalar::ZERO),
            _ => p.rd = Scalar::ZERO,
        }
        assert!(check(&w, &p, "demo.parking").is_err(), "field {field}");
        bad.push(p);
    }
    let mut p = poll(&w);
    p.pseudonyms[0].commitment = one;
    assert!(check(&w, &p, "demo.poll").is_err());
    p.pseudonyms[0].pseudonym = one;
    assert!(check(&w, &p, "demo.poll").is_err());
    let (ctx, e) = (context("demo.parking"), Expected::protocol_limits());
    bad.push(base.clone());
    let out = verify_batch(&items(&bad, &ctx, &e), &keys(&w), NOW);
    for (k, r) in out.iter().enumerate() {
        assert_eq!(r.is_ok(), k == bad.len() - 1, "item {k}: {r:?}");
    }
}

/// Two bad items whose errors would cancel under equal weights (one
/// presentation's `r0` raised by one, the other's lowered by one on the
/// same key and context) are both refused in a batch: each item has its
/// own random weight.
#[test]
fn batch_opposite_errors_do_not_cancel() {
    let w = world();
    let (ctx, e) = (context("demo.parking"), Expected::protocol_limits());
    let mut ps: Vec<Presentation> = (0..2).map(|_| one_credential(&w, 0)).collect();
    ps[0].tokens[0].r0 += Scalar::ONE;
    ps[1].tokens[0].r0 -= Scalar::ONE;
    for _ in 0..8 {
        let out = verify_batch(&items(&ps, &ctx, &e), &keys(&w), NOW);
        assert_eq!(
            out,
            vec![Err(VerifyError::Challenge), Err(VerifyError::Challenge)]
        );
    }
}

/// `PresentationMessage::from_bytes` counts the parts before decoding, like
/// `AttributeSignature::from_bytes`: a message with more predicates than
/// the protocol allows used to be decoded in full (every point
/// decompressed) before anything counted it.
#[test]
fn presentation_message_counts_before_decoding() {
    use crate::wire::{PresentationMessage, WireMessage};
    let w = world();
    let mut p = parking(&w);
    let q = p.predicates[0].clone();
    p.predicates = vec![q; shape::MAX_PARTS + 1];
    let bytes = PresentationMessage::new(p).to_bytes();
    assert!(matches!(
        PresentationMessage::from_bytes(&bytes),
        Err(crate::cbor::DecodeError::Invalid(_))
    ));
    let ok = PresentationMessage::new(parking(&w)).to_bytes();
    assert!(PresentationMessage::from_bytes(&ok).is_ok());
}
