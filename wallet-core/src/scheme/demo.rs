//! The demo scheme (`demo`): the municipality `demo.utrecht` issuing
//! `personal` and `address`, the vehicle authority `demo.rdw` issuing
//! `vehicle`, and the verifiers `demo.parking` (parking-permit desk) and
//! `demo.poll` (local poll). The description is `demo.toml` beside this file.
//!
//! Used by the CLI's `demo` command, the services' local mode and the tests;
//! never by a real deployment (its keys are generated on the spot).

use rand_core::{CryptoRng, RngCore};

use super::{
    SchemeBuildError, SchemeBuilder, SchemeError, SchemeKeyError, SchemeSigningKey, SignedScheme,
};
use crate::ids::{IdError, VerifierId};
use crate::keys::{IssuerPublicKey, IssuerSecretKey, KeyError};

/// The demo scheme's TOML description.
pub const DEMO_SCHEME_TOML: &str = include_str!("demo.toml");
/// How long a demo scheme version is valid (one year).
pub const DEMO_SCHEME_VALIDITY: u64 = 365 * 24 * 3600;
/// How long demo issuer keys are valid (one year).
pub const DEMO_KEY_VALIDITY: u64 = 365 * 24 * 3600;
/// The parking-permit desk.
pub const PARKING_VERIFIER: &str = "demo.parking";
/// The local poll.
pub const POLL_VERIFIER: &str = "demo.poll";
/// The objections desk (signing).
pub const OBJECTIONS_VERIFIER: &str = "demo.objections";

/// Why the demo scheme could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Build(#[from] SchemeBuildError),
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    #[error("issuer key: {0}")]
    Key(#[from] KeyError),
    #[error("scheme key: {0}")]
    SchemeKey(#[from] SchemeKeyError),
}

/// A builder holding the demo description (no keys yet).
pub fn demo_builder() -> Result<SchemeBuilder, SchemeBuildError> {
    SchemeBuilder::from_toml(DEMO_SCHEME_TOML)
}

/// One issuer key (counter 1) per demo credential type, valid from `now`
/// (Unix seconds) for [`DEMO_KEY_VALIDITY`].
pub fn generate_demo_issuer_keys<R: RngCore + CryptoRng>(
    rng: &mut R,
    now: u64,
) -> Result<Vec<IssuerSecretKey>, DemoError> {
    let builder = demo_builder()?;
    builder
        .scheme()
        .credential_types
        .iter()
        .map(|ct| {
            IssuerSecretKey::generate(
                rng,
                ct.key_params(1, now, now.saturating_add(DEMO_KEY_VALIDITY)),
            )
            .map_err(DemoError::from)
        })
        .collect()
}

/// Builds the demo scheme at `version` with `issuer_keys` and signs it;
/// valid from `now` for [`DEMO_SCHEME_VALIDITY`].
pub fn build_demo_scheme(
    signing_key: &SchemeSigningKey,
    issuer_keys: &[IssuerPublicKey],
    version: u64,
    now: u64,
) -> Result<SignedScheme, DemoError> {
    let builder = issuer_keys.iter().cloned().fold(
        demo_builder()?
            .version(version)
            .validity(now, now.saturating_add(DEMO_SCHEME_VALIDITY)),
        SchemeBuilder::add_issuer_key,
    );
    Ok(builder.build()?.sign(signing_key)?)
}

/// Everything a demo run needs: the scheme key, the issuer secret keys and
/// the signed scheme (version 1).
#[derive(Debug)]
pub struct DemoScheme {
    /// The scheme signing key (pin its public key in the wallet).
    pub signing_key: SchemeSigningKey,
    /// Issuer secret keys, one per credential type, in scheme order.
    pub issuer_keys: Vec<IssuerSecretKey>,
    /// The signed scheme.
    pub signed: SignedScheme,
}

/// Generates a scheme key and issuer keys and signs the demo scheme.
pub fn generate_demo_scheme<R: RngCore + CryptoRng>(
    rng: &mut R,
    now: u64,
) -> Result<DemoScheme, DemoError> {
    let signing_key = SchemeSigningKey::generate()?;
    let issuer_keys = generate_demo_issuer_keys(rng, now)?;
    let publics: Vec<IssuerPublicKey> = issuer_keys.iter().map(|k| k.public().clone()).collect();
    let signed = build_demo_scheme(&signing_key, &publics, 1, now)?;
    Ok(DemoScheme {
        signing_key,
        issuer_keys,
        signed,
    })
}

/// The demo verifier ids.
pub fn verifier_ids() -> Result<(VerifierId, VerifierId), IdError> {
    Ok((PARKING_VERIFIER.parse()?, POLL_VERIFIER.parse()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn demo_scheme_generates_and_verifies() {
        let now = 1_790_000_000;
        let demo = generate_demo_scheme(&mut OsRng, now).unwrap();
        let verified = demo
            .signed
            .verify(&demo.signing_key.public_key(), None, now)
            .unwrap();
        assert_eq!(verified.id.as_str(), "demo");
        assert_eq!(verified.credential_types.len(), 3);
        assert_eq!(verified.issuer_keys.len(), 3);
        let city = verified
            .attribute(&"demo.utrecht.address.city".parse().unwrap())
            .unwrap();
        assert_eq!(city.position, 3);
        let (parking, poll) = verifier_ids().unwrap();
        assert!(verified
            .verifier(&parking)
            .unwrap()
            .serves_host("LOCALHOST"));
        assert!(verified.verifier(&poll).unwrap().pseudonym);
        for k in &demo.issuer_keys {
            assert!(verified.valid_key(&k.public().key_id(), now).is_ok());
        }
    }
}
