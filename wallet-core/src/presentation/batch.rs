//! Batch verification: many presentations, one multi-scalar multiplication.
//!
//! Each item goes through every check of [`verify`](super::verify) except
//! the group equations; the equations of all items that passed are then
//! multiplied by a fresh random 128-bit weight per item (on top of each
//! equation's own weight inside the item) and decided together in ONE
//! multiplication. If that fails, halves are checked recursively
//! (bisection, falling back to one check per item where both halves fail)
//! until every failing item is found, so each item gets its own answer:
//! the same answer [`verify`](super::verify) would give it alone; the
//! fallback's work stays linear in the number of items. The range proofs are checked per item afterwards.

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
    mark(&prepared, &candidates, &mut holds, false);
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

#[cfg(test)]
thread_local! {
    /// Number of item checks made by [`holds_all`] on this thread (each
    /// item entering a multiplication counts once): the tests bound the
    /// fallback's work.
    pub(crate) static ITEM_CHECKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether the equations of every item of `subset` hold: ONE
/// multiplication (a lone item's own equations; several items each under a
/// fresh random weight).
fn holds_all(prepared: &[Result<Prepared<'_>, VerifyError>], subset: &[usize]) -> bool {
    #[cfg(test)]
    ITEM_CHECKS.with(|c| c.set(c.get() + subset.len()));
    if let [only] = subset {
        return prepared[*only]
            .as_ref()
            .is_ok_and(|p| p.equations.is_identity());
    }
    let mut all = Equations::new();
    let mut weights = Weights::new();
    for &i in subset {
        if let Ok(p) = &prepared[i] {
            all.absorb(&p.equations, &weights.next());
        }
    }
    all.is_identity()
}

/// Sets `holds[i]` for every `i` of `subset` whose equations hold.
/// `failed`: `subset` is already known to fail as a whole. One
/// multiplication for the whole subset; if it fails, one for each half:
/// a half that holds is done and the other half (which then must fail) is
/// searched the same way; if both halves fail, the bad items are dense
/// and each item is checked alone. At most about `4·len` item checks in
/// all (plain bisection needs `len·(log2(len) + 1)` when every item is
/// bad).
fn mark(
    prepared: &[Result<Prepared<'_>, VerifyError>],
    subset: &[usize],
    holds: &mut [bool],
    failed: bool,
) {
    if subset.is_empty() {
        return;
    }
    if !failed && holds_all(prepared, subset) {
        for &i in subset {
            holds[i] = true;
        }
        return;
    }
    if subset.len() == 1 {
        return;
    }
    let (a, b) = subset.split_at(subset.len() / 2);
    if holds_all(prepared, a) {
        for &i in a {
            holds[i] = true;
        }
        return mark(prepared, b, holds, true);
    }
    if holds_all(prepared, b) {
        for &i in b {
            holds[i] = true;
        }
        return mark(prepared, a, holds, true);
    }
    for &i in subset {
        holds[i] = holds_all(prepared, &[i]);
    }
}
