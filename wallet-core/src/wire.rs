//! Wire messages of every protocol, versioned, canonical CBOR.
//!
//! Every message is a CBOR map whose first key `v` is [`WIRE_VERSION`];
//! every decoder goes through [`crate::cbor::from_cbor`] (canonical only, no
//! trailing bytes, points and scalars checked: Rule 4) and then refuses any
//! other version and any message whose parts are out of bounds. Whether a
//! reply has one entry per offered credential is checked against the offer
//! with `answers(&offer)`.
//!
//! ```text
//! Issuance (wallet ⇄ issuer), after the QR code's SessionPointer{irmaqr: issuing}:
//!   ◄── IssuanceOffer        issuer, credentials (values, TI, key counter), nonce, batch
//!   ──► HolderCommitment     hd, one HolderProof(nonce, key id) per credential (Rule 2)
//!   ◄── SignerCommitmentsMessage   one SignerCommitments per credential
//!   ──► ChallengesMessage          one IssuanceChallenges per credential
//!   ◄── ResponsesMessage           one IssuanceResponses per credential + record ids
//!
//! Refresh (wallet ⇄ issuer):
//!   ──► RefreshRequest       record id
//!   ◄── IssuanceOffer        current values, fresh nonce
//!   ──► RefreshProof         record id, HolderProof for the record's hd
//!   ... then as issuance from SignerCommitmentsMessage on
//!
//! Disclosure / signing (wallet ⇄ verifier), after SessionPointer{disclosing|signing}:
//!   ◄── DisclosureRequestMessage | SigningRequestMessage   verifier id, request, nonce (+ timestamp)
//!   ──► PresentationMessage                                presentation for that context
//! ```
//!
//! The QR code carries a [`SessionPointer`] in JSON: `{"u": url, "irmaqr": kind}`.
//!
//! The requestor APIs of both services share [`SessionStatus`],
//! [`RequestorToken`] and [`SessionId`]; the verifier answers a posted
//! presentation with a [`PresentationAnswer`]. With the `openapi` feature
//! these derive `utoipa::ToSchema` for the services' OpenAPI documents.

mod answer;
mod session;

pub use answer::{AnswerError, PresentationAnswer, MAX_ANSWER_BYTES};
pub use session::{MalformedSessionHandle, RequestorToken, SessionId, SessionStatus};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cbor::{self, check_version, DecodeError};
use crate::encoding::AttributeValue;
use crate::holder::{HolderProof, HolderPublicKey};
use crate::ids::{CredentialTypeId, IssuerId, VerifierId};
use crate::issuance::{
    IssuanceChallenges, IssuanceResponses, SignerCommitments, DEFAULT_BATCH, MAX_BATCH,
};
use crate::keys::IssuerPublicKey;
use crate::presentation::{ChallengeContext, Presentation};
use crate::request::{SessionKind, SessionRequest};
use crate::scheme::{KeyLookupError, VerifiedScheme};
use crate::token::{TokenInfo, TokenInfoError, TokenPolicyError};

/// Version of every wire message defined here.
pub const WIRE_VERSION: u16 = 2;
/// At most this many credentials in one issuance session.
pub const MAX_OFFERED_CREDENTIALS: usize = 16;
/// Longest session pointer URL.
pub const MAX_POINTER_URL: usize = 2048;

/// A versioned wire message: canonical CBOR both ways.
pub trait WireMessage: Serialize + DeserializeOwned {
    /// The version field of this value.
    fn version(&self) -> u16;

    /// Checks the parts of a decoded message agree with each other.
    fn check(&self) -> Result<(), DecodeError> {
        Ok(())
    }

    /// Canonical CBOR.
    fn to_bytes(&self) -> Vec<u8> {
        cbor::to_cbor(self)
    }

    /// Checks the undecoded bytes before decoding (a message that carries
    /// a presentation counts its parts first, Rule 11: decoding
    /// decompresses points).
    fn check_bytes(_bytes: &[u8]) -> Result<(), DecodeError>
    where
        Self: Sized,
    {
        Ok(())
    }

    /// Decodes canonical CBOR, refusing other versions and inconsistent
    /// messages.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError>
    where
        Self: Sized,
    {
        Self::check_bytes(bytes)?;
        let m: Self = cbor::from_cbor(bytes)?;
        check_version(m.version(), WIRE_VERSION)?;
        m.check()?;
        Ok(m)
    }
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl WireMessage for $t {
            fn version(&self) -> u16 {
                self.v
            }
            fn check(&self) -> Result<(), DecodeError> {
                self.check_parts()
            }
        }
    )*};
}

/// A 32-byte session nonce (fresh from the OS per session, never reused).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Nonce(#[serde(with = "cbor::bytes32")] pub [u8; 32]);

impl Nonce {
    /// A fresh nonce from `rng` (the OS generator in services).
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        let mut n = [0u8; 32];
        rng.fill_bytes(&mut n);
        Nonce(n)
    }
}

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Nonce({})", hex::encode(self.0))
    }
}

/// The issuer's identifier of a credential record (the resident's entry in
/// its register, used for refresh): 1-64 characters of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordId(String);

/// Why a record id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record id must be 1-64 characters of A-Z a-z 0-9 _ -")]
pub struct RecordIdError;

impl TryFrom<String> for RecordId {
    type Error = RecordIdError;
    fn try_from(s: String) -> Result<Self, RecordIdError> {
        if !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Ok(RecordId(s))
        } else {
            Err(RecordIdError)
        }
    }
}

impl std::str::FromStr for RecordId {
    type Err = RecordIdError;
    fn from_str(s: &str) -> Result<Self, RecordIdError> {
        RecordId::try_from(s.to_owned())
    }
}

impl From<RecordId> for String {
    fn from(r: RecordId) -> String {
        r.0
    }
}

impl RecordId {
    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

// ---------------------------------------------------------------------------
// Issuance and refresh

/// One credential offered in an issuance session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferedCredential {
    /// Token information (credential type, key counter, expiry).
    pub token_info: TokenInfo,
    /// The attribute values, in the credential type's order.
    pub attributes: Vec<AttributeValue>,
    /// The issuer's record id for later refresh.
    pub record: RecordId,
}

/// Why the wallet refuses an offered credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("credential type {0} is not in the pinned scheme")]
    UnknownCredentialType(CredentialTypeId),
    #[error("credential type {0} is not issued by {1}")]
    WrongIssuer(CredentialTypeId, IssuerId),
    #[error("no issuer key for {0} with counter {1} in the pinned scheme")]
    UnknownKey(CredentialTypeId, u32),
    #[error(transparent)]
    Key(#[from] KeyLookupError),
    #[error("expected {expected} attribute values, got {found}")]
    AttributeCount { expected: usize, found: usize },
    #[error("attribute {position} does not fit its kind: {error}")]
    AttributeValue {
        position: usize,
        error: crate::encoding::ValueError,
    },
    #[error("required attribute {0} is absent")]
    MissingAttribute(crate::ids::AttributeId),
    #[error("token information refused: {0}")]
    TokenInfo(#[from] TokenInfoError),
    #[error("credential type {0} in the pinned scheme: {1}")]
    TokenPolicy(CredentialTypeId, TokenPolicyError),
}

impl OfferedCredential {
    /// The wallet's checks before consent (Rule 8): the credential type is
    /// in the pinned scheme and issued by `issuer`, the key is there and
    /// valid at `now`, the values fit the kinds (required ones present),
    /// and the token information is the one the scheme gives: the type's
    /// current key and the expiry its token policy derives from `now`
    /// ([`TokenInfo::check_for_wallet`]). Returns the issuer key.
    pub fn check<'a>(
        &self,
        issuer: &IssuerId,
        scheme: &'a VerifiedScheme,
        now: u64,
    ) -> Result<&'a IssuerPublicKey, OfferError> {
        let ct_id = &self.token_info.credential_type;
        let ct = scheme
            .credential_type(ct_id)
            .ok_or_else(|| OfferError::UnknownCredentialType(ct_id.clone()))?;
        if &ct_id.issuer() != issuer {
            return Err(OfferError::WrongIssuer(ct_id.clone(), issuer.clone()));
        }
        let key = scheme
            .issuer_key_by_counter(ct_id, self.token_info.key_counter)
            .ok_or_else(|| OfferError::UnknownKey(ct_id.clone(), self.token_info.key_counter))?;
        let key = scheme.valid_key(&key.key_id(), now)?;
        if self.attributes.len() != ct.attributes.len() {
            return Err(OfferError::AttributeCount {
                expected: ct.attributes.len(),
                found: self.attributes.len(),
            });
        }
        for (position, (value, def)) in self.attributes.iter().zip(&ct.attributes).enumerate() {
            value
                .check(def.kind)
                .map_err(|error| OfferError::AttributeValue { position, error })?;
            if !def.optional && *value == AttributeValue::Absent {
                return Err(OfferError::MissingAttribute(def.id.clone()));
            }
        }
        let policy = ct
            .token_policy()
            .map_err(|e| OfferError::TokenPolicy(ct_id.clone(), e))?;
        // `key` is valid at `now`, so the type has a current key.
        let current = scheme.current_issuer_key(ct_id, now).unwrap_or(key);
        self.token_info.check_for_wallet(&policy, current, now)?;
        Ok(key)
    }
}

/// Issuer → wallet: what will be issued, shown to the resident for consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuanceOffer {
    v: u16,
    /// The issuer.
    pub issuer: IssuerId,
    /// The credentials.
    pub credentials: Vec<OfferedCredential>,
    /// Session nonce the holder proofs bind to.
    pub nonce: Nonce,
    /// Tokens per credential.
    pub batch: u16,
}

impl IssuanceOffer {
    /// An offer; `batch` 0 means [`DEFAULT_BATCH`].
    pub fn new(
        issuer: IssuerId,
        credentials: Vec<OfferedCredential>,
        nonce: Nonce,
        batch: u16,
    ) -> Self {
        let batch = if batch == 0 {
            u16::try_from(DEFAULT_BATCH).unwrap_or(20)
        } else {
            batch
        };
        IssuanceOffer {
            v: WIRE_VERSION,
            issuer,
            credentials,
            nonce,
            batch,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        if self.credentials.is_empty() || self.credentials.len() > MAX_OFFERED_CREDENTIALS {
            return Err(DecodeError::Invalid("offer must hold 1 to 16 credentials"));
        }
        if self.batch == 0 || usize::from(self.batch) > MAX_BATCH {
            return Err(DecodeError::Invalid("batch size out of range"));
        }
        Ok(())
    }
}

/// Wallet → issuer: the holder public key and, per offered credential (in
/// offer order), a proof of possession bound to the nonce and that
/// credential's issuer key id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderCommitment {
    v: u16,
    /// `hd`.
    pub holder: HolderPublicKey,
    /// One proof per offered credential.
    pub proofs: Vec<HolderProof>,
}

impl HolderCommitment {
    /// A commitment.
    pub fn new(holder: HolderPublicKey, proofs: Vec<HolderProof>) -> Self {
        HolderCommitment {
            v: WIRE_VERSION,
            holder,
            proofs,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        if self.proofs.is_empty() || self.proofs.len() > MAX_OFFERED_CREDENTIALS {
            return Err(DecodeError::Invalid(
                "holder commitment must hold 1 to 16 proofs",
            ));
        }
        Ok(())
    }
}

/// Issuer → wallet: signer commitments, one per offered credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerCommitmentsMessage {
    v: u16,
    /// In offer order.
    pub commitments: Vec<SignerCommitments>,
}

impl SignerCommitmentsMessage {
    /// A message.
    pub fn new(commitments: Vec<SignerCommitments>) -> Self {
        SignerCommitmentsMessage {
            v: WIRE_VERSION,
            commitments,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        bounded(
            self.commitments.len(),
            "1 to 16 signer commitments, one per credential",
        )
    }
}

/// Wallet → issuer: blinded challenges, one set per offered credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengesMessage {
    v: u16,
    /// In offer order.
    pub challenges: Vec<IssuanceChallenges>,
}

impl ChallengesMessage {
    /// A message.
    pub fn new(challenges: Vec<IssuanceChallenges>) -> Self {
        ChallengesMessage {
            v: WIRE_VERSION,
            challenges,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        bounded(
            self.challenges.len(),
            "1 to 16 challenge sets, one per credential",
        )
    }
}

/// Issuer → wallet: responses, one set per offered credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsesMessage {
    v: u16,
    /// In offer order.
    pub responses: Vec<IssuanceResponses>,
}

impl ResponsesMessage {
    /// A message.
    pub fn new(responses: Vec<IssuanceResponses>) -> Self {
        ResponsesMessage {
            v: WIRE_VERSION,
            responses,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        bounded(
            self.responses.len(),
            "1 to 16 response sets, one per credential",
        )
    }
}

fn bounded(n: usize, why: &'static str) -> Result<(), DecodeError> {
    if n == 0 || n > MAX_OFFERED_CREDENTIALS {
        Err(DecodeError::Invalid(why))
    } else {
        Ok(())
    }
}

/// Wallet → issuer: asks to refresh the credential of this record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    v: u16,
    /// The record.
    pub record: RecordId,
}

impl RefreshRequest {
    /// A request.
    pub fn new(record: RecordId) -> Self {
        RefreshRequest {
            v: WIRE_VERSION,
            record,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// Wallet → issuer: proof of possession of `xd` for the record's stored
/// `hd`, bound to the refresh offer's nonce and issuer key id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshProof {
    v: u16,
    /// The record.
    pub record: RecordId,
    /// The proof.
    pub proof: HolderProof,
}

impl RefreshProof {
    /// A proof message.
    pub fn new(record: RecordId, proof: HolderProof) -> Self {
        RefreshProof {
            v: WIRE_VERSION,
            record,
            proof,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Disclosure and signing

/// Verifier → wallet: a disclosure request for this verifier and nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRequestMessage {
    v: u16,
    /// The verifier, as registered in the scheme (bound into the proof).
    pub verifier: VerifierId,
    /// What is asked.
    pub request: SessionRequest,
    /// Fresh per session.
    pub nonce: Nonce,
}

impl DisclosureRequestMessage {
    /// A message for a disclosure request.
    pub fn new(verifier: VerifierId, request: SessionRequest, nonce: Nonce) -> Self {
        DisclosureRequestMessage {
            v: WIRE_VERSION,
            verifier,
            request,
            nonce,
        }
    }

    /// The challenge context both sides use.
    pub fn context(&self) -> ChallengeContext {
        // A disclosure request carries no message (`check_parts`).
        self.request
            .challenge_context(&self.verifier, &self.nonce.0, None)
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        if self.request.kind() != SessionKind::Disclosing {
            return Err(DecodeError::Invalid("not a disclosure request"));
        }
        Ok(())
    }
}

/// Verifier → wallet: a signature request: the message (in the request)
/// and the verifier's timestamp, both bound into the challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningRequestMessage {
    v: u16,
    /// The verifier.
    pub verifier: VerifierId,
    /// What is asked, with the message to sign.
    pub request: SessionRequest,
    /// Fresh per session.
    pub nonce: Nonce,
    /// Unix seconds, fixed by the verifier when the session started.
    pub timestamp: u64,
}

impl SigningRequestMessage {
    /// A message for a signature request.
    pub fn new(
        verifier: VerifierId,
        request: SessionRequest,
        nonce: Nonce,
        timestamp: u64,
    ) -> Self {
        SigningRequestMessage {
            v: WIRE_VERSION,
            verifier,
            request,
            nonce,
            timestamp,
        }
    }

    /// The challenge context both sides use.
    pub fn context(&self) -> ChallengeContext {
        self.request
            .challenge_context(&self.verifier, &self.nonce.0, Some(self.timestamp))
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        if self.request.kind() != SessionKind::Signing {
            return Err(DecodeError::Invalid("not a signature request"));
        }
        Ok(())
    }
}

/// Wallet → verifier: the presentation (disclosure or signature).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresentationMessage {
    v: u16,
    /// The presentation.
    pub presentation: Presentation,
}

impl PresentationMessage {
    /// A message.
    pub fn new(presentation: Presentation) -> Self {
        PresentationMessage {
            v: WIRE_VERSION,
            presentation,
        }
    }

    fn check_parts(&self) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// A reply does not have one entry per offered credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} entries, one per offered credential, got {found}")]
pub struct CountMismatch {
    /// Credentials in the offer.
    pub expected: usize,
    /// Entries in the reply.
    pub found: usize,
}

macro_rules! per_credential {
    ($($t:ty => $field:ident),*) => {$(
        impl $t {
            /// Checks there is one entry per credential of `offer`.
            pub fn answers(&self, offer: &IssuanceOffer) -> Result<(), CountMismatch> {
                if self.$field.len() == offer.credentials.len() {
                    Ok(())
                } else {
                    Err(CountMismatch {
                        expected: offer.credentials.len(),
                        found: self.$field.len(),
                    })
                }
            }
        }
    )*};
}

per_credential!(
    HolderCommitment => proofs,
    SignerCommitmentsMessage => commitments,
    ChallengesMessage => challenges,
    ResponsesMessage => responses
);

versioned!(
    IssuanceOffer,
    HolderCommitment,
    SignerCommitmentsMessage,
    ChallengesMessage,
    ResponsesMessage,
    RefreshRequest,
    RefreshProof,
    DisclosureRequestMessage,
    SigningRequestMessage
);

impl WireMessage for PresentationMessage {
    fn version(&self) -> u16 {
        self.v
    }
    fn check(&self) -> Result<(), DecodeError> {
        self.check_parts()
    }
    /// At most the protocol maxima of every part (a verifier with a request
    /// counts against the request first: [`crate::presentation::Expected`]).
    fn check_bytes(bytes: &[u8]) -> Result<(), DecodeError> {
        use crate::presentation::{Expected, ReadError};
        match Expected::protocol_limits().check_field_bytes(bytes, "presentation") {
            Ok(_) => Ok(()),
            Err(ReadError::Decode(e)) => Err(e),
            Err(ReadError::Unrequested(_)) => Err(DecodeError::Invalid(
                "presentation: more parts than the protocol allows",
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// Session pointer

/// What the QR code (or link) holds: where the session is and what kind.
/// JSON `{"u": "https://...", "irmaqr": "disclosing"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, try_from = "RawPointer")]
pub struct SessionPointer {
    /// The session URL (the wallet endpoints are below it).
    pub u: String,
    /// The session kind: `"disclosing"`, `"signing"` or `"issuing"`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub irmaqr: SessionKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPointer {
    u: String,
    irmaqr: SessionKind,
}

/// Why a session pointer was refused.
#[derive(Debug, thiserror::Error)]
pub enum PointerError {
    #[error("invalid session pointer: {0}")]
    Json(#[from] serde_json::Error),
    #[error("session URL must start with https:// or http:// and be at most {MAX_POINTER_URL} bytes without spaces")]
    Url,
}

impl TryFrom<RawPointer> for SessionPointer {
    type Error = String;
    fn try_from(raw: RawPointer) -> Result<Self, String> {
        SessionPointer::new(raw.u, raw.irmaqr).map_err(|e| e.to_string())
    }
}

impl SessionPointer {
    /// A pointer; the URL must be `http(s)://`, printable ASCII without
    /// spaces, at most [`MAX_POINTER_URL`] bytes. (Plain `http` is allowed
    /// for local demos; the wallet decides whether to accept it.)
    pub fn new(u: String, irmaqr: SessionKind) -> Result<Self, PointerError> {
        let scheme_ok = u.starts_with("https://") || u.starts_with("http://");
        let rest_ok = u.len() <= MAX_POINTER_URL && u.bytes().all(|b| b.is_ascii_graphic());
        if !scheme_ok || !rest_ok || u.ends_with("://") {
            return Err(PointerError::Url);
        }
        Ok(SessionPointer { u, irmaqr })
    }

    /// Parses the QR code's JSON.
    pub fn from_json(text: &str) -> Result<Self, PointerError> {
        Ok(serde_json::from_str(text)?)
    }

    /// The QR code's JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The session's id in the wallet API: the URL's last path segment, if
    /// it is a well-formed [`SessionId`].
    pub fn session_id(&self) -> Option<SessionId> {
        let path = self.u.split(['?', '#']).next().unwrap_or("");
        path.trim_end_matches('/').rsplit('/').next()?.parse().ok()
    }

    /// The host of the URL (for the check against the verifier's registered
    /// host names), without port or user info.
    pub fn host(&self) -> &str {
        let after = self.u.split_once("://").map_or("", |(_, rest)| rest);
        let authority = after.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = authority.rsplit('@').next().unwrap_or("");
        if let Some(v6) = host_port.strip_prefix('[') {
            return v6.split(']').next().unwrap_or("");
        }
        host_port.split(':').next().unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::AttributeRequest;

    fn request(kind: SessionKind) -> SessionRequest {
        let b = SessionRequest::builder(kind).disjunction(vec![vec![AttributeRequest::new(
            "demo.utrecht.address.city".parse().unwrap(),
        )]]);
        match kind {
            SessionKind::Signing => b.message("Ik maak bezwaar tegen vergunning 2026-114"),
            _ => b,
        }
        .build()
        .unwrap()
    }

    #[test]
    fn refresh_messages_round_trip_and_refuse_other_versions() {
        let m = RefreshRequest::new("rec-0001".parse().unwrap());
        let bytes = m.to_bytes();
        assert_eq!(RefreshRequest::from_bytes(&bytes).unwrap(), m);
        let mut future = m.clone();
        future.v = WIRE_VERSION + 1;
        assert_eq!(
            RefreshRequest::from_bytes(&future.to_bytes()).unwrap_err(),
            DecodeError::UnknownVersion(u64::from(WIRE_VERSION) + 1)
        );
        let mut long = bytes.clone();
        long.push(0xf6);
        assert_eq!(
            RefreshRequest::from_bytes(&long).unwrap_err(),
            DecodeError::TrailingBytes
        );
        for n in 0..bytes.len() {
            assert!(RefreshRequest::from_bytes(&bytes[..n]).is_err());
        }
        // Another message's bytes are not this message.
        let other = DisclosureRequestMessage::new(
            "demo.parking".parse().unwrap(),
            request(SessionKind::Disclosing),
            Nonce([7; 32]),
        );
        assert!(RefreshRequest::from_bytes(&other.to_bytes()).is_err());
    }

    #[test]
    fn offers_are_bounded_and_replies_counted() {
        let credential = OfferedCredential {
            token_info: TokenInfo::new(
                "demo.rdw.vehicle".parse().unwrap(),
                1,
                1_795_000_000,
                86_400,
            ),
            attributes: vec![AttributeValue::String("XX-123-Y".into())],
            record: "r1".parse().unwrap(),
        };
        let offer = IssuanceOffer::new(
            "demo.rdw".parse().unwrap(),
            vec![credential.clone(), credential],
            Nonce([3; 32]),
            0,
        );
        assert_eq!(usize::from(offer.batch), DEFAULT_BATCH);
        assert_eq!(IssuanceOffer::from_bytes(&offer.to_bytes()).unwrap(), offer);
        let mut huge = offer.clone();
        huge.batch = 1000;
        assert!(matches!(
            IssuanceOffer::from_bytes(&huge.to_bytes()),
            Err(DecodeError::Invalid(_))
        ));
        let mut empty = offer.clone();
        empty.credentials.clear();
        assert!(matches!(
            IssuanceOffer::from_bytes(&empty.to_bytes()),
            Err(DecodeError::Invalid(_))
        ));

        let holder = crate::holder::HolderSecret::from_seed(&[5; 32]);
        let proof = holder.prove_possession(
            &mut rand_core::OsRng,
            &offer.nonce.0,
            &crate::keys::KeyId([1; 32]),
        );
        let one = HolderCommitment::new(holder.public(), vec![proof.clone()]);
        let one = HolderCommitment::from_bytes(&one.to_bytes()).unwrap();
        assert_eq!(
            one.answers(&offer),
            Err(CountMismatch {
                expected: 2,
                found: 1
            })
        );
        let two = HolderCommitment::new(holder.public(), vec![proof.clone(), proof]);
        assert_eq!(two.answers(&offer), Ok(()));
        let none = HolderCommitment::new(holder.public(), vec![]);
        assert!(HolderCommitment::from_bytes(&none.to_bytes()).is_err());
    }

    #[test]
    fn record_ids_are_checked() {
        assert!("550e8400-e29b-41d4-a716-446655440000"
            .parse::<RecordId>()
            .is_ok());
        assert!("".parse::<RecordId>().is_err());
        assert!("a/b".parse::<RecordId>().is_err());
        assert!("x".repeat(65).parse::<RecordId>().is_err());
        let bad = crate::cbor::to_cbor(&serde_json::json!({"v": 2, "record": "a b"}));
        assert!(matches!(
            RefreshRequest::from_bytes(&bad),
            Err(DecodeError::Syntax(_))
        ));
    }

    /// Wire version 2 (protocol v2): a version 1 message is refused, not
    /// read (no version 1 deployment exists).
    #[test]
    fn version_1_messages_are_refused() {
        let mut m = RefreshRequest::new("rec-0001".parse().unwrap());
        assert_eq!(m.v, 2);
        m.v = 1;
        assert_eq!(
            RefreshRequest::from_bytes(&m.to_bytes()).unwrap_err(),
            DecodeError::UnknownVersion(1)
        );
    }

    #[test]
    fn session_requests_carry_their_context() {
        let verifier: VerifierId = "demo.parking".parse().unwrap();
        let d = DisclosureRequestMessage::new(
            verifier.clone(),
            request(SessionKind::Disclosing),
            Nonce([1; 32]),
        );
        let back = DisclosureRequestMessage::from_bytes(&d.to_bytes()).unwrap();
        assert_eq!(back, d);
        let ctx = back.context();
        assert_eq!(ctx.verifier, "demo.parking");
        assert_eq!(ctx.request_digest, d.request.request_digest());
        assert_eq!(ctx.message, None);

        let s = SigningRequestMessage::new(
            verifier.clone(),
            request(SessionKind::Signing),
            Nonce([2; 32]),
            1_795_000_000,
        );
        let back = SigningRequestMessage::from_bytes(&s.to_bytes()).unwrap();
        let ctx = back.context();
        assert_eq!(
            ctx.message.as_deref(),
            Some("Ik maak bezwaar tegen vergunning 2026-114")
        );
        assert_eq!(ctx.timestamp, Some(1_795_000_000));

        // A signature request dressed as a disclosure request is refused.
        let wrong =
            DisclosureRequestMessage::new(verifier, request(SessionKind::Signing), Nonce([1; 32]));
        assert_eq!(
            DisclosureRequestMessage::from_bytes(&wrong.to_bytes()).unwrap_err(),
            DecodeError::Invalid("not a disclosure request")
        );
    }

    #[test]
    fn session_pointer_names_its_session_id() {
        let id = "0123456789abcdef0123456789abcdef";
        for u in [
            format!("https://issuer.example/wallet/session/{id}"),
            format!("https://issuer.example/wallet/session/{id}/"),
            format!("http://127.0.0.1:8701/wallet/{id}?lang=nl"),
        ] {
            let p = SessionPointer::new(u.clone(), SessionKind::Issuing).unwrap();
            assert_eq!(p.session_id().map(String::from), Some(id.to_owned()), "{u}");
        }
        let short = SessionPointer::new(
            "https://v.example/wallet/abc".into(),
            SessionKind::Disclosing,
        )
        .unwrap();
        assert_eq!(short.session_id(), None);
    }

    #[test]
    fn session_pointer_json() {
        let p = SessionPointer::from_json(
            r#"{"u": "https://parking.demo.kenmerk.test:8443/session/abc", "irmaqr": "disclosing"}"#,
        )
        .unwrap();
        assert_eq!(p.irmaqr, SessionKind::Disclosing);
        assert_eq!(p.host(), "parking.demo.kenmerk.test");
        assert_eq!(SessionPointer::from_json(&p.to_json()).unwrap(), p);
        assert_eq!(
            p.to_json(),
            r#"{"u":"https://parking.demo.kenmerk.test:8443/session/abc","irmaqr":"disclosing"}"#
        );
        let v6 = SessionPointer::new("http://[::1]:80/s".into(), SessionKind::Issuing).unwrap();
        assert_eq!(v6.host(), "::1");
        for bad in [
            r#"{"u": "ftp://x/s", "irmaqr": "disclosing"}"#,
            r#"{"u": "https://x/s t", "irmaqr": "disclosing"}"#,
            r#"{"u": "https://x/s", "irmaqr": "voting"}"#,
            r#"{"u": "https://x/s"}"#,
            r#"{"u": "https://x/s", "irmaqr": "signing", "extra": 1}"#,
            "not json",
        ] {
            let e = SessionPointer::from_json(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid session pointer"), "{bad}: {e}");
        }
    }
}
