//! Tests of session targets, URLs, verdicts and consent texts.

use super::disclose::verdict;
use super::*;

#[test]
fn targets() {
    let p = parse_target(r#"{"u":"http://127.0.0.1:8701/session/w/abc","irmaqr":"disclosing"}"#)
        .unwrap();
    assert_eq!(p.url(), "http://127.0.0.1:8701/session/w/abc");
    assert_eq!(p.host(), "127.0.0.1");
    let u = parse_target(" https://verifier.example/s/1 \n").unwrap();
    assert_eq!(u, SessionTarget::Url("https://verifier.example/s/1".into()));
    assert!(parse_target("ftp://x").is_err());
    assert!(parse_target(r#"{"u":"javascript:1","irmaqr":"disclosing"}"#).is_err());
}

#[test]
fn origins() {
    assert_eq!(
        origin("http://127.0.0.1:8700/irma/session/x"),
        "http://127.0.0.1:8700"
    );
    assert_eq!(origin("https://a.b"), "https://a.b");
    assert_eq!(
        issuer_base("https://gemeente.nl/issuer/wallet/session/abc"),
        "https://gemeente.nl/issuer"
    );
    assert_eq!(
        issuer_base("http://127.0.0.1:8700/x"),
        "http://127.0.0.1:8700"
    );
}

#[test]
fn insecure_only_off_machine() {
    assert!(!is_insecure("http://127.0.0.1:8700/x", "127.0.0.1"));
    assert!(!is_insecure("http://localhost/x", "localhost"));
    assert!(!is_insecure("https://gemeente.nl/x", "gemeente.nl"));
    assert!(is_insecure("http://gemeente.nl/x", "gemeente.nl"));
}

#[test]
fn verdicts() {
    assert_eq!(
        verdict(br#"{"status":"DONE","proofStatus":"VALID"}"#),
        "VALID"
    );
    assert_eq!(
        verdict(br#"{"proofStatus":"EXPIRED","reason":"TOKEN_EXPIRED"}"#),
        "EXPIRED (TOKEN_EXPIRED)"
    );
    // Not a presentation answer: recorded as such, never as a verdict.
    assert!(verdict(br#"{"status":"DONE"}"#).starts_with("UNREADABLE"));
    assert!(verdict(b"\xa0").starts_with("UNREADABLE"));
}

#[test]
fn predicates_in_words() {
    let on = time::macros::date!(2026 - 11 - 25);
    let p = Predicate::AgeAtLeast { years: 18, on };
    assert_eq!(
        predicate_words(&p, "Date of birth", Lang::En),
        "you are 18 or older (on 2026-11-25)"
    );
    assert_eq!(
        predicate_words(&p, "Geboortedatum", Lang::Nl),
        "u bent 18 jaar of ouder (op 2026-11-25)"
    );
    let p = Predicate::LessOrEqual(wallet_core::encoding::AttributeValue::Integer(50_000));
    assert_eq!(
        predicate_words(&p, "Income", Lang::En),
        "Income is at most 50000"
    );
}
