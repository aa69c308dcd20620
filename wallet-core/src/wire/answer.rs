//! The verifier's answer to a posted presentation, as the wallet reads it.
//!
//! `POST /wallet/{token}/presentation` answers JSON
//! `{"proofStatus": "VALID", "reason"?: "TOKEN_EXPIRED"}`: IRMA's proof
//! status and, unless valid, the precise [`Reason`]. The wallet records the
//! status in its disclosure log; it learns nothing else about the result.

use serde::{Deserialize, Deserializer, Serialize};

use crate::matching::{ProofStatus, Reason};

/// What the wallet learns about its presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PresentationAnswer {
    /// IRMA's proof status.
    pub proof_status: ProofStatus,
    /// Why not valid.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_reason"
    )]
    pub reason: Option<Reason>,
}

/// Largest answer body a wallet reads.
pub const MAX_ANSWER_BYTES: usize = 4096;

/// Why a presentation answer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Larger than [`MAX_ANSWER_BYTES`].
    #[error("the verifier's answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    /// Not the JSON of a [`PresentationAnswer`].
    #[error("the verifier's answer is not a presentation answer: {0}")]
    Json(#[from] serde_json::Error),
}

impl PresentationAnswer {
    /// Reads the verifier's JSON answer.
    pub fn from_json(body: &[u8]) -> Result<Self, AnswerError> {
        if body.len() > MAX_ANSWER_BYTES {
            return Err(AnswerError::TooLarge);
        }
        Ok(serde_json::from_slice(body)?)
    }

    /// Whether the presentation was valid and answered the request.
    pub fn is_valid(&self) -> bool {
        self.proof_status == ProofStatus::Valid && self.reason.is_none()
    }
}

/// A reason this wallet does not know (from a newer verifier) is read as
/// absent: the proof status still tells the resident the outcome.
fn lenient_reason<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Reason>, D::Error> {
    let raw = Option::<String>::deserialize(d)?;
    Ok(raw.and_then(|s| serde_json::from_value(serde_json::Value::String(s)).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let valid = PresentationAnswer {
            proof_status: ProofStatus::Valid,
            reason: None,
        };
        assert_eq!(
            serde_json::to_string(&valid).unwrap(),
            r#"{"proofStatus":"VALID"}"#
        );
        let expired = PresentationAnswer {
            proof_status: ProofStatus::Expired,
            reason: Some(Reason::TokenExpired),
        };
        let json = serde_json::to_string(&expired).unwrap();
        assert_eq!(
            json,
            r#"{"proofStatus":"EXPIRED","reason":"TOKEN_EXPIRED"}"#
        );
        assert_eq!(
            PresentationAnswer::from_json(json.as_bytes()).unwrap(),
            expired
        );
        assert!(valid.is_valid());
        assert!(!expired.is_valid());
    }

    #[test]
    fn unknown_reason_is_absent_unknown_status_is_refused() {
        let a = PresentationAnswer::from_json(
            br#"{"proofStatus":"INVALID","reason":"FROM_THE_FUTURE"}"#,
        )
        .unwrap();
        assert_eq!(a.proof_status, ProofStatus::Invalid);
        assert_eq!(a.reason, None);
        assert!(PresentationAnswer::from_json(br#"{"proofStatus":"MAYBE"}"#).is_err());
        assert!(PresentationAnswer::from_json(b"not json").is_err());
        assert!(matches!(
            PresentationAnswer::from_json(&vec![b' '; MAX_ANSWER_BYTES + 1]),
            Err(AnswerError::TooLarge)
        ));
    }
}
