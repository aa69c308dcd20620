//! One open issuance session per subject and credential type
//! (docs/security.md §4), over HTTP: first issuance and refresh alike.

mod common;

use common::*;
use reqwest::StatusCode;

async fn run(backend: Backend) {
    let Some(h) = Harness::start(backend, |_| {}).await else {
        return;
    };
    let subject = "999990123";
    let (_, first_token, _) = h
        .create_ok(&address_request("Domplein", Some(subject)))
        .await;

    // A second session for the same resident and type: 409, nothing stored.
    let r = h
        .client
        .post(h.url("/session"))
        .bearer_auth(TOKEN)
        .json(&address_request("Neude", Some(subject)))
        .send()
        .await
        .unwrap();
    let v = problem(r, StatusCode::CONFLICT).await;
    assert_eq!(v["type"], "urn:kenmerk:problem:session-in-progress", "{v}");
    // A session holding this type among others is refused as a whole.
    let (status, v) = h.create(TOKEN, &personal_and_address(subject)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");

    // Another resident, or no subject: unaffected.
    h.create_ok(&address_request("Neude", Some("999990124")))
        .await;
    h.create_ok(&address_request("Neude", None)).await;
    h.create_ok(&address_request("Neude", None)).await;

    // The back office cancels the open one; then a new one may start,
    // and the resident completes it.
    let r = h
        .client
        .delete(h.url(&format!("/session/{first_token}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (url, _, records) = h.create_ok(&address_request("Neude", Some(subject))).await;
    let wallet = Wallet::new(3, h.scheme().await);
    wallet.issue(&h, &url).await;

    // A refresh while a first issuance of that type is open: refused.
    let (open_url, _, _) = h
        .create_ok(&address_request("Vismarkt", Some(subject)))
        .await;
    let (status, _) = wallet.start_refresh(&h, &records[0]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Finishing the open session frees the subject and type again.
    wallet.issue(&h, &open_url).await;
    h.create_ok(&address_request("Lijnmarkt", Some(subject)))
        .await;
    h.stop().await;
}

#[tokio::test]
async fn sqlite_one_open_session_per_subject_and_type() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_one_open_session_per_subject_and_type() {
    run(Backend::Postgres).await;
}
