//! A requestor sees and cancels only the sessions it created: with another
//! requestor's credentials every session endpoint answers 404 as for an
//! unknown session (a leaked requestor token reveals nothing), and without
//! credentials 401.

mod common;

use common::*;
use serde_json::{json, Value};
use verifier::auth::{Credential, Requestor, RequestorAuth};
use zeroize::Zeroizing;

const DESK: &str = "desk-secret-0123456789";
const POLL: &str = "poll-secret-0123456789";

fn requestor(name: &str, verifier: &str, token: &str) -> Requestor {
    Requestor {
        name: name.into(),
        verifier: Some(verifier.parse().unwrap()),
        credential: Credential::Token(Zeroizing::new(token.into())),
    }
}

/// Every requestor endpoint of one session, as (method, path).
fn endpoints(token: &str) -> Vec<(reqwest::Method, String)> {
    use reqwest::Method;
    vec![
        (Method::GET, format!("/session/{token}/status")),
        (Method::GET, format!("/session/{token}/statusevents")),
        (Method::GET, format!("/session/{token}/result")),
        (Method::GET, format!("/session/{token}/result-jwt")),
        (Method::POST, format!("/offline/{token}/answer")),
        (Method::DELETE, format!("/session/{token}")),
    ]
}

async fn problem(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{status}"
    );
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn requestors_see_and_cancel_only_their_own_sessions() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 41);
    let d = daemon(&demo, |c| {
        c.auth = RequestorAuth::Requestors(vec![
            requestor("desk", "demo.parking", DESK),
            requestor("poll", "demo.poll", POLL),
        ]);
    })
    .await;
    let base = format!("http://{}", d.addr());
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth(DESK)
        .json(&parking_request_json())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created: Value = r.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let wallet_url = created["sessionPtr"]["u"].as_str().unwrap().to_owned();
    let unknown = verifier::store::RequestorToken::generate();

    for (method, path) in endpoints(&token) {
        // Another requestor, holding the token: as if it did not exist.
        let r = client()
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(POLL)
            .body(Vec::new())
            .send()
            .await
            .unwrap();
        let (status, v) = problem(r).await;
        assert_eq!(status, 404, "{method} {path} as poll: {v}");
        assert_eq!(v["type"], "urn:kenmerk:verifier:session-not-found");
        // The same answer as for a token that matches no session.
        let unknown_path = path.replace(&token, unknown.as_str());
        let r = client()
            .request(method.clone(), format!("{base}{unknown_path}"))
            .bearer_auth(POLL)
            .body(Vec::new())
            .send()
            .await
            .unwrap();
        let (_, w) = problem(r).await;
        assert_eq!(v, w, "{method} {path}: indistinguishable from unknown");
        // No credentials at all.
        let r = client()
            .request(method.clone(), format!("{base}{path}"))
            .body(Vec::new())
            .send()
            .await
            .unwrap();
        let (status, v) = problem(r).await;
        assert_eq!(status, 401, "{method} {path} anonymous: {v}");
    }

    // The poll's attempts changed nothing: the session is still open, and
    // its creator sees, uses and cancels it.
    let status = |who: &'static str| {
        client()
            .get(format!("{base}/session/{token}/status"))
            .bearer_auth(who)
            .send()
    };
    let r = status(DESK).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!("INITIALIZED"));
    let r = client().get(&wallet_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let fetched = decode_request(&r.bytes().await.unwrap());
    let presentation = message(parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        demo.key("demo.rdw.vehicle").public(),
        &fetched,
    ));
    let r = client()
        .post(format!("{wallet_url}/presentation"))
        .header("content-type", "application/cbor")
        .body(presentation)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for path in ["result", "result-jwt"] {
        let r = client()
            .get(format!("{base}/session/{token}/{path}"))
            .bearer_auth(POLL)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} of a finished session as poll");
        let r = client()
            .get(format!("{base}/session/{token}/{path}"))
            .bearer_auth(DESK)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path} as desk");
    }
    let r = client()
        .get(format!("{base}/session/{token}/result"))
        .bearer_auth(DESK)
        .send()
        .await
        .unwrap();
    let result: Value = r.json().await.unwrap();
    assert_eq!(result["proofStatus"], "VALID");

    // A second session: the poll cannot cancel it, the desk can.
    let r = client()
        .post(format!("{base}/session"))
        .bearer_auth(DESK)
        .json(&parking_request_json())
        .send()
        .await
        .unwrap();
    let second: Value = r.json().await.unwrap();
    let second = second["token"].as_str().unwrap();
    let r = client()
        .delete(format!("{base}/session/{second}"))
        .bearer_auth(POLL)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client()
        .get(format!("{base}/session/{second}/status"))
        .bearer_auth(DESK)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!("INITIALIZED"));
    let r = client()
        .delete(format!("{base}/session/{second}"))
        .bearer_auth(DESK)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    d.shutdown().await.unwrap();
}
