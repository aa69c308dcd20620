//! The fuzz targets' decoders, run in CI without libFuzzer: every file of
//! the checked-in seed corpus `fuzz/corpus/<target>/` and random or mutated
//! bytes go through the same functions the cargo-fuzz targets call
//! (`fuzz/src/lib.rs`, included below), and nothing may panic.
//!
//! Seed files named `valid-*` must pass every check of their target
//! ([`fuzz::Reached::Accepted`]); `invalid-*` must be refused by the decoder.
//! Other files (inputs a fuzzer run found worth keeping) must only not panic.
//!
//! The seeds are made by the ignored test `write_seed_corpus`:
//!
//! ```text
//! cargo test -p wallet-core --test fuzz_corpus -- --ignored write_seed_corpus
//! ```
//!
//! Property cases: `PROPTEST_CASES` (default 32 per property).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../fuzz/src/lib.rs"]
mod fuzz;

use std::path::{Path, PathBuf};

use fuzz::{Reached, World, NOW, TARGETS};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use wallet_core::encoding::AttributeValue;
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::pseudonym::Scope;
use wallet_core::request::demo::{parking_request, poll_request};
use wallet_core::request::{SessionKind, SessionRequest};
use wallet_core::scheme::demo::DEMO_SCHEME_TOML;
use wallet_core::signature::AttributeSignature;
use wallet_core::token::CredentialToken;
use wallet_core::wire::{
    ChallengesMessage, DisclosureRequestMessage, HolderCommitment, IssuanceOffer, Nonce,
    OfferedCredential, PresentationMessage, RecordId, RefreshProof, RefreshRequest,
    ResponsesMessage, SessionPointer, SignerCommitmentsMessage, SigningRequestMessage, WireMessage,
};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

fn world() -> &'static World {
    fuzz::world().expect("the fuzz world builds")
}

/// Runs a whole issuance under world key `key` and returns the tokens.
fn issue(
    rng: &mut ChaCha20Rng,
    w: &World,
    key: usize,
    values: Vec<AttributeValue>,
    credential: &str,
) -> Vec<CredentialToken> {
    let sk = &w.keys[key];
    let ti = fuzz::token_info(credential).unwrap();
    let proof = w
        .holder
        .prove_possession(rng, fuzz::ISSUANCE_NONCE, &sk.public().key_id());
    let (session, commitments) = IssuerSession::start(
        rng,
        sk,
        &values,
        &ti,
        &w.holder.public(),
        &proof,
        fuzz::ISSUANCE_NONCE,
        1,
    )
    .unwrap();
    let (pending, challenges) =
        PendingIssuance::start(rng, sk.public(), &w.holder, values, ti, NOW, &commitments).unwrap();
    let (_, responses) = session.answer(sk, &challenges).unwrap();
    pending.finish(&responses).unwrap()
}

fn seed_date() -> time::Date {
    fuzz::date(2026, 11, 18).unwrap()
}

fn age_predicate() -> Predicate {
    Predicate::AgeAtLeast {
        years: 18,
        on: seed_date(),
    }
}

/// A target's valid seeds, by name.
type Seeds = Vec<(&'static str, String, Vec<u8>)>;

/// Every valid seed: (target, name, bytes). Deterministic except where a
/// fresh scheme signature is involved.
fn valid_seeds() -> Seeds {
    let w = world();
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let mut out: Seeds = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_owned(), bytes));
    };
    let personal = issue(
        &mut rng,
        w,
        fuzz::PERSONAL,
        fuzz::personal_values(),
        "demo.utrecht.personal",
    );
    let address = issue(
        &mut rng,
        w,
        fuzz::ADDRESS,
        fuzz::address_values(),
        "demo.utrecht.address",
    );
    let (pk_personal, pk_address) = (&w.publics[fuzz::PERSONAL], &w.publics[fuzz::ADDRESS]);

    add("token", "personal", personal[0].token().to_bytes());
    add("token", "address", address[0].token().to_bytes());
    add(
        "credential_token",
        "address",
        address[0].to_bytes().to_vec(),
    );
    add(
        "credential_token",
        "personal",
        personal[0].to_bytes().to_vec(),
    );

    let ctx = fuzz::disclosure_context();
    let disclose = {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        b.token(&address[0], pk_address, &[2, 3]);
        b.prove(&mut rng).unwrap()
    };
    let pseudonym = {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        b.token(&address[0], pk_address, &[4]);
        b.pseudonym(Scope("demo.poll/2026-parks".into()));
        b.prove(&mut rng).unwrap()
    };
    let predicate = {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        let p = b.token(&personal[0], pk_personal, &[]);
        b.predicate(p, 2, age_predicate());
        b.prove(&mut rng).unwrap()
    };
    let two = {
        let mut b = PresentationBuilder::new(&w.holder, ctx.clone());
        b.token(&address[0], pk_address, &[2, 3]);
        let p = b.token(&personal[0], pk_personal, &[]);
        b.predicate(p, 2, age_predicate());
        b.prove(&mut rng).unwrap()
    };
    add("presentation", "disclose-2-of-5", disclose.to_bytes());
    add("presentation", "pseudonym", pseudonym.to_bytes());
    add("presentation", "age-predicate", predicate.to_bytes());
    add("presentation", "two-credentials", two.to_bytes());

    for (i, k) in w.keys.iter().enumerate() {
        add(
            "issuer_public_key",
            &format!("demo-{i}"),
            k.public().to_bytes(),
        );
        add(
            "issuer_secret_key",
            &format!("demo-{i}"),
            k.to_bytes().to_vec(),
        );
    }

    let (pending, challenges) = fuzz::pending_issuance(w).unwrap();
    drop(pending);
    let session = IssuerSession::from_secret_bytes(&w.session).unwrap();
    let (answered, responses) = session.answer(&w.keys[fuzz::ADDRESS], &challenges).unwrap();
    add("signer_commitments", "fixture", w.commitments.to_bytes());
    add("issuance_challenges", "fixture", challenges.to_bytes());
    add("issuance_responses", "fixture", responses.to_bytes());
    add("issuer_store", "session", w.session.clone());
    add("issuer_store", "answered", answered.to_bytes());

    let sign_ctx = ChallengeContext {
        message: Some("Ik steun het burgerinitiatief Groen Domplein.".into()),
        timestamp: Some(NOW),
        ..ctx.clone()
    };
    let mut b = PresentationBuilder::new(&w.holder, sign_ctx.clone());
    b.token(&address[0], pk_address, &[4]);
    let signed = AttributeSignature::new(sign_ctx, b.prove(&mut rng).unwrap()).unwrap();
    add("signature", "municipality", signed.to_bytes());

    let scheme = w.scheme.signed();
    add("scheme", "signed-cbor", scheme.to_cbor());
    add(
        "scheme",
        "signed-json",
        scheme.to_json_pretty().unwrap().into_bytes(),
    );
    add("scheme", "document-cbor", w.scheme.scheme().to_cbor());
    add("scheme_toml", "demo", DEMO_SCHEME_TOML.as_bytes().to_vec());

    let parking = parking_request(seed_date()).unwrap();
    let poll = poll_request("Utrecht", "2026-parks").unwrap();
    let signing = SessionRequest::builder(SessionKind::Signing)
        .attributes(["demo.utrecht.address.municipality".parse().unwrap()])
        .message("Ik steun het burgerinitiatief Groen Domplein.")
        .build()
        .unwrap();
    add(
        "session_request",
        "parking-json",
        parking.to_json().into_bytes(),
    );
    add(
        "session_request",
        "poll-json",
        poll.to_json_pretty().into_bytes(),
    );
    add(
        "session_request",
        "signing-json",
        signing.to_json().into_bytes(),
    );
    add("session_request", "parking-cbor", parking.to_cbor());

    let record: RecordId = "rec-0001".parse().unwrap();
    let proof = w
        .holder
        .prove_possession(&mut rng, fuzz::ISSUANCE_NONCE, &pk_address.key_id());
    let offer = IssuanceOffer::new(
        "demo.utrecht".parse().unwrap(),
        vec![OfferedCredential {
            token_info: fuzz::token_info("demo.utrecht.address").unwrap(),
            attributes: fuzz::address_values(),
            record: record.clone(),
        }],
        Nonce([3; 32]),
        fuzz::FIXTURE_BATCH as u16,
    );
    let verifier = "demo.parking".parse().unwrap();
    let messages: Vec<(&str, Vec<u8>)> = vec![
        ("issuance-offer", offer.to_bytes()),
        (
            "holder-commitment",
            HolderCommitment::new(w.holder.public(), vec![proof.clone()]).to_bytes(),
        ),
        (
            "signer-commitments",
            SignerCommitmentsMessage::new(vec![w.commitments.clone()]).to_bytes(),
        ),
        (
            "challenges",
            ChallengesMessage::new(vec![challenges]).to_bytes(),
        ),
        (
            "responses",
            ResponsesMessage::new(vec![responses]).to_bytes(),
        ),
        (
            "refresh-request",
            RefreshRequest::new(record.clone()).to_bytes(),
        ),
        ("refresh-proof", RefreshProof::new(record, proof).to_bytes()),
        (
            "disclosure-request",
            DisclosureRequestMessage::new(verifier, parking, Nonce([4; 32])).to_bytes(),
        ),
        (
            "signing-request",
            SigningRequestMessage::new("demo.poll".parse().unwrap(), signing, Nonce([5; 32]), NOW)
                .to_bytes(),
        ),
        ("presentation", PresentationMessage::new(two).to_bytes()),
        (
            "session-pointer",
            SessionPointer::new(
                "https://parking.demo.kenmerk.test/session/abc".into(),
                SessionKind::Disclosing,
            )
            .unwrap()
            .to_json()
            .into_bytes(),
        ),
    ];
    assert_eq!(messages.len(), usize::from(fuzz::WIRE_KINDS));
    for (kind, (name, body)) in messages.into_iter().enumerate() {
        let mut bytes = vec![kind as u8];
        bytes.extend(body);
        add("wire", name, bytes);
    }
    out
}

/// Invalid variants of a valid seed that every decoder must refuse.
fn invalid_variants(target: &str, valid: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    if target == "scheme_toml" {
        let mut bad = valid.to_vec();
        bad.extend_from_slice(b"\n[[[\n");
        return vec![
            ("unclosed-table", bad),
            ("not-utf8", vec![0xff, 0xfe, 0x00]),
        ];
    }
    let mut truncated = valid.to_vec();
    truncated.pop();
    let mut trailing = valid.to_vec();
    trailing.push(0);
    vec![
        ("truncated", truncated),
        ("trailing-byte", trailing),
        ("empty", Vec::new()),
    ]
}

fn target(name: &str) -> fuzz::Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target {name}"))
}

/// Writes the seed corpus (see the module docs). Ignored: it rewrites files.
#[test]
#[ignore = "generator: rewrites fuzz/corpus"]
fn write_seed_corpus() {
    let root = corpus_root();
    let seeds = valid_seeds();
    for (name, _) in TARGETS {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            if file.starts_with("valid-") || file.starts_with("invalid-") {
                std::fs::remove_file(&path).unwrap();
            }
        }
    }
    let mut first_of_target = std::collections::BTreeSet::new();
    for (t, name, bytes) in &seeds {
        let dir = root.join(t);
        std::fs::write(dir.join(format!("valid-{name}")), bytes).unwrap();
        if first_of_target.insert(*t) {
            for (bad, b) in invalid_variants(t, bytes) {
                std::fs::write(dir.join(format!("invalid-{name}-{bad}")), b).unwrap();
            }
        }
    }
}

/// The seeds the generator makes pass their targets, and its invalid
/// variants are refused (so the checked-in files can be regenerated).
#[test]
fn generated_seeds_pass_their_targets() {
    for (t, name, bytes) in valid_seeds() {
        assert_eq!(target(t)(&bytes), Reached::Accepted, "{t}/{name}");
        for (bad, b) in invalid_variants(t, &bytes) {
            assert_eq!(target(t)(&b), Reached::Rejected, "{t}/{name} {bad}");
        }
    }
}

fn corpus_files() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, _) in TARGETS {
        let dir = corpus_root().join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (run write_seed_corpus)", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((*name, file, std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn checked_in_corpus_passes_without_panic() {
    let files = corpus_files();
    for (name, _) in TARGETS {
        assert!(
            files
                .iter()
                .any(|(t, f, _)| t == name && f.starts_with("valid-")),
            "fuzz/corpus/{name} has no valid seed"
        );
        assert!(
            files
                .iter()
                .any(|(t, f, _)| t == name && f.starts_with("invalid-")),
            "fuzz/corpus/{name} has no invalid seed"
        );
    }
    for (t, file, bytes) in &files {
        let reached = target(t)(bytes);
        if file.starts_with("valid-") {
            assert_eq!(reached, Reached::Accepted, "fuzz/corpus/{t}/{file}");
        } else if file.starts_with("invalid-") {
            assert_eq!(reached, Reached::Rejected, "fuzz/corpus/{t}/{file}");
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Random bytes never panic any decoder.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        for (_, f) in TARGETS {
            let _ = f(&bytes);
        }
        // The wire target with every selector.
        for kind in 0..fuzz::WIRE_KINDS {
            let mut b = vec![kind];
            b.extend_from_slice(&bytes);
            let _ = fuzz::wire(&b);
        }
    }

    /// A valid seed with a few bytes changed, cut or extended never panics
    /// its target, and a change to a presentation is never accepted.
    #[test]
    fn mutated_seeds_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let seeds = seeds_in_memory();
        let (t, _, valid) = &seeds[pick.index(seeds.len())];
        let mut bytes = valid.clone();
        for (at, value) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let reached = target(t)(&bytes);
        if *t == "presentation" && bytes != *valid {
            // Any change to a presentation breaks it (or is a re-encoding
            // the canonical decoder refuses).
            prop_assert_ne!(reached, Reached::Accepted);
        }
    }
}

fn seeds_in_memory() -> &'static Seeds {
    static SEEDS: std::sync::OnceLock<Seeds> = std::sync::OnceLock::new();
    SEEDS.get_or_init(valid_seeds)
}

/// The corpus presentations decode to what the fixture expects: this pins
/// the fixture so a changed world is noticed here, not as a silent drop of
/// fuzz depth.
#[test]
fn presentation_seeds_verify_for_the_fixture_context_only() {
    let w = world();
    for (t, name, bytes) in seeds_in_memory() {
        if *t != "presentation" {
            continue;
        }
        let p = Presentation::from_bytes(bytes).unwrap();
        let mut other = fuzz::disclosure_context();
        other.verifier = "demo.poll".into();
        assert!(
            wallet_core::presentation::verify(
                &p,
                &wallet_core::presentation::Expected::protocol_limits(),
                &other,
                &w.publics,
                NOW
            )
            .is_err(),
            "{name} verified for another verifier"
        );
    }
}
