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

use rand_core::OsRng;
use serde::Serialize;
use wallet_core::holder::HolderSecret;
use wallet_core::ids::{AttributeId, IssuerId, VerifierId};
use wallet_core::issuance::wallet::{FinishIssuanceError, PendingIssuance};
use wallet_core::keys::IssuerPublicKey;
use wallet_core::predicate::Predicate;
use wallet_core::presentation::{ChallengeContext, PresentationBuilder, ProveError};
use wallet_core::request::{
    Candidates, Choice, HeldCredential, PlanError, RequestSchemeError, SessionKind, SessionRequest,
    Unregistered,
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

fn attribute_label(scheme: &Scheme, id: &AttributeId, lang: Lang) -> String {
    scheme
        .attribute(id)
        .map(|f| f.attribute.label.get(lang.code()).to_owned())
        .unwrap_or_else(|| id.to_string())
}

// ---------------------------------------------------------------------------
// Issuance

/// Offered credentials checked against the pinned scheme, with their keys.
pub(crate) struct CheckedOffer {
    pub(crate) offer: IssuanceOffer,
    pub(crate) keys: Vec<IssuerPublicKey>,
}

pub(crate) fn check_offer(
    scheme: &VerifiedScheme,
    offer: IssuanceOffer,
    now: i64,
) -> Result<CheckedOffer, SessionError> {
    let keys = offer
        .credentials
        .iter()
        .map(|c| c.check(&offer.issuer, scheme, now_u64(now)).cloned())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CheckedOffer { offer, keys })
}

fn issuance_view(
    scheme: &Scheme,
    issuer: &IssuerId,
    target: &SessionTarget,
    offer: &IssuanceOffer,
    lang: Lang,
) -> IssuanceView {
    let l = lang.code();
    let host = target.host();
    IssuanceView {
        insecure: is_insecure(target.url(), &host),
        issuer: issuer.to_string(),
        issuer_name: scheme
            .issuer(issuer)
            .map(|i| i.name.get(l).to_owned())
            .unwrap_or_else(|| issuer.to_string()),
        host,
        credentials: offer
            .credentials
            .iter()
            .map(|c| {
                let ct = scheme.credential_type(&c.token_info.credential_type);
                OfferedView {
                    credential_type: c.token_info.credential_type.to_string(),
                    name: ct
                        .map(|ct| ct.name.get(l).to_owned())
                        .unwrap_or_else(|| c.token_info.credential_type.to_string()),
                    attributes: ct
                        .map(|ct| {
                            ct.attributes
                                .iter()
                                .zip(&c.attributes)
                                .map(|(a, v)| AttributeLine {
                                    id: a.id.to_string(),
                                    label: a.label.get(l).to_owned(),
                                    value: value_text(v),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    expiry: c.token_info.expiry,
                    batch: offer.batch,
                }
            })
            .collect(),
    }
}

/// Blind-sign the offered credentials: the commitment and challenge
/// round-trips shared by issuance and refresh. Returns the token batches in
/// offer order.
pub(crate) async fn blind_issue(
    client: &Client,
    holder: &HolderSecret,
    checked: &CheckedOffer,
    commitments: SignerCommitmentsMessage,
    challenges_url: &str,
    now: i64,
) -> Result<Vec<Vec<CredentialToken>>, SessionError> {
    let n = checked.offer.credentials.len();
    if commitments.commitments.len() != n {
        return Err(SessionError::Count {
            expected: n,
            found: commitments.commitments.len(),
        });
    }
    let mut pending = Vec::with_capacity(n);
    let mut challenges = Vec::with_capacity(n);
    for ((offered, key), signer) in checked
        .offer
        .credentials
        .iter()
        .zip(&checked.keys)
        .zip(&commitments.commitments)
    {
        let (p, c) = PendingIssuance::start(
            &mut OsRng,
            key,
            holder,
            offered.attributes.clone(),
            offered.token_info.clone(),
            now_u64(now),
            signer,
        )?;
        pending.push(p);
        challenges.push(c);
    }
    let responses: ResponsesMessage = client
        .post_wire(challenges_url, &ChallengesMessage::new(challenges))
        .await?;
    if responses.responses.len() != n {
        return Err(SessionError::Count {
            expected: n,
            found: responses.responses.len(),
        });
    }
    pending
        .into_iter()
        .zip(&responses.responses)
        .map(|(p, r)| p.finish(r).map_err(SessionError::from))
        .collect()
}

/// Put a received batch into the wallet: replaces the batch of the same
/// issuer record (a re-issue or refresh), else adds a credential.
pub(crate) fn store_batch(
    contents: &mut WalletContents,
    scheme: &Scheme,
    issuer_url: &str,
    record: &str,
    tokens: Vec<CredentialToken>,
    now: i64,
) -> Option<String> {
    let first = tokens.first()?;
    let ct_id = first.credential_type().clone();
    let attributes: Vec<StoredAttribute> = scheme
        .credential_type(&ct_id)
        .map(|ct| {
            ct.attributes
                .iter()
                .zip(first.attributes())
                .map(|(a, v)| StoredAttribute {
                    id: a.id.to_string(),
                    value: value_text(v),
                })
                .collect()
        })
        .unwrap_or_default();
    let key_counter = first.token().ti.key_counter;
    let expiry = i64::try_from(first.expiry()).unwrap_or(i64::MAX);
    let stored_tokens: Vec<StoredToken> = tokens
        .iter()
        .map(|t| StoredToken {
            token: SecretBytes::new(t.to_bytes().to_vec()),
            used: false,
        })
        .collect();
    if let Some(existing) = contents
        .credentials
        .iter_mut()
        .find(|c| c.record.as_deref() == Some(record) && c.credential_type == ct_id.as_str())
    {
        existing.attributes = attributes;
        existing.key_counter = key_counter;
        existing.expiry = expiry;
        existing.issued_at = now;
        existing.tokens = stored_tokens;
        existing.issuer_url = issuer_url.to_owned();
        return Some(existing.id.clone());
    }
    let id = contents.next_credential_id();
    contents.credentials.push(StoredCredential {
        id: id.clone(),
        credential_type: ct_id.to_string(),
        attributes,
        key_counter,
        issued_at: now,
        expiry,
        issuer_url: issuer_url.to_owned(),
        record: Some(record.to_owned()),
        tokens: stored_tokens,
    });
    Some(id)
}

async fn issue(
    wallet: &mut OpenWallet,
    client: &Client,
    target: &SessionTarget,
    offer: IssuanceOffer,
    consent: &mut dyn ConsentPolicy,
    lang: Lang,
    now: i64,
) -> Result<SessionOutcome, SessionError> {
    let scheme = scheme_store::scheme_for(&wallet.contents, offer.issuer.scheme().as_str(), now)?;
    let checked = check_offer(&scheme, offer, now)?;
    let host = target.host();
    let view = issuance_view(&scheme, &checked.offer.issuer, target, &checked.offer, lang);
    if !consent.issuance(&view, lang)? {
        return Ok(SessionOutcome::Declined);
    }
    let holder = holder(&wallet.contents);
    let proofs = checked
        .keys
        .iter()
        .map(|k| holder.prove_possession(&mut OsRng, &checked.offer.nonce.0, &k.key_id()))
        .collect();
    let commitment = HolderCommitment::new(holder.public(), proofs);
    let signer: SignerCommitmentsMessage = client
        .post_wire(&join(target.url(), paths::ISSUANCE_COMMITMENT), &commitment)
        .await?;
    let batches = blind_issue(
        client,
        &holder,
        &checked,
        signer,
        &join(target.url(), paths::ISSUANCE_CHALLENGES),
        now,
    )
    .await?;
    let issuer_url = issuer_base(target.url());
    let mut issued = Vec::new();
    let mut received = Vec::new();
    for ((offered, tokens), offered_view) in checked
        .offer
        .credentials
        .iter()
        .zip(batches)
        .zip(&view.credentials)
    {
        let count = tokens.len();
        if let Some(id) = store_batch(
            &mut wallet.contents,
            &scheme,
            &issuer_url,
            offered.record.as_str(),
            tokens,
            now,
        ) {
            issued.push(IssuedCredential {
                id,
                credential_type: offered_view.credential_type.clone(),
                name: offered_view.name.clone(),
                tokens: count,
            });
            received.extend(offered_view.attributes.iter().map(|a| LoggedAttribute {
                id: a.id.clone(),
                value: a.value.clone(),
            }));
        }
    }
    wallet.contents.log.append(LogEntry {
        at: now,
        kind: LogKind::Issuance,
        party: Some(checked.offer.issuer.to_string()),
        host: Some(host),
        attributes: received,
        predicates: Vec::new(),
        pseudonym_scope: None,
        message: None,
        outcome: Some("DONE".into()),
    });
    wallet.save()?;
    Ok(SessionOutcome::Issued {
        credentials: issued,
    })
}

// ---------------------------------------------------------------------------
// Refresh

/// How a refresh of one credential ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A new batch replaced the old one.
    Renewed {
        /// Tokens received.
        tokens: usize,
        /// Their expiry (unix seconds).
        expiry: i64,
    },
    /// The issuer refused: the credential is revoked or unknown to it.
    Refused {
        /// The issuer's explanation.
        detail: String,
    },
}

/// Renew the batch of credential `index` (into `contents.credentials`):
/// the issuer checks possession of the holder key for the record and
/// answers with the attributes as its register holds them now.
pub async fn refresh_credential(
    wallet: &mut OpenWallet,
    client: &Client,
    index: usize,
    now: i64,
) -> Result<RefreshOutcome, SessionError> {
    let Some(credential) = wallet.contents.credentials.get(index) else {
        return Err(SessionError::NoRecord(format!("#{index}")));
    };
    let record: RecordId = credential
        .record
        .as_deref()
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| SessionError::NoRecord(credential.id.clone()))?;
    let base = credential.issuer_url.clone();
    let ct = credential.credential_type.clone();
    let scheme_id = ct.split('.').next().unwrap_or("").to_owned();
    let scheme = scheme_store::scheme_for(&wallet.contents, &scheme_id, now)?;

    let start = client
        .post_wire_located::<_, IssuanceOffer>(
            &join(&base, paths::REFRESH),
            &RefreshRequest::new(record.clone()),
        )
        .await;
    let (offer, location) = match start {
        Ok(ok) => ok,
        // 403/404/410: revoked or unknown; the issuer answers them alike.
        Err(ClientError::Refused {
            status: 403 | 404 | 410,
            problem,
            ..
        }) => {
            wallet.contents.log.append(LogEntry {
                at: now,
                kind: LogKind::Refresh,
                party: Some(labels_issuer(&ct)),
                host: None,
                attributes: Vec::new(),
                predicates: Vec::new(),
                pseudonym_scope: None,
                message: None,
                outcome: Some("REFUSED".into()),
            });
            wallet.save()?;
            return Ok(RefreshOutcome::Refused {
                detail: problem.to_string(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let checked = check_offer(&scheme, offer, now)?;
    let session_url = match location {
        Some(l) if l.starts_with('/') => format!("{}{l}", origin(&base)),
        Some(l) => l,
        None => {
            return Err(SessionError::UnknownSession(join(&base, paths::REFRESH)));
        }
    };
    let (Some(offered), Some(key)) = (checked.offer.credentials.first(), checked.keys.first())
    else {
        return Err(SessionError::RefreshMismatch(ct));
    };
    // A refresh renews exactly the credential asked for: same record, same
    // type (an issuer cannot slip another credential in).
    if checked.offer.credentials.len() != 1
        || offered.record != record
        || offered.token_info.credential_type.as_str() != ct
    {
        return Err(SessionError::RefreshMismatch(ct));
    }
    let holder = holder(&wallet.contents);
    let proof = holder.prove_possession(&mut OsRng, &checked.offer.nonce.0, &key.key_id());
    let signer: SignerCommitmentsMessage = client
        .post_wire(
            &join(&session_url, paths::REFRESH_PROOF),
            &RefreshProof::new(record.clone(), proof),
        )
        .await?;
    let mut batches = blind_issue(
        client,
        &holder,
        &checked,
        signer,
        &join(&session_url, paths::ISSUANCE_CHALLENGES),
        now,
    )
    .await?;
    let tokens = batches.pop().unwrap_or_default();
    let count = tokens.len();
    let expiry = tokens
        .first()
        .map(|t| i64::try_from(t.expiry()).unwrap_or(i64::MAX))
        .unwrap_or(now);
    store_batch(
        &mut wallet.contents,
        &scheme,
        &base,
        record.as_str(),
        tokens,
        now,
    );
    wallet.contents.log.append(LogEntry {
        at: now,
        kind: LogKind::Refresh,
        party: Some(labels_issuer(&ct)),
        host: None,
        attributes: Vec::new(),
        predicates: Vec::new(),
        pseudonym_scope: None,
        message: None,
        outcome: Some("DONE".into()),
    });
    wallet.save()?;
    Ok(RefreshOutcome::Renewed {
        tokens: count,
        expiry,
    })
}

fn labels_issuer(credential_type: &str) -> String {
    crate::labels::issuer_id(credential_type)
}

// ---------------------------------------------------------------------------
// Disclosure and signing

struct Asked {
    kind: SessionKind,
    verifier: VerifierId,
    request: SessionRequest,
    context: ChallengeContext,
}

/// A token the wallet can show now: which credential, which token.
struct Usable {
    credential: usize,
    token_index: usize,
    token: CredentialToken,
}

/// The first unused token of each credential that decodes, has not expired
/// and whose key the scheme still accepts.
fn usable_tokens(contents: &WalletContents, scheme: &VerifiedScheme, now: i64) -> Vec<Usable> {
    let mut out = Vec::new();
    for (ci, c) in contents.credentials.iter().enumerate() {
        let found = c.tokens.iter().enumerate().find_map(|(ti, t)| {
            if t.used {
                return None;
            }
            let token = CredentialToken::from_bytes(t.token.as_slice()).ok()?;
            if i64::try_from(token.expiry()).unwrap_or(i64::MAX) <= now {
                return None;
            }
            scheme.valid_key(&token.token().key_id, now_u64(now)).ok()?;
            Some((ti, token))
        });
        if let Some((token_index, token)) = found {
            out.push(Usable {
                credential: ci,
                token_index,
                token,
            });
        }
    }
    out
}

/// A predicate in the resident's words.
pub fn predicate_words(predicate: &Predicate, attribute_label: &str, lang: Lang) -> String {
    match predicate {
        Predicate::AgeAtLeast { years, on } => tr(
            lang,
            Key::PredicateAge,
            &[
                ("years", years),
                ("on", &wallet_core::encoding::iso_date::format(*on)),
            ],
        ),
        Predicate::GreaterOrEqual(v) => tr(
            lang,
            Key::PredicateAtLeast,
            &[("attribute", &attribute_label), ("value", v)],
        ),
        Predicate::LessOrEqual(v) => tr(
            lang,
            Key::PredicateAtMost,
            &[("attribute", &attribute_label), ("value", v)],
        ),
    }
}

fn unregistered_words(u: &Unregistered, scheme: &Scheme, lang: Lang) -> String {
    match u {
        Unregistered::Attribute(a) => attribute_label(scheme, a, lang),
        Unregistered::Predicate {
            attribute,
            operator,
        } => format!("{} ({operator})", attribute_label(scheme, attribute, lang)),
        Unregistered::Pseudonym => t(lang, Key::WordPseudonym).to_owned(),
    }
}

fn disclosure_view(
    asked: &Asked,
    scheme: &Scheme,
    host: Option<&str>,
    candidates: &Candidates,
    lang: Lang,
) -> DisclosureView {
    let l = lang.code();
    let registered = scheme.verifier(&asked.verifier);
    let name = registered.map(|v| v.name.get(l).to_owned());
    let disjunctions = candidates
        .disjunctions
        .iter()
        .map(|d| DisjunctionView {
            label: d.label.as_ref().map(|t| t.get(l).to_owned()),
            options: d
                .options
                .iter()
                .map(|o| OptionView {
                    attributes: o
                        .attributes
                        .iter()
                        .map(|a| AttributeLine {
                            id: a.attribute.to_string(),
                            label: attribute_label(scheme, &a.attribute, lang),
                            value: value_text(&a.value),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let predicates = candidates
        .predicates
        .iter()
        .map(|p| {
            predicate_words(
                &p.predicate,
                &attribute_label(scheme, &p.request.attribute, lang),
                lang,
            )
        })
        .collect();
    let pseudonym = asked.request.pseudonym().map(|scope| {
        tr(
            lang,
            Key::ConsentPseudonym,
            &[
                ("scope", &scope),
                (
                    "name",
                    &name.clone().unwrap_or_else(|| asked.verifier.to_string()),
                ),
            ],
        )
    });
    DisclosureView {
        kind: asked.kind,
        verifier: asked.verifier.to_string(),
        verifier_name: name,
        host: host.unwrap_or("offline").to_owned(),
        // Offline there is no host to check; online it must be registered.
        host_registered: registered.is_some_and(|v| host.is_none_or(|h| v.serves_host(h))),
        insecure: false,
        purpose: registered.map(|v| v.purpose.get(l).to_owned()),
        unregistered: registered
            .map(|v| {
                asked
                    .request
                    .unregistered(v)
                    .iter()
                    .map(|u| unregistered_words(u, scheme, lang))
                    .collect()
            })
            .unwrap_or_default(),
        disjunctions,
        predicates,
        pseudonym,
        message: asked.request.message().map(str::to_owned),
    }
}

/// The verifier's verdict from its answer to the presentation
/// ([`PresentationAnswer`]): the proof status, with the precise reason when
/// not valid (`"EXPIRED (TOKEN_EXPIRED)"`).
fn verdict(body: &[u8]) -> String {
    match PresentationAnswer::from_json(body) {
        Ok(PresentationAnswer {
            proof_status,
            reason: Some(reason),
        }) => format!("{} ({reason})", proof_status.as_str()),
        Ok(answer) => answer.proof_status.as_str().to_owned(),
        // The presentation was accepted (2xx) but the answer is unreadable:
        // record that rather than guess a verdict.
        Err(e) => format!("UNREADABLE: {e}"),
    }
}

/// Disclose (or sign) for `asked`. `transport` is the client and session URL
/// for an online session, `None` for an offline answer; `host` is the
/// session's host, `None` offline (nothing to check it against). Returns the
/// presentation too, for the offline QR code.
async fn disclose(
    wallet: &mut OpenWallet,
    transport: Option<(&Client, &str)>,
    host: Option<String>,
    asked: Asked,
    consent: &mut dyn ConsentPolicy,
    lang: Lang,
    now: i64,
) -> Result<
    (
        SessionOutcome,
        Option<wallet_core::presentation::Presentation>,
    ),
    SessionError,
> {
    let scheme = scheme_store::scheme_for(&wallet.contents, asked.verifier.scheme().as_str(), now)?;
    asked.request.check_against(&scheme)?;
    let usable = usable_tokens(&wallet.contents, &scheme, now);
    let held: Vec<HeldCredential<'_>> = usable
        .iter()
        .map(|u| HeldCredential {
            credential_type: u.token.credential_type(),
            values: u.token.attributes(),
        })
        .collect();
    let candidates = Candidates::compute(&asked.request, &scheme, &asked.verifier, &held)?;
    if let Some(missing) = candidates.first_unsatisfiable() {
        return Err(SessionError::Unsatisfiable(missing_words(
            &missing, &asked, &scheme, lang,
        )));
    }
    let mut view = disclosure_view(&asked, &scheme, host.as_deref(), &candidates, lang);
    view.insecure = match (transport, host.as_deref()) {
        (Some((_, url)), Some(h)) => is_insecure(url, h),
        _ => false,
    };
    let Some(choice) = consent.disclosure(&view, lang)? else {
        if let Some((client, url)) = transport {
            // Tell the verifier so its page stops waiting; this carries no
            // attribute and its failure changes nothing for the resident.
            let _ = client.delete(&join(url, paths::REQUEST)).await;
        }
        return Ok((SessionOutcome::Declined, None));
    };
    let plan = candidates.plan(&choice)?;

    let holder = holder(&wallet.contents);
    let mut builder = PresentationBuilder::new(&holder, asked.context.clone());
    let mut shown = Vec::new();
    for pc in &plan.credentials {
        let u = usable
            .get(pc.credential)
            .ok_or(PlanError::ChoiceOutOfRange {
                what: "credential",
                index: pc.credential,
                choice: pc.credential,
            })?;
        let key = scheme.valid_key(&u.token.token().key_id, now_u64(now))?;
        let index = builder.token(&u.token, key, &pc.disclose);
        for (position, predicate) in &pc.predicates {
            builder.predicate(index, *position, predicate.clone());
        }
        shown.push((u.credential, u.token_index));
    }
    if let Some(scope) = &plan.pseudonym_scope {
        builder.pseudonym(scope.clone());
    }
    let presentation = builder.prove(&mut OsRng)?;

    let disclosed = chosen_attributes(&view, &choice);
    let mut entry = LogEntry {
        at: now,
        kind: match (asked.kind, transport.is_some()) {
            (SessionKind::Signing, _) => LogKind::Signature,
            (_, true) => LogKind::Disclosure,
            (_, false) => LogKind::OfflineDisclosure,
        },
        party: Some(asked.verifier.to_string()),
        host: host.clone(),
        attributes: disclosed
            .iter()
            .map(|a| LoggedAttribute {
                id: a.id.clone(),
                value: a.value.clone(),
            })
            .collect(),
        predicates: candidates
            .predicates
            .iter()
            .map(|p| LoggedPredicate {
                attribute: p.request.attribute.to_string(),
                predicate: p.predicate.clone(),
            })
            .collect(),
        pseudonym_scope: plan.pseudonym_scope.as_ref().map(|s| s.to_string()),
        message: asked.request.message().map(str::to_owned),
        outcome: None,
    };

    // Used before sent: the save below must reach the disk first.
    for (ci, ti) in &shown {
        if let Some(t) = wallet
            .contents
            .credentials
            .get_mut(*ci)
            .and_then(|c| c.tokens.get_mut(*ti))
        {
            t.used = true;
        }
    }
    let Some((client, url)) = transport else {
        // Offline: the QR code is shown right after this save.
        entry.outcome = Some("SHOWN".into());
        wallet.contents.log.append(entry.clone());
        wallet.save()?;
        return Ok((
            SessionOutcome::Disclosed {
                kind: asked.kind,
                verifier: asked.verifier.to_string(),
                verifier_name: view.verifier_name.clone(),
                status: "SHOWN".into(),
                disclosed,
                predicates: view.predicates,
                pseudonym_scope: entry.pseudonym_scope,
                signature: None,
            },
            Some(presentation),
        ));
    };
    wallet.contents.pending.push(PendingState::Presentation {
        session: url.to_owned(),
        started_at: now,
        entry: entry.clone(),
    });
    wallet.save()?;

    let sent = client
        .post_wire_raw(
            &join(url, paths::PROOFS),
            &PresentationMessage::new(presentation.clone()),
        )
        .await;
    let status = match &sent {
        Ok(body) => verdict(body),
        Err(e) => format!("FAILED: {e}"),
    };
    entry.outcome = Some(status.clone());
    wallet.contents.pending.retain(|p| {
        !matches!(p, PendingState::Presentation { session, started_at, .. }
            if session == url && *started_at == now)
    });
    wallet.contents.log.append(entry.clone());
    wallet.save()?;
    sent?;

    let signature = match asked.kind {
        SessionKind::Signing => AttributeSignature::new(asked.context, presentation)
            .ok()
            .map(Box::new),
        _ => None,
    };
    Ok((
        SessionOutcome::Disclosed {
            kind: asked.kind,
            verifier: asked.verifier.to_string(),
            verifier_name: view.verifier_name.clone(),
            status,
            disclosed,
            predicates: view.predicates,
            pseudonym_scope: entry.pseudonym_scope,
            signature,
        },
        None,
    ))
}

fn chosen_attributes(view: &DisclosureView, choice: &Choice) -> Vec<AttributeLine> {
    view.disjunctions
        .iter()
        .zip(&choice.options)
        .filter_map(|(d, &pick)| d.options.get(pick))
        .flat_map(|o| o.attributes.iter().cloned())
        .collect()
}

fn missing_words(missing: &PlanError, asked: &Asked, scheme: &Scheme, lang: Lang) -> String {
    match missing {
        PlanError::Unsatisfiable(i) => asked
            .request
            .disclose()
            .get(*i)
            .map(|d| {
                d.iter()
                    .map(|conj| {
                        conj.iter()
                            .map(|a| attribute_label(scheme, &a.attribute, lang))
                            .collect::<Vec<_>>()
                            .join(" + ")
                    })
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .unwrap_or_else(|| missing.to_string()),
        PlanError::PredicateUnsatisfiable(a) => attribute_label(scheme, a, lang),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let p =
            parse_target(r#"{"u":"http://127.0.0.1:8701/session/w/abc","irmaqr":"disclosing"}"#)
                .unwrap();
        assert_eq!(p.url(), "http://127.0.0.1:8701/session/w/abc");
        assert_eq!(p.host(), "127.0.0.1");
        let u = parse_target(" https://verifier.example/s/1 \n").unwrap();
        assert_eq!(u, SessionTarget::Url("https://verifier.example/s/1".into()));
        assert!(parse_target("ftp://x").is_err());
        assert!(parse_target(r#"{"u":"javascript:1","irmaqr":"disclosing"}"#).is_err());
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("http://127.0.0.1:8700/irma/session/x"),
            "http://127.0.0.1:8700"
        );
        assert_eq!(origin("https://a.b"), "https://a.b");
        assert_eq!(
            issuer_base("https://gemeente.nl/issuer/wallet/session/abc"),
            "https://gemeente.nl/issuer"
        );
        assert_eq!(
            issuer_base("http://127.0.0.1:8700/x"),
            "http://127.0.0.1:8700"
        );
    }

    #[test]
    fn insecure_only_off_machine() {
        assert!(!is_insecure("http://127.0.0.1:8700/x", "127.0.0.1"));
        assert!(!is_insecure("http://localhost/x", "localhost"));
        assert!(!is_insecure("https://gemeente.nl/x", "gemeente.nl"));
        assert!(is_insecure("http://gemeente.nl/x", "gemeente.nl"));
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            verdict(br#"{"status":"DONE","proofStatus":"VALID"}"#),
            "VALID"
        );
        assert_eq!(
            verdict(br#"{"proofStatus":"EXPIRED","reason":"TOKEN_EXPIRED"}"#),
            "EXPIRED (TOKEN_EXPIRED)"
        );
        // Not a presentation answer: recorded as such, never as a verdict.
        assert!(verdict(br#"{"status":"DONE"}"#).starts_with("UNREADABLE"));
        assert!(verdict(b"\xa0").starts_with("UNREADABLE"));
    }

    #[test]
    fn predicates_in_words() {
        let on = time::macros::date!(2026 - 11 - 25);
        let p = Predicate::AgeAtLeast { years: 18, on };
        assert_eq!(
            predicate_words(&p, "Date of birth", Lang::En),
            "you are 18 or older (on 2026-11-25)"
        );
        assert_eq!(
            predicate_words(&p, "Geboortedatum", Lang::Nl),
            "u bent 18 jaar of ouder (op 2026-11-25)"
        );
        let p = Predicate::LessOrEqual(wallet_core::encoding::AttributeValue::Integer(50_000));
        assert_eq!(
            predicate_words(&p, "Income", Lang::En),
            "Income is at most 50000"
        );
    }
}
