//! Library verification throughput on one core: the pure
//! [`verifier::verify`] call on prepared presentations for the parking
//! request (three credentials, one age predicate with its range proof).
//!
//! ```sh
//! cargo run --release -p verifier --example verify_throughput -- [COUNT]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use rand_core::{OsRng, RngCore as _};
use wallet_core::encoding::AttributeValue;
use wallet_core::holder::HolderSecret;
use wallet_core::ids::VerifierId;
use wallet_core::keys::IssuerSecretKey;
use wallet_core::presentation::{ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::request::demo::parking_request;
use wallet_core::request::SessionRequest;
use wallet_core::scheme::demo::generate_demo_scheme;
use wallet_core::token::CredentialToken;

/// wallet-core's issuance, both sides (one token valid for a week).
fn issue(
    key: &IssuerSecretKey,
    holder: &HolderSecret,
    values: Vec<AttributeValue>,
    now: u64,
) -> CredentialToken {
    test_kit::verifier::issue(key, holder, values, now, 7 * 86_400)
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::String(v.into())
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200)
        .clamp(1, 100_000);
    let now_dt = time::OffsetDateTime::now_utc();
    let now = u64::try_from(now_dt.unix_timestamp()).unwrap();
    let demo = generate_demo_scheme(&mut OsRng, now).unwrap();
    let scheme = demo
        .signed
        .verify(&demo.signing_key.public_key(), None, now)
        .unwrap();
    let key = |ct: &str| {
        demo.issuer_keys
            .iter()
            .find(|k| k.public().credential_type.as_str() == ct)
            .unwrap()
    };
    let holder = HolderSecret::from_seed(&[7; 32]);
    let personal = issue(
        key("demo.utrecht.personal"),
        &holder,
        vec![
            s("Anna"),
            s("de Vries"),
            AttributeValue::Date(time::macros::date!(1990 - 04 - 12)),
            s("123456782"),
        ],
        now,
    );
    let address = issue(
        key("demo.utrecht.address"),
        &holder,
        vec![
            s("Domplein"),
            AttributeValue::Integer(29),
            s("3512JE"),
            s("Utrecht"),
            s("Utrecht"),
        ],
        now,
    );
    let vehicle = issue(
        key("demo.rdw.vehicle"),
        &holder,
        vec![s("AB-123-C"), s("Fiat"), s("123456782")],
        now,
    );
    let verifier: VerifierId = "demo.parking".parse().unwrap();
    let request: SessionRequest = parking_request(now_dt.date()).unwrap();
    let context = |request: &SessionRequest| {
        let mut nonce = vec![0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        ChallengeContext {
            verifier: verifier.to_string(),
            request_digest: request.request_digest(),
            nonce,
            message: None,
            timestamp: None,
        }
    };

    let prepared: Vec<(ChallengeContext, Presentation)> = (0..count)
        .map(|_| {
            let ctx = context(&request);
            let mut b = PresentationBuilder::new(&holder, ctx.clone());
            b.token(&address, key("demo.utrecht.address").public(), &[2, 3]);
            b.token(&vehicle, key("demo.rdw.vehicle").public(), &[0]);
            let t = b.token(&personal, key("demo.utrecht.personal").public(), &[]);
            let p = &request.predicates()[0];
            let found = scheme.attribute(&p.attribute).unwrap();
            b.predicate(
                t,
                found.position,
                p.to_predicate(found.attribute.kind).unwrap(),
            );
            (ctx, b.prove(&mut OsRng).unwrap())
        })
        .collect();
    let start = Instant::now();
    for (ctx, p) in &prepared {
        assert!(verifier::verify(&scheme, &verifier, &request, ctx, p, now).is_valid());
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parking presentation (3 credentials, age predicate): {:.0} verifications/s on one core ({:.2} ms each)",
        count as f64 / secs,
        secs * 1000.0 / count as f64
    );
}
