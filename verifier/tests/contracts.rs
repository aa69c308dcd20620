//! The verifier speaks wallet-core's contract types, not look-alikes: each
//! binding below compiles only if the verifier's type *is* wallet-core's,
//! and the OpenAPI document describes them with wallet-core's serde names.

use utoipa::OpenApi as _;
use wallet_core::matching::{ProofStatus, Reason};
use wallet_core::wire::{PresentationAnswer, RequestorToken, SessionStatus};

/// Compiles only when `A` and `B` are the same type.
fn same_type<A, B>(a: A) -> B
where
    A: Into<B>,
    B: From<A>,
{
    a.into()
}

#[test]
fn contract_types_are_wallet_cores() {
    let _: SessionStatus = same_type::<verifier::store::SessionStatus, SessionStatus>(
        verifier::store::SessionStatus::Failed,
    );
    let _: Reason = same_type::<verifier::Reason, Reason>(verifier::Reason::TokenExpired);
    let answer = verifier::router::wallet::PresentationAnswer {
        proof_status: ProofStatus::Valid,
        reason: None,
    };
    let _: PresentationAnswer = same_type::<_, PresentationAnswer>(answer);
    let token = verifier::store::RequestorToken::generate();
    let _: RequestorToken = same_type::<_, RequestorToken>(token);
    // The published-key and signed-scheme limits are wallet-core's.
    assert_eq!(
        verifier::scheme_source::MAX_SCHEME_BYTES,
        wallet_core::scheme::MAX_SCHEME_BYTES
    );
}

#[test]
fn openapi_describes_wallet_core_serialisation() {
    let doc = serde_json::to_value(verifier::router::ops::ApiDoc::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let statuses: Vec<String> = schemas["SessionStatus"]["enum"]
        .as_array()
        .expect("SessionStatus is an enum schema")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let serialised: Vec<String> = [
        SessionStatus::Initialized,
        SessionStatus::Connected,
        SessionStatus::Done,
        SessionStatus::Cancelled,
        SessionStatus::Timeout,
        SessionStatus::Failed,
    ]
    .iter()
    .map(|s| {
        serde_json::to_value(s)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    })
    .collect();
    assert_eq!(statuses, serialised);
    let answer = &schemas["PresentationAnswer"]["properties"];
    assert!(answer.get("proofStatus").is_some(), "{answer}");
    assert!(answer.get("reason").is_some(), "{answer}");
}
