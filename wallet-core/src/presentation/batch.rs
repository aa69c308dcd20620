//! Batch verification: many presentations, one multi-scalar multiplication.
//!
//! Each item goes through every check of [`verify`](super::verify) except
//! the group equations; the equations of all items that passed are then
//! multiplied by a fresh random 128-bit weight per item (on top of each
//! equation's own weight inside the item) and decided together in ONE
//! multiplication. If that fails, halves are checked recursively
//! (bisection) until every failing item is found, so each item gets its
//! own answer: the same answer [`verify`](super::verify) would give it
//! alone. The range proofs are checked per item afterwards.

use super::shape::Expected;
use super::verify::{prepare, Prepared};
use super::{ChallengeContext, IssuerKeys, Presentation, VerifiedPresentation, VerifyError};
use crate::msm::{Equations, Weights};

/// One presentation of a batch, with what was asked and its context.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a> {
    /// The presentation.
    pub presentation: &'a Presentation,
    /// The most it may carry (Rule 11).
    pub expected: &'a Expected,
    /// The context it answers.
    pub context: &'a ChallengeContext,
}

/// Verifies every item at time `now` with issuer keys from `keys`: one
/// result per item, in order (an empty batch gives an empty list).
pub fn verify_batch<K: IssuerKeys + ?Sized>(
    items: &[BatchItem<'_>],
    keys: &K,
    now: u64,
) -> Vec<Result<VerifiedPresentation, VerifyError>> {
    let prepared: Vec<Result<Prepared<'_>, VerifyError>> = items
        .iter()
        .map(|i| prepare(i.presentation, i.expected, i.context, keys, now))
        .collect();
    let candidates: Vec<usize> = prepared
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_ok())
        .map(|(i, _)| i)
        .collect();
    let mut holds = vec![false; items.len()];
    mark(&prepared, &candidates, &mut holds);
    prepared
        .into_iter()
        .zip(items)
        .zip(holds)
        .map(|((p, item), holds)| {
            let p = p?;
            if holds {
                p.finish(item.presentation)
            } else {
                Err(p.diagnose(item.presentation))
            }
        })
        .collect()
}

/// Sets `holds[i]` for every `i` of `subset` whose equations hold: one
/// multiplication for the whole subset; if it fails, each half again.
fn mark(prepared: &[Result<Prepared<'_>, VerifyError>], subset: &[usize], holds: &mut [bool]) {
    if subset.is_empty() {
        return;
    }
    let ok = if let [only] = subset {
        prepared[*only]
            .as_ref()
            .is_ok_and(|p| p.equations.is_identity())
    } else {
        let mut all = Equations::new();
        let mut weights = Weights::new();
        for &i in subset {
            if let Ok(p) = &prepared[i] {
                all.absorb(&p.equations, &weights.next());
            }
        }
        all.is_identity()
    };
    if ok {
        for &i in subset {
            holds[i] = true;
        }
    } else if subset.len() > 1 {
        let (a, b) = subset.split_at(subset.len() / 2);
        mark(prepared, a, holds);
        mark(prepared, b, holds);
    }
}
