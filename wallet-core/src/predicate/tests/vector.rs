//! The v2 range-proof vector for the independent checker.
//!
//! `test-vectors/independent/range-proof-v2.json` holds aggregated range
//! proofs (with their context digest and statements) and their expected
//! outcomes; `test-vectors/independent/range_proof.py` verifies them from
//! `docs/protocol.md` §13 alone. Regenerate (fixed seeds, same bytes):
//!
//! ```text
//! cargo test -p wallet-core --lib write_range_proof_vector -- --ignored
//! ```

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use super::*;

fn path() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../test-vectors/independent/range-proof-v2.json")
}

fn digest() -> [u8; 64] {
    Sha512::digest(b"kenmerk range-proof-v2 vector context").into()
}

/// `(statement, x, t)` with `C = g^x · H^t`, `t` from `rng`.
fn witness(rng: &mut ChaCha20Rng, x: u64, statement: (Form, u32)) -> (RangeStatement, u64, Scalar) {
    let t = Scalar::random(rng);
    let c = RistrettoPoint::mul_base(&Scalar::from(x)) + blinding_generator() * t;
    (RangeStatement::new(c, statement), x, t)
}

fn case(
    name: &str,
    expected: &str,
    digest: &[u8; 64],
    s: &[RangeStatement],
    proof: &[u8],
) -> Value {
    let statements: Vec<Value> = s
        .iter()
        .map(|s| {
            json!({
                "c": hex::encode(s.encoding.as_bytes()),
                "form": s.form.code(),
                "bound": s.form.bound(),
                "bits": s.bits,
            })
        })
        .collect();
    json!({
        "name": name,
        "expected": expected,
        "digest": hex::encode(digest),
        "statements": statements,
        "proof": hex::encode(proof),
    })
}

/// Proves the statements of `(kind, predicate, value)` with a seeded RNG.
fn proven(
    seed: u8,
    digest: &[u8; 64],
    parts: &[(AttributeKind, Predicate, AttributeValue)],
    unchecked: bool,
) -> (Vec<RangeStatement>, Vec<u8>) {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let w: Vec<_> = parts
        .iter()
        .map(|(k, p, v)| witness(&mut rng, v.ordinal().unwrap_or(0), p.statement(*k).unwrap()))
        .collect();
    let items: Vec<_> = w.iter().map(|(s, x, t)| (*s, *x, t)).collect();
    let proof = if unchecked {
        prove_ranges_unchecked(digest, &items, &mut rng)
    } else {
        prove_ranges(digest, &items, &mut rng)
    }
    .unwrap();
    (w.iter().map(|w| w.0).collect(), proof)
}

pub(super) fn generate() -> Value {
    use AttributeValue::{Date as D, Integer as I};
    let d = digest();
    let f = forms();
    let part = |i: usize| (f[i].1, f[i].2.clone(), f[i].3.clone());
    let mut cases = Vec::new();

    let (age, age_proof) = proven(1, &d, &[part(4)], false);
    cases.push(case("age-18-on-date", "valid", &d, &age, &age_proof));
    let (two, two_proof) = proven(2, &d, &[part(0), part(4)], false);
    cases.push(case("two-dates", "valid", &d, &two, &two_proof));
    let (int, int_proof) = proven(3, &d, &[part(3)], false);
    cases.push(case("le-on-integer-64-bits", "valid", &d, &int, &int_proof));
    let (three, three_proof) = proven(4, &d, &[part(0), part(1), part(4)], false);
    cases.push(case(
        "three-mixed-bits-one-padding",
        "valid",
        &d,
        &three,
        &three_proof,
    ));
    let (five, five_proof) = proven(5, &d, &(0..5).map(part).collect::<Vec<_>>(), false);
    cases.push(case(
        "five-forms-three-padding",
        "valid",
        &d,
        &five,
        &five_proof,
    ));

    let mut moved = age.clone();
    moved[0].form = Form::AtMost(moved[0].form.bound() - 1);
    cases.push(case(
        "moved-bound",
        "predicate.range_proof",
        &d,
        &moved,
        &age_proof,
    ));
    let swapped = [two[1], two[0]];
    cases.push(case(
        "swapped-order",
        "predicate.range_proof",
        &d,
        &swapped,
        &two_proof,
    ));
    let other = Sha512::digest(b"another context").into();
    cases.push(case(
        "other-digest",
        "predicate.range_proof",
        &other,
        &age,
        &age_proof,
    ));
    let truncated = &age_proof[..age_proof.len() - 32];
    cases.push(case(
        "truncated",
        "predicate.malformed",
        &d,
        &age,
        truncated,
    ));

    let ge = (
        AttributeKind::Integer,
        Predicate::GreaterOrEqual(I(crate::encoding::MIN_INTEGER)),
        AttributeValue::Absent,
    );
    let (s, p) = proven(6, &d, &[ge], true);
    assert_eq!(s[0].form, Form::AtLeast(1));
    cases.push(case(
        "rule-7-absent-at-least-1",
        "predicate.range_proof",
        &d,
        &s,
        &p,
    ));
    let le = (
        AttributeKind::Date,
        Predicate::LessOrEqual(D(date(2000, 1, 1))),
        AttributeValue::Absent,
    );
    let (s, p) = proven(7, &d, &[le], true);
    cases.push(case(
        "rule-7-absent-at-most-range-alone-passes",
        "valid",
        &d,
        &s,
        &p,
    ));

    json!({
        "name": "range-proof-v2",
        "kind": "range_proof",
        "description": "Aggregated v2 range proofs (docs/protocol.md §13) with their context digest and statements (form 0 = at least, 1 = at most). Case rule-7-absent-at-most-range-alone-passes commits to x = 0 under an at-most form: the range proof alone verifies, which is why presentations carry the presence proof (§13.5) for at-most forms.",
        "cases": cases,
    })
}

fn outcome(case: &Value) -> String {
    let hex_field = |k: &str| hex::decode(case[k].as_str().unwrap()).unwrap();
    let digest: [u8; 64] = hex_field("digest").try_into().unwrap();
    let statements: Vec<RangeStatement> = case["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let encoding: [u8; 32] = hex::decode(s["c"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let point = curve25519_dalek::ristretto::CompressedRistretto(encoding)
                .decompress()
                .unwrap();
            let bound = s["bound"].as_u64().unwrap();
            let form = if s["form"].as_u64() == Some(0) {
                Form::AtLeast(bound)
            } else {
                Form::AtMost(bound)
            };
            RangeStatement::from_wire(encoding, point, (form, s["bits"].as_u64().unwrap() as u32))
        })
        .collect();
    match verify_ranges(&digest, &statements, &hex_field("proof")) {
        Ok(()) => "valid".into(),
        Err(PredicateError::RangeProof) => "predicate.range_proof".into(),
        Err(PredicateError::Malformed) => "predicate.malformed".into(),
        Err(e) => format!("{e:?}"),
    }
}

#[test]
#[ignore = "writes test-vectors/independent/range-proof-v2.json"]
fn write_range_proof_vector() {
    let text = serde_json::to_string_pretty(&generate()).unwrap() + "\n";
    std::fs::write(path(), text).unwrap();
}

#[test]
fn the_stored_range_proof_vector_is_current_and_checks() {
    let text = std::fs::read_to_string(path()).unwrap_or_else(|e| {
        panic!("{e}: run cargo test -p wallet-core --lib write_range_proof_vector -- --ignored")
    });
    let stored: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(stored, generate(), "regenerating gives other bytes");
    let cases = stored["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        assert_eq!(outcome(c), c["expected"].as_str().unwrap(), "{}", c["name"]);
    }
}
