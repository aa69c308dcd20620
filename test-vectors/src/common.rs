//! What the valid and the invalid vectors share: the seeded RNG, the two
//! credential types and their issuance runs, JSON helpers.

use curve25519_dalek::ristretto::RistrettoPoint;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use time::{Date, Month};
use wallet_core::cbor;
use wallet_core::encoding::{AttributeKind, AttributeValue};
use wallet_core::holder::{HolderProof, HolderPublicKey, HolderSecret};
use wallet_core::issuance::issuer::{AnsweredIssuance, IssuerSession};
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::issuance::{IssuanceChallenges, IssuanceResponses, SignerCommitments};
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey, KeyId, KeyParams};
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{verify, ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::pseudonym::Scope;
use wallet_core::token::{CredentialToken, TokenInfo};

use crate::names::{outcome, StableName};
use crate::{NOW, VALIDITY};

pub(crate) type R<T> = Result<T, String>;

/// The vectors' RNG: ChaCha20 with the 32-byte seed `[seed; 32]`.
pub(crate) fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

pub(crate) fn date(y: i32, m: u8, d: u8) -> Date {
    Month::try_from(m)
        .ok()
        .and_then(|m| Date::from_calendar_date(y, m, d).ok())
        .unwrap_or(Date::MIN)
}

pub(crate) fn h(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

pub(crate) fn point_hex(p: &RistrettoPoint) -> Value {
    h(p.compress().as_bytes())
}

pub(crate) fn unhex(v: &Value, field: &str) -> R<Vec<u8>> {
    let s = v[field]
        .as_str()
        .ok_or_else(|| format!("field {field} missing"))?;
    hex::decode(s).map_err(|e| format!("field {field}: {e}"))
}

/// The credential types of the vectors.
pub(crate) struct World {
    pub personal: IssuerSecretKey,
    pub address: IssuerSecretKey,
    pub holder: HolderSecret,
    pub personal_tokens: Vec<CredentialToken>,
    pub address_tokens: Vec<CredentialToken>,
}

pub(crate) fn key(seed: u8, ct: &str, attributes: Vec<AttributeKind>) -> R<IssuerSecretKey> {
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

pub(crate) fn personal_values() -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Anna Maria".into()),
        AttributeValue::String("de Vries".into()),
        AttributeValue::Date(date(2001, 3, 14)),
        AttributeValue::String("999990019".into()),
    ]
}

pub(crate) fn address_values() -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Domplein".into()),
        AttributeValue::Integer(29),
        AttributeValue::String("3512JE".into()),
        AttributeValue::String("Utrecht".into()),
        AttributeValue::String("Utrecht".into()),
    ]
}

/// One issuance run with its transcript.
pub(crate) struct Issuance {
    pub nonce: Vec<u8>,
    pub proof: HolderProof,
    pub token_info: TokenInfo,
    pub commitments: SignerCommitments,
    pub challenges: IssuanceChallenges,
    pub responses: IssuanceResponses,
    pub answered: AnsweredIssuance,
    pub tokens: Vec<CredentialToken>,
}

pub(crate) fn run_issuance(
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

pub(crate) fn world() -> R<World> {
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

pub(crate) fn context(verifier: &str, nonce: u8) -> ChallengeContext {
    ChallengeContext {
        verifier: verifier.into(),
        request_digest: [nonce ^ 0x5a; 32],
        nonce: vec![nonce; 32],
        message: None,
        timestamp: None,
    }
}

pub(crate) fn context_json(c: &ChallengeContext) -> Value {
    json!({
        "verifier": c.verifier,
        "request_digest": h(&c.request_digest),
        "nonce": h(&c.nonce),
        "message": c.message,
        "timestamp": c.timestamp,
    })
}

pub(crate) fn context_from_json(v: &Value) -> R<ChallengeContext> {
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

pub(crate) fn keys_json(keys: &[&IssuerSecretKey]) -> Value {
    Value::Array(keys.iter().map(|k| h(&k.public().to_bytes())).collect())
}

pub(crate) fn keys_from_json(v: &Value) -> R<Vec<IssuerPublicKey>> {
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
pub(crate) fn vector_path(name: &str, expected: &str) -> String {
    let dir = if expected == "valid" {
        "valid"
    } else {
        "invalid"
    };
    format!("{dir}/{name}.json")
}

pub(crate) fn presentation_vector(
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

pub(crate) fn verify_presentation_bytes(
    keys: &[IssuerPublicKey],
    ctx: &ChallengeContext,
    bytes: &[u8],
    now: u64,
) -> String {
    match Presentation::from_bytes(bytes) {
        Err(e) => e.stable_name().to_owned(),
        Ok(p) => outcome(verify(
            &p,
            &wallet_core::presentation::Expected::protocol_limits(),
            ctx,
            keys,
            now,
        )),
    }
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> R<usize> {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .ok_or_else(|| "bytes not found".to_owned())
}

/// `s + q` as 32 little-endian bytes (fits: q < 2^253).
pub(crate) fn add_group_order(s: &[u8; 32]) -> [u8; 32] {
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

/// A `token` vector (valid or invalid, by `expected`).
pub(crate) fn token_vector(
    key: &IssuerSecretKey,
    name: &str,
    description: &str,
    bytes: &[u8],
    expected: String,
) -> (String, Value) {
    (
        vector_path(name, &expected),
        json!({
            "kind": "token",
            "name": name,
            "description": description,
            "public_key": h(&key.public().to_bytes()),
            "token": h(bytes),
            "expected": expected,
        }),
    )
}

/// A `holder-proof` vector: `proof` checked for `hd` (valid or invalid).
pub(crate) fn holder_proof_vector(
    name: &str,
    description: &str,
    hd: &HolderPublicKey,
    proof: &HolderProof,
    nonce: &[u8],
    kid: &KeyId,
) -> (String, Value) {
    let expected = outcome(hd.verify_possession(proof, nonce, kid));
    (
        vector_path(name, &expected),
        json!({
            "kind": "holder-proof",
            "name": name,
            "description": description,
            "holder_public_key": point_hex(&hd.0),
            "nonce": h(nonce),
            "key_id": h(&kid.0),
            "holder_proof": h(&cbor::to_cbor(proof)),
            "expected": expected,
        }),
    )
}

/// The nonce of the Rule 2 holder proofs.
pub(crate) const RULE2_NONCE: &[u8] = b"rule-2-nonce";

/// Everything the valid vectors build and the invalid ones change: the
/// world, one issuance run and the presentations.
pub(crate) struct Fixture {
    pub w: World,
    pub iss: Issuance,
    pub ctx: ChallengeContext,
    pub poll_ctx: ChallengeContext,
    pub disclosure: Presentation,
    pub with_pseudonym: Presentation,
    pub parking: Presentation,
    /// The holder proof of the valid and the Rule 2 vector.
    pub rule2_proof: HolderProof,
}

/// Age at least 18 on 2026-11-19.
pub(crate) fn age18() -> Predicate {
    Predicate::AgeAtLeast {
        years: 18,
        on: date(2026, 11, 19),
    }
}

impl Fixture {
    pub(crate) fn build() -> R<Fixture> {
        let w = world()?;
        let iss = run_issuance(5, &w.address, &w.holder, address_values(), 3)?;
        let ctx = context("demo.parking", 0x11);
        let disclosure = {
            let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
            b.token(&w.address_tokens[0], w.address.public(), &[2, 3]);
            b.prove(&mut rng(10)).map_err(|e| e.to_string())?
        };
        let poll_ctx = context("demo.poll", 0x12);
        let with_pseudonym = {
            let mut b = PresentationBuilder::new(&w.holder, poll_ctx.clone());
            b.token(&w.address_tokens[1], w.address.public(), &[4]);
            b.pseudonym(Scope("demo.poll/park-2026".into()));
            b.prove(&mut rng(11)).map_err(|e| e.to_string())?
        };
        let parking = {
            let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
            b.token(&w.address_tokens[2], w.address.public(), &[2, 3]);
            let p = b.token(&w.personal_tokens[0], w.personal.public(), &[]);
            b.predicate(p, 2, age18());
            b.prove(&mut rng(12)).map_err(|e| e.to_string())?
        };
        let rule2_proof =
            w.holder
                .prove_possession(&mut rng(6), RULE2_NONCE, &w.address.public().key_id());
        Ok(Fixture {
            w,
            iss,
            ctx,
            poll_ctx,
            disclosure,
            with_pseudonym,
            parking,
            rule2_proof,
        })
    }
}
