//! The session manager: disclosure and signing sessions with a fresh nonce,
//! a verifier context, a status, a deadline and one-shot completion.
//!
//! ```text
//! create ──► INITIALIZED ──wallet fetches request──► CONNECTED ──presentation──► DONE
//!                 │                                      │
//!                 ├── requestor deletes / wallet declines ┴──► CANCELLED
//!                 ├── deadline passes ───────────────────────► TIMEOUT
//!                 └── `max_wrong_answers` refused presentations ─► FAILED
//! ```
//!
//! Every transition is a compare-and-set on the store ([`SessionStore::update`]),
//! so a session completes exactly once even when several daemon instances
//! receive presentations for it at the same time. What closes replay:
//! - each session has its own 32-byte nonce from the OS, bound into the
//!   proof's challenge with the verifier id and the request digest; a
//!   presentation made for another session or verifier fails the challenge
//!   and is refused (counted, see below) without finishing the session;
//! - only a presentation whose proof verified as a whole (so its challenge
//!   verified for this session's context) may finish a session, as DONE:
//!   a failure before the challenge (unknown key, expired or broken token,
//!   …) proves nothing about which session the presentation was made for,
//!   so it is refused like a wrong context;
//! - a finished session refuses every further presentation (`409`).
//!
//! What bounds the work a session costs (Rule 11): a presentation is counted
//! on its undecoded bytes against what the request asks
//! ([`Expected::for_request`](wallet_core::presentation::Expected::for_request))
//! on the async worker, before any group
//! operation; decoding and verification then run on the bounded
//! [`VerifyPool`] (full: a short bounded line, then `503` with
//! `Retry-After`); and every
//! refused presentation (malformed, unrequested, unbound to this context)
//! counts, so that after `max_wrong_answers` of them the session is FAILED
//! and refuses the rest. The price: whoever saw the QR code can fail a
//! session with that many bad posts, which costs the resident a rescan, not
//! the verifier unbounded work.
//!
//! Creation checks the request against the scheme: known identifiers, and
//! nothing beyond what the scheme registers for this verifier unless the
//! caller passes `allow_unregistered` (logged with the requestor's name).

mod page;
mod watch;

pub use watch::{StreamLimits, StreamRefused, StreamSlot, WatchError};

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use wallet_core::ids::VerifierId;
use wallet_core::presentation::ChallengeContext;
use wallet_core::request::{RequestSchemeError, SessionKind, SessionRequest, Unregistered};
use wallet_core::scheme::VerifiedScheme;
use wallet_core::wire::{
    DisclosureRequestMessage, Nonce, PointerError, SessionPointer, SigningRequestMessage,
    WireMessage as _,
};

use crate::metrics::{Metrics, PresentationOutcome};
use crate::pool::VerifyPool;
use crate::scheme_source::SchemeHandle;
use crate::signature::SignedTimestamp;
use crate::signing::SigningKey;
use crate::store::{
    now_ms, AtCapacity, Limits, PageToken, RequestorToken, SessionId, SessionStatus, SessionStore,
    StoreError, StoredSession, UpdateOutcome, WalletToken,
};
use crate::verify::Verification;

mod answer;

/// How often a status stream re-reads the store even without an event
/// (covers a lost pub/sub message).
const WATCH_RECHECK: Duration = Duration::from_secs(5);
/// Attempts of a compare-and-set loop before giving up (only reachable
/// under pathological contention).
const CAS_ATTEMPTS: usize = 8;

/// Settings of the session manager.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Base URL wallets reach the wallet router at, e.g.
    /// `https://verifier.example.nl` (pointers are `{base}/wallet/{token}`).
    pub public_url: String,
    /// Time a wallet has, from creation, to answer.
    pub session_timeout: Duration,
    /// Time a finished session's result stays available.
    pub result_ttl: Duration,
    /// Verifications running at once (blocking threads); more are refused
    /// with `503`. Default: one per core ([`crate::pool::default_size`]).
    pub verify_workers: usize,
    /// Refused presentations after which a session is FAILED (at least 1;
    /// default [`DEFAULT_MAX_WRONG_ANSWERS`]).
    pub max_wrong_answers: u32,
    /// Caps on the sessions held, in total and per requestor
    /// ([`Limits::DEFAULT`] unless the service bounds load itself).
    pub limits: Limits,
}

/// Refused presentations after which a session fails, by default.
pub const DEFAULT_MAX_WRONG_ANSWERS: u32 = 3;

/// What a requestor asks for.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The registered verifier identity the session runs under.
    pub verifier: VerifierId,
    /// A disclosing or signing request.
    pub request: SessionRequest,
    /// Allow asking beyond the verifier's registration (logged).
    pub allow_unregistered: bool,
    /// Who asks (for logs).
    pub requestor: String,
}

/// A created session.
#[derive(Debug, Clone)]
pub struct CreatedSession {
    /// The requestor's handle (status, result, delete); secret, for the
    /// requestor's back end only.
    pub requestor_token: RequestorToken,
    /// The session page's handle (page, status, the page's summary): what
    /// the page URL shown to residents carries.
    pub page_token: PageToken,
    /// The wallet's handle.
    pub wallet_token: WalletToken,
    /// What the QR code carries.
    pub pointer: SessionPointer,
}

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

fn list(items: &[Unregistered]) -> String {
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

/// The requestor's view of a finished session (`GET …/result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResult {
    /// Session status (DONE, CANCELLED, TIMEOUT).
    pub status: SessionStatus,
    /// `disclosing` or `signing`.
    #[serde(rename = "type")]
    pub kind: SessionKind,
    /// The verifier identity.
    pub verifier: VerifierId,
    /// The verification result, for DONE sessions.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// For signing sessions: the attribute-based signature, canonical CBOR
    /// in base64url (store it; check it later with `POST /signature/verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// For signing sessions: the verifier's signed timestamp.
    #[serde(
        default,
        rename = "timestampSignature",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp_signature: Option<SignedTimestamp>,
}

impl SessionResult {
    /// Whether the session is DONE with a valid presentation.
    pub fn is_valid(&self) -> bool {
        self.status == SessionStatus::Done
            && self
                .verification
                .as_ref()
                .is_some_and(Verification::is_valid)
    }
}

/// Everything of a session besides what the store indexes.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    result: Option<SessionResult>,
    /// Presentations refused so far (absent in sessions stored before
    /// the counter existed).
    #[serde(default)]
    wrong_answers: u32,
    /// [`PageToken::digest`] of the session page's token (absent in
    /// sessions stored before page tokens existed: no page for them).
    #[serde(default)]
    page: Option<String>,
}

impl Body {
    fn encode(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        ciborium::into_writer(self, &mut out).map_err(|e| StoreError::Encoding(e.to_string()))?;
        Ok(out)
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        ciborium::from_reader(bytes).ok()
    }

    fn request(&self) -> Option<SessionRequest> {
        SessionRequest::from_cbor(&self.request).ok()
    }

    fn nonce(&self) -> Option<Nonce> {
        <[u8; 32]>::try_from(self.nonce.as_slice()).ok().map(Nonce)
    }

    fn context(&self, request: &SessionRequest) -> ChallengeContext {
        ChallengeContext {
            verifier: self.verifier.to_string(),
            request_digest: request.request_digest(),
            nonce: self.nonce.clone(),
            message: request.message().map(str::to_owned),
            timestamp: self.timestamp,
        }
    }
}

/// A session as loaded: the store record and its decoded body.
#[derive(Debug, Clone)]
pub struct LoadedSession {
    stored: StoredSession,
    body: Body,
}

impl LoadedSession {
    /// Current status.
    pub fn status(&self) -> SessionStatus {
        self.stored.status
    }
    /// The verifier identity.
    pub fn verifier(&self) -> &VerifierId {
        &self.body.verifier
    }
    /// The request.
    pub fn request(&self) -> Option<SessionRequest> {
        self.body.request()
    }
    /// The wallet token.
    pub fn wallet_token(&self) -> &WalletToken {
        &self.stored.wallet_token
    }
    /// The result, once final.
    pub fn result(&self) -> Option<&SessionResult> {
        self.body.result.as_ref()
    }
    /// The name of the requestor that created the session.
    pub fn requestor(&self) -> &str {
        &self.body.requestor
    }
}

struct Inner {
    store: Arc<dyn SessionStore>,
    scheme: SchemeHandle,
    settings: SessionSettings,
    key: Arc<SigningKey>,
    metrics: Arc<Metrics>,
    pool: VerifyPool,
    /// Set when the server shuts down: status streams end, so that a
    /// graceful shutdown does not wait for sessions to finish.
    closing: tokio::sync::watch::Sender<bool>,
    /// Status streams open, and their caps.
    streams: Arc<watch::StreamSlots>,
}

/// The session manager. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

impl Sessions {
    /// A manager over `store`, verifying with the scheme in `scheme` and
    /// signing results and timestamps with `key`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        scheme: SchemeHandle,
        settings: SessionSettings,
        key: Arc<SigningKey>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                scheme,
                pool: VerifyPool::new(settings.verify_workers),
                settings,
                key,
                metrics,
                closing: tokio::sync::watch::channel(false).0,
                streams: Arc::default(),
            }),
        }
    }

    /// End every status stream of this manager (server shutdown).
    pub fn close_streams(&self) {
        self.inner.closing.send_replace(true);
    }

    /// The scheme in force.
    pub fn scheme(&self) -> Arc<VerifiedScheme> {
        self.inner.scheme.current()
    }

    /// The scheme handle (to swap schemes).
    pub fn scheme_handle(&self) -> &SchemeHandle {
        &self.inner.scheme
    }

    /// The signing key (result JWTs, timestamps).
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.key
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The bounded pool every verification runs on.
    pub fn verify_pool(&self) -> &VerifyPool {
        &self.inner.pool
    }

    /// The settings.
    pub fn settings(&self) -> &SessionSettings {
        &self.inner.settings
    }

    /// Check a request against the scheme for `verifier` (the creation
    /// checks without creating anything).
    pub fn check_request(
        &self,
        verifier: &VerifierId,
        request: &SessionRequest,
        allow_unregistered: bool,
    ) -> Result<Vec<Unregistered>, CreateSessionError> {
        let kind = request.kind();
        if !matches!(kind, SessionKind::Disclosing | SessionKind::Signing) {
            return Err(CreateSessionError::WrongKind(kind));
        }
        let scheme = self.scheme();
        let registered = scheme
            .verifier(verifier)
            .ok_or_else(|| CreateSessionError::UnknownVerifier(verifier.clone()))?;
        request.check_against(&scheme)?;
        let beyond = request.unregistered(registered);
        if !beyond.is_empty() && !allow_unregistered {
            return Err(CreateSessionError::Unregistered {
                verifier: verifier.clone(),
                items: beyond,
            });
        }
        Ok(beyond)
    }

    /// Create a session; see the module docs for the checks.
    pub async fn create(&self, new: NewSession) -> Result<CreatedSession, CreateSessionError> {
        let request = new.request.with_reference_date(today());
        let beyond = self.check_request(&new.verifier, &request, new.allow_unregistered)?;
        if !beyond.is_empty() {
            tracing::warn!(
                requestor = %new.requestor,
                verifier = %new.verifier,
                beyond = %list(&beyond),
                "session allowed to ask beyond the verifier's registration (allowUnregistered)"
            );
        }
        let kind = request.kind();
        let nonce = Nonce::random(&mut rand_core::OsRng);
        let now = now_ms();
        let requestor_token = RequestorToken::generate();
        let wallet_token = WalletToken::generate();
        let page_token = PageToken::generate(&wallet_token);
        let pointer = SessionPointer::new(
            format!(
                "{}/wallet/{}",
                self.inner.settings.public_url.trim_end_matches('/'),
                wallet_token.as_str()
            ),
            kind,
        )?;
        let deadline_ms = now + duration_ms(self.inner.settings.session_timeout);
        let body = Body {
            verifier: new.verifier.clone(),
            request: request.to_cbor(),
            nonce: nonce.0.to_vec(),
            timestamp: (kind == SessionKind::Signing).then_some(now / 1000),
            deadline_ms,
            requestor: new.requestor.clone(),
            result: None,
            wrong_answers: 0,
            page: Some(page_token.digest()),
        };
        let stored = StoredSession {
            id: SessionId::for_token(&requestor_token),
            wallet_token: wallet_token.clone(),
            status: SessionStatus::Initialized,
            version: 0,
            // Kept past the deadline for the result TTL, so that a timed-out
            // session can still be asked about.
            purge_at_ms: deadline_ms + duration_ms(self.inner.settings.result_ttl),
            owner: new.requestor.clone(),
            body: body.encode()?,
        };
        match self
            .inner
            .store
            .insert(stored, self.inner.settings.limits)
            .await
        {
            Ok(()) => {}
            Err(StoreError::AtCapacity(AtCapacity::Owner { limit, retry_at_ms })) => {
                tracing::warn!(requestor = %new.requestor, limit, "session refused: requestor at its cap");
                return Err(CreateSessionError::RequestorCap {
                    requestor: new.requestor,
                    limit,
                    retry_after_secs: retry_at_ms.saturating_sub(now_ms()).div_ceil(1000).max(1),
                });
            }
            Err(StoreError::AtCapacity(AtCapacity::Total { limit })) => {
                tracing::warn!(requestor = %new.requestor, limit, "session refused: verifier at its total cap");
                return Err(CreateSessionError::TotalCap { limit });
            }
            Err(e) => return Err(e.into()),
        }
        self.inner.metrics.session_created();
        tracing::info!(requestor = %new.requestor, verifier = %new.verifier, kind = %kind, "session created");
        Ok(CreatedSession {
            requestor_token,
            page_token,
            wallet_token,
            pointer,
        })
    }

    fn decode(stored: StoredSession) -> Option<LoadedSession> {
        let body = Body::decode(&stored.body)?;
        Some(LoadedSession { stored, body })
    }

    /// Move a session past its deadline to TIMEOUT (compare-and-set; a
    /// concurrent completion wins).
    async fn expire_if_due(&self, mut loaded: LoadedSession) -> Result<LoadedSession, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            if loaded.stored.status.is_final() || now_ms() < loaded.body.deadline_ms {
                return Ok(loaded);
            }
            let result = SessionResult {
                status: SessionStatus::Timeout,
                kind: loaded
                    .body
                    .request()
                    .map_or(SessionKind::Disclosing, |r| r.kind()),
                verifier: loaded.body.verifier.clone(),
                verification: None,
                signature: None,
                timestamp_signature: None,
            };
            match self.finish(&loaded, SessionStatus::Timeout, result).await? {
                Some(done) => return Ok(done),
                None => match self.reload(&loaded.stored.id).await? {
                    Some(fresh) => loaded = fresh,
                    None => return Ok(loaded),
                },
            }
        }
        Ok(loaded)
    }

    async fn reload(&self, id: &SessionId) -> Result<Option<LoadedSession>, StoreError> {
        Ok(self.inner.store.get(id).await?.and_then(Self::decode))
    }

    /// Write a final status with its result; `None` if someone else wrote
    /// first.
    async fn finish(
        &self,
        loaded: &LoadedSession,
        status: SessionStatus,
        result: SessionResult,
    ) -> Result<Option<LoadedSession>, StoreError> {
        let mut body = loaded.body.clone();
        body.result = Some(result);
        let mut next = loaded.stored.clone();
        next.status = status;
        next.purge_at_ms = now_ms() + duration_ms(self.inner.settings.result_ttl);
        next.body = body.encode()?;
        match self
            .inner
            .store
            .update(loaded.stored.version, next.clone())
            .await?
        {
            UpdateOutcome::Updated => {
                self.inner.metrics.session_finished(status);
                next.version = loaded.stored.version + 1;
                Ok(Some(LoadedSession { stored: next, body }))
            }
            UpdateOutcome::Conflict | UpdateOutcome::Missing => Ok(None),
        }
    }

    /// Load by requestor token (applying the deadline).
    pub async fn load(&self, token: &RequestorToken) -> Result<LoadedSession, LookupError> {
        let id = SessionId::for_token(token);
        let stored = self
            .inner
            .store
            .get(&id)
            .await?
            .ok_or(LookupError::NotFound)?;
        let loaded = Self::decode(stored).ok_or(LookupError::Corrupt)?;
        Ok(self.expire_if_due(loaded).await?)
    }

    /// Load by requestor token for `requestor`: a session another
    /// requestor created is [`LookupError::NotFound`], exactly like one
    /// that does not exist (a leaked token does not even reveal that).
    pub async fn load_owned(
        &self,
        token: &RequestorToken,
        requestor: &str,
    ) -> Result<LoadedSession, LookupError> {
        let loaded = self.load(token).await?;
        if loaded.requestor() != requestor {
            return Err(LookupError::NotFound);
        }
        Ok(loaded)
    }

    /// The session's status.
    pub async fn status(&self, token: &RequestorToken) -> Result<SessionStatus, LookupError> {
        Ok(self.load(token).await?.status())
    }

    /// The result of a final session.
    pub async fn result(&self, token: &RequestorToken) -> Result<SessionResult, LookupError> {
        let loaded = self.load(token).await?;
        loaded
            .body
            .result
            .clone()
            .ok_or(LookupError::NotFinished(loaded.status()))
    }

    /// The result as a JWT signed (EdDSA) by this verifier: claims `iss`
    /// (verifier id), `sub` (`disclosing_result`/`signing_result`), `iat`,
    /// `exp` (iat + result TTL) and the result fields.
    pub async fn result_jwt(&self, token: &RequestorToken) -> Result<String, LookupError> {
        let result = self.result(token).await?;
        let now = now_ms() / 1000;
        let mut claims = serde_json::to_value(&result).map_err(|_| LookupError::Corrupt)?;
        if let Some(map) = claims.as_object_mut() {
            map.insert("iss".into(), result.verifier.to_string().into());
            map.insert(
                "sub".into(),
                format!("{}_result", result.kind.as_str()).into(),
            );
            map.insert("iat".into(), now.into());
            map.insert(
                "exp".into(),
                (now + self.inner.settings.result_ttl.as_secs()).into(),
            );
        }
        self.inner
            .key
            .jwt(&claims)
            .map_err(|_| LookupError::Corrupt)
    }

    /// Cancel a session that is not final yet.
    pub async fn cancel(&self, token: &RequestorToken) -> Result<(), LookupError> {
        let mut loaded = self.load(token).await?;
        for _ in 0..CAS_ATTEMPTS {
            if loaded.status().is_final() {
                return Err(LookupError::AlreadyFinal(loaded.status()));
            }
            let result = cancelled_result(&loaded);
            if self
                .finish(&loaded, SessionStatus::Cancelled, result)
                .await?
                .is_some()
            {
                return Ok(());
            }
            loaded = self.load(token).await?;
        }
        Err(LookupError::Store(StoreError::Backend("contention".into())))
    }

    async fn load_wallet(&self, wallet: &WalletToken) -> Result<LoadedSession, WalletError> {
        let stored = self
            .inner
            .store
            .get_by_wallet(wallet)
            .await?
            .ok_or(WalletError::NotFound)?;
        let loaded = Self::decode(stored).ok_or(WalletError::Corrupt)?;
        Ok(self.expire_if_due(loaded).await?)
    }

    /// The wallet fetches the request: the CBOR wire message
    /// (`DisclosureRequestMessage` or `SigningRequestMessage`). Moves
    /// INITIALIZED to CONNECTED; fetching again while CONNECTED gives the
    /// same message (a wallet retrying after a network error).
    pub async fn wallet_request(&self, wallet: &WalletToken) -> Result<Vec<u8>, WalletError> {
        let mut loaded = self.load_wallet(wallet).await?;
        for _ in 0..CAS_ATTEMPTS {
            match loaded.status() {
                SessionStatus::Initialized => {
                    let mut next = loaded.stored.clone();
                    next.status = SessionStatus::Connected;
                    match self.inner.store.update(loaded.stored.version, next).await? {
                        UpdateOutcome::Updated => return request_message(&loaded.body),
                        UpdateOutcome::Missing => return Err(WalletError::NotFound),
                        UpdateOutcome::Conflict => loaded = self.load_wallet(wallet).await?,
                    }
                }
                SessionStatus::Connected => return request_message(&loaded.body),
                s => return Err(WalletError::Finished(s)),
            }
        }
        Err(WalletError::Contention)
    }

    /// The wallet declines: the session becomes CANCELLED.
    pub async fn wallet_decline(&self, wallet: &WalletToken) -> Result<(), WalletError> {
        let mut loaded = self.load_wallet(wallet).await?;
        for _ in 0..CAS_ATTEMPTS {
            if loaded.status().is_final() {
                return Err(WalletError::Finished(loaded.status()));
            }
            let result = cancelled_result(&loaded);
            if self
                .finish(&loaded, SessionStatus::Cancelled, result)
                .await?
                .is_some()
            {
                return Ok(());
            }
            loaded = self.load_wallet(wallet).await?;
        }
        Err(WalletError::Contention)
    }

    /// The wallet posts its presentation (wallet-core `PresentationMessage`,
    /// canonical CBOR). The session completes once: DONE with the
    /// verification result, valid or not, but only for a presentation
    /// proven to be made for this session; any other is refused without
    /// completing it and counted (otherwise anyone who saw the QR code could
    /// spoil the session by replaying an old presentation, broken or not).
    pub async fn wallet_answer(
        &self,
        wallet: &WalletToken,
        body: &[u8],
    ) -> Result<SessionResult, WalletError> {
        let outcome = self.answer_inner(wallet, body).await;
        let metric = match &outcome {
            Ok(r) if r.is_valid() => PresentationOutcome::Valid,
            Ok(_) => PresentationOutcome::NotValid,
            Err(_) => PresentationOutcome::Refused,
        };
        self.inner.metrics.presentation(metric);
        outcome
    }

    /// Create an offline challenge: a disclosure session whose request
    /// message (wallet-core `DisclosureRequestMessage`, canonical CBOR) is
    /// returned for a QR code instead of being fetched by the wallet.
    pub async fn offline_challenge(
        &self,
        new: NewSession,
    ) -> Result<(CreatedSession, Vec<u8>), CreateSessionError> {
        let created = self.create(new).await?;
        let message = self
            .wallet_request(&created.wallet_token)
            .await
            .map_err(|e| match e {
                WalletError::Store(s) => CreateSessionError::Store(s),
                other => CreateSessionError::Store(StoreError::Backend(other.to_string())),
            })?;
        Ok((created, message))
    }

    /// The wallet's answer to an offline challenge, posted by the requestor
    /// (who scanned or received it). Same checks and one-shot completion as
    /// [`Sessions::wallet_answer`].
    pub async fn offline_answer(
        &self,
        token: &RequestorToken,
        answer: &[u8],
    ) -> Result<SessionResult, WalletError> {
        let loaded = self.load(token).await.map_err(|e| match e {
            LookupError::NotFound => WalletError::NotFound,
            LookupError::Store(s) => WalletError::Store(s),
            _ => WalletError::Corrupt,
        })?;
        self.wallet_answer(loaded.wallet_token(), answer).await
    }
}

fn cancelled_result(loaded: &LoadedSession) -> SessionResult {
    SessionResult {
        status: SessionStatus::Cancelled,
        kind: loaded
            .body
            .request()
            .map_or(SessionKind::Disclosing, |r| r.kind()),
        verifier: loaded.body.verifier.clone(),
        verification: None,
        signature: None,
        timestamp_signature: None,
    }
}

fn request_message(body: &Body) -> Result<Vec<u8>, WalletError> {
    let request = body.request().ok_or(WalletError::Corrupt)?;
    let nonce = body.nonce().ok_or(WalletError::Corrupt)?;
    Ok(match (request.kind(), body.timestamp) {
        (SessionKind::Signing, Some(t)) => {
            SigningRequestMessage::new(body.verifier.clone(), request, nonce, t).to_bytes()
        }
        _ => DisclosureRequestMessage::new(body.verifier.clone(), request, nonce).to_bytes(),
    })
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 4)
}
