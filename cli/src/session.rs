//! Running a session against a daemon: issuing, disclosing, signing.
//!
//! [`run`] is the programmatic entry point (used by `kenmerk session` and by
//! `kenmerk demo`): it takes the open wallet, a session pointer, an HTTP
//! client and a consent policy. The order of steps is the safety argument:
//!
//! 1. Fetch the first message and check it with wallet-core against the
//!    pinned scheme (keys, token information, request shape).
//! 2. Show the consent screen; a refusal returns [`SessionOutcome::Declined`]
//!    and nothing has been sent beyond the initial GET.
//! 3. For a presentation: build it, mark its tokens used and record the
//!    pending disclosure, **save the wallet**, and only then send it. A
//!    crash after that point can lose a token but never show one twice.
//! 4. Record the outcome in the disclosure log and save again.

mod disclose;
mod issue;
#[cfg(test)]
mod tests;

pub use disclose::predicate_words;
use disclose::{disclose, Asked};
use issue::issue;
pub use issue::{refresh_credential, RefreshOutcome};

use rand_core::OsRng;
use serde::Serialize;
use wallet_core::holder::HolderSecret;
use wallet_core::ids::{AttributeId, IssuerId, VerifierId};
use wallet_core::issuance::wallet::{FinishIssuanceError, PendingIssuance};
use wallet_core::keys::IssuerPublicKey;
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{ChallengeContext, PresentationBuilder, ProveError};
use wallet_core::request::{
    AttributeLabel, Candidates, Choice, HeldCredential, PlanError, RequestSchemeError, SessionKind,
    SessionRequest, Unregistered,
};
use wallet_core::scheme::{KeyLookupError, Scheme, VerifiedScheme};
use wallet_core::signature::AttributeSignature;
use wallet_core::token::CredentialToken;
use wallet_core::wire::{
    ChallengesMessage, DisclosureRequestMessage, HolderCommitment, IssuanceOffer, OfferError,
    PresentationAnswer, PresentationMessage, RecordId, RefreshProof, RefreshRequest,
    ResponsesMessage, SessionPointer, SignerCommitmentsMessage, SigningRequestMessage, WireMessage,
};

use crate::client::{join, paths, Client, ClientError};
use crate::consent::{
    AttributeLine, ConsentError, ConsentPolicy, DisclosureView, DisjunctionView, IssuanceView,
    OfferedView, OptionView,
};
use crate::i18n::{t, tr, Key, Lang};
use crate::scheme_store::{self, SchemeStoreError};
use crate::wallet::{
    LogEntry, LogKind, LoggedAttribute, LoggedPredicate, PendingState, SecretBytes,
    StoredAttribute, StoredCredential, StoredToken, WalletContents,
};
use crate::wallet_file::{SaveWalletError, WalletFile};

/// An open wallet: the locked file and its decrypted contents.
pub struct OpenWallet {
    /// The locked file.
    pub file: WalletFile,
    /// The contents.
    pub contents: WalletContents,
}

impl OpenWallet {
    /// Write the contents back.
    pub fn save(&mut self) -> Result<(), SaveWalletError> {
        self.file.save(&self.contents)
    }

    /// Move presentations that were about to be sent when kenmerk was
    /// interrupted into the log, marked `INTERRUPTED`: they may have reached
    /// the verifier, so the resident must see them. Returns how many.
    pub fn settle_interrupted(&mut self) -> Result<usize, SaveWalletError> {
        let mut settled = 0;
        let pending = std::mem::take(&mut self.contents.pending);
        for p in pending {
            match p {
                PendingState::Presentation { mut entry, .. } => {
                    entry.outcome = Some("INTERRUPTED".into());
                    self.contents.log.append(entry);
                    settled += 1;
                }
                other => self.contents.pending.push(other),
            }
        }
        if settled > 0 {
            self.save()?;
        }
        Ok(settled)
    }
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("not a session link or QR code: {0}")]
    Pointer(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Scheme(#[from] SchemeStoreError),
    #[error("the session at {0} is not an issuance, disclosure or signature session")]
    UnknownSession(String),
    #[error("the issuer's offer is not acceptable: {0}")]
    Offer(#[from] OfferError),
    #[error("the request does not fit the scheme: {0}")]
    Request(#[from] RequestSchemeError),
    #[error("you do not have what is asked: {0}")]
    Unsatisfiable(String),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("cannot build the presentation: {0}")]
    Prove(#[from] ProveError),
    #[error("issuer key: {0}")]
    Key(#[from] KeyLookupError),
    #[error("the issuance did not produce valid tokens: {0}")]
    Issuance(#[from] FinishIssuanceError),
    #[error("the peer sent {found} answers for {expected} credentials")]
    Count { expected: usize, found: usize },
    #[error("the issuer's refresh offer is for another credential than {0}")]
    RefreshMismatch(String),
    #[error("credential {0} has no issuer record to refresh")]
    NoRecord(String),
    #[error(transparent)]
    Consent(#[from] ConsentError),
    #[error(transparent)]
    Save(#[from] SaveWalletError),
}

/// One credential received.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCredential {
    /// Local handle.
    pub id: String,
    /// Credential type.
    pub credential_type: String,
    /// Name in the resident's language.
    pub name: String,
    /// Tokens received.
    pub tokens: usize,
}

/// How a session ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SessionOutcome {
    /// The resident declined; nothing was sent.
    Declined,
    /// Credentials were received.
    Issued {
        /// The credentials.
        credentials: Vec<IssuedCredential>,
    },
    /// Attributes were disclosed (or a message signed).
    Disclosed {
        /// Disclosing or signing.
        kind: SessionKind,
        /// Verifier id.
        verifier: String,
        /// Its registered name, if any.
        verifier_name: Option<String>,
        /// The verifier's verdict (for example `VALID`).
        status: String,
        /// What was disclosed.
        disclosed: Vec<AttributeLine>,
        /// Predicates proven, in words.
        predicates: Vec<String>,
        /// Pseudonym scope, if one was given.
        pseudonym_scope: Option<String>,
        /// The signature, for signing sessions (boxed: it holds a whole
        /// presentation).
        #[serde(skip)]
        signature: Option<Box<AttributeSignature>>,
    },
}

/// Parse what the resident gave: a session pointer (QR payload JSON) or a
/// bare session URL.
pub fn parse_target(text: &str) -> Result<SessionTarget, SessionError> {
    let text = text.trim();
    if text.starts_with('{') {
        return SessionPointer::from_json(text)
            .map(SessionTarget::Pointer)
            .map_err(|e| SessionError::Pointer(e.to_string()));
    }
    if (text.starts_with("http://") || text.starts_with("https://"))
        && text.len() <= wallet_core::wire::MAX_POINTER_URL
        && text.bytes().all(|b| b.is_ascii_graphic())
    {
        return Ok(SessionTarget::Url(text.to_owned()));
    }
    Err(SessionError::Pointer(
        text.chars().take(80).collect::<String>(),
    ))
}

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionTarget {
    /// A pointer with its kind.
    Pointer(SessionPointer),
    /// A bare URL; the kind is learnt from the first message.
    Url(String),
}

impl SessionTarget {
    /// The session URL.
    pub fn url(&self) -> &str {
        match self {
            SessionTarget::Pointer(p) => &p.u,
            SessionTarget::Url(u) => u,
        }
    }

    pub(crate) fn kind(&self) -> Option<SessionKind> {
        match self {
            SessionTarget::Pointer(p) => Some(p.irmaqr),
            SessionTarget::Url(_) => None,
        }
    }

    /// Host of the session URL (for the registered-host check).
    pub fn host(&self) -> String {
        match SessionPointer::new(self.url().to_owned(), SessionKind::Disclosing) {
            Ok(p) => p.host().to_owned(),
            Err(_) => String::new(),
        }
    }
}

/// The issuer's base URL from an issuance session URL: everything before
/// `/wallet/session/`, else the origin.
pub fn issuer_base(session_url: &str) -> String {
    match session_url.find(paths::ISSUANCE_SESSION_MARK) {
        Some(i) => session_url[..i].to_owned(),
        None => origin(session_url),
    }
}

/// Plain HTTP to anything but this machine: readable on the network.
pub fn is_insecure(url: &str, host: &str) -> bool {
    let loopback = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback());
    url.starts_with("http://") && !loopback
}

/// `scheme://authority` of a URL.
pub fn origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{authority}")
        }
        None => url.to_owned(),
    }
}

enum FirstMessage {
    Offer(IssuanceOffer),
    Disclosure(DisclosureRequestMessage),
    Signing(SigningRequestMessage),
}

async fn first_message(
    client: &Client,
    target: &SessionTarget,
) -> Result<FirstMessage, SessionError> {
    let url = join(target.url(), paths::REQUEST);
    let bytes = client.get_cbor_bytes(&url).await?;
    let decode_err = |error| {
        SessionError::Client(ClientError::Decode {
            url: url.clone(),
            error,
        })
    };
    match target.kind() {
        Some(SessionKind::Issuing) => Ok(FirstMessage::Offer(
            IssuanceOffer::from_bytes(&bytes).map_err(decode_err)?,
        )),
        Some(SessionKind::Disclosing) => Ok(FirstMessage::Disclosure(
            DisclosureRequestMessage::from_bytes(&bytes).map_err(decode_err)?,
        )),
        Some(SessionKind::Signing) => Ok(FirstMessage::Signing(
            SigningRequestMessage::from_bytes(&bytes).map_err(decode_err)?,
        )),
        None => {
            if let Ok(m) = IssuanceOffer::from_bytes(&bytes) {
                Ok(FirstMessage::Offer(m))
            } else if let Ok(m) = DisclosureRequestMessage::from_bytes(&bytes) {
                Ok(FirstMessage::Disclosure(m))
            } else if let Ok(m) = SigningRequestMessage::from_bytes(&bytes) {
                Ok(FirstMessage::Signing(m))
            } else {
                Err(SessionError::UnknownSession(url))
            }
        }
    }
}

/// Run one session to its end.
pub async fn run(
    wallet: &mut OpenWallet,
    client: &Client,
    target: &SessionTarget,
    consent: &mut dyn ConsentPolicy,
    lang: Lang,
    now: i64,
) -> Result<SessionOutcome, SessionError> {
    wallet.settle_interrupted()?;
    match first_message(client, target).await? {
        FirstMessage::Offer(offer) => {
            issue(wallet, client, target, offer, consent, lang, now).await
        }
        FirstMessage::Disclosure(m) => {
            let asked = Asked {
                kind: SessionKind::Disclosing,
                context: m.context(),
                verifier: m.verifier,
                request: m.request,
            };
            disclose_online(wallet, client, target, asked, consent, lang, now).await
        }
        FirstMessage::Signing(m) => {
            let asked = Asked {
                kind: SessionKind::Signing,
                context: m.context(),
                verifier: m.verifier,
                request: m.request,
            };
            disclose_online(wallet, client, target, asked, consent, lang, now).await
        }
    }
}

/// A disclosure or signing session against a verifier daemon.
async fn disclose_online(
    wallet: &mut OpenWallet,
    client: &Client,
    target: &SessionTarget,
    asked: Asked,
    consent: &mut dyn ConsentPolicy,
    lang: Lang,
    now: i64,
) -> Result<SessionOutcome, SessionError> {
    disclose(
        wallet,
        Some((client, target.url())),
        Some(target.host()),
        asked,
        consent,
        lang,
        now,
    )
    .await
    .map(|(o, _)| o)
}

/// Answer an offline challenge (base64url of a `DisclosureRequestMessage`,
/// as the verifier's `/offline/challenge` gives it): after consent, the
/// tokens are marked used and the wallet saved, then the answer (base64url
/// of a `PresentationMessage`) is returned for display as a QR code.
pub async fn present_offline(
    wallet: &mut OpenWallet,
    payload: &str,
    consent: &mut dyn ConsentPolicy,
    lang: Lang,
    now: i64,
) -> Result<(SessionOutcome, Option<String>), SessionError> {
    use base64::Engine as _;
    wallet.settle_interrupted()?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = b64
        .decode(payload.trim().trim_end_matches('='))
        .map_err(|_| SessionError::Pointer(payload.chars().take(80).collect()))?;
    let m = DisclosureRequestMessage::from_bytes(&bytes).map_err(|error| {
        SessionError::Client(ClientError::Decode {
            url: "offline challenge".into(),
            error,
        })
    })?;
    let context = m.context();
    let (outcome, presentation) = disclose(
        wallet,
        None,
        None,
        Asked {
            kind: SessionKind::Disclosing,
            verifier: m.verifier,
            request: m.request,
            context,
        },
        consent,
        lang,
        now,
    )
    .await?;
    let answer = presentation.map(|p| b64.encode(PresentationMessage::new(p).to_bytes()));
    Ok((outcome, answer))
}

fn now_u64(now: i64) -> u64 {
    u64::try_from(now).unwrap_or(0)
}

fn holder(contents: &WalletContents) -> HolderSecret {
    HolderSecret::from_seed(contents.seed.as_bytes())
}

fn value_text(v: &wallet_core::encoding::AttributeValue) -> Option<String> {
    match v {
        wallet_core::encoding::AttributeValue::Absent => None,
        other => Some(other.to_string()),
    }
}

/// An attribute's label in the resident's language (wallet-core's
/// [`AttributeLabel`], the same the verifier's page shows).
fn attribute_label(scheme: &Scheme, id: &AttributeId, lang: Lang) -> String {
    AttributeLabel::of(scheme, id).attribute(lang.code())
}
