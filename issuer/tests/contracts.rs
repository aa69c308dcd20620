//! The issuer speaks wallet-core's contract types, not look-alikes: each
//! binding below compiles only if the issuer's type *is* wallet-core's,
//! and the OpenAPI document describes the status with wallet-core's serde
//! names.

use utoipa::OpenApi as _;
use wallet_core::scheme::{PublishedSchemeKey, SchemePublicKey};
use wallet_core::wire::SessionStatus;

/// Compiles only when `A` and `B` are the same type.
fn same_type<A, B>(a: A) -> B
where
    A: Into<B>,
    B: From<A>,
{
    a.into()
}

#[test]
fn session_status_is_wallet_cores() {
    let status: SessionStatus = same_type::<issuer::service::SessionStatus, SessionStatus>(
        issuer::service::SessionStatus::Done,
    );
    assert_eq!(serde_json::to_string(&status).unwrap(), "\"DONE\"");
}

#[test]
fn openapi_describes_wallet_core_serialisation() {
    let doc = serde_json::to_value(issuer::routes::ApiDoc::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let statuses: Vec<&str> = schemas["SessionStatus"]["enum"]
        .as_array()
        .expect("SessionStatus is an enum schema")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for status in [
        SessionStatus::Initialized,
        SessionStatus::Connected,
        SessionStatus::Done,
        SessionStatus::Cancelled,
        SessionStatus::Timeout,
    ] {
        let name = serde_json::to_value(status).unwrap();
        assert!(statuses.contains(&name.as_str().unwrap()), "{name}");
    }
    // `GET /scheme/key` answers wallet-core's published form, which the
    // wallet and the verifier read back.
    let key = SchemePublicKey([7; 32]);
    let published = serde_json::to_string(&PublishedSchemeKey::new(key)).unwrap();
    assert_eq!(SchemePublicKey::from_published(&published), Ok(key));
    assert!(doc["paths"]["/scheme/key"].is_object());
}
