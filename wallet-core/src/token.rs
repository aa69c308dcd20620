//! Token information, one-show tokens and the public token check.
//!
//! A token (version 2) is `(key id, TI, h, sz', sa', sb', sr')`: a blind
//! signature by the issuer on `h = gamma^alpha`, where
//! `gamma = g0 · g1^x1 ··· gn^xn · gt^xt · hd`. Anyone checks it with the
//! issuer's public key alone (a Chaum–Pedersen proof that
//! `log_g g0 = log_h sz'`, with the commitments sent instead of the
//! challenge):
//!
//! ```text
//! h != 1, sz' != 1,
//! sc' = Hs("kenmerk/v1/token", key id, CBOR(TI), h, sz', sa', sb')
//! (T1)  g^sr' == sa' · g0^sc'
//! (T2)  h^sr' == sb' · sz'^sc'
//! ```
//!
//! Both equations are checked in one variable-time multi-scalar
//! multiplication with a random weight on (T2) ([`crate::msm`]); a
//! presentation folds them into its own single multiplication.
//!
//! `TI` is hashed too (the design notes bind it only through `h`): a token
//! alone then commits to its expiry, so nobody can relabel a token's expiry
//! for a party that checks tokens without a full presentation.
//!
//! Rule 1: `sz'` is hashed. Without it any holder can turn one issuance into
//! a token for attribute values and an expiry of their choice.
//!
//! Token information `TI = (credential type, key counter, expiry)` is hashed
//! to `xt = Hs("kenmerk/v1/ti", CBOR(TI))`. The signed scheme fixes, per
//! credential type, a [`TokenPolicy`]: the token validity and the grid step
//! (a day or a week; grid points are midnights UTC, week points Mondays).
//! The wallet accepts only the expiry that follows from it and only the
//! type's current key, so that every resident issued in the same grid step
//! shares `TI` and neither an expiry nor a key counter can tag her (Rule 8).

use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cbor::{self, WirePoint};
use crate::encoding::AttributeValue;
use crate::group::{label, HashInput};
use crate::ids::CredentialTypeId;
use crate::keys::{IssuerPublicKey, KeyId};
use crate::msm::{Base, Equation, Equations, KeySlot};

/// One day, in seconds: the finer grid step a scheme may choose.
pub const DAY: u64 = 24 * 3600;
/// One week, in seconds: the default grid step.
pub const WEEK: u64 = 7 * DAY;
/// Seconds in the default expiry grid step (one week); [`TokenInfo::new`]
/// uses it.
pub const GRID_STEP: u64 = WEEK;
/// The grid steps a scheme may set for a credential type. Only two, so that
/// a scheme cannot give one type an unusual grid either.
pub const GRID_STEPS: [u64; 2] = [DAY, WEEK];
/// A grid point of both grids: Monday 1970-01-05 00:00 UTC.
pub const GRID_ORIGIN: u64 = 4 * DAY;
/// Longest token validity a scheme may set for a credential type.
pub const MAX_TOKEN_VALIDITY: u64 = 8 * WEEK;
/// Token validity when a scheme description gives none (the issuer
/// service's historical default).
pub const DEFAULT_TOKEN_VALIDITY: u64 = WEEK;

/// Token information: what every token of a batch shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInfo {
    /// The credential type.
    #[serde(rename = "ct")]
    pub credential_type: CredentialTypeId,
    /// The issuer key counter.
    #[serde(rename = "kc")]
    pub key_counter: u32,
    /// Expiry, Unix seconds, on the credential type's grid.
    #[serde(rename = "ex")]
    pub expiry: u64,
}

/// Why token information was refused. The issuer is at fault for every
/// variant (its offer does not follow the pinned scheme), unless the
/// wallet's clock is off by more than one grid step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenInfoError {
    #[error("token expiry is not on the credential type's grid")]
    OffGrid,
    #[error("token expiry is in the past")]
    InPast,
    #[error("token expiry is further away than a wallet accepts")]
    TooFar,
    #[error("token information does not match the issuer key")]
    KeyMismatch,
    #[error("token expiry is not the one the scheme gives for this credential type now")]
    ExpiryNotFromScheme,
    #[error("the issuer signs with an older key than the credential type's current key")]
    NotCurrentKey,
}

/// Why a credential type's token validity or grid step is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenPolicyError {
    #[error("token validity must be 1 second to {MAX_TOKEN_VALIDITY} seconds (8 weeks)")]
    Validity,
    #[error("grid step must be {DAY} (a day) or {WEEK} (a week) seconds")]
    GridStep,
}

/// What the scheme fixes for the tokens of one credential type: how long
/// they are valid and on which grid their expiry lies. Made only from
/// values in range ([`TokenPolicy::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenPolicy {
    validity: u64,
    grid_step: u64,
}

impl Default for TokenPolicy {
    /// The scheme defaults: one week's validity on the weekly grid.
    fn default() -> Self {
        TokenPolicy {
            validity: DEFAULT_TOKEN_VALIDITY,
            grid_step: WEEK,
        }
    }
}

/// Whether `t` is a point of the `step` grid.
fn on_grid(t: u64, step: u64) -> bool {
    t >= GRID_ORIGIN && (t - GRID_ORIGIN).is_multiple_of(step)
}

/// The first point of the `step` grid at or after `t`.
fn grid_ceil(t: u64, step: u64) -> u64 {
    let t = t.max(GRID_ORIGIN);
    let steps = (t - GRID_ORIGIN).div_ceil(step);
    GRID_ORIGIN.saturating_add(steps.saturating_mul(step))
}

impl TokenPolicy {
    /// A policy: `validity` 1 s to [`MAX_TOKEN_VALIDITY`], `grid_step` one of
    /// [`GRID_STEPS`].
    pub fn new(validity: u64, grid_step: u64) -> Result<Self, TokenPolicyError> {
        if validity == 0 || validity > MAX_TOKEN_VALIDITY {
            return Err(TokenPolicyError::Validity);
        }
        if !GRID_STEPS.contains(&grid_step) {
            return Err(TokenPolicyError::GridStep);
        }
        Ok(TokenPolicy {
            validity,
            grid_step,
        })
    }

    /// Token validity, seconds.
    pub fn validity(&self) -> u64 {
        self.validity
    }

    /// Grid step, seconds.
    pub fn grid_step(&self) -> u64 {
        self.grid_step
    }

    /// The expiry of a batch issued at `now`: the first grid point at or
    /// after `now + validity`.
    pub fn expiry_at(&self, now: u64) -> u64 {
        grid_ceil(now.saturating_add(self.validity), self.grid_step)
    }

    /// Token information for a batch issued at `now` with key `key_counter`.
    pub fn token_info(
        &self,
        credential_type: CredentialTypeId,
        key_counter: u32,
        now: u64,
    ) -> TokenInfo {
        TokenInfo {
            credential_type,
            key_counter,
            expiry: self.expiry_at(now),
        }
    }

    /// The expiries a wallet whose clock reads `now` accepts: those computed
    /// from any time within one grid step of `now` (clock skew either way).
    /// At most three consecutive grid points.
    pub fn accepted_expiries(&self, now: u64) -> std::ops::RangeInclusive<u64> {
        self.expiry_at(now.saturating_sub(self.grid_step))
            ..=self.expiry_at(now.saturating_add(self.grid_step))
    }
}

impl TokenInfo {
    /// Token information expiring at the first point of the *weekly* grid at
    /// or after `now + validity` (seconds). Issuers use
    /// [`TokenPolicy::token_info`] with the scheme's policy instead.
    pub fn new(
        credential_type: CredentialTypeId,
        key_counter: u32,
        now: u64,
        validity: u64,
    ) -> Self {
        TokenInfo {
            credential_type,
            key_counter,
            expiry: grid_ceil(now.saturating_add(validity), WEEK),
        }
    }

    /// `xt = Hs("kenmerk/v1/ti", CBOR(TI))`.
    pub fn encode(&self) -> Scalar {
        HashInput::new(label::TOKEN_INFO)
            .part(&cbor::to_cbor(self))
            .to_scalar()
    }

    /// The wallet's check before it accepts a batch (Rule 8), with the
    /// credential type's `policy` and `current_key` from the pinned scheme
    /// (the newest key of the type valid at `now`), in this order: the type
    /// is the key's, the counter is the current key's (an older key still
    /// valid would single the resident out), the expiry is on the type's
    /// grid, in the future, and one of [`TokenPolicy::accepted_expiries`]
    /// (any other expiry, far or near, would single her out).
    pub fn check_for_wallet(
        &self,
        policy: &TokenPolicy,
        current_key: &IssuerPublicKey,
        now: u64,
    ) -> Result<(), TokenInfoError> {
        if self.credential_type != current_key.credential_type {
            return Err(TokenInfoError::KeyMismatch);
        }
        if self.key_counter != current_key.counter {
            return Err(TokenInfoError::NotCurrentKey);
        }
        if !on_grid(self.expiry, policy.grid_step) {
            return Err(TokenInfoError::OffGrid);
        }
        if self.expiry <= now {
            return Err(TokenInfoError::InPast);
        }
        if !policy.accepted_expiries(now).contains(&self.expiry) {
            return Err(TokenInfoError::ExpiryNotFromScheme);
        }
        Ok(())
    }

    /// The bounds every batch must meet whatever the scheme says, checked
    /// again when blinding starts (defence in depth; the scheme's policy is
    /// checked on the offer by [`Self::check_for_wallet`]): the key's type and
    /// counter, an expiry on the day grid (every scheme grid point is one),
    /// in the future and at most [`MAX_TOKEN_VALIDITY`] plus a week away.
    pub fn check_bounds(&self, key: &IssuerPublicKey, now: u64) -> Result<(), TokenInfoError> {
        self.check_key(key)?;
        if !on_grid(self.expiry, DAY) {
            return Err(TokenInfoError::OffGrid);
        }
        if self.expiry <= now {
            return Err(TokenInfoError::InPast);
        }
        if self.expiry - now > MAX_TOKEN_VALIDITY + WEEK {
            return Err(TokenInfoError::TooFar);
        }
        Ok(())
    }

    /// Credential type and key counter agree with `key`.
    pub fn check_key(&self, key: &IssuerPublicKey) -> Result<(), TokenInfoError> {
        if self.credential_type != key.credential_type || self.key_counter != key.counter {
            return Err(TokenInfoError::KeyMismatch);
        }
        Ok(())
    }
}

/// A one-show token as a verifier sees it (version 2: the commitments
/// `sa'`, `sb'` are sent, the challenge `sc'` is recomputed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// The issuer key that signed it.
    #[serde(rename = "k")]
    pub key_id: KeyId,
    /// Token information.
    pub ti: TokenInfo,
    /// `h = gamma^alpha`.
    pub h: WirePoint,
    /// `sz' = sz^alpha`.
    pub sz: WirePoint,
    /// `sa' = g0^b1 · g^b2 · sa`.
    pub sa: WirePoint,
    /// `sb' = (sz^b1 · gamma^b2 · sb)^alpha`.
    pub sb: WirePoint,
    /// `sr'`.
    #[serde(with = "cbor::scalar")]
    pub sr: Scalar,
}

/// Why a token failed the token check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenCheckError {
    #[error("token names another issuer key")]
    WrongKey,
    #[error("token information does not match the issuer key")]
    TokenInfo,
    #[error("token has an identity element")]
    Identity,
    #[error("token signature does not verify")]
    Signature,
}

/// `sc' = Hs("kenmerk/v1/token", key id, CBOR(TI), h, sz', sa', sb')`, used
/// at creation and check; points are hashed by their wire encodings.
pub(crate) fn token_challenge(
    key_id: &KeyId,
    ti: &TokenInfo,
    h: &WirePoint,
    sz: &WirePoint,
    sa: &WirePoint,
    sb: &WirePoint,
) -> Scalar {
    HashInput::new(label::TOKEN)
        .part(&key_id.0)
        .part(&cbor::to_cbor(ti))
        .wire(h)
        .wire(sz)
        .wire(sa)
        .wire(sb)
        .to_scalar()
}

impl Token {
    /// The token check (see the module docs); public data, variable time.
    pub fn check(&self, key: &IssuerPublicKey) -> Result<(), TokenCheckError> {
        if self.key_id != key.key_id() {
            return Err(TokenCheckError::WrongKey);
        }
        self.ti
            .check_key(key)
            .map_err(|_| TokenCheckError::TokenInfo)?;
        self.check_with_key_id(key)
    }

    /// The token check when the caller already matched the key id: (T1)
    /// with weight 1 and (T2) with a random 128-bit weight in one
    /// multiplication.
    pub(crate) fn check_with_key_id(&self, key: &IssuerPublicKey) -> Result<(), TokenCheckError> {
        let mut acc = Equations::new();
        let slot = acc.key(&key.table());
        let [t1, t2] = self.equations(slot, &self.challenge())?;
        acc.push(&t1);
        acc.push(&t2);
        if acc.is_identity() {
            Ok(())
        } else {
            Err(TokenCheckError::Signature)
        }
    }

    /// `sc'` of this token.
    pub(crate) fn challenge(&self) -> Scalar {
        token_challenge(
            &self.key_id,
            &self.ti,
            &self.h,
            &self.sz,
            &self.sa,
            &self.sb,
        )
    }

    /// The token equations for an accumulator, with `slot` the token's key
    /// and `sc` its challenge ([`Self::challenge`]):
    ///
    /// ```text
    /// (T1)  g^sr' · g0^-sc' · sa'^-1 == 1
    /// (T2)  h^sr' · sz'^-sc' · sb'^-1 == 1
    /// ```
    ///
    /// Refuses an identity `h` or `sz'` first (decoded tokens never have
    /// one: Rule 4; a token built in memory might).
    pub(crate) fn equations(
        &self,
        slot: KeySlot,
        sc: &Scalar,
    ) -> Result<[Equation; 2], TokenCheckError> {
        if self.h.is_identity() || self.sz.is_identity() {
            return Err(TokenCheckError::Identity);
        }
        let mut t1 = Equation::with_capacity(3);
        t1.term(self.sr, Base::G)
            .term(-sc, slot.g0())
            .term(-Scalar::ONE, Base::Point(*self.sa));
        let mut t2 = Equation::with_capacity(3);
        t2.term(self.sr, Base::Point(*self.h))
            .term(-sc, Base::Point(*self.sz))
            .term(-Scalar::ONE, Base::Point(*self.sb));
        Ok([t1, t2])
    }

    /// Canonical CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Decodes a token (canonical only).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, cbor::DecodeError> {
        cbor::from_cbor(bytes)
    }
}

/// A token as the wallet keeps it: the public token, the secret `alpha^-1`
/// and the attribute values. One token is shown at most once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct CredentialToken {
    #[zeroize(skip)]
    pub(crate) token: Token,
    #[serde(with = "cbor::scalar")]
    pub(crate) alpha_inv: Scalar,
    #[zeroize(skip)]
    pub(crate) attributes: Vec<AttributeValue>,
}

impl std::fmt::Debug for CredentialToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialToken")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl CredentialToken {
    /// The public token.
    pub fn token(&self) -> &Token {
        &self.token
    }
    /// The attribute values, by position.
    pub fn attributes(&self) -> &[AttributeValue] {
        &self.attributes
    }
    /// The credential type.
    pub fn credential_type(&self) -> &CredentialTypeId {
        &self.token.ti.credential_type
    }
    /// Expiry, Unix seconds.
    pub fn expiry(&self) -> u64 {
        self.token.ti.expiry
    }
    /// Secret CBOR for the wallet file.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(cbor::to_cbor(self))
    }
    /// Decodes a stored token (the wallet re-checks it against its key
    /// before use).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, cbor::DecodeError> {
        cbor::from_cbor(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::AttributeKind;
    use crate::keys::{IssuerSecretKey, KeyParams};
    use proptest::prelude::*;
    use rand_core::OsRng;

    const NOW: u64 = 1_795_000_000; // 2026-11-19, a Thursday

    fn ct() -> CredentialTypeId {
        "demo.utrecht.address".parse().unwrap()
    }

    fn key(counter: u32) -> IssuerPublicKey {
        IssuerSecretKey::generate(
            &mut OsRng,
            KeyParams {
                credential_type: ct(),
                counter,
                valid_from: 0,
                valid_until: 4_000_000_000,
                attributes: vec![AttributeKind::String],
            },
        )
        .unwrap()
        .public()
        .clone()
    }

    fn weekly() -> TokenPolicy {
        TokenPolicy::default()
    }

    fn daily(validity: u64) -> TokenPolicy {
        TokenPolicy::new(validity, DAY).unwrap()
    }

    fn with_expiry(counter: u32, expiry: u64) -> TokenInfo {
        TokenInfo {
            credential_type: ct(),
            key_counter: counter,
            expiry,
        }
    }

    #[test]
    fn expiry_on_grid() {
        let now = 1_764_000_000; // 2025-11-24
        let ti = TokenInfo::new(ct(), 1, now, 14 * 24 * 3600);
        assert_eq!((ti.expiry - GRID_ORIGIN) % GRID_STEP, 0);
        assert!(ti.expiry >= now + 14 * 24 * 3600);
        assert!(ti.expiry < now + 14 * 24 * 3600 + GRID_STEP);
        // 1970-01-05 was a Monday: the origin is midnight UTC on a Monday.
        assert_eq!(GRID_ORIGIN % 86_400, 0);
        // The weekly default policy gives what `TokenInfo::new` gives.
        let p = TokenPolicy::new(14 * DAY, WEEK).unwrap();
        assert_eq!(p.token_info(ct(), 1, now), ti);
    }

    #[test]
    fn the_derived_expiry_is_accepted() {
        let k = key(3);
        for p in [
            weekly(),
            daily(DAY),
            daily(30 * DAY),
            TokenPolicy::new(1, WEEK).unwrap(),
        ] {
            let ti = p.token_info(ct(), 3, NOW);
            assert_eq!(ti.check_for_wallet(&p, &k, NOW), Ok(()), "{p:?}");
            assert!(ti.expiry >= NOW + p.validity());
            assert!(ti.expiry < NOW + p.validity() + p.grid_step());
        }
    }

    /// Rule 8: an expiry on the grid but further than the scheme gives,
    /// which today's wallet (anything up to 9 weeks) accepted, singles the
    /// resident out.
    #[test]
    fn rule8_far_expiry_on_the_grid_is_refused() {
        let k = key(1);
        let p = weekly();
        let derived = p.expiry_at(NOW);
        for weeks in 2..=7 {
            let far = with_expiry(1, derived + weeks * WEEK);
            assert!(far.expiry - NOW <= MAX_TOKEN_VALIDITY + WEEK);
            assert_eq!(
                far.check_for_wallet(&p, &k, NOW),
                Err(TokenInfoError::ExpiryNotFromScheme),
                "{weeks} weeks further"
            );
        }
        // A nearer one too (the derived one minus two steps, still future).
        let p = TokenPolicy::new(4 * WEEK, WEEK).unwrap();
        let near = with_expiry(1, p.expiry_at(NOW) - 2 * WEEK);
        assert!(near.expiry > NOW);
        assert_eq!(
            near.check_for_wallet(&p, &k, NOW),
            Err(TokenInfoError::ExpiryNotFromScheme)
        );
    }

    /// Rule 8: a key counter that is still valid but not the type's current
    /// key singles the resident out.
    #[test]
    fn rule8_old_key_still_valid_is_refused() {
        let current = key(2);
        let p = weekly();
        let old = p.token_info(ct(), 1, NOW);
        assert_eq!(
            old.check_for_wallet(&p, &current, NOW),
            Err(TokenInfoError::NotCurrentKey)
        );
        let newer = p.token_info(ct(), 3, NOW);
        assert_eq!(
            newer.check_for_wallet(&p, &current, NOW),
            Err(TokenInfoError::NotCurrentKey)
        );
        let mut other_type = p.token_info(ct(), 2, NOW);
        other_type.credential_type = "demo.utrecht.personal".parse().unwrap();
        assert_eq!(
            other_type.check_for_wallet(&p, &current, NOW),
            Err(TokenInfoError::KeyMismatch)
        );
        assert_eq!(
            p.token_info(ct(), 2, NOW)
                .check_for_wallet(&p, &current, NOW),
            Ok(())
        );
    }

    #[test]
    fn day_grid_only_where_the_scheme_says_day_grid() {
        let k = key(1);
        let day = daily(7 * DAY);
        let ti = day.token_info(ct(), 1, NOW);
        // NOW is a Thursday: the day-grid expiry is not a Monday.
        assert_ne!((ti.expiry - GRID_ORIGIN) % WEEK, 0);
        assert_eq!(ti.check_for_wallet(&day, &k, NOW), Ok(()));
        assert_eq!(
            ti.check_for_wallet(&weekly(), &k, NOW),
            Err(TokenInfoError::OffGrid)
        );
        // Off both grids.
        let mut off = ti.clone();
        off.expiry += 3600;
        assert_eq!(
            off.check_for_wallet(&day, &k, NOW),
            Err(TokenInfoError::OffGrid)
        );
        // A day-grid expiry a day further than derived (and past the skew).
        let later = with_expiry(1, day.expiry_at(NOW) + 2 * DAY);
        assert_eq!(
            later.check_for_wallet(&day, &k, NOW),
            Err(TokenInfoError::ExpiryNotFromScheme)
        );
    }

    /// One grid step of clock skew either way, not more.
    #[test]
    fn skew_edges() {
        let k = key(1);
        for step in GRID_STEPS {
            let p = TokenPolicy::new(2 * WEEK, step).unwrap();
            // A wallet clock where now + validity is a grid point: the
            // derived expiry is exactly now + validity.
            let base = NOW - (NOW - GRID_ORIGIN) % step;
            let now = base - p.validity() + 2 * step;
            assert_eq!(p.expiry_at(now), now + p.validity());
            // Issuer clock one step ahead: accepted; a second later: refused.
            let ahead = p.token_info(ct(), 1, now + step);
            assert_eq!(ahead.check_for_wallet(&p, &k, now), Ok(()));
            let too_far = p.token_info(ct(), 1, now + step + 1);
            assert_eq!(
                too_far.check_for_wallet(&p, &k, now),
                Err(TokenInfoError::ExpiryNotFromScheme)
            );
            // A wallet clock one second past a grid point (after
            // validity): issuer one step behind accepted, a second more not.
            let now = now + 1;
            let behind = p.token_info(ct(), 1, now - step);
            assert_eq!(behind.check_for_wallet(&p, &k, now), Ok(()));
            let too_old = p.token_info(ct(), 1, now - step - 1);
            assert_eq!(
                too_old.check_for_wallet(&p, &k, now),
                Err(TokenInfoError::ExpiryNotFromScheme)
            );
            let window = p.accepted_expiries(now);
            assert!((window.end() - window.start()) / step <= 2);
        }
    }

    #[test]
    fn policy_ranges() {
        assert_eq!(TokenPolicy::new(0, WEEK), Err(TokenPolicyError::Validity));
        assert_eq!(
            TokenPolicy::new(MAX_TOKEN_VALIDITY + 1, WEEK),
            Err(TokenPolicyError::Validity)
        );
        assert!(TokenPolicy::new(MAX_TOKEN_VALIDITY, WEEK).is_ok());
        for bad in [0, 1, 3600, 2 * DAY, 2 * WEEK] {
            assert_eq!(TokenPolicy::new(DAY, bad), Err(TokenPolicyError::GridStep));
        }
        // Expiries before the origin or near the end of time stay on the grid
        // and never panic.
        let p = daily(1);
        assert_eq!(p.expiry_at(0), GRID_ORIGIN);
        let far = p.expiry_at(u64::MAX);
        assert!(with_expiry(1, far)
            .check_for_wallet(&p, &key(1), u64::MAX)
            .is_err());
        assert_eq!(
            with_expiry(1, 0).check_for_wallet(&p, &key(1), 0),
            Err(TokenInfoError::OffGrid)
        );
    }

    #[test]
    fn bounds_stay_for_blinding() {
        let k = key(1);
        let ti = TokenInfo::new(ct(), 1, NOW, 14 * DAY);
        assert_eq!(ti.check_bounds(&k, NOW), Ok(()));
        let mut off = ti.clone();
        off.expiry += 3600;
        assert_eq!(off.check_bounds(&k, NOW), Err(TokenInfoError::OffGrid));
        let far = TokenInfo::new(ct(), 1, NOW, 365 * DAY);
        assert_eq!(far.check_bounds(&k, NOW), Err(TokenInfoError::TooFar));
        assert_eq!(
            ti.check_bounds(&key(2), NOW),
            Err(TokenInfoError::KeyMismatch)
        );
    }

    proptest! {
        /// Whatever the policy and however the two clocks differ within one
        /// grid step, the issuer's derived expiry passes the wallet's check;
        /// every other point of the grid within the old 9-week window is
        /// refused unless it is the expiry of a clock within one step.
        #[test]
        fn derived_expiry_accepted_within_one_step_of_skew(
            validity in 1..=MAX_TOKEN_VALIDITY,
            weekly_grid: bool,
            now in 1_600_000_000u64..2_000_000_000,
            skew_fraction in -1.0f64..=1.0,
            other in 0u64..80,
        ) {
            let step = if weekly_grid { WEEK } else { DAY };
            let p = TokenPolicy::new(validity, step).unwrap();
            static KEY: std::sync::OnceLock<IssuerPublicKey> = std::sync::OnceLock::new();
            let k = KEY.get_or_init(|| key(1));
            let skew = (skew_fraction * step as f64) as i64;
            let issuer_now = now.checked_add_signed(skew).unwrap();
            let ti = p.token_info(ct(), 1, issuer_now);
            prop_assume!(ti.expiry > now);
            prop_assert_eq!(ti.check_for_wallet(&p, k, now), Ok(()));
            let candidate = with_expiry(1, GRID_ORIGIN + ((now - GRID_ORIGIN) / step + other) * step);
            let from_some_clock = p.accepted_expiries(now).contains(&candidate.expiry);
            let got = candidate.check_for_wallet(&p, k, now);
            if candidate.expiry <= now {
                prop_assert_eq!(got, Err(TokenInfoError::InPast));
            } else {
                prop_assert_eq!(got.is_ok(), from_some_clock);
            }
        }
    }
}
