//! The valid vectors: one honest run of each part of the protocol.

use curve25519_dalek::scalar::Scalar;
use serde_json::{json, Value};
use wallet_core::cbor;
use wallet_core::encoding::AttributeValue;
use wallet_core::predicate::Predicate;
use wallet_core::presentation::PresentationBuilder;
use wallet_core::signature::AttributeSignature;
use wallet_core::token::{CredentialToken, Token};

use crate::common::*;
use crate::NOW;

/// `alpha` of a token the vectors' wallet holds: the inverse of the secret
/// `alpha^-1` it stores (read through the token's secret CBOR, the public
/// API). Published in the issuance vector so a checker can tie each token
/// to the transcript; a real wallet never shows it.
fn alpha(token: &CredentialToken) -> R<Scalar> {
    /// The shape of the wallet's stored token.
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Stored {
        token: Token,
        #[serde(with = "cbor::scalar")]
        alpha_inv: Scalar,
        attributes: Vec<AttributeValue>,
    }
    let stored: Stored = cbor::from_cbor(&token.to_bytes()).map_err(|e| e.to_string())?;
    Ok(stored.alpha_inv.invert())
}

/// The issuance vector of the fixture's run.
pub(crate) fn issuance_json(f: &Fixture) -> R<Value> {
    let (w, iss) = (&f.w, &f.iss);
    let alphas = iss
        .tokens
        .iter()
        .map(|t| alpha(t).map(|a| h(a.as_bytes())))
        .collect::<R<Vec<_>>>()?;
    Ok(json!({
        "kind": "issuance",
        "name": "issuance-batch",
        "description": "Blind issuance of a batch of 3 address tokens: holder proof, commitments, challenges, responses, the resulting tokens and the wallet's blinding factors alpha (test data only), tied together by the equations of docs/protocol.md §16.2",
        "public_key": h(&w.address.public().to_bytes()),
        "attributes": serde_json::to_value(address_values()).map_err(|e| e.to_string())?,
        "holder_public_key": point_hex(&w.holder.public().0),
        "nonce": h(&iss.nonce),
        "holder_proof": h(&cbor::to_cbor(&iss.proof)),
        "token_info": h(&cbor::to_cbor(&iss.token_info)),
        "signer_commitments": h(&iss.commitments.to_bytes()),
        "challenges": h(&iss.challenges.to_bytes()),
        "responses": h(&iss.responses.to_bytes()),
        "tokens": iss.tokens.iter().map(|t| h(&t.token().to_bytes())).collect::<Vec<_>>(),
        "alphas": alphas,
        "expected": "valid",
    }))
}

pub(crate) fn vectors(f: &Fixture) -> R<Vec<(String, Value)>> {
    let w = &f.w;
    let mut out: Vec<(String, Value)> = Vec::new();

    // --- key generation -------------------------------------------------
    {
        let pk = w.address.public();
        let gens = pk.generators();
        out.push((
            "valid/keygen.json".into(),
            json!({
                "kind": "keygen",
                "name": "keygen",
                "description": "Issuer key for demo.utrecht.address (ChaCha20 seed 02..02), its key id, generators gt and g1..g5, and the holder generator gd",
                "rng_seed": h(&[2; 32]),
                "secret_key_file": h(&w.address.to_bytes()),
                "public_key": h(&pk.to_bytes()),
                "key_id": h(&pk.key_id().0),
                "gt": point_hex(&gens.gt),
                "g": gens.attributes.iter().map(point_hex).collect::<Vec<_>>(),
                "gd": point_hex(&wallet_core::group::holder_generator()),
                "holder_seed": h(&[0x42; 32]),
                "holder_public_key": point_hex(&w.holder.public().0),
                "expected": "valid",
            }),
        ));
    }

    // --- issuance -------------------------------------------------------
    let iss = &f.iss;
    out.push(("valid/issuance-batch.json".into(), issuance_json(f)?));
    out.push(token_vector(
        &w.address,
        "token-check",
        "A token from the batch above passes the public token check",
        &iss.tokens[0].token().to_bytes(),
        "valid".into(),
    ));
    out.push(holder_proof_vector(
        "holder-proof",
        "Holder proof of possession of xd for an issuance session",
        &w.holder.public(),
        &f.rule2_proof,
        RULE2_NONCE,
        &w.address.public().key_id(),
    ));

    // --- presentations --------------------------------------------------
    let both = [&w.personal, &w.address];
    out.push(presentation_vector(
        "valid/presentation-disclosure",
        "Address token: postal code and city disclosed, street, number and municipality hidden",
        &both,
        &f.ctx,
        &f.disclosure.to_bytes(),
        "valid".into(),
    ));
    out.push(presentation_vector(
        "valid/presentation-pseudonym",
        "Municipality disclosed with the scope pseudonym for demo.poll/park-2026",
        &both,
        &f.poll_ctx,
        &f.with_pseudonym.to_bytes(),
        "valid".into(),
    ));
    out.push(presentation_vector(
        "valid/presentation-multi-credential-predicate",
        "Two credentials of one holder: postal code and city disclosed, age at least 18 on 2026-11-19 proven on the hidden birth date",
        &both,
        &f.ctx,
        &f.parking.to_bytes(),
        "valid".into(),
    ));
    let predicate_only = {
        let mut b = PresentationBuilder::new(&w.holder, f.ctx.clone());
        let p = b.token(&w.personal_tokens[1], w.personal.public(), &[]);
        b.predicate(
            p,
            2,
            Predicate::LessOrEqual(AttributeValue::Date(date(2005, 1, 1))),
        );
        b.prove(&mut rng(13)).map_err(|e| e.to_string())?
    };
    out.push(presentation_vector(
        "valid/presentation-predicate",
        "Nothing disclosed; birth date <= 2005-01-01 proven",
        &both,
        &f.ctx,
        &predicate_only.to_bytes(),
        "valid".into(),
    ));

    let mut sig_ctx = context("demo.parking", 0x13);
    sig_ctx.message = Some("I object to permit 2026-114".into());
    sig_ctx.timestamp = Some(NOW);
    let signature = {
        let mut b = PresentationBuilder::new(&w.holder, sig_ctx.clone());
        b.token(&w.personal_tokens[2], w.personal.public(), &[0, 1]);
        AttributeSignature::new(
            sig_ctx.clone(),
            b.prove(&mut rng(14)).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?
    };
    out.push((
        "valid/signature.json".into(),
        json!({
            "kind": "signature",
            "name": "signature",
            "description": "Attribute-based signature on 'I object to permit 2026-114' with given names and family name, timestamped; verifiable by anyone later at a trusted time (Rule 10: transferable)",
            "keys": keys_json(&both),
            "signature": h(&signature.to_bytes()),
            "at": NOW,
            "expected": "valid",
        }),
    ));
    Ok(out)
}
