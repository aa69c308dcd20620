//! Session fixtures for the store tests: real answered batches from
//! wallet-core and views of a loaded session's state.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use issuer::session::{Commit, CommitmentRecord, End, Session, State, StoredAnswer};
use rand_core::OsRng;
use wallet_core::encoding::{AttributeKind, AttributeValue};
use wallet_core::holder::HolderSecret;
use wallet_core::issuance::batch::{AnsweredBatch, CommittedBatch};
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::keys::{IssuerSecretKey, KeyParams};
use wallet_core::token::TokenInfo;

/// A real answered batch (one credential, `batch` tokens), the same for
/// the same `(n, batch)`: answer number `n` of a test.
pub fn answered(n: u8, batch: usize) -> AnsweredBatch {
    static ANSWERS: OnceLock<Mutex<BTreeMap<(u8, usize), AnsweredBatch>>> = OnceLock::new();
    let mut answers = ANSWERS.get_or_init(Default::default).lock().unwrap();
    answers
        .entry((n, batch))
        .or_insert_with(|| {
            let k = IssuerSecretKey::generate(
                &mut OsRng,
                KeyParams {
                    credential_type: "demo.utrecht.address".parse().unwrap(),
                    counter: 1,
                    valid_from: 0,
                    valid_until: 4_000_000_000,
                    attributes: vec![AttributeKind::String],
                },
            )
            .unwrap();
            let now = 1_795_000_000;
            let holder = HolderSecret::from_seed(&[n; 32]);
            let values = vec![AttributeValue::String("Utrecht".into())];
            let ti = TokenInfo::new(k.public().credential_type.clone(), 1, now, 14 * 86_400);
            let proof = holder.prove_possession(&mut OsRng, b"n", &k.public().key_id());
            let (session, commitments) = IssuerSession::start(
                &mut OsRng,
                &k,
                &values,
                &ti,
                &holder.public(),
                &proof,
                b"n",
                batch,
            )
            .unwrap();
            let (_, challenges) = PendingIssuance::start(
                &mut OsRng,
                k.public(),
                &holder,
                values,
                ti,
                now,
                &commitments,
            )
            .unwrap();
            CommittedBatch::new(vec![session])
                .answer(&[&k], &[challenges])
                .unwrap()
                .0
        })
        .clone()
}

/// The commit step with stand-in bytes (the store does not read them).
pub fn commit(holder: &[u8], digest: &[u8], signer: &[u8], sealed: &[u8]) -> Commit {
    Commit::from_parts(
        holder.to_vec(),
        CommitmentRecord::new(digest.to_vec(), signer.to_vec()),
        sealed.to_vec(),
    )
}

/// The stored state's name, as the `state` column holds it.
pub fn state_name(s: &Session) -> &'static str {
    match &s.state {
        State::Open(o) if o.connected() => "connected",
        State::Open(_) => "initialized",
        State::Committed(_) => "committed",
        State::Answered(_) => "done",
        State::Ended(e) => match e.end() {
            End::Cancelled => "cancelled",
            End::TimedOut => "timeout",
            End::Failed(_) => "failed",
        },
    }
}

/// The answer an answered session holds.
pub fn answer_of(s: &Session) -> Option<&AnsweredBatch> {
    match &s.state {
        State::Answered(a) => match a.answer() {
            StoredAnswer::Batch(b) => Some(b),
            StoredAnswer::Digest { .. } => None,
        },
        _ => None,
    }
}

/// The sealed nonces a committed session holds.
pub fn nonces_of(s: &Session) -> Option<&[u8]> {
    match &s.state {
        State::Committed(c) => Some(c.sealed_nonces()),
        _ => None,
    }
}
