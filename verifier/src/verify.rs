//! The pure verification call: scheme, session request, presentation,
//! verifier context and time in; a result out. No I/O, no clock, no state.
//!
//! It is wallet-core's [`presentation::verify()`] (is the proof sound, for this
//! context, with keys of this scheme, at this time?) followed by
//! [`matching::match_presentation`] (does it answer this request?), plus a
//! precise machine-readable [`Reason`] whenever the result is not `VALID`:
//! the `proofStatus` groups failures the way IRMA does (an expired token and
//! a rotated-out key are both `EXPIRED`), the reason keeps them apart.
//!
//! Revocation needs no separate check here: a revoked credential cannot be
//! refreshed, so its last tokens reach their expiry and then fail with
//! `TOKEN_EXPIRED` (latency at most one token validity period).
//!
//! Replay protection is *not* this function's job: it checks a presentation
//! against the context it is given. The session manager
//! ([`crate::session`]) gives each session a fresh nonce and completes it
//! once.

use serde::{Deserialize, Serialize};
use wallet_core::ids::VerifierId;
use wallet_core::matching::{self, PresentationResult, ProofStatus};
use wallet_core::presentation::{self, ChallengeContext, Expected, Presentation, ReadError};
use wallet_core::request::SessionRequest;
use wallet_core::scheme::VerifiedScheme;

// Why a result is not `VALID`: part of the contract with requestors and
// wallets, defined once in wallet-core.
pub use wallet_core::matching::Reason;

/// The outcome of [`verify`]: wallet-core's result (overall status,
/// per-attribute values and statuses, predicates, pseudonym, message) and,
/// unless `VALID`, the precise reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The result as the requestor sees it.
    #[serde(flatten)]
    pub result: PresentationResult,
    /// Why it is not `VALID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

impl Verification {
    /// Whether the presentation is valid and answers the request.
    pub fn is_valid(&self) -> bool {
        self.result.is_valid() && self.reason.is_none()
    }

    /// A failure result for `reason` with a human-readable `error`.
    pub fn failed(reason: Reason, error: impl Into<String>) -> Self {
        Self {
            result: PresentationResult {
                proof_status: reason.proof_status(),
                disclosed: Vec::new(),
                predicates: Vec::new(),
                pseudonym: None,
                message: None,
                timestamp: None,
                error: Some(error.into()),
            },
            reason: Some(reason),
        }
    }
}

/// Verify `presentation` as an answer to `request` from `verifier`, for
/// `context` (which must carry this verifier and this request's digest),
/// with the issuer keys of `scheme`, at `now` (Unix seconds). It may carry
/// no more than the request asks ([`Expected::for_request`], Rule 11).
///
/// ```
/// # use verifier::verify::{verify, Reason};
/// # fn demo(
/// #     scheme: &wallet_core::scheme::VerifiedScheme,
/// #     verifier: &wallet_core::ids::VerifierId,
/// #     request: &wallet_core::request::SessionRequest,
/// #     context: &wallet_core::presentation::ChallengeContext,
/// #     presentation: &wallet_core::presentation::Presentation,
/// #     now: u64,
/// # ) {
/// let outcome = verify(scheme, verifier, request, context, presentation, now);
/// if outcome.is_valid() {
///     let city = outcome.result.value_of(&"demo.utrecht.address.city".parse().unwrap());
///     println!("resident of {city:?}");
/// } else if outcome.reason == Some(Reason::TokenExpired) {
///     println!("ask the resident to refresh the credential");
/// }
/// # }
/// ```
pub fn verify(
    scheme: &VerifiedScheme,
    verifier: &VerifierId,
    request: &SessionRequest,
    context: &ChallengeContext,
    presentation: &Presentation,
    now: u64,
) -> Verification {
    verify_bound(scheme, verifier, request, context, presentation, now).verification
}

/// [`verify`]'s result and whether the presentation is proven to be bound
/// to `context` (made for this verifier, request digest and nonce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// What [`verify`] returns.
    pub verification: Verification,
    /// `true` only when wallet-core's verify succeeded as a whole: its
    /// challenge check, which binds the proof to the context, comes after
    /// the token, key, expiry and partition checks, so any failure before it
    /// proves nothing about which session the presentation was made for.
    /// (A range proof failing after the challenge is treated as unbound
    /// too: one rule, no guessing at wallet-core's order.) The session
    /// manager finishes a session only with a bound presentation.
    pub bound: bool,
}

/// [`verify`], saying whether the presentation is bound to `context`
/// ([`Checked::bound`]).
pub fn verify_bound(
    scheme: &VerifiedScheme,
    verifier: &VerifierId,
    request: &SessionRequest,
    context: &ChallengeContext,
    presentation: &Presentation,
    now: u64,
) -> Checked {
    let unbound = |verification| Checked {
        verification,
        bound: false,
    };
    if context.verifier != verifier.as_str() || context.request_digest != request.request_digest() {
        return unbound(Verification::failed(
            Reason::ContextMismatch,
            "the challenge context is not for this verifier and request",
        ));
    }
    if request.message().map(str::to_owned) != context.message {
        return unbound(Verification::failed(
            Reason::ContextMismatch,
            "the challenge context's message is not the request's",
        ));
    }
    let expected = Expected::for_request(request);
    match presentation::verify(presentation, &expected, context, scheme, now) {
        Ok(verified) => {
            let mut result = matching::match_presentation(&verified, request, scheme, verifier);
            if result.timestamp.is_none() {
                result.timestamp = context.timestamp;
            }
            let reason = match result.proof_status {
                ProofStatus::Valid => None,
                ProofStatus::UnmatchedRequest => Some(Reason::UnmatchedRequest),
                ProofStatus::MissingAttributes => Some(Reason::MissingAttributes),
                // After a sound proof, matching says INVALID only for a
                // disclosed position the scheme does not define.
                ProofStatus::Invalid => Some(Reason::NotInScheme),
                ProofStatus::Expired => Some(Reason::TokenExpired),
            };
            Checked {
                verification: Verification { result, reason },
                bound: true,
            }
        }
        Err(e) => {
            let reason = Reason::from_verify_error(&e);
            let mut result = PresentationResult::from_verify_error(&e);
            result.proof_status = reason.proof_status();
            unbound(Verification {
                result,
                reason: Some(reason),
            })
        }
    }
}

/// Decode a presentation: wallet-core's `PresentationMessage` or a bare
/// `Presentation`, canonical CBOR either way, after checking on the
/// undecoded bytes that it carries no more than `expected` (Rule 11:
/// decoding decompresses points). A decoding failure is a `MALFORMED`
/// result, an over-count `UNREQUESTED` ([`Verification::failed`]).
pub fn decode_presentation(bytes: &[u8], expected: &Expected) -> Result<Presentation, ReadError> {
    use wallet_core::wire::{PresentationMessage, WireMessage as _};
    match check_form(bytes, expected)? {
        Wrapped::Message => Ok(PresentationMessage::from_bytes(bytes)?.presentation),
        Wrapped::Bare => Ok(Presentation::from_bytes(bytes)?),
    }
}

/// Which form the bytes have.
enum Wrapped {
    Message,
    Bare,
}

/// Rule 11 on undecoded bytes (a `PresentationMessage` or a bare
/// `Presentation`): reads array headers only, no group operation.
pub fn check_shape(bytes: &[u8], expected: &Expected) -> Result<(), ReadError> {
    check_form(bytes, expected).map(|_| ())
}

fn check_form(bytes: &[u8], expected: &Expected) -> Result<Wrapped, ReadError> {
    match expected.check_field_bytes(bytes, "presentation") {
        Ok(_) => Ok(Wrapped::Message),
        Err(ReadError::Unrequested(u)) => Err(u.into()),
        Err(ReadError::Decode(message_error)) => match expected.check_bytes(bytes) {
            Ok(_) => Ok(Wrapped::Bare),
            Err(ReadError::Unrequested(u)) => Err(u.into()),
            // Report the wire message's error: that is what wallets send.
            Err(ReadError::Decode(_)) => Err(message_error.into()),
        },
    }
}
/// The failure result for bytes that were refused before verification.
pub fn refused(e: &ReadError) -> Verification {
    match e {
        ReadError::Unrequested(u) => Verification::failed(Reason::Unrequested, u.to_string()),
        ReadError::Decode(d) => {
            Verification::failed(Reason::Malformed, format!("presentation: {d}"))
        }
    }
}

/// Verify a wallet's offline answer (wallet-core `PresentationMessage`
/// bytes) to an offline challenge `challenge` (the request message that was
/// shown as a QR code). Pure: the caller keeps the challenge and makes sure
/// it is answered once (the daemon does that with a session).
pub fn verify_offline_answer(
    scheme: &VerifiedScheme,
    challenge: &wallet_core::wire::DisclosureRequestMessage,
    answer: &[u8],
    now: u64,
) -> Verification {
    match decode_presentation(answer, &Expected::for_request(&challenge.request)) {
        Ok(p) => verify(
            scheme,
            &challenge.verifier,
            &challenge.request,
            &challenge.context(),
            &p,
            now,
        ),
        Err(e) => refused(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_group_into_irma_statuses() {
        assert_eq!(Reason::TokenExpired.proof_status(), ProofStatus::Expired);
        assert_eq!(Reason::KeyNotValid.proof_status(), ProofStatus::Expired);
        assert_eq!(Reason::UnknownKey.proof_status(), ProofStatus::Invalid);
        assert_eq!(Reason::Challenge.proof_status(), ProofStatus::Invalid);
        assert_eq!(
            serde_json::to_string(&Reason::BadSchemeSignature).unwrap(),
            "\"BAD_SCHEME_SIGNATURE\""
        );
        assert_eq!(Reason::TokenExpired.as_str(), "TOKEN_EXPIRED");
    }

    #[test]
    fn garbage_is_malformed() {
        let any = Expected::protocol_limits();
        assert!(decode_presentation(&[0xa0], &any).is_err());
        assert!(decode_presentation(&[], &any).is_err());
        let v = Verification::failed(Reason::Malformed, "x");
        assert_eq!(v.result.proof_status, ProofStatus::Invalid);
        assert!(!v.is_valid());
    }
}
