//! Deterministic test vectors for kenmerk's credential protocol.
//!
//! Every vector is a JSON object with `kind`, `name`, `description`, hex
//! strings for bytes (canonical CBOR as in `docs/protocol.md`) and
//! `expected`: `"valid"` or the error the check must give. Valid vectors
//! live in `valid/`, invalid ones (each a single change that breaks one
//! rule) in `invalid/`, named `rule-N-...` after the rule of
//! `docs/protocol.md` they exercise.
//!
//! [`generate`] rebuilds them from fixed seeds (ChaCha20), so regenerating
//! gives the same bytes; [`check`] verifies one vector with wallet-core's
//! public API only, the way an independent verifier would.

use std::path::Path;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use time::{Date, Month};
use wallet_core::cbor;
use wallet_core::encoding::{AttributeKind, AttributeValue};
use wallet_core::group::{label, HashInput};
use wallet_core::holder::{HolderProof, HolderPublicKey, HolderSecret};
use wallet_core::issuance::issuer::{AnsweredIssuance, IssuerSession};
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::issuance::{IssuanceChallenges, IssuanceResponses, SignerCommitments};
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey, KeyParams};
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{verify, ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::pseudonym::Scope;
use wallet_core::signature::AttributeSignature;
use wallet_core::token::{CredentialToken, Token, TokenInfo};

/// The fixed "now" of every vector: 2026-11-19 (Unix seconds).
pub const NOW: u64 = 1_795_000_000;
/// Token validity used in the vectors: two weeks.
pub const VALIDITY: u64 = 14 * 86_400;

mod rule11;

type R<T> = Result<T, String>;

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn date(y: i32, m: u8, d: u8) -> Date {
    Month::try_from(m)
        .ok()
        .and_then(|m| Date::from_calendar_date(y, m, d).ok())
        .unwrap_or(Date::MIN)
}

fn h(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

fn point_hex(p: &RistrettoPoint) -> Value {
    h(p.compress().as_bytes())
}

fn unhex(v: &Value, field: &str) -> R<Vec<u8>> {
    let s = v[field]
        .as_str()
        .ok_or_else(|| format!("field {field} missing"))?;
    hex::decode(s).map_err(|e| format!("field {field}: {e}"))
}

fn outcome<T, E: std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "valid".to_owned(),
        Err(e) => format!("{e:?}"),
    }
}

/// The credential types of the vectors.
struct World {
    personal: IssuerSecretKey,
    address: IssuerSecretKey,
    holder: HolderSecret,
    personal_tokens: Vec<CredentialToken>,
    address_tokens: Vec<CredentialToken>,
}

fn key(seed: u8, ct: &str, attributes: Vec<AttributeKind>) -> R<IssuerSecretKey> {
    IssuerSecretKey::generate(
        &mut rng(seed),
        KeyParams {
            credential_type: ct.parse().map_err(|e| format!("{e}"))?,
            counter: 1,
            valid_from: 1_700_000_000,
            valid_until: 2_000_000_000,
            attributes,
        },
    )
    .map_err(|e| e.to_string())
}

fn personal_values() -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Anna Maria".into()),
        AttributeValue::String("de Vries".into()),
        AttributeValue::Date(date(2001, 3, 14)),
        AttributeValue::String("999990019".into()),
    ]
}

fn address_values() -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Domplein".into()),
        AttributeValue::Integer(29),
        AttributeValue::String("3512JE".into()),
        AttributeValue::String("Utrecht".into()),
        AttributeValue::String("Utrecht".into()),
    ]
}

/// One issuance run with its transcript.
struct Issuance {
    nonce: Vec<u8>,
    proof: HolderProof,
    token_info: TokenInfo,
    commitments: SignerCommitments,
    challenges: IssuanceChallenges,
    responses: IssuanceResponses,
    answered: AnsweredIssuance,
    tokens: Vec<CredentialToken>,
}

fn run_issuance(
    seed: u8,
    key: &IssuerSecretKey,
    holder: &HolderSecret,
    values: Vec<AttributeValue>,
    batch: usize,
) -> R<Issuance> {
    let mut r = rng(seed);
    let nonce = vec![seed; 32];
    let pk = key.public();
    let token_info = TokenInfo::new(pk.credential_type.clone(), pk.counter, NOW, VALIDITY);
    let proof = holder.prove_possession(&mut r, &nonce, &pk.key_id());
    let (session, commitments) = IssuerSession::start(
        &mut r,
        key,
        &values,
        &token_info,
        &holder.public(),
        &proof,
        &nonce,
        batch,
    )
    .map_err(|e| e.to_string())?;
    let (pending, challenges) = PendingIssuance::start(
        &mut r,
        pk,
        holder,
        values,
        token_info.clone(),
        NOW,
        &commitments,
    )
    .map_err(|e| e.to_string())?;
    let (answered, responses) = session
        .answer(key, &challenges)
        .map_err(|e| e.to_string())?;
    let tokens = pending.finish(&responses).map_err(|e| e.to_string())?;
    Ok(Issuance {
        nonce,
        proof,
        token_info,
        commitments,
        challenges,
        responses,
        answered,
        tokens,
    })
}

fn world() -> R<World> {
    use AttributeKind::*;
    let personal = key(
        1,
        "demo.utrecht.personal",
        vec![String, String, Date, String],
    )?;
    let address = key(
        2,
        "demo.utrecht.address",
        vec![String, Integer, String, String, String],
    )?;
    let holder = HolderSecret::from_seed(&[0x42; 32]);
    let personal_tokens = run_issuance(3, &personal, &holder, personal_values(), 3)?.tokens;
    let address_tokens = run_issuance(4, &address, &holder, address_values(), 3)?.tokens;
    Ok(World {
        personal,
        address,
        holder,
        personal_tokens,
        address_tokens,
    })
}

fn context(verifier: &str, nonce: u8) -> ChallengeContext {
    ChallengeContext {
        verifier: verifier.into(),
        request_digest: [nonce ^ 0x5a; 32],
        nonce: vec![nonce; 32],
        message: None,
        timestamp: None,
    }
}

fn context_json(c: &ChallengeContext) -> Value {
    json!({
        "verifier": c.verifier,
        "request_digest": h(&c.request_digest),
        "nonce": h(&c.nonce),
        "message": c.message,
        "timestamp": c.timestamp,
    })
}

fn context_from_json(v: &Value) -> R<ChallengeContext> {
    Ok(ChallengeContext {
        verifier: v["verifier"].as_str().ok_or("verifier")?.to_owned(),
        request_digest: unhex(v, "request_digest")?
            .try_into()
            .map_err(|_| "request_digest length")?,
        nonce: unhex(v, "nonce")?,
        message: v["message"].as_str().map(str::to_owned),
        timestamp: v["timestamp"].as_u64(),
    })
}

fn keys_json(keys: &[&IssuerSecretKey]) -> Value {
    Value::Array(keys.iter().map(|k| h(&k.public().to_bytes())).collect())
}

fn keys_from_json(v: &Value) -> R<Vec<IssuerPublicKey>> {
    v["keys"]
        .as_array()
        .ok_or("keys")?
        .iter()
        .map(|k| {
            let b = hex::decode(k.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
            IssuerPublicKey::from_bytes(&b).map_err(|e| e.to_string())
        })
        .collect()
}

/// `valid/<name>.json` or `invalid/<name>.json`, by the expected outcome.
fn vector_path(name: &str, expected: &str) -> String {
    let dir = if expected == "valid" {
        "valid"
    } else {
        "invalid"
    };
    format!("{dir}/{name}.json")
}

fn presentation_vector(
    name: &str,
    description: &str,
    keys: &[&IssuerSecretKey],
    ctx: &ChallengeContext,
    bytes: &[u8],
    expected: String,
) -> (String, Value) {
    (
        name.to_owned(),
        json!({
            "kind": "presentation",
            "name": name,
            "description": description,
            "keys": keys_json(keys),
            "context": context_json(ctx),
            "now": NOW,
            "presentation": h(bytes),
            "expected": expected,
        }),
    )
}

fn verify_presentation_bytes(
    keys: &[IssuerPublicKey],
    ctx: &ChallengeContext,
    bytes: &[u8],
    now: u64,
) -> String {
    match Presentation::from_bytes(bytes) {
        Err(e) => format!("Decode({e:?})"),
        Ok(p) => outcome(verify(
            &p,
            &wallet_core::presentation::Expected::protocol_limits(),
            ctx,
            keys,
            now,
        )),
    }
}

/// Builds every vector: `(relative path, JSON)`.
pub fn generate() -> R<Vec<(String, Value)>> {
    let w = world()?;
    let mut out: Vec<(String, Value)> = Vec::new();
    let age18 = Predicate::AgeAtLeast {
        years: 18,
        on: date(2026, 11, 19),
    };

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
    let iss = run_issuance(5, &w.address, &w.holder, address_values(), 3)?;
    out.push((
        "valid/issuance-batch.json".into(),
        json!({
            "kind": "issuance",
            "name": "issuance-batch",
            "description": "Blind issuance of a batch of 3 address tokens: holder proof, commitments, challenges, responses and the resulting tokens (each must pass the token check)",
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
            "expected": "valid",
        }),
    ));
    let token = iss.tokens[0].token().clone();
    let token_vector = |name: &str, description: &str, bytes: &[u8], expected: String| {
        (
            vector_path(name, &expected),
            json!({
                "kind": "token",
                "name": name,
                "description": description,
                "public_key": h(&w.address.public().to_bytes()),
                "token": h(bytes),
                "expected": expected,
            }),
        )
    };
    out.push(token_vector(
        "token-check",
        "A token from the batch above passes the public token check",
        &token.to_bytes(),
        "valid".into(),
    ));

    // Rule 1: the forgery that works when sz' is left out of the token hash.
    {
        let forged = forge_token_without_sz_binding(&w)?;
        out.push(token_vector(
            "rule-1-token-without-sz-in-hash",
            "A token forged for other attribute values by solving for sz' after the fact; it passes a check that does not hash sz', and must fail the real one",
            &forged.to_bytes(),
            outcome(forged.check(w.address.public())),
        ));
    }

    // Rule 4: identity and non-canonical encodings.
    {
        let bytes = token.to_bytes();
        let hpos = find(&bytes, token.h.compress().as_bytes())?;
        let mut identity = bytes.clone();
        identity[hpos..hpos + 32].copy_from_slice(&[0; 32]);
        out.push(token_vector(
            "rule-4-token-identity-h",
            "Token with h replaced by the identity element",
            &identity,
            decode_outcome(Token::from_bytes(&identity)),
        ));
        let srpos = find(&bytes, token.sr.as_bytes())?;
        let mut noncanon = bytes.clone();
        let big = token.sr + Scalar::ZERO;
        // sr' + q: the same residue, a non-canonical encoding.
        let plus_q = add_group_order(big.as_bytes());
        noncanon[srpos..srpos + 32].copy_from_slice(&plus_q);
        out.push(token_vector(
            "rule-4-token-non-canonical-scalar",
            "Token with sr' replaced by sr' + q (non-canonical scalar encoding)",
            &noncanon,
            decode_outcome(Token::from_bytes(&noncanon)),
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        out.push(token_vector(
            "rule-4-token-trailing-byte",
            "Token followed by one extra byte",
            &trailing,
            decode_outcome(Token::from_bytes(&trailing)),
        ));
    }

    // Rule 2: holder proof for a shifted holder key.
    {
        let kid = w.address.public().key_id();
        let proof = w
            .holder
            .prove_possession(&mut rng(6), b"rule-2-nonce", &kid);
        let shifted =
            HolderPublicKey(w.holder.public().0 + w.address.public().generators().attributes[1]);
        let mk = |name: &str, description: &str, hd: &HolderPublicKey| {
            let expected = outcome(hd.verify_possession(&proof, b"rule-2-nonce", &kid));
            (
                vector_path(name, &expected),
                json!({
                    "kind": "holder-proof",
                    "name": name,
                    "description": description,
                    "holder_public_key": point_hex(&hd.0),
                    "nonce": h(b"rule-2-nonce"),
                    "key_id": h(&kid.0),
                    "holder_proof": h(&cbor::to_cbor(&proof)),
                    "expected": expected,
                }),
            )
        };
        out.push(mk(
            "holder-proof",
            "Holder proof of possession of xd for an issuance session",
            &w.holder.public(),
        ));
        out.push(mk(
            "rule-2-shifted-holder-key",
            "The same proof for hd* = hd · g2 (an attribute shift of +1 on house_number): refused",
            &shifted,
        ));
    }

    // Rule 3: a second, different answer for an answered session.
    {
        let mut other = iss.challenges.clone();
        other.sc[0] += Scalar::ONE;
        out.push((
            "invalid/rule-3-second-answer.json".into(),
            json!({
                "kind": "issuance-replay",
                "name": "rule-3-second-answer",
                "description": "An answered issuance session is asked again with one challenge changed: the issuer refuses (two answers for one w reveal y0)",
                "answered": h(&iss.answered.to_bytes()),
                "challenges": h(&other.to_bytes()),
                "expected": outcome(iss.answered.replay(&other)),
            }),
        ));
    }

    // Rule 8: token information off the grid.
    {
        let mut ti = iss.token_info.clone();
        ti.expiry += 3600;
        out.push((
            "invalid/rule-8-expiry-off-grid.json".into(),
            json!({
                "kind": "token-info",
                "name": "rule-8-expiry-off-grid",
                "description": "Token information whose expiry is one hour off the weekly grid (a private expiry tags the resident): the wallet refuses the batch",
                "public_key": h(&w.address.public().to_bytes()),
                "token_info": h(&cbor::to_cbor(&ti)),
                "now": NOW,
                "expected": outcome(ti.check_for_wallet(w.address.public(), NOW)),
            }),
        ));
    }

    // --- presentations --------------------------------------------------
    let both = [&w.personal, &w.address];
    let ctx = context("demo.parking", 0x11);
    let disclosure = {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        b.token(&w.address_tokens[0], w.address.public(), &[2, 3]);
        b.prove(&mut rng(10)).map_err(|e| e.to_string())?
    };
    out.push(presentation_vector(
        "valid/presentation-disclosure",
        "Address token: postal code and city disclosed, street, number and municipality hidden",
        &both,
        &ctx,
        &disclosure.to_bytes(),
        "valid".into(),
    ));

    let poll_ctx = context("demo.poll", 0x12);
    let with_pseudonym = {
        let mut b = PresentationBuilder::new(&w.holder, poll_ctx.clone());
        b.token(&w.address_tokens[1], w.address.public(), &[4]);
        b.pseudonym(Scope("demo.poll/park-2026".into()));
        b.prove(&mut rng(11)).map_err(|e| e.to_string())?
    };
    out.push(presentation_vector(
        "valid/presentation-pseudonym",
        "Municipality disclosed with the scope pseudonym for demo.poll/park-2026",
        &both,
        &poll_ctx,
        &with_pseudonym.to_bytes(),
        "valid".into(),
    ));

    let parking = {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        b.token(&w.address_tokens[2], w.address.public(), &[2, 3]);
        let p = b.token(&w.personal_tokens[0], w.personal.public(), &[]);
        b.predicate(p, 2, age18.clone());
        b.prove(&mut rng(12)).map_err(|e| e.to_string())?
    };
    out.push(presentation_vector(
        "valid/presentation-multi-credential-predicate",
        "Two credentials of one holder: postal code and city disclosed, age at least 18 on 2026-11-19 proven on the hidden birth date",
        &both,
        &ctx,
        &parking.to_bytes(),
        "valid".into(),
    ));

    let predicate_only = {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
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
        &ctx,
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

    // --- invalid presentations, one change each -------------------------
    {
        // Rule 7: an absent birth date "proven" with a lower bound of 0.
        use AttributeKind::*;
        let optional = key(20, "demo.utrecht.optional", vec![String, Date])?;
        let tokens = run_issuance(
            21,
            &optional,
            &w.holder,
            vec![AttributeValue::String("x".into()), AttributeValue::Absent],
            1,
        )?
        .tokens;
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        let t = b.token(&tokens[0], optional.public(), &[0]);
        b.predicate(
            t,
            1,
            Predicate::LessOrEqual(AttributeValue::Date(date(2008, 11, 19))),
        );
        b.forge_predicates_with_lower_bound(0);
        let p = b.prove(&mut rng(22)).map_err(|e| e.to_string())?;
        let k = vec![optional.public().clone()];
        let bytes = p.to_bytes();
        out.push(presentation_vector(
            "invalid/rule-7-absent-attribute-under-predicate",
            "An absent (0) birth date under 'born on or before 2008-11-19', range proof made with lower bound 0: the verifier's lower bound is 1",
            &[&optional],
            &ctx,
            &bytes,
            verify_presentation_bytes(&k, &ctx, &bytes, NOW),
        ));
    }
    let keys: Vec<IssuerPublicKey> = both.iter().map(|k| k.public().clone()).collect();
    let mut add_invalid =
        |name: &str, description: &str, ctx: &ChallengeContext, p: &Presentation| {
            let bytes = p.to_bytes();
            let expected = verify_presentation_bytes(&keys, ctx, &bytes, NOW);
            out.push(presentation_vector(
                &format!("invalid/{name}"),
                description,
                &both,
                ctx,
                &bytes,
                expected,
            ));
        };

    {
        let mut p = disclosure.clone();
        p.tokens[0].disclosed.insert(
            0,
            wallet_core::presentation::Disclosed(0, AttributeValue::String("Elders".into())),
        );
        add_invalid(
            "rule-5-overlapping-partition",
            "The hidden street is also listed as disclosed under a false value",
            &ctx,
            &p,
        );
    }
    {
        let mut p = with_pseudonym.clone();
        p.pseudonyms[0].pseudonym += wallet_core::group::g();
        add_invalid(
            "rule-6-pseudonym-outside-challenge",
            "Another pseudonym swapped in for the same scope (a second vote): the challenge covers Ps and As",
            &poll_ctx,
            &p,
        );
    }
    {
        let mut p = parking.clone();
        p.predicates[0].predicate = Predicate::AgeAtLeast {
            years: 21,
            on: date(2026, 11, 19),
        };
        add_invalid(
            "rule-6-predicate-moved-to-other-bound",
            "The age-18 proof relabelled as age 21: the statement is in the challenge",
            &ctx,
            &p,
        );
    }
    add_invalid(
        "wrong-verifier",
        "The parking presentation shown to the poll",
        &context("demo.poll", 0x11),
        &disclosure,
    );
    add_invalid(
        "replayed-other-nonce",
        "The parking presentation replayed in a session with another nonce",
        &context("demo.parking", 0x21),
        &disclosure,
    );
    {
        let mut p = disclosure.clone();
        p.tokens[0].disclosed[1].1 = AttributeValue::String("Amsterdam".into());
        add_invalid(
            "tampered-disclosed-value",
            "City changed from Utrecht to Amsterdam after proving",
            &ctx,
            &p,
        );
    }
    out.extend(rule11::generate(&w)?);
    Ok(out)
}

fn decode_outcome<T, E: std::fmt::Debug>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => "valid".to_owned(),
        Err(e) => format!("Decode({e:?})"),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> R<usize> {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .ok_or_else(|| "bytes not found".to_owned())
}

/// `s + q` as 32 little-endian bytes (fits: q < 2^253).
fn add_group_order(s: &[u8; 32]) -> [u8; 32] {
    const Q: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(Q[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

/// The Rule 1 attack: with a token hash that leaves out `sz'`, a holder
/// turns one issuance session into a token for values of their choice.
fn forge_token_without_sz_binding(w: &World) -> R<Token> {
    let mut r = rng(30);
    let key = &w.address;
    let pk = key.public();
    let kid = pk.key_id();
    let ti = TokenInfo::new(pk.credential_type.clone(), pk.counter, NOW, VALIDITY);
    let ti_for_hash = ti.clone();
    let nonce = [30u8; 32];
    let proof = w.holder.prove_possession(&mut r, &nonce, &kid);
    // An honest session for the real values…
    let (session, c) = IssuerSession::start(
        &mut r,
        key,
        &address_values(),
        &ti,
        &w.holder.public(),
        &proof,
        &nonce,
        1,
    )
    .map_err(|e| e.to_string())?;
    // …used to sign gamma* for a house number of the attacker's choice.
    let mut wanted = address_values();
    wanted[1] = AttributeValue::Integer(1);
    let gens = pk.generators();
    let mut gamma_star = pk.g0 + gens.gt * ti.encode() + w.holder.public().0;
    for (g, v) in gens.attributes.iter().zip(&wanted) {
        gamma_star += g * v.encode();
    }
    let alpha = Scalar::from(7u64);
    let (b1, b2) = (Scalar::from(11u64), Scalar::from(13u64));
    let h = gamma_star * alpha;
    let sa_prime = pk.g0 * b1 + wallet_core::group::g() * b2 + c.sa[0];
    let sb_prime = wallet_core::group::g() * Scalar::from(17u64); // arbitrary
    let flawed = |h: &RistrettoPoint, a: &RistrettoPoint, b: &RistrettoPoint| {
        HashInput::new(label::TOKEN)
            .part(&kid.0)
            .part(&cbor::to_cbor(&ti_for_hash))
            .point(h)
            .point(a)
            .point(b)
            .to_scalar()
    };
    let sc_prime = flawed(&h, &sa_prime, &sb_prime);

    let challenges =
        IssuanceChallenges::from_bytes(&cbor::to_cbor(&json_free_challenges(sc_prime + b1)))
            .map_err(|e| e.to_string())?;
    let (_a, resp) = session
        .answer(key, &challenges)
        .map_err(|e| e.to_string())?;
    let sr_prime = resp.sr[0] + b2;
    // Solve sb' = h^sr' · sz'^-sc' for sz'.
    let sz_prime = (h * sr_prime - sb_prime) * sc_prime.invert();
    let forged = Token {
        key_id: kid,
        ti,
        h,
        sz: sz_prime,
        sc: sc_prime,
        sr: sr_prime,
    };
    // The flawed check accepts it: this is the attack the real check stops.
    let a = wallet_core::group::g() * forged.sr - pk.g0 * forged.sc;
    let b = forged.h * forged.sr - forged.sz * forged.sc;
    if flawed(&forged.h, &a, &b) != forged.sc {
        return Err("the Rule 1 forgery does not pass the flawed check".into());
    }
    Ok(forged)
}

/// `IssuanceChallenges` in its wire shape, for the forgery (whose
/// challenge does not come from `PendingIssuance`).
fn json_free_challenges(sc: Scalar) -> impl serde::Serialize {
    #[derive(serde::Serialize)]
    struct Wire {
        v: u16,
        #[serde(with = "cbor::scalars")]
        sc: Vec<Scalar>,
    }
    Wire { v: 1, sc: vec![sc] }
}

/// Verifies one vector and returns the outcome string (`"valid"` or the
/// error); the caller compares it with `expected`.
pub fn check(v: &Value) -> R<String> {
    let kind = v["kind"].as_str().ok_or("kind missing")?;
    Ok(match kind {
        "keygen" => {
            let sk = IssuerSecretKey::from_bytes(&unhex(v, "secret_key_file")?)
                .map_err(|e| e.to_string())?;
            let pk =
                IssuerPublicKey::from_bytes(&unhex(v, "public_key")?).map_err(|e| e.to_string())?;
            let gens = pk.generators();
            let g_ok = v["g"].as_array().is_some_and(|g| {
                g.len() == gens.attributes.len()
                    && g.iter()
                        .zip(&gens.attributes)
                        .all(|(x, p)| x == &point_hex(p))
            });
            let holder = HolderSecret::from_seed(
                &unhex(v, "holder_seed")?
                    .try_into()
                    .map_err(|_| "holder seed length")?,
            );
            if sk.public() != &pk
                || h(&pk.key_id().0) != v["key_id"]
                || point_hex(&gens.gt) != v["gt"]
                || !g_ok
                || point_hex(&wallet_core::group::holder_generator()) != v["gd"]
                || point_hex(&holder.public().0) != v["holder_public_key"]
            {
                "Mismatch".into()
            } else {
                "valid".into()
            }
        }
        "issuance" => {
            let pk =
                IssuerPublicKey::from_bytes(&unhex(v, "public_key")?).map_err(|e| e.to_string())?;
            let hd = HolderPublicKey(
                cbor::decode_point(&unhex(v, "holder_public_key")?).map_err(|e| e.to_string())?,
            );
            let proof: HolderProof =
                cbor::from_cbor(&unhex(v, "holder_proof")?).map_err(|e| e.to_string())?;
            if let Err(e) = hd.verify_possession(&proof, &unhex(v, "nonce")?, &pk.key_id()) {
                return Ok(format!("{e:?}"));
            }
            SignerCommitments::from_bytes(&unhex(v, "signer_commitments")?)
                .map_err(|e| e.to_string())?;
            IssuanceChallenges::from_bytes(&unhex(v, "challenges")?).map_err(|e| e.to_string())?;
            IssuanceResponses::from_bytes(&unhex(v, "responses")?).map_err(|e| e.to_string())?;
            for t in v["tokens"].as_array().ok_or("tokens")? {
                let b = hex::decode(t.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
                let token = Token::from_bytes(&b).map_err(|e| e.to_string())?;
                if let Err(e) = token.check(&pk) {
                    return Ok(format!("{e:?}"));
                }
            }
            "valid".into()
        }
        "token" => {
            let pk =
                IssuerPublicKey::from_bytes(&unhex(v, "public_key")?).map_err(|e| e.to_string())?;
            match Token::from_bytes(&unhex(v, "token")?) {
                Err(e) => format!("Decode({e:?})"),
                Ok(t) => outcome(t.check(&pk)),
            }
        }
        "holder-proof" => {
            let hd = HolderPublicKey(
                cbor::decode_point(&unhex(v, "holder_public_key")?).map_err(|e| e.to_string())?,
            );
            let proof: HolderProof =
                cbor::from_cbor(&unhex(v, "holder_proof")?).map_err(|e| e.to_string())?;
            let kid = wallet_core::keys::KeyId(
                unhex(v, "key_id")?
                    .try_into()
                    .map_err(|_| "key id length")?,
            );
            outcome(hd.verify_possession(&proof, &unhex(v, "nonce")?, &kid))
        }
        "issuance-replay" => {
            let answered =
                AnsweredIssuance::from_bytes(&unhex(v, "answered")?).map_err(|e| e.to_string())?;
            let challenges = IssuanceChallenges::from_bytes(&unhex(v, "challenges")?)
                .map_err(|e| e.to_string())?;
            outcome(answered.replay(&challenges))
        }
        "token-info" => {
            let pk =
                IssuerPublicKey::from_bytes(&unhex(v, "public_key")?).map_err(|e| e.to_string())?;
            let ti: TokenInfo =
                cbor::from_cbor(&unhex(v, "token_info")?).map_err(|e| e.to_string())?;
            outcome(ti.check_for_wallet(&pk, v["now"].as_u64().ok_or("now")?))
        }
        "presentation" => {
            let keys = keys_from_json(v)?;
            let ctx = context_from_json(&v["context"])?;
            verify_presentation_bytes(
                &keys,
                &ctx,
                &unhex(v, "presentation")?,
                v["now"].as_u64().ok_or("now")?,
            )
        }
        "signature" => {
            let keys = keys_from_json(v)?;
            match AttributeSignature::from_bytes(&unhex(v, "signature")?) {
                Err(e) => format!("{e:?}"),
                Ok(s) => outcome(s.verify(
                    &wallet_core::presentation::Expected::protocol_limits(),
                    &keys,
                    v["at"].as_u64().ok_or("at")?,
                )),
            }
        }
        "presentation-for-request" => rule11::check(v)?,
        other => return Err(format!("unknown vector kind {other}")),
    })
}

/// Writes every vector under `dir` (`valid/`, `invalid/`).
pub fn write_all(dir: &Path) -> R<()> {
    for (path, v) in generate()? {
        let path = dir.join(if path.ends_with(".json") {
            path
        } else {
            format!("{path}.json")
        });
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())? + "\n";
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Checks every stored vector under `dir` against its `expected`; returns
/// how many were checked.
pub fn check_dir(dir: &Path) -> R<usize> {
    let mut n = 0;
    for sub in ["valid", "invalid"] {
        let mut entries: Vec<_> = std::fs::read_dir(dir.join(sub))
            .map_err(|e| format!("{sub}: {e}"))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let got = check(&v).map_err(|e| format!("{}: {e}", path.display()))?;
            let expected = v["expected"].as_str().unwrap_or("");
            if got != expected {
                return Err(format!(
                    "{}: expected {expected}, got {got}",
                    path.display()
                ));
            }
            if (sub == "valid") != (expected == "valid") {
                return Err(format!(
                    "{}: in {sub}/ but expects {expected}",
                    path.display()
                ));
            }
            n += 1;
        }
    }
    Ok(n)
}
