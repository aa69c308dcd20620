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
//! A session is its [`Terms`] (fixed at creation) and a [`State`]
//! (`state.rs`); each transition consumes a state and returns the next one
//! or a refusal, and one function (`transition.rs`) writes it with
//! compare-and-set on the store ([`SessionStore::update`]), so a session
//! completes exactly once even when several daemon instances receive
//! presentations for it at the same time. What closes replay:
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

mod answer;
mod error;
mod page;
mod result;
pub mod state;
mod transition;
mod watch;

pub use error::{CreateSessionError, LookupError, WalletError};
pub use result::{SessionResult, StoredOutcome, StoredResult};
pub use state::{State, Terms};
pub use watch::{StreamLimits, StreamRefused, StreamSlot, WatchError};

use std::sync::Arc;
use std::time::Duration;

use wallet_core::ids::VerifierId;
use wallet_core::request::{SessionKind, SessionRequest, Unregistered};
use wallet_core::scheme::VerifiedScheme;
use wallet_core::wire::{
    DisclosureRequestMessage, Nonce, SessionPointer, SigningRequestMessage, WireMessage as _,
};

use self::error::list;
use self::state::NewTerms;
use self::transition::{Key, TransitionError};
use crate::metrics::{Metrics, PresentationOutcome};
use crate::pool::VerifyPool;
use crate::scheme_source::SchemeHandle;
use crate::signing::SigningKey;
use crate::store::{
    now_ms, AtCapacity, Limits, PageToken, RequestorToken, SessionId, SessionStatus, SessionStore,
    StoreError, StoredSession, WalletToken,
};

/// How often a status stream re-reads the store even without an event
/// (covers a lost pub/sub message).
const WATCH_RECHECK: Duration = Duration::from_secs(5);

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

/// A session as loaded: its terms and its state (deadline applied).
#[derive(Debug, Clone)]
pub struct LoadedSession {
    terms: Terms,
    state: State,
}

impl LoadedSession {
    fn read(terms: &Terms, state: State) -> (State, Self) {
        let loaded = Self {
            terms: terms.clone(),
            state: state.clone(),
        };
        (state, loaded)
    }
    /// What never changes: verifier, request, nonce, deadline, requestor.
    pub fn terms(&self) -> &Terms {
        &self.terms
    }
    /// Where the session is.
    pub fn state(&self) -> &State {
        &self.state
    }
    /// Current status.
    pub fn status(&self) -> SessionStatus {
        self.state.status()
    }
    /// The verifier identity.
    pub fn verifier(&self) -> &VerifierId {
        self.terms.verifier()
    }
    /// The request.
    pub fn request(&self) -> &SessionRequest {
        self.terms.request()
    }
    /// The wallet token.
    pub fn wallet_token(&self) -> &WalletToken {
        self.terms.wallet_token()
    }
    /// The result, once final.
    pub fn result(&self) -> Option<&StoredResult> {
        self.state.result()
    }
    /// The result, or (not final yet) the status, kind and verifier: what
    /// `GET /session/{token}/result` answers.
    pub fn result_or_status(&self) -> StoredResult {
        self.state.result().cloned().unwrap_or_else(|| {
            StoredResult::without_outcome(self.status(), self.terms.kind(), self.verifier().clone())
        })
    }
    /// The name of the requestor that created the session.
    pub fn requestor(&self) -> &str {
        self.terms.requestor()
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
        let terms = Terms::new(NewTerms {
            id: SessionId::for_token(&requestor_token),
            wallet_token: wallet_token.clone(),
            verifier: new.verifier.clone(),
            request,
            nonce,
            timestamp: (kind == SessionKind::Signing).then_some(now / 1000),
            deadline_ms,
            requestor: new.requestor.clone(),
            page: page_token.digest(),
        });
        let stored = StoredSession {
            id: terms.id().clone(),
            wallet_token: wallet_token.clone(),
            status: SessionStatus::Initialized,
            version: 0,
            // Kept past the deadline for the result TTL, so that a timed-out
            // session can still be asked about.
            purge_at_ms: deadline_ms + duration_ms(self.inner.settings.result_ttl),
            owner: new.requestor.clone(),
            body: state::encode(&terms, &State::new())?,
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

    /// Apply `f` to the session under `key` and write its next state
    /// (`transition::run`, the one compare-and-set loop); counts a session
    /// it finished.
    async fn transition<T, E>(
        &self,
        key: Key<'_>,
        f: impl Fn(&Terms, State) -> Result<(State, T), E>,
    ) -> Result<T, E>
    where
        E: From<TransitionError>,
    {
        let ttl = duration_ms(self.inner.settings.result_ttl);
        let applied = transition::run(self.inner.store.as_ref(), ttl, key, f).await?;
        if let Some(status) = applied.finished {
            self.inner.metrics.session_finished(status);
        }
        Ok(applied.answer)
    }

    /// Load by requestor token (applying the deadline).
    pub async fn load(&self, token: &RequestorToken) -> Result<LoadedSession, LookupError> {
        let id = SessionId::for_token(token);
        self.transition(Key::Id(&id), |terms, state| {
            Ok::<_, LookupError>(LoadedSession::read(terms, state))
        })
        .await
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

    /// The result of a final session, as stored.
    pub async fn result(&self, token: &RequestorToken) -> Result<StoredResult, LookupError> {
        let loaded = self.load(token).await?;
        loaded
            .result()
            .cloned()
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
            map.insert("iss".into(), result.verifier().to_string().into());
            map.insert(
                "sub".into(),
                format!("{}_result", result.kind().as_str()).into(),
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
        let id = SessionId::for_token(token);
        self.transition(Key::Id(&id), |terms, state| {
            let next = state.cancel(terms).map_err(LookupError::AlreadyFinal)?;
            Ok((next, ()))
        })
        .await
    }

    /// Load by wallet token (applying the deadline).
    async fn load_wallet(&self, wallet: &WalletToken) -> Result<LoadedSession, WalletError> {
        self.transition(Key::Wallet(wallet), |terms, state| {
            Ok::<_, WalletError>(LoadedSession::read(terms, state))
        })
        .await
    }

    /// The wallet fetches the request: the CBOR wire message
    /// (`DisclosureRequestMessage` or `SigningRequestMessage`). Moves
    /// INITIALIZED to CONNECTED; fetching again while CONNECTED gives the
    /// same message (a wallet retrying after a network error).
    pub async fn wallet_request(&self, wallet: &WalletToken) -> Result<Vec<u8>, WalletError> {
        self.transition(Key::Wallet(wallet), |terms, state| {
            let next = state.connect().map_err(WalletError::Finished)?;
            Ok((next, request_message(terms)))
        })
        .await
    }

    /// The wallet declines: the session becomes CANCELLED.
    pub async fn wallet_decline(&self, wallet: &WalletToken) -> Result<(), WalletError> {
        self.transition(Key::Wallet(wallet), |terms, state| {
            let next = state.cancel(terms).map_err(WalletError::Finished)?;
            Ok((next, ()))
        })
        .await
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
            LookupError::Contention => WalletError::Contention,
            _ => WalletError::Corrupt,
        })?;
        self.wallet_answer(loaded.wallet_token(), answer).await
    }
}

fn request_message(terms: &Terms) -> Vec<u8> {
    let (verifier, request, nonce) = (
        terms.verifier().clone(),
        terms.request().clone(),
        terms.nonce(),
    );
    match (terms.kind(), terms.timestamp()) {
        (SessionKind::Signing, Some(t)) => {
            SigningRequestMessage::new(verifier, request, nonce, t).to_bytes()
        }
        _ => DisclosureRequestMessage::new(verifier, request, nonce).to_bytes(),
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 4)
}
