//! End to end over the scheme, session requests, wire messages and
//! matching: the demo scheme is generated and verified, credentials are
//! issued through the wire messages, the wallet lists its choices for real
//! IRMA-style requests, proves, and the verifier matches the result.

use rand_core::OsRng;
use time::{Date, Month};

use wallet_core::encoding::AttributeValue;
use wallet_core::holder::HolderSecret;
use wallet_core::ids::{AttributeId, IssuerId, VerifierId};
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::keys::IssuerSecretKey;
use wallet_core::matching::{
    evaluate, AttributeStatus, PredicateStatus, PresentationResult, ProofStatus,
};
use wallet_core::presentation::{ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::request::{Candidates, Choice, DisclosurePlan, HeldCredential, SessionRequest};
use wallet_core::scheme::demo::{generate_demo_scheme, DemoScheme};
use wallet_core::scheme::{SchemeVerifyError, SignedScheme, VerifiedScheme};
use wallet_core::token::{CredentialToken, TokenInfo};
use wallet_core::wire::{
    ChallengesMessage, DisclosureRequestMessage, HolderCommitment, IssuanceOffer, Nonce,
    OfferedCredential, PresentationMessage, ResponsesMessage, SignerCommitmentsMessage,
    SigningRequestMessage, WireMessage,
};

const NOW: u64 = 1_795_000_000; // 2026-11-19

fn today() -> Date {
    Date::from_calendar_date(2026, Month::November, 19).unwrap()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::String(v.into())
}

struct World {
    demo: DemoScheme,
    scheme: VerifiedScheme,
    holder: HolderSecret,
    /// personal, address, vehicle: a batch of tokens each.
    wallet: Vec<Vec<CredentialToken>>,
}

fn secret_key<'a>(demo: &'a DemoScheme, ct: &str) -> &'a IssuerSecretKey {
    demo.issuer_keys
        .iter()
        .find(|k| k.public().credential_type.as_str() == ct)
        .unwrap()
}

/// One issuance session of `issuer`, entirely through the wire messages.
fn issue(
    w: &DemoScheme,
    scheme: &VerifiedScheme,
    holder: &HolderSecret,
    issuer: &str,
    credentials: &[(&str, Vec<AttributeValue>)],
) -> Vec<Vec<CredentialToken>> {
    let issuer: IssuerId = issuer.parse().unwrap();
    // Issuer: the offer.
    let offered: Vec<OfferedCredential> = credentials
        .iter()
        .enumerate()
        .map(|(i, (ct, values))| OfferedCredential {
            token_info: TokenInfo::new(ct.parse().unwrap(), 1, NOW, 14 * 86_400),
            attributes: values.clone(),
            record: format!("rec-{i}").parse().unwrap(),
        })
        .collect();
    let offer = IssuanceOffer::new(issuer.clone(), offered, Nonce::random(&mut OsRng), 4);
    // Wallet: checks the offer against its pinned scheme, proves possession.
    let offer = IssuanceOffer::from_bytes(&offer.to_bytes()).unwrap();
    let keys: Vec<_> = offer
        .credentials
        .iter()
        .map(|c| c.check(&offer.issuer, scheme, NOW).unwrap().clone())
        .collect();
    let commitment = HolderCommitment::new(
        holder.public(),
        keys.iter()
            .map(|k| holder.prove_possession(&mut OsRng, &offer.nonce.0, &k.key_id()))
            .collect(),
    );
    // Issuer: checks the proofs while starting each session.
    let commitment = HolderCommitment::from_bytes(&commitment.to_bytes()).unwrap();
    commitment.answers(&offer).unwrap();
    let mut sessions = Vec::new();
    let mut signer = Vec::new();
    for (c, proof) in offer.credentials.iter().zip(&commitment.proofs) {
        let sk = secret_key(w, c.token_info.credential_type.as_str());
        let (session, commitments) = IssuerSession::start(
            &mut OsRng,
            sk,
            &c.attributes,
            &c.token_info,
            &commitment.holder,
            proof,
            &offer.nonce.0,
            usize::from(offer.batch),
        )
        .unwrap();
        sessions.push((sk, session));
        signer.push(commitments);
    }
    let signer =
        SignerCommitmentsMessage::from_bytes(&SignerCommitmentsMessage::new(signer).to_bytes())
            .unwrap();
    signer.answers(&offer).unwrap();
    // Wallet: blinds.
    let mut pending = Vec::new();
    let mut challenges = Vec::new();
    for ((c, key), commitments) in offer.credentials.iter().zip(&keys).zip(&signer.commitments) {
        let (p, ch) = PendingIssuance::start(
            &mut OsRng,
            key,
            holder,
            c.attributes.clone(),
            c.token_info.clone(),
            NOW,
            commitments,
        )
        .unwrap();
        pending.push(p);
        challenges.push(ch);
    }
    let challenges =
        ChallengesMessage::from_bytes(&ChallengesMessage::new(challenges).to_bytes()).unwrap();
    // Issuer: answers once.
    let responses: Vec<_> = sessions
        .into_iter()
        .zip(&challenges.challenges)
        .map(|((sk, session), ch)| session.answer(sk, ch).unwrap().1)
        .collect();
    let responses =
        ResponsesMessage::from_bytes(&ResponsesMessage::new(responses).to_bytes()).unwrap();
    // Wallet: keeps the tokens.
    pending
        .into_iter()
        .zip(&responses.responses)
        .map(|(p, r)| p.finish(r).unwrap())
        .collect()
}

fn world() -> World {
    let demo = generate_demo_scheme(&mut OsRng, NOW - 60).unwrap();
    // The wallet pins the key and receives the scheme as CBOR.
    let pinned = demo.signing_key.public_key();
    let signed = SignedScheme::from_cbor(&demo.signed.to_cbor()).unwrap();
    let scheme = signed.verify(&pinned, None, NOW).unwrap();
    let holder = HolderSecret::from_seed(&[9; 32]);
    let born = Date::from_calendar_date(2001, Month::March, 14).unwrap();
    let mut wallet = issue(
        &demo,
        &scheme,
        &holder,
        "demo.utrecht",
        &[
            (
                "demo.utrecht.personal",
                vec![
                    s("Anna Maria"),
                    s("de Vries"),
                    AttributeValue::Date(born),
                    s("999990019"),
                ],
            ),
            (
                "demo.utrecht.address",
                vec![
                    s("Domplein"),
                    AttributeValue::Integer(29),
                    s("3512JE"),
                    s("Utrecht"),
                    s("Utrecht"),
                ],
            ),
        ],
    );
    wallet.extend(issue(
        &demo,
        &scheme,
        &holder,
        "demo.rdw",
        &[(
            "demo.rdw.vehicle",
            vec![s("XX-123-Y"), s("Fiat"), s("999990019")],
        )],
    ));
    World {
        demo,
        scheme,
        holder,
        wallet,
    }
}

impl World {
    /// The wallet's view: one unused token per credential (token `n`).
    fn held(&self, n: usize) -> Vec<&CredentialToken> {
        self.wallet.iter().map(|batch| &batch[n]).collect()
    }

    fn candidates(&self, request: &SessionRequest, verifier: &VerifierId, n: usize) -> Candidates {
        let tokens = self.held(n);
        let held: Vec<HeldCredential<'_>> = tokens
            .iter()
            .map(|t| HeldCredential {
                credential_type: t.credential_type(),
                values: t.attributes(),
            })
            .collect();
        Candidates::compute(request, &self.scheme, verifier, &held).unwrap()
    }

    /// Proves `plan` with token `n` of each credential; `extra` adds
    /// (credential, position) disclosures beyond the plan.
    fn prove(
        &self,
        plan: &DisclosurePlan,
        context: ChallengeContext,
        n: usize,
        extra: &[(usize, usize)],
    ) -> Presentation {
        let tokens = self.held(n);
        let mut plan = plan.clone();
        for pc in &mut plan.credentials {
            pc.disclose.extend(
                extra
                    .iter()
                    .filter(|(c, _)| *c == pc.credential)
                    .map(|(_, p)| *p),
            );
            pc.disclose.sort_unstable();
        }
        let p = plan
            .prove(&mut OsRng, &self.holder, context, &tokens, &self.scheme)
            .unwrap();
        // Over the wire.
        PresentationMessage::from_bytes(&PresentationMessage::new(p).to_bytes())
            .unwrap()
            .presentation
    }
}

fn aid(s: &str) -> AttributeId {
    s.parse().unwrap()
}

/// The parking desk's request, as its back office would POST it.
const PARKING: &str = r#"{
    "@context": "https://irma.app/ld/request/disclosure/v2",
    "disclose": [
        [["demo.utrecht.address.city", "demo.utrecht.address.postal_code"]],
        [["demo.rdw.vehicle.licence_plate"]]
    ],
    "predicates": [
        {"attribute": "demo.utrecht.personal.date_of_birth", "operator": "ageAtLeast", "years": 18}
    ],
    "labels": {"1": {"nl": "Kenteken van uw auto", "en": "Your car's licence plate"}}
}"#;

#[test]
fn demo_scheme_is_generated_and_verified() {
    let demo = generate_demo_scheme(&mut OsRng, NOW).unwrap();
    let pinned = demo.signing_key.public_key();
    let v = demo.signed.verify(&pinned, None, NOW).unwrap();
    assert_eq!(v.id.as_str(), "demo");
    let ids: Vec<&str> = v.credential_types.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "demo.utrecht.personal",
            "demo.utrecht.address",
            "demo.rdw.vehicle"
        ]
    );
    let verifiers: Vec<&str> = v.verifiers.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(verifiers, ["demo.parking", "demo.poll", "demo.objections"]);
    // A newer version is accepted, then the older one is a rollback.
    let newer =
        wallet_core::scheme::demo::build_demo_scheme(&demo.signing_key, &v.issuer_keys, 2, NOW)
            .unwrap();
    let trusted = newer.verify(&pinned, Some(v.version), NOW).unwrap();
    assert_eq!(
        demo.signed
            .verify(&pinned, Some(trusted.version), NOW)
            .unwrap_err(),
        SchemeVerifyError::Rollback {
            found: 1,
            trusted: 2
        }
    );
}

#[test]
fn parking_permit_story() {
    let w = world();
    let verifier: VerifierId = "demo.parking".parse().unwrap();
    // Verifier: parse, check, fix the reference date, check registration.
    let request = SessionRequest::from_json(PARKING)
        .unwrap()
        .with_reference_date(today());
    request.check_against(&w.scheme).unwrap();
    assert!(request
        .unregistered(w.scheme.verifier(&verifier).unwrap())
        .is_empty());
    let message =
        DisclosureRequestMessage::new(verifier.clone(), request, Nonce::random(&mut OsRng));

    // Wallet.
    let received = DisclosureRequestMessage::from_bytes(&message.to_bytes()).unwrap();
    let candidates = w.candidates(&received.request, &received.verifier, 0);
    assert!(candidates.satisfiable());
    assert_eq!(
        candidates.disjunctions[1].label.as_ref().unwrap().en,
        "Your car's licence plate"
    );
    let plan = candidates.plan(&candidates.default_choice()).unwrap();
    let presentation = w.prove(&plan, received.context(), 0, &[]);

    // Verifier.
    let result = evaluate(
        &presentation,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(
        result.proof_status,
        ProofStatus::Valid,
        "{:?}",
        result.error
    );
    assert_eq!(
        result.value_of(&aid("demo.utrecht.address.city")),
        Some("Utrecht")
    );
    assert_eq!(
        result.value_of(&aid("demo.utrecht.address.postal_code")),
        Some("3512JE")
    );
    assert_eq!(
        result.value_of(&aid("demo.rdw.vehicle.licence_plate")),
        Some("XX-123-Y")
    );
    assert_eq!(result.disclosed.len(), 2, "no EXTRA list");
    assert_eq!(result.predicates[0].status, PredicateStatus::Proven);
    // Nothing else: the birth date and BSN never appear.
    let json = result.to_json();
    assert!(json.contains(r#""proofStatus":"VALID""#));
    assert!(!json.contains("2001-03-14") && !json.contains("999990019"));
    let back: PresentationResult = serde_json::from_str(&json).unwrap();
    assert_eq!(back, result);

    // Replayed for another session (other nonce): INVALID.
    let other = DisclosureRequestMessage::new(
        verifier.clone(),
        message.request.clone(),
        Nonce::random(&mut OsRng),
    );
    let replay = evaluate(
        &presentation,
        &other.context(),
        &other.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(replay.proof_status, ProofStatus::Invalid);
    // Presented after the tokens expired: EXPIRED.
    let late = evaluate(
        &presentation,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW + 60 * 86_400,
    );
    assert_eq!(late.proof_status, ProofStatus::Expired);
}

#[test]
fn more_than_asked_is_extra_and_less_is_refused() {
    let w = world();
    let verifier: VerifierId = "demo.parking".parse().unwrap();
    let request = SessionRequest::from_json(PARKING)
        .unwrap()
        .with_reference_date(today());
    let message =
        DisclosureRequestMessage::new(verifier.clone(), request, Nonce::random(&mut OsRng));
    let candidates = w.candidates(&message.request, &verifier, 1);
    let plan = candidates.plan(&candidates.default_choice()).unwrap();

    // The wallet also shows the street (address position 0) and the make
    // (vehicle position 1): listed as EXTRA, still VALID.
    let p = w.prove(&plan, message.context(), 1, &[(1, 0), (2, 1)]);
    let result = evaluate(
        &p,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(result.proof_status, ProofStatus::Valid);
    let extra = result.disclosed.last().unwrap();
    assert_eq!(result.disclosed.len(), 3);
    assert!(extra.iter().all(|a| a.status == AttributeStatus::Extra));
    let ids: Vec<&str> = extra.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["demo.utrecht.address.street", "demo.rdw.vehicle.make"]
    );

    // Without the vehicle credential: MISSING_ATTRIBUTES.
    let mut less = plan.clone();
    less.credentials.retain(|c| c.credential != 2);
    let p = w.prove(&less, message.context(), 2, &[]);
    let result = evaluate(
        &p,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(result.proof_status, ProofStatus::MissingAttributes);
    assert!(result.error.as_deref().unwrap().contains("licence_plate"));
    assert!(result.disclosed[1].is_empty());

    // Without the age predicate: MISSING_ATTRIBUTES too.
    let mut no_age = plan.clone();
    for c in &mut no_age.credentials {
        c.predicates.clear();
    }
    no_age.credentials.retain(|c| !c.disclose.is_empty());
    let p = w.prove(&no_age, message.context(), 3, &[]);
    let result = evaluate(
        &p,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(result.proof_status, ProofStatus::MissingAttributes);
    assert_eq!(result.predicates[0].status, PredicateStatus::Missing);
}

#[test]
fn poll_pseudonyms_and_required_values() {
    let w = world();
    let verifier: VerifierId = "demo.poll".parse().unwrap();
    let request = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[[{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]]],
            "pseudonym": "2026-parks"}"#,
    )
    .unwrap();
    assert!(request
        .unregistered(w.scheme.verifier(&verifier).unwrap())
        .is_empty());
    let mut pseudonyms = Vec::new();
    for n in 0..2 {
        let message = DisclosureRequestMessage::new(
            verifier.clone(),
            request.clone(),
            Nonce::random(&mut OsRng),
        );
        let candidates = w.candidates(&message.request, &verifier, n);
        let plan = candidates.plan(&candidates.default_choice()).unwrap();
        assert_eq!(
            plan.pseudonym_scope.as_ref().unwrap().0,
            "demo.poll/2026-parks"
        );
        let p = w.prove(&plan, message.context(), n, &[]);
        let result = evaluate(
            &p,
            &message.context(),
            &message.request,
            &w.scheme,
            &verifier,
            NOW,
        );
        assert_eq!(
            result.proof_status,
            ProofStatus::Valid,
            "{:?}",
            result.error
        );
        pseudonyms.push(result.pseudonym.unwrap().value);
    }
    // The same resident votes twice: the same pseudonym (detected).
    assert_eq!(pseudonyms[0], pseudonyms[1]);

    // A poll for Amsterdam residents: the wallet cannot satisfy it; a
    // presentation of the Utrecht municipality is UNMATCHED_REQUEST.
    let amsterdam = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[[{"type": "demo.utrecht.address.municipality", "value": "Amsterdam"}]]]}"#,
    )
    .unwrap();
    let message =
        DisclosureRequestMessage::new(verifier.clone(), amsterdam, Nonce::random(&mut OsRng));
    let candidates = w.candidates(&message.request, &verifier, 2);
    assert!(!candidates.satisfiable());
    let utrecht = w.candidates(&request, &verifier, 2);
    let mut plan = utrecht.plan(&utrecht.default_choice()).unwrap();
    plan.pseudonym_scope = None;
    let p = w.prove(&plan, message.context(), 2, &[]);
    let result = evaluate(
        &p,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(result.proof_status, ProofStatus::UnmatchedRequest);
}

#[test]
fn disjunction_choices_and_optional_parts() {
    let w = world();
    let verifier: VerifierId = "demo.parking".parse().unwrap();
    // Either city + postal code, or the licence plate; plus an optional
    // licence plate.
    let request = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [
                [["demo.utrecht.address.city", "demo.utrecht.address.postal_code"],
                 ["demo.rdw.vehicle.licence_plate"]],
                [[], ["demo.rdw.vehicle.licence_plate"]]
            ]}"#,
    )
    .unwrap();
    let message =
        DisclosureRequestMessage::new(verifier.clone(), request, Nonce::random(&mut OsRng));
    let c = w.candidates(&message.request, &verifier, 0);
    assert_eq!(c.disjunctions[0].options.len(), 2);
    assert!(c.disjunctions[1].optional);
    // The resident picks the licence plate for the first part and skips
    // the optional second part.
    let skip = c.disjunctions[1]
        .options
        .iter()
        .position(|o| o.attributes.is_empty())
        .unwrap();
    let plan = c
        .plan(&Choice {
            options: vec![1, skip],
            predicates: vec![],
        })
        .unwrap();
    assert_eq!(plan.credentials.len(), 1);
    assert_eq!(plan.credentials[0].credential, 2);
    let p = w.prove(&plan, message.context(), 0, &[]);
    let result = evaluate(
        &p,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(
        result.proof_status,
        ProofStatus::Valid,
        "{:?}",
        result.error
    );
    assert_eq!(
        result.disclosed[0][0].id.as_str(),
        "demo.rdw.vehicle.licence_plate"
    );
    // The same plate also answers the optional part.
    assert_eq!(result.disclosed[1].len(), 1);
    assert_eq!(result.disclosed.len(), 2);
}

#[test]
fn signing_story() {
    let w = world();
    let verifier: VerifierId = "demo.parking".parse().unwrap();
    let request = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/signature/v2",
            "message": "Ik maak bezwaar tegen vergunning 2026-114",
            "disclose": [[["demo.utrecht.address.postal_code"]]]}"#,
    )
    .unwrap();
    let message =
        SigningRequestMessage::new(verifier.clone(), request, Nonce::random(&mut OsRng), NOW);
    let received = SigningRequestMessage::from_bytes(&message.to_bytes()).unwrap();
    let c = w.candidates(&received.request, &verifier, 0);
    let plan = c.plan(&c.default_choice()).unwrap();
    let p = w.prove(&plan, received.context(), 0, &[]);
    let result = evaluate(
        &p,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(
        result.proof_status,
        ProofStatus::Valid,
        "{:?}",
        result.error
    );
    assert_eq!(
        result.message.as_deref(),
        Some("Ik maak bezwaar tegen vergunning 2026-114")
    );
    assert_eq!(result.timestamp, Some(NOW));
    // Checked later against another message: INVALID (the challenge binds it).
    let mut forged = message.context();
    forged.message = Some("Ik steun vergunning 2026-114".into());
    let result = evaluate(&p, &forged, &message.request, &w.scheme, &verifier, NOW);
    assert_eq!(result.proof_status, ProofStatus::Invalid);
}

#[test]
fn offers_outside_the_scheme_are_refused() {
    let w = world();
    let issuer: IssuerId = "demo.rdw".parse().unwrap();
    let wrong_issuer = OfferedCredential {
        token_info: TokenInfo::new("demo.utrecht.address".parse().unwrap(), 1, NOW, 14 * 86_400),
        attributes: vec![
            s("Domplein"),
            AttributeValue::Integer(29),
            s("3512JE"),
            s("Utrecht"),
            s("Utrecht"),
        ],
        record: "r1".parse().unwrap(),
    };
    assert!(wrong_issuer.check(&issuer, &w.scheme, NOW).is_err());
    let mut unknown_counter = wrong_issuer.clone();
    unknown_counter.token_info =
        TokenInfo::new("demo.utrecht.address".parse().unwrap(), 7, NOW, 14 * 86_400);
    let utrecht: IssuerId = "demo.utrecht".parse().unwrap();
    assert!(unknown_counter.check(&utrecht, &w.scheme, NOW).is_err());
    let mut wrong_kind = wrong_issuer.clone();
    wrong_kind.attributes[1] = s("twenty-nine");
    assert!(wrong_kind.check(&utrecht, &w.scheme, NOW).is_err());
    let mut missing = wrong_issuer.clone();
    missing.attributes[0] = AttributeValue::Absent;
    assert!(missing.check(&utrecht, &w.scheme, NOW).is_err());
    assert!(wrong_issuer.check(&utrecht, &w.scheme, NOW).is_ok());
    let _ = &w.demo;
}

#[test]
fn one_credential_per_type_within_a_conjunction() {
    let mut w = world();
    // A second address credential (the resident's previous address).
    let old = issue(
        &w.demo,
        &w.scheme,
        &w.holder,
        "demo.utrecht",
        &[(
            "demo.utrecht.address",
            vec![
                s("Hoofdstraat"),
                AttributeValue::Integer(1),
                s("3454AA"),
                s("De Meern"),
                s("Utrecht"),
            ],
        )],
    );
    w.wallet.extend(old);
    let verifier: VerifierId = "demo.parking".parse().unwrap();
    let request = SessionRequest::from_json(
        r#"{"@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[["demo.utrecht.address.city", "demo.utrecht.address.postal_code"]]]}"#,
    )
    .unwrap();
    let message =
        DisclosureRequestMessage::new(verifier.clone(), request, Nonce::random(&mut OsRng));
    // The wallet offers each address whole: two options.
    let c = w.candidates(&message.request, &verifier, 0);
    assert_eq!(c.disjunctions[0].options.len(), 2);
    let second = c
        .plan(&Choice {
            options: vec![1],
            predicates: vec![],
        })
        .unwrap();
    let p = w.prove(&second, message.context(), 0, &[]);
    let result = evaluate(
        &p,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(result.proof_status, ProofStatus::Valid);
    assert_eq!(
        result.value_of(&aid("demo.utrecht.address.city")),
        Some("De Meern")
    );

    // City from one address and postal code from the other: refused.
    let tokens = w.held(1);
    let mut b = PresentationBuilder::new(&w.holder, message.context());
    for (credential, position) in [(1usize, 3usize), (3, 2)] {
        let key = w
            .scheme
            .key_by_id(&tokens[credential].token().key_id)
            .unwrap();
        b.token(tokens[credential], key, &[position]);
    }
    let mixed = b.prove(&mut OsRng).unwrap();
    // Two tokens where the request needs one: refused by count first
    // (Rule 11), before any group operation.
    let result = evaluate(
        &mixed,
        &message.context(),
        &message.request,
        &w.scheme,
        &verifier,
        NOW,
    );
    assert_eq!(result.proof_status, ProofStatus::Invalid);
    assert!(result.error.unwrap().contains("2 tokens"));
    // Matching alone (the proof verified without the request's counts)
    // still refuses the mix.
    let verified = wallet_core::presentation::verify(
        &mixed,
        &wallet_core::presentation::Expected::protocol_limits(),
        &message.context(),
        &w.scheme,
        NOW,
    )
    .unwrap();
    let result = wallet_core::matching::match_presentation(
        &verified,
        &message.request,
        &w.scheme,
        &verifier,
    );
    assert_eq!(result.proof_status, ProofStatus::MissingAttributes);
    assert!(result.error.unwrap().contains("one credential"));
    // Both values are still reported, as EXTRA.
    assert_eq!(result.disclosed.last().unwrap().len(), 2);
}
