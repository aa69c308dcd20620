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
