//! Rule 8 vectors: the wallet's token-information check against the pinned
//! scheme's token policy and current key (`docs/protocol.md` §7).
//!
//! Kind `token-info`; inputs `keys` (every public key of the credential
//! type in the pinned scheme), `token_validity` and `grid_step` (the type's
//! policy in the scheme), `token_info` (CBOR) and `now`. The check takes the
//! newest key valid at `now` as the current key and runs
//! `TokenInfo::check_for_wallet`.

use serde_json::{json, Value};
use wallet_core::cbor;
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey, KeyParams};
use wallet_core::token::{TokenInfo, TokenPolicy, DAY, WEEK};

use crate::common::{h, keys_from_json, rng, unhex, World, R};
use crate::names::{outcome, StableName};
use crate::{NOW, VALIDITY};

/// The address type's second key (counter 2), valid from before [`NOW`]
/// like the first: the first is old but still valid.
fn rotated_key(w: &World) -> R<IssuerSecretKey> {
    let first = w.address.public();
    IssuerSecretKey::generate(
        &mut rng(40),
        KeyParams {
            credential_type: first.credential_type.clone(),
            counter: 2,
            valid_from: NOW - 30 * DAY,
            valid_until: first.valid_until,
            attributes: first.attributes.clone(),
        },
    )
    .map_err(|e| e.to_string())
}

struct Case<'a> {
    file: &'a str,
    description: &'a str,
    keys: Vec<&'a IssuerPublicKey>,
    policy: TokenPolicy,
    token_info: TokenInfo,
}

fn vector(c: Case<'_>) -> R<(String, Value)> {
    let mut v = json!({
        "kind": "token-info",
        "name": c.file.trim_start_matches("valid/").trim_start_matches("invalid/"),
        "description": c.description,
        "keys": c.keys.iter().map(|k| h(&k.to_bytes())).collect::<Vec<_>>(),
        "token_validity": c.policy.validity(),
        "grid_step": c.policy.grid_step(),
        "token_info": h(&cbor::to_cbor(&c.token_info)),
        "now": NOW,
    });
    let expected = check(&v)?;
    v["expected"] = Value::String(expected);
    Ok((format!("{}.json", c.file), v))
}

/// The Rule 8 vectors: one valid run per grid, and single changes of it.
pub(crate) fn vectors(w: &World) -> R<Vec<(String, Value)>> {
    let first = w.address.public();
    let second = rotated_key(w)?;
    let second = second.public();
    let ct = first.credential_type.clone();
    let weekly = TokenPolicy::new(VALIDITY, WEEK).map_err(|e| e.to_string())?;
    let daily = TokenPolicy::new(VALIDITY, DAY).map_err(|e| e.to_string())?;
    let derived = weekly.token_info(ct.clone(), 2, NOW);
    let mut off_grid = weekly.token_info(ct.clone(), 1, NOW);
    off_grid.expiry += 3600;
    let mut far = derived.clone();
    far.expiry += 4 * WEEK;
    let mut out = Vec::new();
    for c in [
        Case {
            file: "valid/token-info",
            description: "The expiry the scheme's policy gives (two weeks, weekly grid) with the type's current key (counter 2 of 1 and 2): the wallet accepts",
            keys: vec![first, second],
            policy: weekly,
            token_info: derived.clone(),
        },
        Case {
            file: "valid/token-info-day-grid",
            description: "A credential type on the day grid: the expiry is the first midnight UTC at or after now plus two weeks, not a Monday; the wallet accepts",
            keys: vec![first],
            policy: daily,
            token_info: daily.token_info(ct.clone(), 1, NOW),
        },
        Case {
            file: "invalid/rule-8-expiry-off-grid",
            description: "Token information whose expiry is one hour off the weekly grid (a private expiry tags the resident): the wallet refuses the batch",
            keys: vec![first],
            policy: weekly,
            token_info: off_grid,
        },
        Case {
            file: "invalid/rule-8-expiry-not-from-scheme",
            description: "An expiry on the weekly grid four weeks later than the scheme's policy gives (within the old 9-week window, so a wallet that checked only the window accepted it and the resident stood out): the wallet refuses",
            keys: vec![first, second],
            policy: weekly,
            token_info: far,
        },
        Case {
            file: "invalid/rule-8-old-key",
            description: "The derived expiry, but signed under key counter 1 while counter 2 is the type's current key (counter 1 is still valid, so only this check singles the resident out): the wallet refuses",
            keys: vec![first, second],
            policy: weekly,
            token_info: weekly.token_info(ct.clone(), 1, NOW),
        },
    ] {
        out.push(vector(c)?);
    }
    Ok(out)
}

/// Checks a `token-info` vector (see the module docs).
pub(crate) fn check(v: &Value) -> R<String> {
    let keys = keys_from_json(v)?;
    let number = |field: &str| v[field].as_u64().ok_or(format!("{field} missing"));
    let now = number("now")?;
    let policy = match TokenPolicy::new(number("token_validity")?, number("grid_step")?) {
        Ok(p) => p,
        Err(e) => return Ok(e.stable_name().into()),
    };
    let ti: TokenInfo = cbor::from_cbor(&unhex(v, "token_info")?).map_err(|e| e.to_string())?;
    let Some(current) = keys
        .iter()
        .filter(|k| k.credential_type == ti.credential_type && k.is_valid_at(now))
        .max_by_key(|k| k.counter)
    else {
        return Ok("token_info.no_current_key".into());
    };
    Ok(outcome(ti.check_for_wallet(&policy, current, now)))
}
