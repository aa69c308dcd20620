//! Issuance runs, both sides, and the rules that guard it.

use rand_core::OsRng;

use super::issuer::{IssueError, IssuerSession};
use super::wallet::{FinishIssuanceError, PendingIssuance};
use super::*;
use crate::encoding::{AttributeKind, AttributeValue};
use crate::group::g;
use crate::holder::HolderSecret;
use crate::keys::{IssuerSecretKey, KeyParams};
use crate::token::{TokenCheckError, TokenInfo};

pub(crate) const NOW: u64 = 1_795_000_000; // 2026-11-19

pub(crate) fn key() -> IssuerSecretKey {
    IssuerSecretKey::generate(
        &mut OsRng,
        KeyParams {
            credential_type: "demo.utrecht.address".parse().unwrap(),
            counter: 1,
            valid_from: 0,
            valid_until: 4_000_000_000,
            attributes: vec![
                AttributeKind::String,
                AttributeKind::Integer,
                AttributeKind::String,
            ],
        },
    )
    .unwrap()
}

fn values() -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Domplein".into()),
        AttributeValue::Integer(29),
        AttributeValue::Absent,
    ]
}

fn ti(k: &IssuerSecretKey) -> TokenInfo {
    TokenInfo::new(k.public().credential_type.clone(), 1, NOW, 14 * 86_400)
}

#[test]
fn full_issuance_gives_checked_tokens() {
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let nonce = b"session-nonce";
    let proof = holder.prove_possession(&mut OsRng, nonce, &k.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        &k,
        &values(),
        &ti(&k),
        &holder.public(),
        &proof,
        nonce,
        5,
    )
    .unwrap();
    let commitments = SignerCommitments::from_bytes(&commitments.to_bytes()).unwrap();
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        k.public(),
        &holder,
        values(),
        ti(&k),
        NOW,
        &commitments,
    )
    .unwrap();
    let (_answered, responses) = session.answer(&k, &challenges).unwrap();
    let tokens = pending.finish(&responses).unwrap();
    assert_eq!(tokens.len(), 5);
    for t in &tokens {
        t.token().check(k.public()).unwrap();
    }
    // Blindness: no token element equals anything the issuer saw.
    for t in &tokens {
        assert!(!commitments.sa.contains(t.token().h.point()));
        assert_ne!(*t.token().sz, commitments.sz);
    }
}

#[test]
fn wallet_refuses_tokens_that_fail_the_check() {
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        &k,
        &values(),
        &ti(&k),
        &holder.public(),
        &proof,
        b"n",
        3,
    )
    .unwrap();
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        k.public(),
        &holder,
        values(),
        ti(&k),
        NOW,
        &commitments,
    )
    .unwrap();
    let (_a, mut responses) = session.answer(&k, &challenges).unwrap();
    responses.sr[1] += crate::group::random_nonzero_scalar(&mut OsRng);
    assert_eq!(
        pending.finish(&responses).unwrap_err(),
        FinishIssuanceError::TokenCheck {
            index: 1,
            error: TokenCheckError::Signature
        }
    );
}

#[test]
fn wallet_refuses_other_values_than_signed() {
    // The issuer signs other attribute values than it announced: the
    // wallet's own gamma differs and the tokens fail the check.
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let mut other = values();
    other[1] = AttributeValue::Integer(30);
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        &k,
        &other,
        &ti(&k),
        &holder.public(),
        &proof,
        b"n",
        1,
    )
    .unwrap();
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        k.public(),
        &holder,
        values(),
        ti(&k),
        NOW,
        &commitments,
    )
    .unwrap();
    let (_a, responses) = session.answer(&k, &challenges).unwrap();
    assert!(matches!(
        pending.finish(&responses),
        Err(FinishIssuanceError::TokenCheck { .. })
    ));
}

#[test]
fn rule8_wallet_refuses_off_grid_or_far_expiry() {
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let mut tagged = ti(&k);
    tagged.expiry += 1; // a private expiry would tag the resident
    let (_s, commitments) = IssuerSession::start(
        &mut OsRng,
        &k,
        &values(),
        &tagged,
        &holder.public(),
        &proof,
        b"n",
        1,
    )
    .unwrap();
    assert_eq!(
        PendingIssuance::start(
            &mut OsRng,
            k.public(),
            &holder,
            values(),
            tagged,
            NOW,
            &commitments
        )
        .unwrap_err(),
        FinishIssuanceError::TokenInfo(crate::token::TokenInfoError::OffGrid)
    );
    let far = TokenInfo::new(k.public().credential_type.clone(), 1, NOW, 365 * 86_400);
    assert_eq!(
        PendingIssuance::start(
            &mut OsRng,
            k.public(),
            &holder,
            values(),
            far,
            NOW,
            &commitments
        )
        .unwrap_err(),
        FinishIssuanceError::TokenInfo(crate::token::TokenInfoError::TooFar)
    );
}

#[test]
fn rule2_issuer_refuses_without_holder_proof() {
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"other session", &k.public().key_id());
    assert!(matches!(
        IssuerSession::start(
            &mut OsRng,
            &k,
            &values(),
            &ti(&k),
            &holder.public(),
            &proof,
            b"n",
            1
        ),
        Err(IssueError::HolderProof(_))
    ));
}

#[test]
fn issuer_checks_values_and_batch() {
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let mut bad = values();
    bad[1] = AttributeValue::String("twenty-nine".into());
    assert!(matches!(
        IssuerSession::start(
            &mut OsRng,
            &k,
            &bad,
            &ti(&k),
            &holder.public(),
            &proof,
            b"n",
            1
        ),
        Err(IssueError::AttributeValue { position: 1, .. })
    ));
    assert_eq!(
        IssuerSession::start(
            &mut OsRng,
            &k,
            &values(),
            &ti(&k),
            &holder.public(),
            &proof,
            b"n",
            0
        )
        .unwrap_err(),
        IssueError::BatchSize
    );
    assert!(matches!(
        IssuerSession::start(
            &mut OsRng,
            &k,
            &values()[..2],
            &ti(&k),
            &holder.public(),
            &proof,
            b"n",
            1
        ),
        Err(IssueError::AttributeCount {
            expected: 3,
            found: 2
        })
    ));
}

/// Rule 3: an answered session replays only the identical answer; and two
/// answers for one `w` would reveal `y0` (shown here, which is why the
/// session is consumed by `answer`).
#[test]
fn rule3_one_answer_per_nonce() {
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        &k,
        &values(),
        &ti(&k),
        &holder.public(),
        &proof,
        b"n",
        1,
    )
    .unwrap();
    let stored = session.to_secret_bytes();
    let (_p, challenges) = PendingIssuance::start(
        &mut OsRng,
        k.public(),
        &holder,
        values(),
        ti(&k),
        NOW,
        &commitments,
    )
    .unwrap();
    let (answered, responses) = session.answer(&k, &challenges).unwrap();
    let answered = AnsweredIssuance::from_bytes(&answered.to_bytes()).unwrap();
    assert_eq!(answered.replay(&challenges).unwrap(), responses);
    let other = IssuanceChallenges::new(vec![challenges.sc[0] + Scalar::ONE]);
    assert_eq!(
        answered.replay(&other).unwrap_err(),
        IssueError::AlreadyAnswered
    );

    // What a store that kept `w` would leak: y0 = (sr1 - sr2) / (sc1 - sc2).
    let leaked = IssuerSession::from_secret_bytes(&stored).unwrap();
    let (_a2, responses2) = leaked.answer(&k, &other).unwrap();
    let y0 = (responses.sr[0] - responses2.sr[0]) * (challenges.sc[0] - other.sc[0]).invert();
    assert_eq!(g() * y0, k.public().g0);
}

use super::issuer::AnsweredIssuance;
use curve25519_dalek::scalar::Scalar;

/// Runs a whole issuance for tests elsewhere in the crate.
pub(crate) fn issue(
    k: &IssuerSecretKey,
    holder: &HolderSecret,
    values: Vec<AttributeValue>,
    batch: usize,
) -> Vec<crate::token::CredentialToken> {
    let ti = TokenInfo::new(
        k.public().credential_type.clone(),
        k.public().counter,
        NOW,
        14 * 86_400,
    );
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        k,
        &values,
        &ti,
        &holder.public(),
        &proof,
        b"n",
        batch,
    )
    .unwrap();
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        k.public(),
        holder,
        values,
        ti,
        NOW,
        &commitments,
    )
    .unwrap();
    let (_a, responses) = session.answer(k, &challenges).unwrap();
    pending.finish(&responses).unwrap()
}

/// Hedged nonces: an issuer restored twice from one VM snapshot (the same
/// RNG state) serving two sessions must not reuse `w`; otherwise the two
/// answers reveal `y0 = (sr1 - sr2) / (sc1 - sc2)`.
#[test]
fn replayed_rng_does_not_repeat_the_issuer_nonce() {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    let k = key();
    let run = |holder_seed: u8, nonce: &[u8]| {
        let holder = HolderSecret::from_seed(&[holder_seed; 32]);
        let proof = holder.prove_possession(&mut OsRng, nonce, &k.public().key_id());
        // The snapshot: every run starts from the same RNG state.
        let mut snapshot = ChaCha20Rng::from_seed([77; 32]);
        let (session, commitments) = IssuerSession::start(
            &mut snapshot,
            &k,
            &values(),
            &ti(&k),
            &holder.public(),
            &proof,
            nonce,
            1,
        )
        .unwrap();
        let (_p, challenges) = PendingIssuance::start(
            &mut OsRng,
            k.public(),
            &holder,
            values(),
            ti(&k),
            NOW,
            &commitments,
        )
        .unwrap();
        let (_a, responses) = session.answer(&k, &challenges).unwrap();
        (commitments, challenges, responses)
    };
    // Another session nonce (same holder), and another holder.
    let (c1, ch1, r1) = run(1, b"session-1");
    for (c2, ch2, r2) in [run(1, b"session-2"), run(2, b"session-1")] {
        assert_ne!(c1.sa[0], c2.sa[0], "the replayed RNG repeated w");
        let y0 = (r1.sr[0] - r2.sr[0]) * (ch1.sc[0] - ch2.sc[0]).invert();
        assert_ne!(g() * y0, k.public().g0, "two answers revealed y0");
    }
}

/// Hedged blinding: a wallet restored from one snapshot blinds two
/// batches with other factors, so the issuer cannot link them.
#[test]
fn replayed_rng_does_not_repeat_the_wallet_blinding() {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let run = |nonce: &[u8]| {
        let proof = holder.prove_possession(&mut OsRng, nonce, &k.public().key_id());
        let (session, commitments) = IssuerSession::start(
            &mut OsRng,
            &k,
            &values(),
            &ti(&k),
            &holder.public(),
            &proof,
            nonce,
            1,
        )
        .unwrap();
        let (pending, challenges) = PendingIssuance::start(
            &mut ChaCha20Rng::from_seed([78; 32]),
            k.public(),
            &holder,
            values(),
            ti(&k),
            NOW,
            &commitments,
        )
        .unwrap();
        let (_a, responses) = session.answer(&k, &challenges).unwrap();
        pending.finish(&responses).unwrap()
    };
    let (a, b) = (run(b"session-1"), run(b"session-2"));
    // h = gamma^alpha: equal only if alpha repeated.
    assert_ne!(a[0].token().h, b[0].token().h);
}

/// The stored session and the key file are written into buffers of exactly
/// their size: a growing buffer reallocates and leaves copies of `w` or
/// `y0` in freed memory that no `Zeroizing` wipes.
#[test]
fn secret_encodings_do_not_reallocate() {
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let (session, _c) = IssuerSession::start(
        &mut OsRng,
        &k,
        &values(),
        &ti(&k),
        &holder.public(),
        &proof,
        b"n",
        crate::issuance::MAX_BATCH,
    )
    .unwrap();
    let stored = session.to_secret_bytes();
    assert_eq!(stored.capacity(), stored.len());
    let file = k.to_bytes();
    assert_eq!(file.capacity(), file.len());
    // And they read back.
    let back = IssuerSession::from_secret_bytes(&stored).unwrap();
    assert_eq!(back.batch_size(), crate::issuance::MAX_BATCH);
    assert!(IssuerSecretKey::from_bytes(&file).is_ok());
}

/// Runs one issuance of `batch` tokens and returns the wallet's pending
/// state, the issuer's responses and the holder (for tests that tamper).
fn start_batch(
    k: &IssuerSecretKey,
    batch: usize,
) -> (PendingIssuance, IssuanceResponses, HolderSecret) {
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        k,
        &values(),
        &ti(k),
        &holder.public(),
        &proof,
        b"n",
        batch,
    )
    .unwrap();
    let commitments = SignerCommitments::from_bytes(&commitments.to_bytes()).unwrap();
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        k.public(),
        &holder,
        values(),
        ti(k),
        NOW,
        &commitments,
    )
    .unwrap();
    let challenges = IssuanceChallenges::from_bytes(&challenges.to_bytes()).unwrap();
    let (_a, responses) = session.answer(k, &challenges).unwrap();
    let responses = IssuanceResponses::from_bytes(&responses.to_bytes()).unwrap();
    (pending, responses, holder)
}

/// Round trips at the edges (1, 100), around the default (19, 20), and on
/// both sides of each side's table threshold (the issuer builds a table of
/// `gamma` from `batch + 1` uses, the wallet its tables of `gamma` and `sz`
/// from `batch`), so both code paths give valid tokens.
#[test]
fn batch_sizes_round_trip_on_both_sides_of_the_table_threshold() {
    use crate::tables::TABLE_MIN_USES;
    let k = key();
    let mut sizes = vec![
        1,
        2,
        19,
        20,
        MAX_BATCH,
        TABLE_MIN_USES - 2,
        TABLE_MIN_USES - 1,
        TABLE_MIN_USES,
    ];
    sizes.sort_unstable();
    sizes.dedup();
    for batch in sizes {
        let (pending, responses, holder) = start_batch(&k, batch);
        let tokens = pending.finish(&responses).unwrap();
        assert_eq!(tokens.len(), batch);
        let gamma = gamma(
            k.public(),
            &k.public().key_id(),
            &values(),
            &ti(&k),
            &holder.public(),
        );
        for t in &tokens {
            t.token().check(k.public()).unwrap();
            // alpha^-1 from the batch inversion: h^(alpha^-1) = gamma.
            assert_eq!(*t.token().h * t.alpha_inv, gamma, "batch {batch}");
        }
    }
}

/// Exactly one wrong response, wherever it is in the batch, refuses the
/// whole batch and names that token (the one-MSM check fails, then each
/// token is checked alone).
#[test]
fn one_wrong_response_in_a_batch_is_refused_with_its_index() {
    let k = key();
    for (batch, wrong) in [(1, 0), (2, 1), (20, 0), (20, 7), (20, 19)] {
        let (pending, mut responses, _) = start_batch(&k, batch);
        responses.sr[wrong] += Scalar::ONE;
        assert_eq!(
            pending.finish(&responses).unwrap_err(),
            FinishIssuanceError::TokenCheck {
                index: wrong,
                error: TokenCheckError::Signature
            },
            "batch {batch}, wrong response {wrong}"
        );
    }
    // Two wrong ones: the first is named.
    let (pending, mut responses, _) = start_batch(&k, 20);
    responses.sr[12] += Scalar::ONE;
    responses.sr[5] -= Scalar::ONE;
    assert_eq!(
        pending.finish(&responses).unwrap_err(),
        FinishIssuanceError::TokenCheck {
            index: 5,
            error: TokenCheckError::Signature
        }
    );
    // Swapped responses: each is a valid response, for another token.
    let (pending, mut responses, _) = start_batch(&k, 3);
    responses.sr.swap(1, 2);
    assert_eq!(
        pending.finish(&responses).unwrap_err(),
        FinishIssuanceError::TokenCheck {
            index: 1,
            error: TokenCheckError::Signature
        }
    );
}

/// The one-MSM batch check itself (which `finish` falls back from): it
/// accepts a good batch and refuses a batch with one wrong response, an
/// `sr'` moved to another token, or a wrong `sa'`.
#[test]
fn the_batch_check_accepts_good_batches_and_refuses_bad_ones() {
    let k = key();
    for batch in [1, 20] {
        let (pending, responses, _) = start_batch(&k, batch);
        let tokens = pending.unblind(&responses);
        assert!(pending.batch_holds(&tokens), "batch {batch}");
        for wrong in [0, batch - 1] {
            let mut bad = tokens.clone();
            bad[wrong].sr += Scalar::ONE;
            assert!(!pending.batch_holds(&bad), "batch {batch}, token {wrong}");
            let mut bad = tokens.clone();
            bad[wrong].sa = crate::cbor::WirePoint::new(*bad[wrong].sa + g());
            assert!(!pending.batch_holds(&bad), "batch {batch}, token {wrong}");
        }
    }
    let (pending, responses, _) = start_batch(&k, 2);
    let mut tokens = pending.unblind(&responses);
    let sr0 = tokens[0].sr;
    tokens[0].sr = tokens[1].sr;
    tokens[1].sr = sr0;
    assert!(!pending.batch_holds(&tokens));
}

/// The number of responses is checked before anything else.
#[test]
fn wrong_number_of_responses_is_refused() {
    let k = key();
    let (pending, mut responses, _) = start_batch(&k, 3);
    responses.sr.pop();
    assert_eq!(
        pending.finish(&responses).unwrap_err(),
        FinishIssuanceError::ResponseCount {
            expected: 3,
            found: 2
        }
    );
}

/// Rewrites the top-level `v` of a CBOR map (canonical key order is kept:
/// only the value changes).
fn with_version(bytes: &[u8], v: u64) -> Vec<u8> {
    let mut value: ciborium::Value = ciborium::from_reader(bytes).unwrap();
    let map = value.as_map_mut().unwrap();
    let entry = map
        .iter_mut()
        .find(|(key, _)| key.as_text() == Some("v"))
        .unwrap();
    entry.1 = ciborium::Value::Integer(v.into());
    let mut out = Vec::new();
    ciborium::into_writer(&value, &mut out).unwrap();
    out
}

/// Version 2: every issuance message, the stored session and the stored
/// answer of version 1 are refused with `UnknownVersion(1)`.
#[test]
fn version_1_issuance_messages_are_refused() {
    use crate::cbor::DecodeError;
    assert_eq!(ISSUANCE_VERSION, 2);
    let k = key();
    let holder = HolderSecret::from_seed(&[1; 32]);
    let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        &k,
        &values(),
        &ti(&k),
        &holder.public(),
        &proof,
        b"n",
        2,
    )
    .unwrap();
    let stored = session.to_secret_bytes();
    let (_p, challenges) = PendingIssuance::start(
        &mut OsRng,
        k.public(),
        &holder,
        values(),
        ti(&k),
        NOW,
        &commitments,
    )
    .unwrap();
    let (answered, responses) = session.answer(&k, &challenges).unwrap();
    let v1 = Some(DecodeError::UnknownVersion(1));
    // The rewrite itself is faithful: version 2 reads back.
    assert_eq!(
        SignerCommitments::from_bytes(&with_version(&commitments.to_bytes(), 2)),
        Ok(commitments.clone())
    );
    assert!(IssuerSession::from_secret_bytes(&with_version(&stored, 2)).is_ok());
    let c = &commitments.to_bytes();
    assert_eq!(SignerCommitments::from_bytes(&with_version(c, 1)).err(), v1);
    let c = &challenges.to_bytes();
    assert_eq!(
        IssuanceChallenges::from_bytes(&with_version(c, 1)).err(),
        v1
    );
    let r = &responses.to_bytes();
    assert_eq!(IssuanceResponses::from_bytes(&with_version(r, 1)).err(), v1);
    let a = &answered.to_bytes();
    assert_eq!(AnsweredIssuance::from_bytes(&with_version(a, 1)).err(), v1);
    assert_eq!(
        IssuerSession::from_secret_bytes(&with_version(&stored, 1)).err(),
        v1
    );
}

/// The wallet's blinding secrets (`alpha^-1`, `b2` per token; `sc'` too)
/// are wiped on drop, on every path: the pending batch and each blinded
/// token are `ZeroizeOnDrop`, and zeroizing clears every secret field.
#[test]
fn pending_issuance_secrets_are_wiped() {
    use zeroize::Zeroize;
    fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroize_on_drop::<PendingIssuance>();
    zeroize_on_drop::<super::wallet::BlindedToken>();
    let k = key();
    let (mut pending, _r, _h) = start_batch(&k, 3);
    assert!(pending
        .blinded
        .iter()
        .all(|b| b.alpha_inv != Scalar::ZERO && b.b2 != Scalar::ZERO));
    for b in pending.blinded.iter_mut() {
        b.zeroize();
    }
    assert!(pending.blinded.iter().all(|b| b.alpha_inv == Scalar::ZERO
        && b.b2 == Scalar::ZERO
        && b.sc_prime == Scalar::ZERO));
    pending.zeroize();
    assert!(pending.blinded.is_empty());
}
