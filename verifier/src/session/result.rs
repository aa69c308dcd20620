//! What a session ends with, in two types that cannot be mistaken for each
//! other:
//!
//! - [`SessionResult`]: a result this process just made from a presentation
//!   that [`crate::verify`] checked and found bound to the session. Only the
//!   session manager makes one (private fields, no `Deserialize`); it is
//!   what `POST /wallet/{token}/presentation` and the offline answer return.
//! - [`StoredResult`]: a result as the store keeps it and as a requestor
//!   fetches it back (`GET /session/{token}/result`, the page summary, the
//!   result JWT). It deserialises, so it proves nothing by itself: it is a
//!   record, read from wherever it was kept.
//!
//! Both serialise to the same JSON (the requestor API's result), so a
//! requestor cannot tell them apart on the wire; in Rust only the first one
//! is evidence.
//!
//! A verified result cannot be built outside this crate, even from a real
//! [`Verification`] (each block below fails to compile for the one reason
//! its comment gives; the last block shows the surrounding code compiles):
//!
//! ```compile_fail,E0451
//! // Private fields: no struct expression outside the verifier.
//! fn forge(verification: verifier::Verification) -> verifier::SessionResult {
//!     verifier::SessionResult {
//!         status: verifier::SessionStatus::Done,
//!         kind: wallet_core::request::SessionKind::Disclosing,
//!         verifier: "demo.parking".parse::<wallet_core::ids::VerifierId>().unwrap(),
//!         verification,
//!         signature: None,
//!         timestamp_signature: None,
//!     }
//! }
//! ```
//!
//! ```compile_fail,E0277
//! // No `Deserialize`: bytes someone hands in do not become a verified result.
//! let forged: Result<verifier::SessionResult, _> =
//!     serde_json::from_str(r#"{"status":"DONE","type":"disclosing"}"#);
//! ```
//!
//! and neither can its verification part:
//!
//! ```compile_fail,E0451
//! // Private fields.
//! fn forge(result: wallet_core::matching::PresentationResult) -> verifier::Verification {
//!     verifier::Verification { result, reason: None }
//! }
//! ```
//!
//! ```compile_fail,E0277
//! // No `Deserialize`.
//! let forged: Result<verifier::Verification, _> =
//!     serde_json::from_str(r#"{"proofStatus":"VALID","disclosed":[]}"#);
//! ```
//!
//! ```compile_fail,E0624
//! // Failure results are made by verification only (crate-private).
//! let failed = verifier::Verification::failed(verifier::Reason::Challenge, "no");
//! ```
//!
//! What deserialises is the stored record, and what a verified result
//! offers is there to read:
//!
//! ```
//! fn read(verified: &verifier::SessionResult) -> (bool, Option<verifier::Reason>) {
//!     (verified.is_valid(), verified.verification().reason())
//! }
//! fn keep(verified: &verifier::SessionResult) -> verifier::StoredResult {
//!     verified.to_stored()
//! }
//! let stored: verifier::StoredResult = serde_json::from_str(
//!     r#"{"status":"DONE","type":"disclosing","verifier":"demo.parking",
//!         "proofStatus":"VALID","disclosed":[]}"#,
//! )?;
//! assert!(stored.is_valid());
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};
use wallet_core::ids::VerifierId;
use wallet_core::matching::PresentationResult;
use wallet_core::request::SessionKind;
use wallet_core::wire::PresentationAnswer;

use crate::signature::SignedTimestamp;
use crate::store::SessionStatus;
use crate::verify::{Reason, Verification};

/// A session completed (DONE) by a presentation proven to be made for it.
/// Only the session manager makes one, from a bound
/// [`crate::verify::Checked`]; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionResult {
    status: SessionStatus,
    #[serde(rename = "type")]
    kind: SessionKind,
    verifier: VerifierId,
    #[serde(flatten)]
    verification: Verification,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    #[serde(rename = "timestampSignature", skip_serializing_if = "Option::is_none")]
    timestamp_signature: Option<SignedTimestamp>,
}

impl SessionResult {
    /// DONE with `verification`, which must come from a presentation bound
    /// to the session (the caller checked [`crate::verify::Checked::is_bound`]).
    pub(crate) fn done(
        kind: SessionKind,
        verifier: VerifierId,
        verification: Verification,
        signature: Option<String>,
        timestamp_signature: Option<SignedTimestamp>,
    ) -> Self {
        Self {
            status: SessionStatus::Done,
            kind,
            verifier,
            verification,
            signature,
            timestamp_signature,
        }
    }

    /// Always DONE: refused presentations do not make a result.
    pub fn status(&self) -> SessionStatus {
        self.status
    }
    /// `disclosing` or `signing`.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }
    /// The verifier identity the session ran under.
    pub fn verifier(&self) -> &VerifierId {
        &self.verifier
    }
    /// The verification of the presentation.
    pub fn verification(&self) -> &Verification {
        &self.verification
    }
    /// For signing sessions: the attribute-based signature, canonical CBOR
    /// in base64url.
    pub fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }
    /// For signing sessions: the verifier's signed timestamp.
    pub fn timestamp_signature(&self) -> Option<&SignedTimestamp> {
        self.timestamp_signature.as_ref()
    }
    /// Whether the presentation is valid and answers the request.
    pub fn is_valid(&self) -> bool {
        self.verification.is_valid()
    }

    /// What the wallet learns about its presentation (wallet-core's
    /// contract type): the proof status and, unless valid, the reason.
    pub fn answer(&self) -> PresentationAnswer {
        PresentationAnswer {
            proof_status: self.verification.result().proof_status,
            reason: self.verification.reason(),
        }
    }

    /// The record the store keeps of this result.
    pub fn to_stored(&self) -> StoredResult {
        StoredResult {
            status: self.status,
            kind: self.kind,
            verifier: self.verifier.clone(),
            outcome: Some(StoredOutcome {
                result: self.verification.result().clone(),
                reason: self.verification.reason(),
            }),
            signature: self.signature.clone(),
            timestamp_signature: self.timestamp_signature.clone(),
        }
    }
}

/// A session's result as kept by the store and fetched back by a requestor
/// (`GET /session/{token}/result`). It deserialises, so it is a record, not
/// evidence; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResult {
    status: SessionStatus,
    #[serde(rename = "type")]
    kind: SessionKind,
    verifier: VerifierId,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    outcome: Option<StoredOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
    #[serde(
        default,
        rename = "timestampSignature",
        skip_serializing_if = "Option::is_none"
    )]
    timestamp_signature: Option<SignedTimestamp>,
}

/// The verification part of a [`StoredResult`], as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOutcome {
    #[serde(flatten)]
    result: PresentationResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
}

impl StoredOutcome {
    /// wallet-core's result as recorded (`proofStatus`, disclosed
    /// attributes, predicates, pseudonym, message).
    pub fn result(&self) -> &PresentationResult {
        &self.result
    }
    /// Why it was not `VALID`, as recorded.
    pub fn reason(&self) -> Option<Reason> {
        self.reason
    }
    /// Whether the record says valid.
    pub fn is_valid(&self) -> bool {
        self.result.is_valid() && self.reason.is_none()
    }
}

impl StoredResult {
    /// A result without verification: the session is `status` (not yet
    /// final, or CANCELLED or TIMEOUT).
    pub(crate) fn without_outcome(
        status: SessionStatus,
        kind: SessionKind,
        verifier: VerifierId,
    ) -> Self {
        Self {
            status,
            kind,
            verifier,
            outcome: None,
            signature: None,
            timestamp_signature: None,
        }
    }

    /// FAILED after too many refused presentations, with the last
    /// refusal's reason.
    pub(crate) fn failed(
        kind: SessionKind,
        verifier: VerifierId,
        reason: Reason,
        error: String,
    ) -> Self {
        let failure = Verification::failed(reason, error);
        Self {
            outcome: Some(StoredOutcome {
                result: failure.result().clone(),
                reason: failure.reason(),
            }),
            ..Self::without_outcome(SessionStatus::Failed, kind, verifier)
        }
    }

    /// The status recorded.
    pub fn status(&self) -> SessionStatus {
        self.status
    }
    /// `disclosing` or `signing`.
    pub fn kind(&self) -> SessionKind {
        self.kind
    }
    /// The verifier identity.
    pub fn verifier(&self) -> &VerifierId {
        &self.verifier
    }
    /// The verification as recorded (DONE and FAILED sessions).
    pub fn outcome(&self) -> Option<&StoredOutcome> {
        self.outcome.as_ref()
    }
    /// For signing sessions: the attribute-based signature (base64url CBOR).
    pub fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }
    /// For signing sessions: the verifier's signed timestamp.
    pub fn timestamp_signature(&self) -> Option<&SignedTimestamp> {
        self.timestamp_signature.as_ref()
    }
    /// Whether the record says DONE with a valid presentation.
    pub fn is_valid(&self) -> bool {
        self.status == SessionStatus::Done && self.outcome.as_ref().is_some_and(|o| o.is_valid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::matching::ProofStatus;

    #[test]
    fn a_verified_result_and_its_record_serialise_alike() {
        let verified = SessionResult::done(
            SessionKind::Disclosing,
            "demo.parking".parse().unwrap(),
            Verification::failed(Reason::UnmatchedRequest, "no city"),
            None,
            None,
        );
        let json = serde_json::to_value(&verified).unwrap();
        assert_eq!(json["status"], "DONE");
        assert_eq!(json["proofStatus"], "UNMATCHED_REQUEST");
        assert_eq!(json["reason"], "UNMATCHED_REQUEST");
        let back: StoredResult = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, verified.to_stored());
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        // The store's encoding (CBOR) round-trips too.
        let mut bytes = Vec::new();
        ciborium::into_writer(&back, &mut bytes).unwrap();
        let again: StoredResult = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(again, back);
    }

    #[test]
    fn records_without_outcome_and_failures() {
        let cancelled = StoredResult::without_outcome(
            SessionStatus::Cancelled,
            SessionKind::Signing,
            "demo.parking".parse().unwrap(),
        );
        let json = serde_json::to_value(&cancelled).unwrap();
        assert!(json.get("proofStatus").is_none());
        let back: StoredResult = serde_json::from_value(json).unwrap();
        assert_eq!(back, cancelled);
        assert!(!back.is_valid());
        let failed = StoredResult::failed(
            SessionKind::Disclosing,
            "demo.parking".parse().unwrap(),
            Reason::TokenExpired,
            "3 refused".into(),
        );
        let outcome = failed.outcome().unwrap();
        assert_eq!(outcome.result().proof_status, ProofStatus::Expired);
        assert_eq!(outcome.reason(), Some(Reason::TokenExpired));
        assert!(!failed.is_valid());
    }
}
