//! The decoders of wallet-core that read bytes from the network or from a
//! file, each wrapped as one fuzz target function, and the fixed world
//! (issuer keys, holder, scheme, issuance session) they are checked against.
//!
//! Two users share this file, so that CI tests exactly what is fuzzed:
//! - the cargo-fuzz targets in `fuzz/fuzz_targets/*.rs` (one per function in
//!   [`TARGETS`]);
//! - `wallet-core/tests/fuzz_corpus.rs`, which includes this file with
//!   `#[path]` and feeds it the checked-in seed corpus and random bytes.
//!
//! Every target decodes first and, when the decoder accepts, goes on with
//! what a real receiver does next (verify a presentation, check a token,
//! answer challenges, finish an issuance, check a request against the
//! scheme), because that is where decoded-but-hostile values do damage. A
//! target must never panic; it reports how far the input got ([`Reached`])
//! so the corpus test can insist that the valid seeds go all the way.
//!
//! The world is deterministic (a ChaCha20 generator with a fixed seed): the
//! seed corpus made by the generator in the corpus test verifies against the
//! same keys in every process. Its secrets are test fixtures, published on
//! purpose, and never used outside fuzzing and tests.

use std::sync::OnceLock;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use time::{Date, Month};
use wallet_core::encoding::AttributeValue;
use wallet_core::holder::{HolderProof, HolderPublicKey, HolderSecret};
use wallet_core::ids::{CredentialTypeId, IssuerId};
use wallet_core::issuance::issuer::{AnsweredIssuance, IssuerSession};
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::issuance::{IssuanceChallenges, IssuanceResponses, SignerCommitments};
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey};
use wallet_core::presentation::{verify, ChallengeContext, Presentation};
use wallet_core::request::SessionRequest;
use wallet_core::scheme::demo::{demo_builder, generate_demo_issuer_keys, DEMO_SCHEME_VALIDITY};
use wallet_core::scheme::{Scheme, SchemeBuilder, SchemeSigningKey, SignedScheme, VerifiedScheme};
use wallet_core::signature::AttributeSignature;
use wallet_core::token::{CredentialToken, Token, TokenInfo};
use wallet_core::wire::{
    ChallengesMessage, DisclosureRequestMessage, HolderCommitment, IssuanceOffer,
    PresentationMessage, RefreshProof, RefreshRequest, ResponsesMessage, SessionPointer,
    SignerCommitmentsMessage, SigningRequestMessage, WireMessage,
};

/// The fixed "now" of the fuzz world (2026-11-18), Unix seconds.
pub const NOW: u64 = 1_795_000_000;
/// Batch size of the fixture issuance session.
pub const FIXTURE_BATCH: usize = 2;
/// Seed of the generator that makes the fixture keys (public on purpose).
const WORLD_SEED: [u8; 32] = *b"kenmerk fuzz world, not a secret";
/// Seed of the wallet's blinding in the issuance-responses target, so the
/// checked-in responses seed unblinds to valid tokens.
pub const WALLET_BLINDING_SEED: [u8; 32] = *b"kenmerk fuzz wallet blinding rng";
/// Index of the address key in [`World::keys`] (demo scheme order:
/// personal, address, vehicle).
pub const ADDRESS: usize = 1;
/// Index of the personal-data key in [`World::keys`].
pub const PERSONAL: usize = 0;

/// How far an input got through a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reached {
    /// The decoder refused it.
    Rejected,
    /// The decoder accepted it; a later check (signature, proof, token
    /// check, consistency with the world) refused it.
    Decoded,
    /// Decoded and passed every check the receiver makes next.
    Accepted,
}

/// The fixed world every target checks against.
pub struct World {
    /// Issuer secret keys of the demo credential types, in scheme order.
    pub keys: Vec<IssuerSecretKey>,
    /// Their public keys.
    pub publics: Vec<IssuerPublicKey>,
    /// The resident.
    pub holder: HolderSecret,
    /// The demo scheme with the fixture keys, signed with a fresh scheme
    /// key and verified (the key is random: signatures cannot be seeds).
    pub scheme: VerifiedScheme,
    /// The issuer's commitments of the fixture issuance session
    /// (address credential, [`FIXTURE_BATCH`] tokens).
    pub commitments: SignerCommitments,
    /// That session's stored state, answered afresh for every input.
    pub session: Vec<u8>,
}

/// The world, made once per process.
pub fn world() -> Option<&'static World> {
    static WORLD: OnceLock<Option<World>> = OnceLock::new();
    WORLD.get_or_init(make_world).as_ref()
}

fn make_world() -> Option<World> {
    let mut rng = ChaCha20Rng::from_seed(WORLD_SEED);
    // Keys valid from a day before NOW for a year.
    let keys = generate_demo_issuer_keys(&mut rng, NOW - 86_400).ok()?;
    let publics: Vec<IssuerPublicKey> = keys.iter().map(|k| k.public().clone()).collect();
    let builder = publics.iter().cloned().fold(
        demo_builder()
            .ok()?
            .version(1)
            .validity(NOW - 86_400, NOW + DEMO_SCHEME_VALIDITY),
        SchemeBuilder::add_issuer_key,
    );
    let signing = SchemeSigningKey::generate().ok()?;
    let signed = builder.build().ok()?.sign(&signing).ok()?;
    let scheme = signed.verify(&signing.public_key(), None, NOW).ok()?;
    let holder = HolderSecret::from_seed(&[42; 32]);
    let key = keys.get(ADDRESS)?;
    let proof = holder.prove_possession(&mut rng, ISSUANCE_NONCE, &key.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut rng,
        key,
        &address_values(),
        &address_token_info()?,
        &holder.public(),
        &proof,
        ISSUANCE_NONCE,
        FIXTURE_BATCH,
    )
    .ok()?;
    let session = session.to_secret_bytes().to_vec();
    Some(World {
        keys,
        publics,
        holder,
        scheme,
        commitments,
        session,
    })
}

/// The issuance nonce of the fixture session.
pub const ISSUANCE_NONCE: &[u8] = b"kenmerk fuzz issuance nonce";

/// A calendar date; `None` only for impossible dates.
pub fn date(year: i32, month: u8, day: u8) -> Option<Date> {
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// The address values of the fixture session.
pub fn address_values() -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Domplein".into()),
        AttributeValue::Integer(29),
        AttributeValue::String("3512JE".into()),
        AttributeValue::String("Utrecht".into()),
        AttributeValue::String("Utrecht".into()),
    ]
}

/// Personal data for presentations with an age predicate.
pub fn personal_values() -> Vec<AttributeValue> {
    vec![
        AttributeValue::String("Anna Maria".into()),
        AttributeValue::String("de Vries".into()),
        date(2001, 3, 14).map_or(AttributeValue::Absent, AttributeValue::Date),
        AttributeValue::String("999990019".into()),
    ]
}

/// Token information for a credential type of the world at [`NOW`].
pub fn token_info(credential: &str) -> Option<TokenInfo> {
    let ct: CredentialTypeId = credential.parse().ok()?;
    Some(TokenInfo::new(ct, 1, NOW, 14 * 86_400))
}

fn address_token_info() -> Option<TokenInfo> {
    token_info("demo.utrecht.address")
}

/// The context disclosure presentations in the corpus answer.
pub fn disclosure_context() -> ChallengeContext {
    ChallengeContext {
        verifier: "demo.parking".into(),
        request_digest: [7; 32],
        nonce: vec![9; 32],
        message: None,
        timestamp: None,
    }
}

/// The wallet's side of the fixture session, blinded with
/// [`WALLET_BLINDING_SEED`].
pub fn pending_issuance(w: &World) -> Option<(PendingIssuance, IssuanceChallenges)> {
    let mut rng = ChaCha20Rng::from_seed(WALLET_BLINDING_SEED);
    PendingIssuance::start(
        &mut rng,
        w.publics.get(ADDRESS)?,
        &w.holder,
        address_values(),
        address_token_info()?,
        NOW,
        &w.commitments,
    )
    .ok()
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

fn accepted_if(ok: bool) -> Reached {
    if ok {
        Reached::Accepted
    } else {
        Reached::Decoded
    }
}

// ---------------------------------------------------------------------------
// Targets

/// A token (in presentations and the wallet file): decode, then the token
/// check under the key it names.
pub fn token(data: &[u8]) -> Reached {
    let Ok(t) = Token::from_bytes(data) else {
        return Reached::Rejected;
    };
    let Some(w) = world() else {
        return Reached::Decoded;
    };
    let ok = w
        .publics
        .iter()
        .filter(|k| k.key_id() == t.key_id)
        .any(|k| t.check(k).is_ok());
    accepted_if(ok)
}

/// A token as the wallet stores it (token, secret, values).
pub fn credential_token(data: &[u8]) -> Reached {
    let Ok(t) = CredentialToken::from_bytes(data) else {
        return Reached::Rejected;
    };
    let Some(w) = world() else {
        return Reached::Decoded;
    };
    let ok = w
        .publics
        .iter()
        .filter(|k| k.key_id() == t.token().key_id)
        .any(|k| t.token().check(k).is_ok() && t.attributes().len() == k.attribute_count());
    accepted_if(ok)
}

/// A presentation from a wallet: decode, then verify against the world's
/// keys for [`disclosure_context`] at [`NOW`].
pub fn presentation(data: &[u8]) -> Reached {
    let Ok(p) = Presentation::from_bytes(data) else {
        return Reached::Rejected;
    };
    let Some(w) = world() else {
        return Reached::Decoded;
    };
    accepted_if(
        verify(
            &p,
            &wallet_core::presentation::Expected::protocol_limits(),
            &disclosure_context(),
            &w.publics,
            NOW,
        )
        .is_ok(),
    )
}

/// An issuer public key (scheme entry, key file): decode, then derive its
/// id and generators.
pub fn issuer_public_key(data: &[u8]) -> Reached {
    let Ok(k) = IssuerPublicKey::from_bytes(data) else {
        return Reached::Rejected;
    };
    let gens = k.generators();
    let _ = k.key_id();
    let _ = k.is_valid_at(NOW);
    accepted_if(gens.attributes.len() == k.attribute_count())
}

/// An issuer secret key file.
pub fn issuer_secret_key(data: &[u8]) -> Reached {
    let Ok(k) = IssuerSecretKey::from_bytes(data) else {
        return Reached::Rejected;
    };
    accepted_if(k.public().attribute_count() > 0)
}

/// The issuer's commitments, as the wallet receives them: decode, then the
/// wallet's start of the fixture issuance.
pub fn signer_commitments(data: &[u8]) -> Reached {
    match SignerCommitments::from_bytes(data) {
        Ok(c) => accepted_if(wallet_takes_commitments(&c)),
        Err(_) => Reached::Rejected,
    }
}

fn wallet_takes_commitments(c: &SignerCommitments) -> bool {
    let (Some(w), Some(ti)) = (world(), address_token_info()) else {
        return false;
    };
    let Some(key) = w.publics.get(ADDRESS) else {
        return false;
    };
    let mut rng = ChaCha20Rng::from_seed(WALLET_BLINDING_SEED);
    PendingIssuance::start(&mut rng, key, &w.holder, address_values(), ti, NOW, c).is_ok()
}

/// The wallet's challenges, as the issuer receives them: decode, then
/// answer them with the fixture session.
pub fn issuance_challenges(data: &[u8]) -> Reached {
    match IssuanceChallenges::from_bytes(data) {
        Ok(c) => accepted_if(issuer_answers(&c)),
        Err(_) => Reached::Rejected,
    }
}

fn issuer_answers(c: &IssuanceChallenges) -> bool {
    let Some(w) = world() else {
        return false;
    };
    let (Ok(session), Some(key)) = (
        IssuerSession::from_secret_bytes(&w.session),
        w.keys.get(ADDRESS),
    ) else {
        return false;
    };
    session.answer(key, c).is_ok()
}

/// The issuer's responses, as the wallet receives them: decode, then finish
/// the fixture issuance (every token must pass the token check).
pub fn issuance_responses(data: &[u8]) -> Reached {
    match IssuanceResponses::from_bytes(data) {
        Ok(r) => accepted_if(wallet_finishes(&r)),
        Err(_) => Reached::Rejected,
    }
}

fn wallet_finishes(r: &IssuanceResponses) -> bool {
    let Some((pending, _)) = world().and_then(pending_issuance) else {
        return false;
    };
    pending.finish(r).is_ok_and(|t| t.len() == FIXTURE_BATCH)
}

/// The issuer's check of a holder proof for the fixture session.
fn issuer_checks_proof(holder: &HolderPublicKey, proof: &HolderProof) -> bool {
    let Some(key) = world().and_then(|w| w.publics.get(ADDRESS)) else {
        return false;
    };
    holder
        .verify_possession(proof, ISSUANCE_NONCE, &key.key_id())
        .is_ok()
}

/// The issuer's stored session state and answered-session record (read
/// back from its database).
pub fn issuer_store(data: &[u8]) -> Reached {
    let session = IssuerSession::from_secret_bytes(data);
    let answered = AnsweredIssuance::from_bytes(data);
    match (session, answered) {
        (Ok(s), _) => accepted_if(s.batch_size() > 0),
        (_, Ok(a)) => {
            // What the issuer does with a stored answer: compare a retry.
            if let Some(c) = pending_issuance_challenges() {
                let _ = a.replay(&c);
            }
            Reached::Accepted
        }
        _ => Reached::Rejected,
    }
}

fn pending_issuance_challenges() -> Option<IssuanceChallenges> {
    world().and_then(pending_issuance).map(|(_, c)| c)
}

/// An attribute-based signature (a file or a message): decode, then verify
/// against the world's keys.
pub fn signature(data: &[u8]) -> Reached {
    let Ok(s) = AttributeSignature::from_bytes(data) else {
        return Reached::Rejected;
    };
    let Some(w) = world() else {
        return Reached::Decoded;
    };
    accepted_if(
        s.verify(
            &wallet_core::presentation::Expected::protocol_limits(),
            &w.publics,
            NOW,
        )
        .is_ok(),
    )
}

/// A scheme as distributed: the signed CBOR envelope, the JSON form, or the
/// document inside. The signature never verifies for fuzzed input (the
/// world's scheme key is fresh), so "accepted" means the document decodes
/// and is consistent.
pub fn scheme(data: &[u8]) -> Reached {
    let mut reached = Reached::Rejected;
    if let Ok(signed) = SignedScheme::from_cbor(data) {
        reached = reached.max(signed_scheme(&signed));
    }
    if let Some(json) = text(data) {
        if let Ok(signed) = SignedScheme::from_json(json) {
            reached = reached.max(signed_scheme(&signed));
        }
    }
    if let Ok(doc) = wallet_core::cbor::from_cbor::<Scheme>(data) {
        reached = reached.max(accepted_if(doc.validate().is_ok()));
    }
    reached
}

fn signed_scheme(signed: &SignedScheme) -> Reached {
    let _ = signed.to_cbor();
    let _ = signed.to_json_pretty();
    // A fixed key that signed nothing: exercises the refusal path.
    let fixed = wallet_core::scheme::SchemePublicKey([0x5a; 32]);
    let _ = signed.verify(&fixed, Some(1), NOW);
    accepted_if(signed.unverified_version().is_some())
}

/// A scheme description in TOML (the scheme tool's input file).
pub fn scheme_toml(data: &[u8]) -> Reached {
    let Some(t) = text(data) else {
        return Reached::Rejected;
    };
    let Ok(b) = SchemeBuilder::from_toml(t) else {
        return Reached::Rejected;
    };
    // The scheme tool sets the validity period before it builds.
    accepted_if(
        b.validity(NOW - 86_400, NOW + DEMO_SCHEME_VALIDITY)
            .build()
            .is_ok(),
    )
}

/// A session request: JSON from a requestor, or canonical CBOR. Decoded
/// requests are checked against the world's scheme and every registered
/// verifier, and must survive a JSON round trip.
pub fn session_request(data: &[u8]) -> Reached {
    let from_json = text(data).and_then(|t| SessionRequest::from_json(t).ok());
    let from_cbor = SessionRequest::from_cbor(data).ok();
    let mut reached = Reached::Rejected;
    for r in from_json.iter().chain(from_cbor.iter()) {
        reached = reached.max(request_follow_up(r));
    }
    reached
}

fn request_follow_up(r: &SessionRequest) -> Reached {
    let round_trip = SessionRequest::from_json(&r.to_json()).is_ok_and(|back| &back == r);
    let _ = r.request_digest();
    let Some(w) = world() else {
        return Reached::Decoded;
    };
    for v in &w.scheme.verifiers {
        let _ = r.unregistered(v);
    }
    accepted_if(round_trip && r.check_against(&w.scheme).is_ok())
}

/// Number of message kinds the [`wire`] target chooses among.
pub const WIRE_KINDS: u8 = 11;

/// Every wire message: the first byte chooses the kind (modulo
/// [`WIRE_KINDS`], order as in `wallet_core::wire`; the last is the QR
/// code's session pointer JSON), the rest is the message.
pub fn wire(data: &[u8]) -> Reached {
    let Some((&kind, body)) = data.split_first() else {
        return Reached::Rejected;
    };
    match kind % WIRE_KINDS {
        0 => wire_offer(body),
        1 => match HolderCommitment::from_bytes(body) {
            Ok(m) => accepted_if(m.proofs.iter().all(|p| issuer_checks_proof(&m.holder, p))),
            Err(_) => Reached::Rejected,
        },
        2 => match SignerCommitmentsMessage::from_bytes(body) {
            Ok(m) => accepted_if(m.commitments.iter().all(wallet_takes_commitments)),
            Err(_) => Reached::Rejected,
        },
        3 => match ChallengesMessage::from_bytes(body) {
            Ok(m) => accepted_if(m.challenges.iter().all(issuer_answers)),
            Err(_) => Reached::Rejected,
        },
        4 => match ResponsesMessage::from_bytes(body) {
            Ok(m) => accepted_if(m.responses.iter().all(wallet_finishes)),
            Err(_) => Reached::Rejected,
        },
        5 => decoded(RefreshRequest::from_bytes(body).is_ok()),
        6 => match (RefreshProof::from_bytes(body), world()) {
            (Ok(m), Some(w)) => accepted_if(issuer_checks_proof(&w.holder.public(), &m.proof)),
            (Ok(_), None) => Reached::Decoded,
            (Err(_), _) => Reached::Rejected,
        },
        7 => match DisclosureRequestMessage::from_bytes(body) {
            Ok(m) => wire_request(&m.request, &m.context()),
            Err(_) => Reached::Rejected,
        },
        8 => match SigningRequestMessage::from_bytes(body) {
            Ok(m) => wire_request(&m.request, &m.context()),
            Err(_) => Reached::Rejected,
        },
        9 => match PresentationMessage::from_bytes(body) {
            Ok(m) => match world() {
                Some(w) => accepted_if(
                    verify(
                        &m.presentation,
                        &wallet_core::presentation::Expected::protocol_limits(),
                        &disclosure_context(),
                        &w.publics,
                        NOW,
                    )
                    .is_ok(),
                ),
                None => Reached::Decoded,
            },
            Err(_) => Reached::Rejected,
        },
        _ => match text(body).map(SessionPointer::from_json) {
            Some(Ok(p)) => accepted_if(!p.host().is_empty()),
            _ => Reached::Rejected,
        },
    }
}

fn decoded(ok: bool) -> Reached {
    if ok {
        Reached::Accepted
    } else {
        Reached::Rejected
    }
}

fn wire_offer(body: &[u8]) -> Reached {
    let Ok(offer) = IssuanceOffer::from_bytes(body) else {
        return Reached::Rejected;
    };
    let Some(w) = world() else {
        return Reached::Decoded;
    };
    let issuer: &IssuerId = &offer.issuer;
    let all_ok = offer
        .credentials
        .iter()
        .all(|c| c.check(issuer, &w.scheme, NOW).is_ok());
    accepted_if(all_ok)
}

fn wire_request(request: &SessionRequest, context: &ChallengeContext) -> Reached {
    let _ = context.digest();
    request_follow_up(request)
}

/// A fuzz target function.
pub type Target = fn(&[u8]) -> Reached;

/// Every target by name (the name of its `fuzz/fuzz_targets/<name>.rs` and
/// `fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("token", token),
    ("credential_token", credential_token),
    ("presentation", presentation),
    ("issuer_public_key", issuer_public_key),
    ("issuer_secret_key", issuer_secret_key),
    ("signer_commitments", signer_commitments),
    ("issuance_challenges", issuance_challenges),
    ("issuance_responses", issuance_responses),
    ("issuer_store", issuer_store),
    ("signature", signature),
    ("scheme", scheme),
    ("scheme_toml", scheme_toml),
    ("session_request", session_request),
    ("wire", wire),
];
