//! Predicate statements and the v2 aggregated range proof.

use super::*;
use crate::group::blinding_generator;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::OsRng;

mod vector;

fn date(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

fn ord(v: AttributeValue) -> u64 {
    v.ordinal().unwrap()
}

/// `(C = g^x · H^t, t)` for a fresh `t`.
fn commit(x: u64) -> (RistrettoPoint, Scalar) {
    let t = Scalar::random(&mut OsRng);
    (
        RistrettoPoint::mul_base(&Scalar::from(x)) + blinding_generator() * t,
        t,
    )
}

/// A hidden attribute under a predicate: its ordinal, blinding and
/// statement.
struct Item {
    x: u64,
    t: Scalar,
    statement: RangeStatement,
}

fn item(predicate: &Predicate, kind: AttributeKind, value: &AttributeValue) -> Item {
    let x = value.ordinal().unwrap_or(0);
    let (c, t) = commit(x);
    Item {
        x,
        t,
        statement: RangeStatement::new(c, predicate.statement(kind).unwrap()),
    }
}

fn witnesses(items: &[Item]) -> Vec<(RangeStatement, u64, &Scalar)> {
    items.iter().map(|i| (i.statement, i.x, &i.t)).collect()
}

fn statements(items: &[Item]) -> Vec<RangeStatement> {
    items.iter().map(|i| i.statement).collect()
}

fn prove(digest: &[u8; 64], items: &[Item]) -> Result<Vec<u8>, PredicateError> {
    prove_ranges(digest, &witnesses(items), &mut OsRng)
}

fn verify(digest: &[u8; 64], items: &[Item], proof: &[u8]) -> Result<(), PredicateError> {
    verify_ranges(digest, &statements(items), proof)
}

const DIGEST: [u8; 64] = [7; 64];

fn on() -> Date {
    date(2026, 11, 25)
}

/// The five forms, each with a value for which it holds: `(name, kind,
/// predicate, value)`.
fn forms() -> Vec<(&'static str, AttributeKind, Predicate, AttributeValue)> {
    use AttributeValue::{Date as D, Integer as I};
    vec![
        (
            "ge on date",
            AttributeKind::Date,
            Predicate::GreaterOrEqual(D(date(2020, 1, 1))),
            D(date(2024, 6, 30)),
        ),
        (
            "ge on integer",
            AttributeKind::Integer,
            Predicate::GreaterOrEqual(I(-5)),
            I(1 << 40),
        ),
        (
            "le on date",
            AttributeKind::Date,
            Predicate::LessOrEqual(D(date(2000, 1, 1))),
            D(date(1800, 1, 1)),
        ),
        (
            "le on integer",
            AttributeKind::Integer,
            Predicate::LessOrEqual(I(100)),
            I(crate::encoding::MIN_INTEGER),
        ),
        (
            "age",
            AttributeKind::Date,
            Predicate::AgeAtLeast {
                years: 18,
                on: on(),
            },
            D(date(2008, 11, 25)),
        ),
    ]
}

#[test]
fn age_cutoff_handles_leap_days() {
    assert_eq!(age_cutoff(date(2026, 11, 25), 18), Some(date(2008, 11, 25)));
    assert_eq!(age_cutoff(date(2028, 2, 29), 18), Some(date(2010, 2, 28)));
    let p = Predicate::AgeAtLeast {
        years: 18,
        on: date(2026, 2, 28),
    };
    // Born 2008-02-29: 18 on 2026-03-01, not yet on 2026-02-28.
    assert!(!p.holds_for(&AttributeValue::Date(date(2008, 2, 29))));
    assert!(p.holds_for(&AttributeValue::Date(date(2008, 2, 28))));
}

#[test]
fn statements_by_form_and_kind() {
    use AttributeValue::{Date as D, Integer as I};
    let d = D(date(2000, 5, 6));
    assert_eq!(
        Predicate::GreaterOrEqual(d.clone()).statement(AttributeKind::Date),
        Ok((Form::AtLeast(ord(d.clone())), 32))
    );
    assert_eq!(
        Predicate::LessOrEqual(d.clone()).statement(AttributeKind::Date),
        Ok((Form::AtMost(ord(d)), 32))
    );
    assert_eq!(
        Predicate::GreaterOrEqual(I(3)).statement(AttributeKind::Integer),
        Ok((Form::AtLeast(ord(I(3))), 64))
    );
    assert_eq!(
        Predicate::LessOrEqual(I(-3)).statement(AttributeKind::Integer),
        Ok((Form::AtMost(ord(I(-3))), 64))
    );
    assert_eq!(
        Predicate::AgeAtLeast {
            years: 18,
            on: on()
        }
        .statement(AttributeKind::Date),
        Ok((Form::AtMost(ord(D(date(2008, 11, 25)))), 32))
    );
    // The date bits suffice: LAST(date) < 2^22 ≤ 2^32.
    assert!(last_ordinal(AttributeKind::Date) < 1 << 22);
    assert_eq!(last_ordinal(AttributeKind::Integer), (1 << 63) + 1);
    // Form codes as hashed: 0 at least, 1 at most; only at-most needs the
    // presence proof.
    assert_eq!((Form::AtLeast(5).code(), Form::AtMost(5).code()), (0, 1));
    assert!(!Form::AtLeast(5).needs_presence_proof());
    assert!(Form::AtMost(5).needs_presence_proof());
}

#[test]
fn statements_check_kinds() {
    let ge = Predicate::GreaterOrEqual(AttributeValue::Integer(3));
    assert_eq!(
        ge.statement(AttributeKind::Date),
        Err(PredicateError::BoundKind)
    );
    assert!(matches!(
        ge.statement(AttributeKind::String),
        Err(PredicateError::UnorderedKind(_))
    ));
    assert!(matches!(
        ge.statement(AttributeKind::Boolean),
        Err(PredicateError::UnorderedKind(_))
    ));
    let age = Predicate::AgeAtLeast {
        years: 18,
        on: date(2026, 1, 1),
    };
    assert_eq!(
        age.statement(AttributeKind::Integer),
        Err(PredicateError::AgeNeedsDate)
    );
    // A cutoff before the first date has no ordinal.
    let too_old = Predicate::AgeAtLeast {
        years: 250,
        on: date(1900, 1, 1),
    };
    assert_eq!(
        too_old.statement(AttributeKind::Date),
        Err(PredicateError::BoundOutOfRange)
    );
}

#[test]
fn each_form_proves_and_verifies_alone() {
    for (name, kind, p, value) in forms() {
        assert!(p.holds_for(&value), "{name}");
        let items = [item(&p, kind, &value)];
        let proof = prove(&DIGEST, &items).unwrap();
        // n = 32 for a date (5 rounds), 64 for an integer (6 rounds).
        let rounds = if kind == AttributeKind::Date { 5 } else { 6 };
        assert_eq!(proof.len(), 32 * (9 + 2 * rounds), "{name}");
        assert_eq!(range_proof_len(&statements(&items)), Some(proof.len()));
        assert_eq!(verify(&DIGEST, &items, &proof), Ok(()), "{name}");
    }
}

#[test]
fn aggregated_proofs_pad_to_a_power_of_two() {
    // 1, 2, 3, 5 statements: m' = 1, 2, 4, 8 parties; all dates (n = 32)
    // or with the integer forms (n = 64).
    let all = forms();
    for m in [1usize, 2, 3, 5] {
        for dates_only in [true, false] {
            let chosen: Vec<_> = all
                .iter()
                .cycle()
                .filter(|f| !dates_only || f.1 == AttributeKind::Date)
                .take(m)
                .collect();
            let items: Vec<Item> = chosen.iter().map(|(_, k, p, v)| item(p, *k, v)).collect();
            let proof = prove(&DIGEST, &items).unwrap();
            let n = if chosen.iter().all(|f| f.1 == AttributeKind::Date) {
                32
            } else {
                64
            };
            let rounds = (n * m.next_power_of_two()).trailing_zeros() as usize;
            assert_eq!(proof.len(), 32 * (9 + 2 * rounds), "m = {m}, n = {n}");
            assert_eq!(verify(&DIGEST, &items, &proof), Ok(()), "m = {m}, n = {n}");
            // Dropping the last statement changes m (and for 5 → 4 the
            // padding): refused.
            if m > 1 {
                assert!(verify(&DIGEST, &items[..m - 1], &proof).is_err());
            }
        }
    }
}

#[test]
fn a_date_and_an_integer_share_a_64_bit_proof() {
    let all = forms();
    let items = [
        item(&all[4].2, all[4].1, &all[4].3),
        item(&all[1].2, all[1].1, &all[1].3),
    ];
    assert_eq!(items[0].statement.bits, 32);
    assert_eq!(items[1].statement.bits, 64);
    let proof = prove(&DIGEST, &items).unwrap();
    // n = 64, m' = 2: 7 rounds, 23 elements, 736 bytes.
    assert_eq!(proof.len(), 736);
    assert_eq!(verify(&DIGEST, &items, &proof), Ok(()));
}

#[test]
fn a_statement_that_does_not_hold_cannot_be_proven() {
    use AttributeValue::{Date as D, Integer as I};
    let too_young = D(date(2008, 11, 26));
    let cases = [
        (
            AttributeKind::Date,
            forms()[0].2.clone(),
            D(date(2019, 12, 31)),
        ),
        (AttributeKind::Integer, forms()[1].2.clone(), I(-6)),
        (
            AttributeKind::Date,
            forms()[2].2.clone(),
            D(date(2000, 1, 2)),
        ),
        (AttributeKind::Integer, forms()[3].2.clone(), I(101)),
        (AttributeKind::Date, forms()[4].2.clone(), too_young),
    ];
    let all = forms();
    let good = &all[4];
    for (kind, p, value) in cases {
        assert!(!p.holds_for(&value));
        let bad = item(&p, kind, &value);
        assert_eq!(prove(&DIGEST, &[bad]), Err(PredicateError::False), "{p:?}");
        // Also not hidden among true statements.
        let bad = item(&p, kind, &value);
        let items = [item(&good.2, good.1, &good.3), bad];
        assert_eq!(prove(&DIGEST, &items), Err(PredicateError::False));
        // Forced through the crate anyway, the proof does not verify.
        let forged = prove_ranges_unchecked(&DIGEST, &witnesses(&items), &mut OsRng).unwrap();
        assert_eq!(
            verify(&DIGEST, &items, &forged),
            Err(PredicateError::RangeProof)
        );
    }
    // A value beyond the statement's bits is refused before the crate.
    let (c, t) = commit(1 << 33);
    let wide = RangeStatement::new(c, (Form::AtLeast(1), 32));
    assert_eq!(
        prove_ranges(&DIGEST, &[(wide, 1 << 33, &t)], &mut OsRng),
        Err(PredicateError::False)
    );
}

#[test]
fn a_proof_is_bound_to_digest_statements_and_order() {
    let all = forms();
    let items: Vec<Item> = [0, 4, 2]
        .iter()
        .map(|&i| item(&all[i].2, all[i].1, &all[i].3))
        .collect();
    let proof = prove(&DIGEST, &items).unwrap();
    assert_eq!(verify(&DIGEST, &items, &proof), Ok(()));
    let s = statements(&items);
    let refused = |statements: &[RangeStatement]| verify_ranges(&DIGEST, statements, &proof);
    // Another digest.
    assert_eq!(
        verify(&[8; 64], &items, &proof),
        Err(PredicateError::RangeProof)
    );
    // Another bound (one more or one less), on each statement.
    for j in 0..s.len() {
        for delta in [1i64, -1] {
            let mut moved = s.clone();
            let b = moved[j].form.bound().wrapping_add_signed(delta);
            moved[j].form = match moved[j].form {
                Form::AtLeast(_) => Form::AtLeast(b),
                Form::AtMost(_) => Form::AtMost(b),
            };
            assert_eq!(refused(&moved), Err(PredicateError::RangeProof));
        }
        // The other form with the same bound.
        let mut flipped = s.clone();
        flipped[j].form = match flipped[j].form {
            Form::AtLeast(b) => Form::AtMost(b),
            Form::AtMost(b) => Form::AtLeast(b),
        };
        assert_eq!(refused(&flipped), Err(PredicateError::RangeProof));
        // Another commitment.
        let mut other_c = s.clone();
        other_c[j] = RangeStatement::new(
            s[j].commitment + RistrettoPoint::mul_base(&Scalar::ONE),
            (s[j].form, s[j].bits),
        );
        assert_eq!(refused(&other_c), Err(PredicateError::RangeProof));
    }
    // Another order.
    let mut swapped = s.clone();
    swapped.swap(0, 2);
    assert_eq!(refused(&swapped), Err(PredicateError::RangeProof));
    // Another bit length (n = 64 needs a longer proof).
    let mut wider = s.clone();
    wider[1].bits = 64;
    assert_eq!(refused(&wider), Err(PredicateError::Malformed));
    // Truncated or extended bytes: refused by length before any point is
    // decoded.
    for len in [
        0,
        31,
        32,
        proof.len() - 64,
        proof.len() - 32,
        proof.len() - 1,
    ] {
        assert_eq!(
            verify_ranges(&DIGEST, &s, &proof[..len]),
            Err(PredicateError::Malformed),
            "{len}"
        );
    }
    for extra in [&[0u8][..], &[0u8; 32][..], &[0u8; 64][..]] {
        let mut longer = proof.clone();
        longer.extend_from_slice(extra);
        assert_eq!(
            verify_ranges(&DIGEST, &s, &longer),
            Err(PredicateError::Malformed)
        );
    }
}

#[test]
fn malformed_proofs_and_statements_are_refused() {
    let all = forms();
    let items = [item(&all[4].2, all[4].1, &all[4].3)];
    let s = statements(&items);
    let proof = prove(&DIGEST, &items).unwrap();
    // A non-canonical scalar (t_x = q + small): Malformed, no group op.
    let mut bad = proof.clone();
    bad[4 * 32..5 * 32].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        verify_ranges(&DIGEST, &s, &bad),
        Err(PredicateError::Malformed)
    );
    // An identity point (A) or a non-decodable one (S): fails verification.
    for (at, bytes) in [(0, [0u8; 32]), (32, [0xff; 32])] {
        let mut bad = proof.clone();
        bad[at..at + 32].copy_from_slice(&bytes);
        assert_eq!(
            verify_ranges(&DIGEST, &s, &bad),
            Err(PredicateError::RangeProof)
        );
    }
    // No statement, too many, bits other than 32/64: Malformed both ways.
    assert_eq!(
        verify_ranges(&DIGEST, &[], &proof),
        Err(PredicateError::Malformed)
    );
    assert_eq!(
        prove_ranges(&DIGEST, &[], &mut OsRng),
        Err(PredicateError::Malformed)
    );
    let many = vec![s[0]; MAX_RANGE_STATEMENTS + 1];
    assert_eq!(
        verify_ranges(&DIGEST, &many, &proof),
        Err(PredicateError::Malformed)
    );
    let t = items[0].t;
    let many_items = vec![(s[0], items[0].x, &t); MAX_RANGE_STATEMENTS + 1];
    assert_eq!(
        prove_ranges(&DIGEST, &many_items, &mut OsRng),
        Err(PredicateError::Malformed)
    );
    for bits in [0, 8, 16, 33, 128] {
        let mut odd = s.clone();
        odd[0].bits = bits;
        assert_eq!(
            verify_ranges(&DIGEST, &odd, &proof),
            Err(PredicateError::Malformed)
        );
        assert_eq!(
            prove_ranges(&DIGEST, &[(odd[0], items[0].x, &t)], &mut OsRng),
            Err(PredicateError::Malformed)
        );
    }
}

#[test]
fn sixteen_statements_fit_one_proof() {
    let all = forms();
    let items: Vec<Item> = (0..MAX_RANGE_STATEMENTS)
        .map(|i| {
            let f = &all[i % all.len()];
            item(&f.2, f.1, &f.3)
        })
        .collect();
    let proof = prove(&DIGEST, &items).unwrap();
    // n = 64, m' = 16: 10 rounds.
    assert_eq!(proof.len(), 32 * (9 + 2 * 10));
    assert_eq!(verify(&DIGEST, &items, &proof), Ok(()));
}

/// The written-out equation (§13.4, `equation.rs`) accepts and refuses
/// exactly what the crate's verifier does: every shape up to 16 parties,
/// and proofs with one flipped byte anywhere.
#[test]
fn the_written_out_equation_agrees_with_the_crate() {
    use super::range::verify_ranges_with_crate;
    let all = forms();
    for m in [1usize, 2, 3, 4, 5, 9, 16] {
        for dates_only in [true, false] {
            let items: Vec<Item> = all
                .iter()
                .cycle()
                .filter(|f| !dates_only || f.1 == AttributeKind::Date)
                .take(m)
                .map(|(_, k, p, v)| item(p, *k, v))
                .collect();
            let proof = prove(&DIGEST, &items).unwrap();
            let s = statements(&items);
            assert_eq!(verify_ranges(&DIGEST, &s, &proof), Ok(()), "m = {m}");
            assert_eq!(verify_ranges_with_crate(&DIGEST, &s, &proof), Ok(()));
            if m > 2 {
                continue;
            }
            for i in (0..proof.len()).step_by(7) {
                let mut bad = proof.clone();
                bad[i] ^= 0x10;
                let ours = verify_ranges(&DIGEST, &s, &bad);
                assert!(ours.is_err(), "byte {i}");
                assert_eq!(
                    ours,
                    verify_ranges_with_crate(&DIGEST, &s, &bad),
                    "byte {i}"
                );
            }
        }
    }
    // A forged x = 0 at-most proof: both accept; at-least: both refuse.
    for (form, ok) in [(Form::AtMost(5), true), (Form::AtLeast(5), false)] {
        let (c, t) = commit(0);
        let st = RangeStatement::new(c, (form, 32));
        let p = prove_ranges_unchecked(&DIGEST, &[(st, 0, &t)], &mut OsRng).unwrap();
        assert_eq!(verify_ranges(&DIGEST, &[st], &p).is_ok(), ok);
        assert_eq!(verify_ranges_with_crate(&DIGEST, &[st], &p).is_ok(), ok);
    }
}

/// Rule 7, at-least forms: an absent attribute (`x = 0`) cannot be proven,
/// and a proof forced through the crate does not verify, for every
/// at-least bound down to the smallest, `lo = 1`; `lo = 0` is refused.
#[test]
fn rule7_absent_attribute_never_passes_an_at_least_form() {
    let all = forms();
    for lo in [1, 2, ord(AttributeValue::Integer(0))] {
        for bits in [32, 64] {
            if bits == 32 && lo > 1 << 22 {
                continue;
            }
            let (c, t) = commit(0);
            let s = RangeStatement::new(c, (Form::AtLeast(lo), bits));
            assert_eq!(
                prove_ranges(&DIGEST, &[(s, 0, &t)], &mut OsRng),
                Err(PredicateError::False)
            );
            let forged = prove_ranges_unchecked(&DIGEST, &[(s, 0, &t)], &mut OsRng).unwrap();
            assert_eq!(
                verify_ranges(&DIGEST, &[s], &forged),
                Err(PredicateError::RangeProof),
                "lo = {lo}, bits = {bits}"
            );
        }
    }
    // Both at-least predicates of the table, on an absent value.
    for (name, kind, p, _) in all
        .iter()
        .filter(|f| matches!(f.2, Predicate::GreaterOrEqual(_)))
    {
        assert!(!p.holds_for(&AttributeValue::Absent), "{name}");
        let absent = item(p, *kind, &AttributeValue::Absent);
        assert_eq!(absent.x, 0);
        assert_eq!(prove(&DIGEST, &[absent]), Err(PredicateError::False));
    }
    // A zero bound: refused by the prover and the verifier.
    let (c, t) = commit(0);
    let zero = RangeStatement::new(c, (Form::AtLeast(0), 32));
    assert_eq!(
        prove_ranges(&DIGEST, &[(zero, 0, &t)], &mut OsRng),
        Err(PredicateError::False)
    );
    let any = prove_ranges_unchecked(
        &DIGEST,
        &[(RangeStatement::new(c, (Form::AtLeast(1), 32)), 1, &t)],
        &mut OsRng,
    )
    .unwrap();
    assert_eq!(
        verify_ranges(&DIGEST, &[zero], &any),
        Err(PredicateError::RangeProof)
    );
}

/// Rule 7, at-most forms (`le`, `age`): WHY THE PRESENCE PROOF EXISTS.
///
/// `hi - x ∈ [0, 2^n)` holds for `x = 0`: the range proof ALONE accepts a
/// commitment to an absent attribute under every at-most form. The wallet's
/// prover refuses (`False`), but a cheating prover that skips the check
/// gets a range proof that VERIFIES. What excludes `x = 0` is the
/// presentation's presence proof (knowledge of `(a, b)` with
/// `g = C^a · H^b`, impossible when `C = H^t`), which the verifier requires
/// exactly for the forms with [`Form::needs_presence_proof`].
#[test]
fn rule7_at_most_range_alone_would_pass_an_absent_attribute() {
    let at_most: Vec<_> = forms()
        .into_iter()
        .filter(|f| matches!(f.2.statement(f.1), Ok((Form::AtMost(_), _))))
        .collect();
    assert_eq!(at_most.len(), 3, "le on date, le on integer, age");
    for (name, kind, p, _) in at_most {
        assert!(!p.holds_for(&AttributeValue::Absent), "{name}");
        let absent = item(&p, kind, &AttributeValue::Absent);
        assert_eq!(absent.x, 0);
        assert!(absent.statement.form.needs_presence_proof());
        // The honest prover refuses ...
        assert_eq!(
            prove(&DIGEST, std::slice::from_ref(&absent)),
            Err(PredicateError::False)
        );
        // ... but the range proof alone is satisfiable for x = 0 and
        // verifies: only the presence proof stops this attribute.
        let forged = prove_ranges_unchecked(
            &DIGEST,
            &witnesses(std::slice::from_ref(&absent)),
            &mut OsRng,
        )
        .unwrap();
        assert_eq!(
            verify(&DIGEST, std::slice::from_ref(&absent), &forged),
            Ok(()),
            "{name}: the range proof alone accepts x = 0"
        );
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn form_of(at_least: bool, bound: u64) -> Form {
        if at_least {
            Form::AtLeast(bound)
        } else {
            Form::AtMost(bound)
        }
    }

    proptest! {
        // Each case proves a Bulletproof: few cases keep the test short.
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Values and bounds for which every statement holds verify
        /// together (dates: ordinals below 2^22 in 32 bits; integers: any
        /// ordinal in 64 bits).
        #[test]
        fn statements_that_hold_verify(
            cases in prop::collection::vec(
                (any::<bool>(), any::<bool>(), 1u64..=(1 << 22), 1u64..=(1 << 22), any::<u64>(), any::<u64>()),
                1..=5,
            )
        ) {
            let mut items = Vec::new();
            for (is_date, at_least, a, b, wide_a, wide_b) in cases {
                let (bits, a, b) = if is_date {
                    (32, a, b)
                } else {
                    (64, wide_a.max(1), wide_b.max(1))
                };
                // x and the bound so that the statement holds.
                let (x, bound) = if at_least { (a.max(b), a.min(b)) } else { (a.min(b), a.max(b)) };
                let (c, t) = commit(x);
                items.push(Item { x, t, statement: RangeStatement::new(c, (form_of(at_least, bound), bits)) });
            }
            let proof = prove(&DIGEST, &items).unwrap();
            prop_assert_eq!(verify(&DIGEST, &items, &proof), Ok(()));
        }

        /// A statement that does not hold (value on the wrong side of the
        /// bound) cannot be proven, even among statements that hold, and the
        /// unchecked proof does not verify.
        #[test]
        fn statements_that_do_not_hold_cannot_be_proven(
            at_least in any::<bool>(),
            is_date in any::<bool>(),
            a in 1u64..(1 << 22),
            gap in 1u64..(1 << 20),
        ) {
            let bits = if is_date { 32 } else { 64 };
            // at least: x < lo; at most: x > hi.
            let (x, bound) = if at_least { (a, a + gap) } else { (a + gap, a) };
            let (c, t) = commit(x);
            let bad = Item { x, t, statement: RangeStatement::new(c, (form_of(at_least, bound), bits)) };
            let good = item(&forms()[4].2, AttributeKind::Date, &forms()[4].3);
            let items = [good, bad];
            prop_assert_eq!(prove(&DIGEST, &items), Err(PredicateError::False));
            let forged = prove_ranges_unchecked(&DIGEST, &witnesses(&items), &mut OsRng).unwrap();
            prop_assert_eq!(verify(&DIGEST, &items, &forged), Err(PredicateError::RangeProof));
        }

        /// Arbitrary bytes of the right length never panic and never verify.
        #[test]
        fn arbitrary_bytes_do_not_verify(bytes in prop::collection::vec(any::<u8>(), 608)) {
            let item = item(&forms()[4].2, AttributeKind::Date, &forms()[4].3);
            prop_assert!(verify(&DIGEST, std::slice::from_ref(&item), &bytes).is_err());
        }
    }
}
