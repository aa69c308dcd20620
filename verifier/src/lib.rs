//! # verifier: checking kenmerk presentations, for service builders
//!
//! Three layers, use as many as you need:
//!
//! 1. **Pure verification** ([`verify::verify`]): scheme, session request,
//!    verifier context, presentation and time in; a [`Verification`] out
//!    (wallet-core's result: `proofStatus`, per-attribute values and
//!    statuses, predicates, pseudonym, message) with a precise [`Reason`]
//!    when it is not `VALID`. No I/O, no clock.
//! 2. **Sessions** ([`Sessions`]): a fresh nonce and verifier context per
//!    session, status INITIALIZED → CONNECTED → DONE (or CANCELLED,
//!    TIMEOUT), a deadline, and one-shot completion, over a
//!    [`SessionStore`] (in memory, or Redis for several instances).
//! 3. **HTTP** ([`requestor_router`], [`wallet_router`], [`ops_router`]):
//!    axum routers to mount in your own service, or the whole daemon
//!    ([`start`], the `kenmerk-verifier` binary) with the session page,
//!    signed timestamps, offline challenges, OpenAPI and metrics.
//!
//! Protocol types (requests, presentations, wire messages, results) are
//! wallet-core's; this crate never re-implements them.
//!
//! ## Example: a parking desk embeds the verifier
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use axum::body::Body;
//! use axum::http::Request;
//! use axum::routing::get;
//! use axum::Router;
//! use tower::ServiceExt as _;
//! use verifier::{
//!     requestor_router, wallet_router, Limits, MemoryStore, Metrics, NewSession, RequestorAuth,
//!     RequestorState, SchemeHandle, SessionSettings, SessionStatus, Sessions, SigningKey,
//! };
//! use wallet_core::request::demo::parking_request;
//! use wallet_core::scheme::demo::generate_demo_scheme;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The scheme is the trust root. A real service fetches the signed
//!     // scheme and verifies it under a pinned key; here: the demo scheme.
//!     let now = time::OffsetDateTime::now_utc();
//!     let unix = u64::try_from(now.unix_timestamp())?;
//!     let demo = generate_demo_scheme(&mut rand_core::OsRng, unix)?;
//!     let scheme = demo.signed.verify(&demo.signing_key.public_key(), None, unix)?;
//!
//!     // The session manager: sessions in memory, answers within 5 minutes.
//!     let sessions = Sessions::new(
//!         Arc::new(MemoryStore::new()),
//!         SchemeHandle::new(scheme),
//!         SessionSettings {
//!             // Where wallets reach the routers (mounted under /kenmerk below).
//!             public_url: "https://parking.example.nl/kenmerk".into(),
//!             session_timeout: Duration::from_secs(300),
//!             result_ttl: Duration::from_secs(600),
//!             // Verifications at once (more get 503), and refused
//!             // presentations after which a session is FAILED.
//!             verify_workers: 2,
//!             max_wrong_answers: 3,
//!             // At most 50,000 sessions held, 10,000 per requestor.
//!             limits: Limits::DEFAULT,
//!         },
//!         Arc::new(SigningKey::generate()?),
//!         Metrics::new(),
//!     );
//!
//!     // Mount the routers in the service's own app. Put your own
//!     // authentication in front of the requestor router, or configure
//!     // `RequestorAuth::Requestors`.
//!     let kenmerk = requestor_router(RequestorState {
//!         sessions: sessions.clone(),
//!         auth: Arc::new(RequestorAuth::Open),
//!         default_verifier: Some("demo.parking".parse()?),
//!     })
//!     .merge(wallet_router(sessions.clone()));
//!     let app: Router = Router::new()
//!         .route("/", get(|| async { "Parking permits" }))
//!         .nest("/kenmerk", kenmerk);
//!
//!     // Start a session from your own code: show `pointer` as a QR code, or
//!     // send the resident to /kenmerk/page/{page token}/view (the page
//!     // token, `created.page_token`, opens the page but not the result).
//!     let created = sessions
//!         .create(NewSession {
//!             verifier: "demo.parking".parse()?,
//!             request: parking_request(now.date())?,
//!             allow_unregistered: false,
//!             requestor: "desk-3".into(),
//!         })
//!         .await?;
//!     assert!(created.pointer.u.starts_with("https://parking.example.nl/kenmerk/wallet/"));
//!
//!     // The HTTP API sees the same session.
//!     let token = created.requestor_token.as_str();
//!     let response = app
//!         .oneshot(Request::get(format!("/kenmerk/session/{token}/status")).body(Body::empty())?)
//!         .await?;
//!     assert_eq!(response.status(), 200);
//!     assert_eq!(sessions.status(&created.requestor_token).await?, SessionStatus::Initialized);
//!
//!     // When the wallet has answered: `sessions.result(&token)` gives the
//!     // `StoredResult`; `sessions.watch(&token)` streams status changes.
//!     // Serve with `axum::serve(listener, app)`.
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod base64url;
pub mod config;
pub mod daemon;
pub mod edge;
pub mod metrics;
pub mod page;
pub mod pool;
pub mod problem;
pub mod router;
pub mod scheme_source;
pub mod session;
pub mod signature;
pub mod signing;
pub mod store;
pub mod texts;
pub mod verify;

pub use auth::{Credential, Requestor, RequestorAuth};
pub use config::{SchemeLocation, StoreConfig};
pub use daemon::{start, SchemeConfig, StartError, VerifierConfig, VerifierHandle};
pub use metrics::Metrics;
pub use problem::Problem;
pub use router::{full_router, ops_router, requestor_router, wallet_router, RequestorState};
pub use scheme_source::SchemeHandle;
pub use session::{
    CreateSessionError, CreatedSession, LookupError, NewSession, SessionResult, SessionSettings,
    Sessions, StoredResult, WalletError,
};
pub use signature::{sign_timestamp, verify_signature, SignatureReport, SignedTimestamp};
pub use signing::SigningKey;
pub use store::{
    Limits, MemoryStore, RedisStore, RequestorToken, SessionStatus, SessionStore, StoreError,
    WalletToken,
};
pub use verify::{verify, Reason, Verification};
