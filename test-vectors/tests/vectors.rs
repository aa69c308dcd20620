//! The vectors both ways: regenerating gives the stored bytes, the stored
//! ones verify with their expected outcome, and any single-byte change to a
//! stored valid presentation, token or signature fails.

use std::path::PathBuf;

use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn regenerating_gives_the_stored_vectors() {
    for (path, generated) in test_vectors::generate().unwrap() {
        let path = if path.ends_with(".json") {
            path
        } else {
            format!("{path}.json")
        };
        let text = std::fs::read_to_string(dir().join(&path))
            .unwrap_or_else(|e| panic!("{path}: {e} (run `cargo run -p test-vectors -- write`)"));
        let stored: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(stored, generated, "{path} differs from a fresh generation");
    }
}

#[test]
fn stored_vectors_verify_as_expected() {
    let n = test_vectors::check_dir(&dir()).unwrap();
    assert!(n >= 20, "only {n} vectors");
}

#[test]
fn every_rule_has_an_invalid_vector() {
    let names: Vec<String> = std::fs::read_dir(dir().join("invalid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // Rule 9 is the issuer's (one live holder key per subject) and Rule 10
    // a property (transferability, shown by valid/signature.json).
    for rule in (1..=8).chain([11]) {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("rule-{rule}-"))),
            "no invalid vector for rule {rule}"
        );
    }
}

#[test]
fn single_byte_changes_to_valid_vectors_fail() {
    for name in [
        "presentation-disclosure",
        "presentation-pseudonym",
        "presentation-multi-credential-predicate",
        "token-check",
        "signature",
    ] {
        let text = std::fs::read_to_string(dir().join(format!("valid/{name}.json"))).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let field = match v["kind"].as_str().unwrap() {
            "presentation" => "presentation",
            "token" => "token",
            _ => "signature",
        };
        let bytes = hex::decode(v[field].as_str().unwrap()).unwrap();
        // Every byte for the small ones; a stride for the large ones keeps
        // the test short while touching every field.
        let stride = if bytes.len() > 1500 { 7 } else { 1 };
        for i in (0..bytes.len()).step_by(stride) {
            let mut m = bytes.clone();
            m[i] ^= 0x01;
            let mut changed = v.clone();
            changed[field] = Value::String(hex::encode(&m));
            let got = test_vectors::check(&changed).unwrap_or_else(|e| e);
            assert_ne!(got, "valid", "{name}: flipping byte {i} still verifies");
        }
    }
}

fn load(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(path)).unwrap()).unwrap()
}

/// The issuance check verifies the equations that tie the transcript
/// together, not only that each part decodes: a wrong response, a wrong
/// `alpha` or tokens in another order are caught.
#[test]
fn issuance_check_verifies_the_response_equations() {
    use curve25519_dalek::scalar::Scalar;
    use wallet_core::issuance::IssuanceResponses;
    let v = load("valid/issuance-batch.json");
    assert_eq!(test_vectors::check(&v).unwrap(), "valid");

    let mut r =
        IssuanceResponses::from_bytes(&hex::decode(v["responses"].as_str().unwrap()).unwrap())
            .unwrap();
    r.sr[1] += Scalar::ONE;
    let mut wrong_response = v.clone();
    wrong_response["responses"] = Value::String(hex::encode(r.to_bytes()));
    assert_eq!(
        test_vectors::check(&wrong_response).unwrap(),
        "issuance.response"
    );

    let mut wrong_alpha = v.clone();
    wrong_alpha["alphas"][2] = wrong_alpha["alphas"][0].clone();
    assert_eq!(
        test_vectors::check(&wrong_alpha).unwrap(),
        "issuance.unblinding"
    );

    let mut swapped = v.clone();
    let t0 = swapped["tokens"][0].clone();
    swapped["tokens"][0] = swapped["tokens"][1].clone();
    swapped["tokens"][1] = t0;
    assert_eq!(
        test_vectors::check(&swapped).unwrap(),
        "issuance.unblinding"
    );
}

/// Expected outcomes are stable names from one list, not a library's debug
/// output, and docs/protocol.md lists every one of them.
#[test]
fn expected_outcomes_are_stable_names_listed_in_the_spec() {
    let spec = std::fs::read_to_string(dir().join("../docs/protocol.md")).unwrap();
    for name in test_vectors::names::ALL {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
            "{name} is not a stable name"
        );
        assert!(
            spec.contains(&format!("`{name}`")),
            "docs/protocol.md does not list `{name}`"
        );
    }
    for sub in ["valid", "invalid"] {
        for e in std::fs::read_dir(dir().join(sub)).unwrap() {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap();
            let expected = v["expected"].as_str().unwrap();
            assert!(
                test_vectors::names::ALL.contains(&expected),
                "{}: {expected} is not a stable name",
                v["name"]
            );
        }
    }
}
