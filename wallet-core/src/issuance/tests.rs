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
