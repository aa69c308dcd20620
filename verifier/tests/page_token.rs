//! Separate page and result tokens: the session page URL shown to residents
//! carries a page token that shows the page, its status stream and its
//! summary, and nothing else; the requestor's result and cancel need the
//! requestor token and the requestor's credentials. Neither token works in
//! the other's place, and a page token with the right wallet part but a
//! wrong secret opens nothing.

mod common;

use common::*;
use serde_json::{json, Value};
use verifier::auth::{Credential, Requestor, RequestorAuth};
use zeroize::Zeroizing;

const DESK: &str = "desk-secret-0123456789";

async fn get(url: &str, auth: Option<&str>) -> reqwest::Response {
    let mut r = client().get(url);
    if let Some(a) = auth {
        r = r.bearer_auth(a);
    }
    r.send().await.unwrap()
}

async fn not_found(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 404, "{what}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["type"], "urn:kenmerk:verifier:session-not-found",
        "{what}"
    );
}

/// The page token is the last path segment but one of the page URL.
fn page_token(page: &str) -> &str {
    page.rsplit('/').nth(1).unwrap()
}

#[tokio::test]
async fn page_url_does_not_open_the_result() {
    let demo = Demo::new();
    let resident = Resident::new(&demo, 51);
    let d = daemon(&demo, |c| {
        c.auth = RequestorAuth::Requestors(vec![Requestor {
            name: "desk".into(),
            verifier: Some("demo.parking".parse().unwrap()),
            credential: Credential::Token(Zeroizing::new(DESK.into())),
        }]);
    })
    .await;
    let base = format!("http://{}", d.addr());
    let created: Value = client()
        .post(format!("{base}/session"))
        .bearer_auth(DESK)
        .json(&parking_request_json())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap();
    let wallet_url = created["sessionPtr"]["u"].as_str().unwrap();
    let page = created["page"].as_str().unwrap();
    assert!(
        !page.contains(token),
        "the page URL must not carry the requestor token: {page}"
    );
    let page_tok = page_token(page);
    assert_ne!(page_tok, token);
    let page_base = page.trim_end_matches("/view");

    // The page, its stream and its summary open without credentials.
    let r = get(page, None).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains(wallet_url));
    let r = get(&format!("{page_base}/page-result"), None).await;
    assert_eq!(r.status(), 409, "no result yet");

    // The page token opens none of the requestor's endpoints, even with the
    // requestor's credentials.
    for path in ["status", "result", "result-jwt"] {
        not_found(
            get(&format!("{base}/session/{page_tok}/{path}"), Some(DESK)).await,
            path,
        )
        .await;
    }
    let r = client()
        .delete(format!("{base}/session/{page_tok}"))
        .bearer_auth(DESK)
        .send()
        .await
        .unwrap();
    not_found(r, "delete by page token").await;
    // The requestor token opens no page.
    for path in ["view", "page-result", "statusevents"] {
        not_found(
            get(&format!("{base}/page/{token}/{path}"), None).await,
            path,
        )
        .await;
    }
    // A page token with this session's wallet part and another secret
    // opens nothing.
    let wallet_tok = wallet_url.rsplit('/').next().unwrap();
    let forged = verifier::store::PageToken::generate(&wallet_tok.parse().unwrap());
    not_found(
        get(
            &format!("{base}/page/{}/view", forged.to_url_string()),
            None,
        )
        .await,
        "forged page token",
    )
    .await;

    // The resident answers; the page shows the summary, the requestor reads
    // the result with its own token and credentials.
    let r = get(wallet_url, None).await;
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
    let events = get(&format!("{page_base}/statusevents"), None).await;
    assert_eq!(events.status(), 200);
    assert!(events.text().await.unwrap().contains("\"DONE\""));
    let summary: Value = get(&format!("{page_base}/page-result"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["valid"], json!(true), "{summary}");
    let r = get(&format!("{base}/session/{token}/result"), None).await;
    assert_eq!(
        r.status(),
        401,
        "the result needs the requestor's credentials"
    );
    let result: Value = get(&format!("{base}/session/{token}/result"), Some(DESK))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["proofStatus"], "VALID");
    d.shutdown().await.unwrap();
}
