//! The checker: verifies one vector with wallet-core's public API only,
//! the way an independent verifier would, and gives `"valid"` or a stable
//! error name ([`crate::names`]).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use rand_core::SeedableRng;
use serde_json::Value;
use wallet_core::cbor;
use wallet_core::encoding::AttributeValue;
use wallet_core::group::{g, label, HashInput};
use wallet_core::holder::{HolderProof, HolderPublicKey, HolderSecret};
use wallet_core::issuance::issuer::AnsweredIssuance;
use wallet_core::issuance::{IssuanceChallenges, IssuanceResponses, SignerCommitments};
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey, KeyId};
use wallet_core::signature::AttributeSignature;
use wallet_core::token::{Token, TokenInfo};

use crate::common::*;
use crate::names::{issuance as iname, outcome, StableName};

/// Decodes with wallet-core's decoder; a failure is the decoder's name.
fn decoded<T, E: StableName>(r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| e.stable_name().to_owned())
}

fn scalar32(v: &Value) -> R<Scalar> {
    let b = hex::decode(v.as_str().ok_or("scalar: not a string")?).map_err(|e| e.to_string())?;
    cbor::decode_scalar(&b).map_err(|e| e.stable_name().to_owned())
}

/// Verifies one vector and returns the outcome (`"valid"` or a stable
/// error name); the caller compares it with `expected`. `Err` means the
/// vector itself is malformed (a missing field, bad hex).
pub fn check(v: &Value) -> R<String> {
    let kind = v["kind"].as_str().ok_or("kind missing")?;
    let result = match kind {
        "keygen" => keygen(v),
        "issuance" => issuance(v),
        "token" => {
            let pk =
                IssuerPublicKey::from_bytes(&unhex(v, "public_key")?).map_err(|e| e.to_string())?;
            decoded(Token::from_bytes(&unhex(v, "token")?)).map(|t| outcome(t.check(&pk)))
        }
        "holder-proof" => {
            let hd = HolderPublicKey(
                cbor::decode_point(&unhex(v, "holder_public_key")?).map_err(|e| e.to_string())?,
            );
            let proof: HolderProof =
                cbor::from_cbor(&unhex(v, "holder_proof")?).map_err(|e| e.to_string())?;
            let kid = KeyId(
                unhex(v, "key_id")?
                    .try_into()
                    .map_err(|_| "key id length")?,
            );
            Ok(outcome(hd.verify_possession(
                &proof,
                &unhex(v, "nonce")?,
                &kid,
            )))
        }
        "issuance-replay" => {
            let answered =
                AnsweredIssuance::from_bytes(&unhex(v, "answered")?).map_err(|e| e.to_string())?;
            let challenges = IssuanceChallenges::from_bytes(&unhex(v, "challenges")?)
                .map_err(|e| e.to_string())?;
            Ok(outcome(answered.replay(&challenges)))
        }
        "token-info" => crate::rule8::check(v),
        "presentation-for-request" => crate::rule11::check(v),
        "presentation" => {
            let keys = keys_from_json(v)?;
            let ctx = context_from_json(&v["context"])?;
            Ok(verify_presentation_bytes(
                &keys,
                &ctx,
                &unhex(v, "presentation")?,
                v["now"].as_u64().ok_or("now")?,
            ))
        }
        "signature" => {
            let keys = keys_from_json(v)?;
            let at = v["at"].as_u64().ok_or("at")?;
            decoded(AttributeSignature::from_bytes(&unhex(v, "signature")?)).map(|s| {
                outcome(s.verify(
                    &wallet_core::presentation::Expected::protocol_limits(),
                    &keys,
                    at,
                ))
            })
        }
        other => return Err(format!("unknown vector kind {other}")),
    };
    // A decoder's refusal is an outcome too (its stable name).
    Ok(result.unwrap_or_else(|name| name))
}

fn keygen(v: &Value) -> Result<String, String> {
    let sk =
        IssuerSecretKey::from_bytes(&unhex(v, "secret_key_file")?).map_err(|e| e.to_string())?;
    let pk = IssuerPublicKey::from_bytes(&unhex(v, "public_key")?).map_err(|e| e.to_string())?;
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
    // The key file must be the one the stated seed generates.
    let seed: [u8; 32] = unhex(v, "rng_seed")?
        .try_into()
        .map_err(|_| "rng seed length")?;
    let regenerated = IssuerSecretKey::generate(
        &mut rand_chacha::ChaCha20Rng::from_seed(seed),
        wallet_core::keys::KeyParams {
            credential_type: pk.credential_type.clone(),
            counter: pk.counter,
            valid_from: pk.valid_from,
            valid_until: pk.valid_until,
            attributes: pk.attributes.clone(),
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(
        if sk.public() != &pk
            || regenerated.to_bytes().as_slice() != sk.to_bytes().as_slice()
            || h(&pk.key_id().0) != v["key_id"]
            || point_hex(&gens.gt) != v["gt"]
            || !g_ok
            || point_hex(&wallet_core::group::holder_generator()) != v["gd"]
            || point_hex(&holder.public().0) != v["holder_public_key"]
        {
            iname::KEYGEN_MISMATCH.into()
        } else {
            "valid".into()
        },
    )
}

/// `gamma = g0 · Π g_i^enc(x_i) · gt^xt · hd`, recomputed from public values.
fn gamma(
    pk: &IssuerPublicKey,
    attributes: &[AttributeValue],
    ti: &TokenInfo,
    hd: &HolderPublicKey,
) -> RistrettoPoint {
    let gens = pk.generators();
    let mut gamma = pk.g0 + gens.gt * ti.encode() + hd.0;
    for (gi, x) in gens.attributes.iter().zip(attributes) {
        gamma += gi * x.encode();
    }
    gamma
}

/// The issuance check (`docs/protocol.md` §16.2): the holder proof, the
/// issuer's response equations against `gamma` recomputed from the values,
/// and, with the wallet's `alpha` per token, the ties from each token back
/// to its commitments, challenge and response; then the token check.
fn issuance(v: &Value) -> Result<String, String> {
    let pk = IssuerPublicKey::from_bytes(&unhex(v, "public_key")?).map_err(|e| e.to_string())?;
    let hd = HolderPublicKey(decoded(cbor::decode_point(&unhex(
        v,
        "holder_public_key",
    )?))?);
    let proof: HolderProof = decoded(cbor::from_cbor(&unhex(v, "holder_proof")?))?;
    if let Err(e) = hd.verify_possession(&proof, &unhex(v, "nonce")?, &pk.key_id()) {
        return Ok(e.stable_name().into());
    }
    let attributes: Vec<AttributeValue> =
        serde_json::from_value(v["attributes"].clone()).map_err(|e| e.to_string())?;
    if attributes.len() != pk.attribute_count()
        || attributes
            .iter()
            .zip(&pk.attributes)
            .any(|(x, k)| x.check(*k).is_err())
    {
        return Ok("issuance.attribute_value".into());
    }
    let ti: TokenInfo = decoded(cbor::from_cbor(&unhex(v, "token_info")?))?;
    let c = decoded(SignerCommitments::from_bytes(&unhex(
        v,
        "signer_commitments",
    )?))?;
    let ch = decoded(IssuanceChallenges::from_bytes(&unhex(v, "challenges")?))?;
    let r = decoded(IssuanceResponses::from_bytes(&unhex(v, "responses")?))?;
    let tokens = v["tokens"]
        .as_array()
        .ok_or("tokens")?
        .iter()
        .map(|t| {
            let b = hex::decode(t.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
            decoded(Token::from_bytes(&b))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let alphas = v["alphas"]
        .as_array()
        .ok_or("alphas")?
        .iter()
        .map(scalar32)
        .collect::<Result<Vec<_>, _>>()?;
    let n = c.sa.len();
    if [
        c.sb.len(),
        ch.sc.len(),
        r.sr.len(),
        tokens.len(),
        alphas.len(),
    ]
    .iter()
    .any(|&m| m != n)
    {
        return Ok(iname::BATCH_SIZE.into());
    }
    let kid = pk.key_id();
    if c.key_id != kid {
        return Ok(iname::WRONG_KEY.into());
    }
    let gamma = gamma(&pk, &attributes, &ti, &hd);
    for k in 0..n {
        let (sc, sr) = (ch.sc[k], r.sr[k]);
        // The issuer's answer: g^sr = g0^sc · sa and gamma^sr = sz^sc · sb
        // (together: sz = gamma^y0 with y0 = log_g g0, and sr = sc·y0 + w).
        let id = RistrettoPoint::identity();
        let e1 = RistrettoPoint::vartime_multiscalar_mul([sr, -sc], [g(), pk.g0]) - c.sa[k];
        let e2 = RistrettoPoint::vartime_multiscalar_mul([sr, -sc], [gamma, c.sz]) - c.sb[k];
        if e1 != id || e2 != id {
            return Ok(iname::RESPONSE.into());
        }
        let t = &tokens[k];
        if t.key_id != kid || t.ti != ti {
            return Ok(iname::TOKEN_INFO.into());
        }
        // The wallet's unblinding: h = gamma^alpha, sz' = sz^alpha, and with
        // sc' = Hs(token, key id, CBOR(TI), h, sz', sa', sb') recomputed from
        // the token, b1 = sc - sc', b2 = sr' - sr: the token's sa', sb' are
        // g0^b1 · g^b2 · sa and sz'^b1 · h^b2 · sb^alpha.
        let alpha = alphas[k];
        let sc_prime = HashInput::new(label::TOKEN)
            .part(&t.key_id.0)
            .part(&cbor::to_cbor(&t.ti))
            .part(t.h.as_bytes())
            .part(t.sz.as_bytes())
            .part(t.sa.as_bytes())
            .part(t.sb.as_bytes())
            .to_scalar();
        let (b1, b2) = (sc - sc_prime, t.sr - sr);
        let sa_prime = RistrettoPoint::vartime_multiscalar_mul([b1, b2], [pk.g0, g()]) + c.sa[k];
        let sb_prime =
            RistrettoPoint::vartime_multiscalar_mul([b1, b2, alpha], [*t.sz, *t.h, c.sb[k]]);
        if *t.h != gamma * alpha || *t.sz != c.sz * alpha || sa_prime != *t.sa || sb_prime != *t.sb
        {
            return Ok(iname::UNBLINDING.into());
        }
        if let Err(e) = t.check(&pk) {
            return Ok(e.stable_name().into());
        }
    }
    Ok("valid".into())
}
