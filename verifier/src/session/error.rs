//! One error enum per operation of the session manager; [`crate::problem`]
//! maps each to HTTP.

use wallet_core::ids::VerifierId;
use wallet_core::request::{RequestSchemeError, SessionKind, Unregistered};
use wallet_core::wire::PointerError;

use super::transition::TransitionError;
use crate::store::{SessionStatus, StoreError};

/// Why a session was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateSessionError {
    /// Issuance requests belong to the issuer.
    #[error("the verifier serves disclosing and signing requests, not {0}")]
    WrongKind(SessionKind),
    /// The verifier id is not registered in the scheme.
    #[error("verifier {0} is not registered in the scheme")]
    UnknownVerifier(VerifierId),
    /// The request names unknown identifiers or malformed values.
    #[error("the request does not fit the scheme: {0}")]
    Scheme(#[from] RequestSchemeError),
    /// The request asks more than the verifier is registered for.
    #[error("the request asks more than {verifier} is registered for: {}", list(.items))]
    Unregistered {
        /// The verifier.
        verifier: VerifierId,
        /// What is beyond its registration.
        items: Vec<Unregistered>,
    },
    /// The public URL does not make a valid pointer.
    #[error("the session pointer is invalid: {0}")]
    Pointer(#[from] PointerError),
    /// The requestor already holds its cap of sessions (its own load: it
    /// may retry once one of them is gone).
    #[error("requestor {requestor} holds its maximum of {limit} sessions")]
    RequestorCap {
        /// Who asked.
        requestor: String,
        /// The cap.
        limit: u64,
        /// Seconds until the first of its sessions is forgotten.
        retry_after_secs: u64,
    },
    /// The verifier holds its cap of sessions in total (the service is
    /// full, not the requestor at fault).
    #[error("the verifier holds its maximum of {limit} sessions")]
    TotalCap {
        /// The cap.
        limit: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(super) fn list(items: &[Unregistered]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a requestor lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No live session has this token.
    #[error("session not found")]
    NotFound,
    /// The session has no result yet.
    #[error("the session has no result yet (status {0})")]
    NotFinished(SessionStatus),
    /// The session is already final (for cancel).
    #[error("the session is already {0}")]
    AlreadyFinal(SessionStatus),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored session does not decode.
    #[error("stored session is corrupt")]
    Corrupt,
    /// Too much contention on one session.
    #[error("the session changed too often; retry")]
    Contention,
}

impl From<TransitionError> for LookupError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotFound => Self::NotFound,
            TransitionError::Corrupt => Self::Corrupt,
            TransitionError::Store(s) => Self::Store(s),
            TransitionError::Contention => Self::Contention,
        }
    }
}

/// Why a wallet request failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// No live session has this token.
    #[error("session not found")]
    NotFound,
    /// The session is finished (answered, cancelled or timed out); a
    /// presentation posted now is a replay or too late.
    #[error("the session is already {0}")]
    Finished(SessionStatus),
    /// The body is not a presentation.
    #[error("malformed presentation: {0}")]
    Malformed(String),
    /// The presentation carries more than the request asks (Rule 11);
    /// refused before any group operation.
    #[error("{0}")]
    Unrequested(String),
    /// Every verification slot is in use; the wallet should retry shortly.
    #[error("every verification slot is in use; retry shortly")]
    Busy,
    /// The presentation is not proven to be made for this session: its
    /// challenge failed (another session, request or verifier) or a check
    /// before the challenge did. The reason is recorded for the requestor
    /// and told to the wallet, so a resident whose token expired is told
    /// that, not "wrong session".
    #[error("the presentation is not proven to answer this session (wrong nonce, request or verifier, or a check before the challenge failed: {0})")]
    WrongContext(crate::verify::Reason),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored session does not decode.
    #[error("stored session is corrupt")]
    Corrupt,
    /// Too much contention on one session.
    #[error("the session changed too often; retry")]
    Contention,
}

impl From<TransitionError> for WalletError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotFound => Self::NotFound,
            TransitionError::Corrupt => Self::Corrupt,
            TransitionError::Store(s) => Self::Store(s),
            TransitionError::Contention => Self::Contention,
        }
    }
}
