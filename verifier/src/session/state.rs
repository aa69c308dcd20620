//! A session as types: what never changes after creation ([`Terms`]) and
//! where the session is now ([`State`]), loaded from a [`StoredSession`]
//! through one checked conversion ([`decode`]).
//!
//! ```text
//! Initialized(Open) ──connect──► Connected(Open) ──┐
//!        │                          │  ▲ refuse      │ complete ─► Finished(DONE)
//!        │                          └──┘ (counted)   │ refuse, the max-th ─► Finished(FAILED)
//!        └── cancel ────────────────┴────────────────┴─► Finished(CANCELLED)
//!            deadline ──────────────────────────────────► Finished(TIMEOUT)
//! ```
//!
//! Each transition consumes a state and returns the next one, or refuses
//! with the final status that forbids it (the session is left as it was).
//! Transitions are pure; the one transition function (`transition.rs`)
//! loads the state, applies one and writes the result with compare-and-set.

use serde::{Deserialize, Serialize};
use wallet_core::ids::VerifierId;
use wallet_core::presentation::ChallengeContext;
use wallet_core::request::{SessionKind, SessionRequest};
use wallet_core::wire::Nonce;

use super::result::{SessionResult, StoredResult};
use crate::store::{SessionId, SessionStatus, StoreError, StoredSession, WalletToken};
use crate::verify::Reason;

/// What never changes after a session is created.
#[derive(Debug, Clone)]
pub struct Terms {
    id: SessionId,
    wallet_token: WalletToken,
    verifier: VerifierId,
    request: SessionRequest,
    /// The request as stored (canonical CBOR), written back unchanged.
    request_cbor: Vec<u8>,
    nonce: Nonce,
    timestamp: Option<u64>,
    deadline_ms: u64,
    requestor: String,
    /// [`crate::store::PageToken::digest`] of the page token; `None` for
    /// sessions stored before page tokens existed (no page for them).
    page: Option<String>,
}

/// What a new session is made of (see [`Terms`]).
pub(super) struct NewTerms {
    pub id: SessionId,
    pub wallet_token: WalletToken,
    pub verifier: VerifierId,
    pub request: SessionRequest,
    pub nonce: Nonce,
    pub timestamp: Option<u64>,
    pub deadline_ms: u64,
    pub requestor: String,
    pub page: String,
}

impl Terms {
    pub(super) fn new(n: NewTerms) -> Self {
        Self {
            request_cbor: n.request.to_cbor(),
            id: n.id,
            wallet_token: n.wallet_token,
            verifier: n.verifier,
            request: n.request,
            nonce: n.nonce,
            timestamp: n.timestamp,
            deadline_ms: n.deadline_ms,
            requestor: n.requestor,
            page: Some(n.page),
        }
    }

    /// The store key.
    pub fn id(&self) -> &SessionId {
        &self.id
    }
    /// The wallet's handle.
    pub fn wallet_token(&self) -> &WalletToken {
        &self.wallet_token
    }
    /// The verifier identity.
    pub fn verifier(&self) -> &VerifierId {
        &self.verifier
    }
    /// The request.
    pub fn request(&self) -> &SessionRequest {
        &self.request
    }
    /// `disclosing` or `signing`.
    pub fn kind(&self) -> SessionKind {
        self.request.kind()
    }
    /// The session nonce.
    pub fn nonce(&self) -> Nonce {
        self.nonce
    }
    /// The timestamp of a signing session (Unix seconds).
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }
    /// Unix milliseconds after which an open session is TIMEOUT.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }
    /// The requestor that created the session.
    pub fn requestor(&self) -> &str {
        &self.requestor
    }
    /// The page token's digest, if the session has a page.
    pub(super) fn page_digest(&self) -> Option<&str> {
        self.page.as_deref()
    }

    /// The challenge context a presentation for this session must answer.
    pub fn context(&self) -> ChallengeContext {
        self.request
            .challenge_context(&self.verifier, &self.nonce.0, self.timestamp)
    }

    /// A result without verification, for a session ending as `status`.
    fn ended(&self, status: SessionStatus) -> StoredResult {
        StoredResult::without_outcome(status, self.kind(), self.verifier.clone())
    }
}

/// Where a session is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// INITIALIZED: no wallet has fetched the request yet.
    Initialized(Open),
    /// CONNECTED: a wallet fetched the request; waiting for its presentation.
    Connected(Open),
    /// DONE, CANCELLED, TIMEOUT or FAILED, with the result kept for the
    /// requestor. Nothing leaves this state.
    Finished(Box<StoredResult>),
}

/// What an open (INITIALIZED or CONNECTED) session counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Open {
    /// Presentations refused so far.
    wrong_answers: u32,
}

impl Open {
    /// Presentations refused so far.
    pub fn wrong_answers(self) -> u32 {
        self.wrong_answers
    }
}

impl State {
    /// A new session's state.
    pub(super) fn new() -> Self {
        Self::Initialized(Open::default())
    }

    /// The status, with IRMA's names.
    pub fn status(&self) -> SessionStatus {
        match self {
            Self::Initialized(_) => SessionStatus::Initialized,
            Self::Connected(_) => SessionStatus::Connected,
            Self::Finished(r) => r.status(),
        }
    }

    /// The result, once finished.
    pub fn result(&self) -> Option<&StoredResult> {
        match self {
            Self::Finished(r) => Some(r.as_ref()),
            _ => None,
        }
    }

    /// Refuse with the final status if the session is finished.
    fn open(&self) -> Result<Open, SessionStatus> {
        match self {
            Self::Initialized(o) | Self::Connected(o) => Ok(*o),
            Self::Finished(r) => Err(r.status()),
        }
    }

    /// The same phase with other counts.
    fn with(self, open: Open) -> Self {
        match self {
            Self::Initialized(_) => Self::Initialized(open),
            Self::Connected(_) => Self::Connected(open),
            finished => finished,
        }
    }

    /// The deadline: an open session past `terms`' deadline at `now_ms`
    /// is TIMEOUT. Applied to every loaded state before any other
    /// transition sees it.
    pub fn expire(self, terms: &Terms, now_ms: u64) -> Self {
        match self {
            Self::Initialized(_) | Self::Connected(_) if now_ms >= terms.deadline_ms => {
                Self::Finished(Box::new(terms.ended(SessionStatus::Timeout)))
            }
            other => other,
        }
    }

    /// The wallet fetched the request: INITIALIZED → CONNECTED; CONNECTED
    /// stays (a wallet retrying after a network error).
    pub fn connect(self) -> Result<Self, SessionStatus> {
        match self {
            Self::Initialized(o) => Ok(Self::Connected(o)),
            Self::Connected(o) => Ok(Self::Connected(o)),
            Self::Finished(r) => Err(r.status()),
        }
    }

    /// The requestor cancelled or the wallet declined: CANCELLED.
    pub fn cancel(self, terms: &Terms) -> Result<Self, SessionStatus> {
        self.open()?;
        Ok(Self::Finished(Box::new(
            terms.ended(SessionStatus::Cancelled),
        )))
    }

    /// A presentation proven to be made for this session: DONE with its
    /// result.
    pub fn complete(self, result: &SessionResult) -> Result<Self, SessionStatus> {
        self.open()?;
        Ok(Self::Finished(Box::new(result.to_stored())))
    }

    /// A presentation was refused for `reason` (`error` says why, for
    /// people): counted; the `max`-th refusal is FAILED with that reason.
    pub fn refuse(
        self,
        terms: &Terms,
        max: u32,
        reason: Reason,
        error: &str,
    ) -> Result<Self, SessionStatus> {
        let open = self.open()?;
        let wrong = open.wrong_answers.saturating_add(1);
        if wrong >= max.max(1) {
            return Ok(Self::Finished(Box::new(StoredResult::failed(
                terms.kind(),
                terms.verifier.clone(),
                reason,
                format!("{wrong} presentations were refused; the last: {error}"),
            ))));
        }
        Ok(self.with(Open {
            wrong_answers: wrong,
        }))
    }
}

/// The session body as the store keeps it (CBOR): the terms, the result of
/// a finished session and the count of an open one. The store indexes the
/// status itself. Field names are those of earlier releases, so sessions
/// written by an older instance sharing the store still load.
#[derive(Serialize, Deserialize)]
struct Body {
    verifier: VerifierId,
    /// The request, canonical CBOR (its SHA-256 is the request digest).
    #[serde(with = "wallet_core::cbor::bytes")]
    request: Vec<u8>,
    #[serde(with = "wallet_core::cbor::bytes")]
    nonce: Vec<u8>,
    timestamp: Option<u64>,
    deadline_ms: u64,
    requestor: String,
    result: Option<StoredResult>,
    #[serde(default)]
    wrong_answers: u32,
    #[serde(default)]
    page: Option<String>,
}

/// A stored session as types: `None` when the record contradicts itself
/// (a body that does not decode, a final status without its result, a
/// result whose status is not the record's, an open status with a result).
pub fn decode(stored: &StoredSession) -> Option<(Terms, State)> {
    let body: Body = ciborium::from_reader(stored.body.as_slice()).ok()?;
    let request = SessionRequest::from_cbor(&body.request).ok()?;
    let nonce = Nonce(<[u8; 32]>::try_from(body.nonce.as_slice()).ok()?);
    let open = Open {
        wrong_answers: body.wrong_answers,
    };
    let state = match (stored.status, body.result) {
        (SessionStatus::Initialized, None) => State::Initialized(open),
        (SessionStatus::Connected, None) => State::Connected(open),
        (status, Some(result)) if status.is_final() && result.status() == status => {
            State::Finished(Box::new(result))
        }
        _ => return None,
    };
    let terms = Terms {
        id: stored.id.clone(),
        wallet_token: stored.wallet_token.clone(),
        verifier: body.verifier,
        request,
        request_cbor: body.request,
        nonce,
        timestamp: body.timestamp,
        deadline_ms: body.deadline_ms,
        requestor: body.requestor,
        page: body.page,
    };
    Some((terms, state))
}

/// The body of `terms` in `state`, for the store.
pub(crate) fn encode(terms: &Terms, state: &State) -> Result<Vec<u8>, StoreError> {
    let body = Body {
        verifier: terms.verifier.clone(),
        request: terms.request_cbor.clone(),
        nonce: terms.nonce.0.to_vec(),
        timestamp: terms.timestamp,
        deadline_ms: terms.deadline_ms,
        requestor: terms.requestor.clone(),
        result: state.result().cloned(),
        wrong_answers: match state {
            State::Initialized(o) | State::Connected(o) => o.wrong_answers,
            // A finished session counts nothing any more.
            State::Finished(_) => 0,
        },
        page: terms.page.clone(),
    };
    let mut out = Vec::new();
    ciborium::into_writer(&body, &mut out).map_err(|e| StoreError::Encoding(e.to_string()))?;
    Ok(out)
}
