//! Vectors of kind `presentation-for-request` (Rule 11): a presentation
//! checked against the limits its session request implies
//! (`Expected::for_request`), on the undecoded bytes first.
//!
//! Fields: `request` (the session request, JSON), `keys`, `context` (its
//! `request_digest` is the request's), `now`, `presentation` (hex CBOR) and
//! `expected`: `"valid"`, or for a refusal by count
//! `unrequested.<part>` (the same name whether the count was refused on
//! the bytes or by `verify`).

use serde_json::{json, Value};
use wallet_core::cbor::WirePoint;
use wallet_core::presentation::{
    verify, ChallengeContext, Expected, Presentation, PresentationBuilder, PseudonymProof,
};
use wallet_core::pseudonym::Scope;
use wallet_core::request::SessionRequest;

use crate::common::{
    context_from_json, context_json, h, keys_from_json, keys_json, rng, unhex, World, R,
};
use crate::names::StableName;
use crate::NOW;

const REQUEST: &str = r#"{"@context":"https://irma.app/ld/request/disclosure/v2","disclose":[[["demo.utrecht.address.city"]]]}"#;

/// Pseudonyms in the undecodable flood.
const FLOOD: usize = 64;

fn vector(
    name: &str,
    description: &str,
    w: &World,
    ctx: &ChallengeContext,
    bytes: &[u8],
) -> R<(String, Value)> {
    let expected = outcome(REQUEST, &[w.address.public().clone()], ctx, bytes, NOW)?;
    let dir = if expected == "valid" {
        "valid"
    } else {
        "invalid"
    };
    Ok((
        format!("{dir}/{name}.json"),
        json!({
            "kind": "presentation-for-request",
            "name": format!("{dir}/{name}"),
            "description": description,
            "request": REQUEST,
            "keys": keys_json(&[&w.address]),
            "context": context_json(ctx),
            "now": NOW,
            "presentation": h(bytes),
            "expected": expected,
        }),
    ))
}

/// The vectors: the honest answer (valid), one unrequested pseudonym in an
/// otherwise sound presentation, and a flood of pseudonyms whose point bytes
/// are not encodings (refused by count before any is decoded: decoding
/// would say `NonCanonicalPoint`).
pub(crate) fn generate(w: &World) -> R<Vec<(String, Value)>> {
    let request = SessionRequest::from_json(REQUEST).map_err(|e| e.to_string())?;
    let ctx = ChallengeContext {
        verifier: "demo.parking".into(),
        request_digest: request.request_digest(),
        nonce: vec![0x61; 32],
        message: None,
        timestamp: None,
    };
    let token = w.address_tokens.first().ok_or("no address token")?;
    let prove = |pseudonym: bool, seed: u8| -> R<Presentation> {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        b.token(token, w.address.public(), &[3]);
        if pseudonym {
            b.pseudonym(Scope("demo.parking/unasked".into()));
        }
        b.prove(&mut rng(seed)).map_err(|e| e.to_string())
    };
    let honest = prove(false, 111)?;
    let extra = prove(true, 112)?;
    let mut flood = honest.clone();
    let marker = wallet_core::group::g();
    for i in 0..FLOOD {
        flood.pseudonyms.push(PseudonymProof {
            scope: Scope(format!("demo.parking/{i}")),
            pseudonym: WirePoint::new(marker),
            commitment: WirePoint::new(marker),
        });
    }
    let mut flood_bytes = flood.to_bytes();
    let encoded = marker.compress().to_bytes();
    let mut at = 0;
    while let Some(i) = flood_bytes[at..].windows(32).position(|x| x == encoded) {
        flood_bytes[at + i..at + i + 32].fill(0xff);
        at += i + 32;
    }
    Ok(vec![
        vector(
            "presentation-for-request",
            "The city of one address, as the request asks: within its limits (1 token, no pseudonym, equality or predicate)",
            w,
            &ctx,
            &honest.to_bytes(),
        )?,
        vector(
            "rule-11-unrequested-pseudonym",
            "A sound presentation that also carries a pseudonym the request did not ask for: refused by count, before any group operation",
            w,
            &ctx,
            &extra.to_bytes(),
        )?,
        vector(
            "rule-11-pseudonym-flood-undecodable",
            "The honest presentation with 64 extra pseudonyms whose point bytes are ff..ff: refused by the count in the array header, before any point is decoded (decoding would give NonCanonicalPoint)",
            w,
            &ctx,
            &flood_bytes,
        )?,
    ])
}

fn outcome(
    request: &str,
    keys: &[wallet_core::keys::IssuerPublicKey],
    ctx: &ChallengeContext,
    bytes: &[u8],
    now: u64,
) -> R<String> {
    let request = SessionRequest::from_json(request).map_err(|e| e.to_string())?;
    let expected = Expected::for_request(&request);
    Ok(match expected.decode(bytes) {
        Err(e) => e.stable_name().to_owned(),
        Ok(p) => crate::names::outcome(verify(&p, &expected, ctx, keys, now)),
    })
}

/// Checks one `presentation-for-request` vector; the outcome string.
pub(crate) fn check(v: &Value) -> R<String> {
    outcome(
        v["request"].as_str().ok_or("request")?,
        &keys_from_json(v)?,
        &context_from_json(&v["context"])?,
        &unhex(v, "presentation")?,
        v["now"].as_u64().ok_or("now")?,
    )
}
