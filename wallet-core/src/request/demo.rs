//! The demo verifiers' session requests (stories 2, 3 and 4 of the demo
//! scheme, [`crate::scheme::demo`]).

use time::Date;

use super::{AttributeRequest, Condition, RequestError, SessionKind, SessionRequest};
use crate::ids::IdError;

fn id<T: std::str::FromStr<Err = IdError>>(s: &str) -> Result<T, RequestError> {
    Ok(s.parse()?)
}

/// The parking desk's request (story 2): city and postal code, a licence
/// plate, and age at least 18 on `today`.
pub fn parking_request(today: Date) -> Result<SessionRequest, RequestError> {
    SessionRequest::builder(SessionKind::Disclosing)
        .disjunction(vec![vec![
            AttributeRequest::not_null(id("demo.utrecht.address.city")?),
            AttributeRequest::not_null(id("demo.utrecht.address.postal_code")?),
        ]])
        .disjunction(vec![vec![AttributeRequest::not_null(id(
            "demo.rdw.vehicle.licence_plate",
        )?)]])
        .predicate(
            id("demo.utrecht.personal.date_of_birth")?,
            Condition::AgeAtLeast {
                years: 18,
                on: Some(today),
            },
        )
        .build()
}

/// The local poll's request (story 3): the municipality, with a pseudonym
/// in scope `poll` (effective scope `demo.poll/<poll>`).
pub fn poll_request(municipality: &str, poll: &str) -> Result<SessionRequest, RequestError> {
    SessionRequest::builder(SessionKind::Disclosing)
        .disjunction(vec![vec![AttributeRequest::with_value(
            id("demo.utrecht.address.municipality")?,
            municipality,
        )]])
        .pseudonym(poll)
        .build()
}

/// The objections desk's signing request (story 4): sign `message` with
/// your names, postal code and house number.
pub fn objection_request(message: &str) -> Result<SessionRequest, RequestError> {
    SessionRequest::builder(SessionKind::Signing)
        .disjunction(vec![vec![
            AttributeRequest::not_null(id("demo.utrecht.personal.given_names")?),
            AttributeRequest::not_null(id("demo.utrecht.personal.family_name")?),
        ]])
        .disjunction(vec![vec![
            AttributeRequest::not_null(id("demo.utrecht.address.postal_code")?),
            AttributeRequest::not_null(id("demo.utrecht.address.house_number")?),
        ]])
        .message(message)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::VerifierId;
    use crate::scheme::demo::{generate_demo_scheme, verifier_ids};
    use rand_core::OsRng;

    #[test]
    fn demo_requests_fit_their_registration() {
        let demo = generate_demo_scheme(&mut OsRng, 1_790_000_000).unwrap();
        let scheme = demo
            .signed
            .verify(&demo.signing_key.public_key(), None, 1_790_000_000)
            .unwrap();
        let (parking, poll) = verifier_ids().unwrap();
        let today = Date::from_calendar_date(2026, time::Month::November, 25).unwrap();
        let p = parking_request(today).unwrap();
        p.check_against(&scheme).unwrap();
        assert!(p
            .unregistered(scheme.verifier(&parking).unwrap())
            .is_empty());
        let q = poll_request("Utrecht", "2026-parks").unwrap();
        q.check_against(&scheme).unwrap();
        assert!(q.unregistered(scheme.verifier(&poll).unwrap()).is_empty());
        // The poll asking what the parking desk may ask is over-asking.
        assert_eq!(p.unregistered(scheme.verifier(&poll).unwrap()).len(), 4);
        let objections: VerifierId = crate::scheme::demo::OBJECTIONS_VERIFIER.parse().unwrap();
        let o = objection_request("I object to permit 2026-114").unwrap();
        o.check_against(&scheme).unwrap();
        assert!(o
            .unregistered(scheme.verifier(&objections).unwrap())
            .is_empty());
    }
}
