//! The invalid vectors: each is a valid run with a single change that
//! breaks one rule (`rule-N-…`) or names the defect it shows.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use serde_json::{json, Value};
use wallet_core::cbor::{self, WirePoint};
use wallet_core::encoding::{AttributeKind, AttributeValue};
use wallet_core::group::{label, HashInput};
use wallet_core::holder::HolderPublicKey;
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::{IssuanceChallenges, IssuanceResponses};
use wallet_core::keys::IssuerPublicKey;
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::token::{Token, TokenInfo};

use crate::common::*;
use crate::names::{outcome, StableName};
use crate::{NOW, VALIDITY};

/// `"valid"` or the decoder's stable error name.
fn decode_outcome<T, E: StableName>(r: Result<T, E>) -> String {
    outcome(r)
}

pub(crate) fn vectors(f: &Fixture) -> R<Vec<(String, Value)>> {
    let w = &f.w;
    let iss = &f.iss;
    let ctx = &f.ctx;
    let mut out: Vec<(String, Value)> = Vec::new();
    let token = iss.tokens[0].token().clone();

    // Rule 1: the forgery that works when sz' is left out of the token hash.
    {
        let forged = forge_token_without_sz_binding(w)?;
        out.push(token_vector(
            &w.address,
            "rule-1-token-without-sz-in-hash",
            "A token forged for other attribute values by solving for sz' after the fact; it passes a check that does not hash sz', and must fail the real one",
            &forged.to_bytes(),
            outcome(forged.check(w.address.public())),
        ));
    }

    // Rule 4: identity and non-canonical encodings.
    {
        let bytes = token.to_bytes();
        let hpos = find(&bytes, token.h.as_bytes())?;
        let mut identity = bytes.clone();
        identity[hpos..hpos + 32].copy_from_slice(&[0; 32]);
        out.push(token_vector(
            &w.address,
            "rule-4-token-identity-h",
            "Token with h replaced by the identity element",
            &identity,
            decode_outcome(Token::from_bytes(&identity)),
        ));
        let srpos = find(&bytes, token.sr.as_bytes())?;
        let mut noncanon = bytes.clone();
        // sr' + q: the same residue, a non-canonical encoding.
        let plus_q = add_group_order(token.sr.as_bytes());
        noncanon[srpos..srpos + 32].copy_from_slice(&plus_q);
        out.push(token_vector(
            &w.address,
            "rule-4-token-non-canonical-scalar",
            "Token with sr' replaced by sr' + q (non-canonical scalar encoding)",
            &noncanon,
            decode_outcome(Token::from_bytes(&noncanon)),
        ));
        // The token map with its first entry (`k`: key id) repeated at the
        // end: duplicate keys are refused (docs/protocol.md §3).
        let mut duplicate = bytes.clone();
        if duplicate.first() != Some(&0xa7) || duplicate.get(1..3) != Some(&[0x61, b'k'][..]) {
            return Err("token map layout changed".into());
        }
        duplicate[0] = 0xa8;
        duplicate.extend_from_slice(&bytes[1..3 + 2 + 32]);
        out.push(token_vector(
            &w.address,
            "rule-4-token-duplicate-key",
            "Token map with its key id entry repeated at the end (8 entries, the key k twice)",
            &duplicate,
            decode_outcome(Token::from_bytes(&duplicate)),
        ));
        let mut trailing = bytes.clone();
        trailing.push(0);
        out.push(token_vector(
            &w.address,
            "rule-4-token-trailing-byte",
            "Token followed by one extra byte",
            &trailing,
            decode_outcome(Token::from_bytes(&trailing)),
        ));
    }

    // Rule 2: the valid holder proof, for a shifted holder key.
    {
        let shifted =
            HolderPublicKey(w.holder.public().0 + w.address.public().generators().attributes[1]);
        out.push(holder_proof_vector(
            "rule-2-shifted-holder-key",
            "The same proof for hd* = hd · g2 (an attribute shift of +1 on house_number): refused",
            &shifted,
            &f.rule2_proof,
            RULE2_NONCE,
            &w.address.public().key_id(),
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

    // An issuance transcript whose first response is off by one: the
    // response equations of the issuance check catch it.
    {
        let mut sr = iss.responses.sr.clone();
        sr[0] += Scalar::ONE;
        let responses = responses_with(sr)?;
        let mut v = crate::valid::issuance_json(f)?;
        v["name"] = json!("issuance-wrong-response");
        v["description"] = json!("The batch of valid/issuance-batch.json with the issuer's first response sr_0 + 1: g^sr = g0^sc · sa fails");
        v["responses"] = h(&responses.to_bytes());
        let expected = crate::check::check(&v)?;
        v["expected"] = json!(expected);
        out.push((vector_path("issuance-wrong-response", &expected), v));
    }

    // --- presentations, one change each ---------------------------------
    {
        // Rule 7, for each form: an absent birth date "proven" anyway.
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
        let k = vec![optional.public().clone()];
        for (name, description, predicate, seed) in [
            (
                "invalid/rule-7-absent-attribute-under-predicate",
                "An absent (0) birth date under 'born on or before 2008-11-19' (at most): 0 is in range, but no presence proof exists for 0; the forged one fails its equation N == C^na · H^nb · g^c",
                Predicate::LessOrEqual(AttributeValue::Date(date(2008, 11, 19))),
                22,
            ),
            (
                "invalid/rule-7-absent-attribute-under-at-least",
                "An absent (0) birth date under 'born on or after 1900-01-01' (at least), range proof made with lower bound 0: the verifier's lower bound is the bound's ordinal, at least 1",
                Predicate::GreaterOrEqual(AttributeValue::Date(date(1900, 1, 1))),
                23,
            ),
        ] {
            let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
            let t = b.token(&tokens[0], optional.public(), &[0]);
            b.predicate(t, 1, predicate);
            b.forge_predicates_with_lower_bound(0);
            let p = b.prove(&mut rng(seed)).map_err(|e| e.to_string())?;
            let bytes = p.to_bytes();
            out.push(presentation_vector(
                name,
                description,
                &[&optional],
                ctx,
                &bytes,
                verify_presentation_bytes(&k, ctx, &bytes, NOW),
            ));
        }
    }
    let both = [&w.personal, &w.address];
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
        let mut p = f.disclosure.clone();
        p.tokens[0].disclosed.insert(
            0,
            wallet_core::presentation::Disclosed(0, AttributeValue::String("Elders".into())),
        );
        add_invalid(
            "rule-5-overlapping-partition",
            "The hidden street is also listed as disclosed under a false value",
            ctx,
            &p,
        );
    }
    {
        let mut p = f.with_pseudonym.clone();
        p.pseudonyms[0].pseudonym =
            WirePoint::new(*p.pseudonyms[0].pseudonym + wallet_core::group::g());
        add_invalid(
            "rule-6-pseudonym-outside-challenge",
            "Another pseudonym swapped in for the same scope (a second vote): the challenge covers Ps and As",
            &f.poll_ctx,
            &p,
        );
    }
    {
        let mut p = f.parking.clone();
        p.predicates[0].predicate = Predicate::AgeAtLeast {
            years: 21,
            on: date(2026, 11, 19),
        };
        add_invalid(
            "rule-6-predicate-moved-to-other-bound",
            "The age-18 proof relabelled as age 21: the statement is in the challenge",
            ctx,
            &p,
        );
    }
    add_invalid(
        "wrong-verifier",
        "The parking presentation shown to the poll",
        &context("demo.poll", 0x11),
        &f.disclosure,
    );
    add_invalid(
        "replayed-other-nonce",
        "The parking presentation replayed in a session with another nonce",
        &context("demo.parking", 0x21),
        &f.disclosure,
    );
    {
        let mut p = f.disclosure.clone();
        p.tokens[0].disclosed[1].1 = AttributeValue::String("Amsterdam".into());
        add_invalid(
            "tampered-disclosed-value",
            "City changed from Utrecht to Amsterdam after proving",
            ctx,
            &p,
        );
    }
    Ok(out)
}

/// `IssuanceResponses` with other values, through the wire form.
fn responses_with(sr: Vec<Scalar>) -> R<IssuanceResponses> {
    #[derive(serde::Serialize)]
    struct Wire {
        v: u16,
        #[serde(with = "cbor::scalars")]
        sr: Vec<Scalar>,
    }
    IssuanceResponses::from_bytes(&cbor::to_cbor(&Wire { v: 2, sr })).map_err(|e| e.to_string())
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
                                                                  // The flawed token hash: Hs(token, key id, CBOR(TI), h, sa', sb'),
                                                                  // without sz'.
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
    // Solve (T2) sb' = h^sr' · sz'^-sc' for sz'.
    let sz_prime = (h * sr_prime - sb_prime) * sc_prime.invert();
    let forged = Token {
        key_id: kid,
        ti,
        h: WirePoint::new(h),
        sz: WirePoint::new(sz_prime),
        sa: WirePoint::new(sa_prime),
        sb: WirePoint::new(sb_prime),
        sr: sr_prime,
    };
    // The flawed check accepts it: (T1) and (T2) hold with the challenge
    // the flawed hash gives. This is the attack the real check stops.
    let g = wallet_core::group::g();
    let t1 = g * forged.sr == *forged.sa + pk.g0 * sc_prime;
    let t2 = *forged.h * forged.sr == *forged.sb + *forged.sz * sc_prime;
    if !(t1 && t2 && flawed(&forged.h, &forged.sa, &forged.sb) == sc_prime) {
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
    Wire { v: 2, sc: vec![sc] }
}
