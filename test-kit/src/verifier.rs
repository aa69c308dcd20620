//! Verifier fixtures: the demo scheme (with an extra rotated-out key), a
//! resident's credentials issued through wallet-core's issuance protocol,
//! a wallet that answers session requests with wallet-core's prover, and a
//! daemon on 127.0.0.1:0 (in memory, or on Redis under a fresh prefix).

use std::time::Duration;

use rand_core::OsRng;
use verifier::daemon::{start, VerifierConfig, VerifierHandle};
use verifier::store::now_ms;
use wallet_core::encoding::AttributeValue;
use wallet_core::holder::HolderSecret;
use wallet_core::ids::CredentialTypeId;
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey};
use wallet_core::presentation::{ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::request::{SessionKind, SessionRequest};
use wallet_core::scheme::demo::{build_demo_scheme, generate_demo_issuer_keys};
use wallet_core::scheme::{SchemeSigningKey, SignedScheme, VerifiedScheme};
use wallet_core::token::{CredentialToken, TokenInfo};
use wallet_core::wire::{
    DisclosureRequestMessage, PresentationMessage, SigningRequestMessage, WireMessage as _,
};

pub const DAY: u64 = 86_400;

pub fn now() -> u64 {
    now_ms() / 1000
}

/// The demo scheme, its keys, and a vehicle key (counter 2) whose validity
/// ended yesterday (rotated out), plus an address key not in the scheme.
pub struct Demo {
    pub scheme_key: SchemeSigningKey,
    pub signed: SignedScheme,
    pub scheme: VerifiedScheme,
    /// personal, address, vehicle (counter 1).
    pub keys: Vec<IssuerSecretKey>,
    pub rotated_vehicle_key: IssuerSecretKey,
    pub unknown_address_key: IssuerSecretKey,
    /// Start of the keys' validity (90 days ago).
    pub base: u64,
}

impl Default for Demo {
    fn default() -> Self {
        Self::new()
    }
}

impl Demo {
    /// A fresh demo scheme with new keys (valid from 90 days ago).
    pub fn new() -> Self {
        let now = now();
        let base = now - 90 * DAY;
        let scheme_key = SchemeSigningKey::generate().unwrap();
        let keys = generate_demo_issuer_keys(&mut OsRng, base).unwrap();
        let vehicle_type: CredentialTypeId = "demo.rdw.vehicle".parse().unwrap();
        let address_type: CredentialTypeId = "demo.utrecht.address".parse().unwrap();
        let builder_scheme = wallet_core::scheme::demo::demo_builder().unwrap();
        let vehicle_ct = builder_scheme
            .scheme()
            .credential_type(&vehicle_type)
            .unwrap()
            .clone();
        let address_ct = builder_scheme
            .scheme()
            .credential_type(&address_type)
            .unwrap()
            .clone();
        let rotated_vehicle_key =
            IssuerSecretKey::generate(&mut OsRng, vehicle_ct.key_params(2, base, now - DAY))
                .unwrap();
        let unknown_address_key =
            IssuerSecretKey::generate(&mut OsRng, address_ct.key_params(7, base, now + 300 * DAY))
                .unwrap();
        let mut publics: Vec<IssuerPublicKey> = keys.iter().map(|k| k.public().clone()).collect();
        publics.push(rotated_vehicle_key.public().clone());
        let signed = build_demo_scheme(&scheme_key, &publics, 1, base).unwrap();
        let scheme = signed.verify(&scheme_key.public_key(), None, now).unwrap();
        Self {
            scheme_key,
            signed,
            scheme,
            keys,
            rotated_vehicle_key,
            unknown_address_key,
            base,
        }
    }

    pub fn key(&self, credential: &str) -> &IssuerSecretKey {
        self.keys
            .iter()
            .find(|k| k.public().credential_type.as_str() == credential)
            .unwrap()
    }
}

/// Run wallet-core's issuance protocol, both sides, at time `at`.
pub fn issue(
    key: &IssuerSecretKey,
    holder: &HolderSecret,
    values: Vec<AttributeValue>,
    at: u64,
    validity: u64,
) -> CredentialToken {
    let ti = TokenInfo::new(
        key.public().credential_type.clone(),
        key.public().counter,
        at,
        validity,
    );
    let nonce = b"test issuance nonce";
    let proof = holder.prove_possession(&mut OsRng, nonce, &key.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        key,
        &values,
        &ti,
        &holder.public(),
        &proof,
        nonce,
        1,
    )
    .unwrap();
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        key.public(),
        holder,
        values,
        ti,
        at,
        &commitments,
    )
    .unwrap();
    let (_answered, responses) = session.answer(key, &challenges).unwrap();
    pending.finish(&responses).unwrap().remove(0)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::String(v.into())
}

/// A resident with personal data, address and vehicle credentials.
pub struct Resident {
    pub holder: HolderSecret,
    pub personal: CredentialToken,
    pub address: CredentialToken,
    pub vehicle: CredentialToken,
}

impl Resident {
    pub fn new(demo: &Demo, seed: u8) -> Self {
        let holder = HolderSecret::from_seed(&[seed; 32]);
        let now = now();
        let personal = issue(
            demo.key("demo.utrecht.personal"),
            &holder,
            vec![
                s("Anna Maria"),
                s("de Vries"),
                AttributeValue::Date(time::macros::date!(1990 - 04 - 12)),
                s("123456782"),
            ],
            now,
            14 * DAY,
        );
        let address = issue(
            demo.key("demo.utrecht.address"),
            &holder,
            vec![
                s("Domplein"),
                AttributeValue::Integer(29),
                s("3512JE"),
                s("Utrecht"),
                s("Utrecht"),
            ],
            now,
            14 * DAY,
        );
        let vehicle = issue(
            demo.key("demo.rdw.vehicle"),
            &holder,
            vec![s("AB-123-C"), s("Fiat"), s("123456782")],
            now,
            14 * DAY,
        );
        Self {
            holder,
            personal,
            address,
            vehicle,
        }
    }
}

/// What a wallet got from `GET /wallet/{token}`.
pub struct Fetched {
    pub context: ChallengeContext,
    pub request: SessionRequest,
    pub verifier: wallet_core::ids::VerifierId,
}

pub fn decode_request(bytes: &[u8]) -> Fetched {
    if let Ok(m) = DisclosureRequestMessage::from_bytes(bytes) {
        return Fetched {
            context: m.context(),
            request: m.request,
            verifier: m.verifier,
        };
    }
    let m = SigningRequestMessage::from_bytes(bytes).expect("a disclosure or signing request");
    Fetched {
        context: m.context(),
        request: m.request,
        verifier: m.verifier,
    }
}

/// Answer the parking request (city, postal code, licence plate, age ≥ 18)
/// for `context`, with the given vehicle token (normally the resident's).
pub fn parking_presentation(
    demo: &Demo,
    resident: &Resident,
    vehicle: &CredentialToken,
    vehicle_key: &IssuerPublicKey,
    fetched: &Fetched,
) -> Presentation {
    let scheme = &demo.scheme;
    let mut b = PresentationBuilder::new(&resident.holder, fetched.context.clone());
    // address: postal_code (2), city (3)
    b.token(
        &resident.address,
        demo.key("demo.utrecht.address").public(),
        &[2, 3],
    );
    b.token(vehicle, vehicle_key, &[0]);
    let personal = b.token(
        &resident.personal,
        demo.key("demo.utrecht.personal").public(),
        &[],
    );
    for p in fetched.request.predicates() {
        let found = scheme.attribute(&p.attribute).unwrap();
        b.predicate(
            personal,
            found.position,
            p.to_predicate(found.attribute.kind).unwrap(),
        );
    }
    b.prove(&mut OsRng).unwrap()
}

/// Disclose the listed (credential token, key, positions) and a pseudonym
/// if the request asks one.
pub fn present(
    holder: &HolderSecret,
    shown: &[(&CredentialToken, &IssuerPublicKey, &[usize])],
    fetched: &Fetched,
) -> Presentation {
    let mut b = PresentationBuilder::new(holder, fetched.context.clone());
    for (t, k, d) in shown {
        b.token(t, k, d);
    }
    if let Some(scope) = fetched.request.pseudonym_scope(&fetched.verifier) {
        b.pseudonym(scope);
    }
    b.prove(&mut OsRng).unwrap()
}

pub fn message(p: Presentation) -> Vec<u8> {
    PresentationMessage::new(p).to_bytes()
}

/// A verifier daemon on 127.0.0.1:0 with the demo scheme, after
/// `configure` changed its configuration.
pub async fn daemon(demo: &Demo, configure: impl FnOnce(&mut VerifierConfig)) -> VerifierHandle {
    let mut config = VerifierConfig::with_scheme(demo.scheme.clone());
    configure(&mut config);
    start(config).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn parking_request_json() -> serde_json::Value {
    serde_json::json!({
        "verifier": "demo.parking",
        "request": {
            "@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [
                [["demo.utrecht.address.city", "demo.utrecht.address.postal_code"]],
                [["demo.rdw.vehicle.licence_plate"]]
            ],
            "predicates": [
                {"attribute": "demo.utrecht.personal.date_of_birth", "operator": "ageAtLeast", "years": 18}
            ]
        }
    })
}

pub fn kind_of(r: &SessionRequest) -> SessionKind {
    r.kind()
}
