//! The issuer harness: an issuer on 127.0.0.1:0 (SQLite in a temporary
//! directory, or PostgreSQL in a schema unique to the test), a requestor
//! client, and a wallet built on wallet-core's wallet side.

use std::time::Duration;

use crate::postgres::TestSchema;
use issuer::{IssuerConfig, RequestorConfig, RunningIssuer};
use rand_core::OsRng;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use wallet_core::holder::HolderSecret;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::scheme::{SignedScheme, VerifiedScheme};
use wallet_core::token::CredentialToken;
use wallet_core::wire::{
    ChallengesMessage, HolderCommitment, IssuanceOffer, RecordId, RefreshProof, RefreshRequest,
    ResponsesMessage, SignerCommitmentsMessage, WireMessage,
};

pub const TOKEN: &str = "requestor-token-0123456789";
pub const ADMIN_TOKEN: &str = "admin-token-0123456789abc";
pub const CBOR: &str = "application/cbor";

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The requestor client tests use (30 s timeout).
pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A running issuer with what tests need around it.
pub struct Harness {
    pub issuer: Option<RunningIssuer>,
    pub base: String,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub schema: Option<String>,
}

pub use crate::now;
pub use crate::services::postgres_url;

pub fn base_config(dir: &std::path::Path) -> IssuerConfig {
    IssuerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.join("data"),
        batch_size: 3,
        requestors: vec![
            RequestorConfig {
                name: "backoffice".to_owned(),
                token: Some(TOKEN.to_owned()),
                ..RequestorConfig::default()
            },
            RequestorConfig {
                name: "admin".to_owned(),
                token: Some(ADMIN_TOKEN.to_owned()),
                admin: true,
                ..RequestorConfig::default()
            },
        ],
        ..IssuerConfig::default()
    }
}

impl Harness {
    /// Starts an issuer on `backend`, after `adjust` changed the config.
    /// `None` when the backend is not configured.
    pub async fn start(backend: Backend, adjust: impl FnOnce(&mut IssuerConfig)) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mut config = base_config(dir.path());
        let (database_url, schema) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("issuer.db").display()),
                None,
            ),
            Backend::Postgres => {
                // The issuer migrates inside the fresh schema.
                let schema = TestSchema::create("kenmerk_issuer_http").await?;
                (schema.database_url(), Some(schema.name))
            }
        };
        config.database_url = Some(database_url.clone());
        adjust(&mut config);
        let issuer = issuer::start(config).await.unwrap();
        let mut h = Self::around(issuer, database_url);
        h.dir = dir;
        h.schema = schema;
        Some(h)
    }

    /// A harness around an issuer the test started itself (its own
    /// configuration, a restart); `dir` is a fresh, unused directory.
    pub fn around(issuer: RunningIssuer, database_url: String) -> Self {
        Harness {
            base: issuer.public_url().to_owned(),
            issuer: Some(issuer),
            client: client(),
            dir: tempfile::tempdir().unwrap(),
            database_url,
            schema: None,
        }
    }

    pub fn running(&self) -> &RunningIssuer {
        self.issuer.as_ref().unwrap()
    }

    /// Stops the issuer gracefully (in 10 s) and drops its schema.
    pub async fn stop(mut self) {
        if let Some(issuer) = self.issuer.take() {
            tokio::time::timeout(Duration::from_secs(10), issuer.shutdown())
                .await
                .expect("graceful shutdown in time")
                .unwrap();
        }
        if let (Some(name), Ok(server_url)) =
            (self.schema.take(), std::env::var(crate::services::POSTGRES))
        {
            TestSchema { server_url, name }.drop().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The scheme the wallet pins: fetched, then verified under the key.
    pub async fn scheme(&self) -> VerifiedScheme {
        let bytes = self
            .client
            .get(self.url("/scheme"))
            .header("accept", CBOR)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        SignedScheme::from_cbor(&bytes)
            .unwrap()
            .verify(&self.running().scheme_public_key(), None, now())
            .unwrap()
    }

    /// `POST /session`; returns status and JSON.
    pub async fn create(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url("/session"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates a session that must succeed; returns (session URL, requestor token, records).
    pub async fn create_ok(&self, body: &Value) -> (String, String, Vec<String>) {
        let (status, v) = self.create(TOKEN, body).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        assert_eq!(v["sessionPtr"]["irmaqr"], "issuing");
        let records = v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        (
            v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
            records,
        )
    }

    pub async fn status(&self, token: &str) -> String {
        let v: Value = self
            .client
            .get(self.url(&format!("/session/{token}/status")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["status"].as_str().unwrap().to_owned()
    }

    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_cbor(&self, url: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(url)
            .header(CONTENT_TYPE, CBOR)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn metric(&self, name: &str) -> u64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("metric {name} missing"))
            .parse()
            .unwrap()
    }
}

pub fn address_request(street: &str, subject: Option<&str>) -> Value {
    let mut v = json!({
        "@context": "https://irma.app/ld/request/issuance/v2",
        "credentials": [{
            "credential": "demo.utrecht.address",
            "attributes": {
                "street": street, "house_number": "1", "postal_code": "3512JE",
                "city": "Utrecht", "municipality": "Utrecht"
            }
        }]
    });
    if let Some(s) = subject {
        v["subject"] = json!(s);
    }
    v
}

pub fn personal_and_address(subject: &str) -> Value {
    json!({
        "@context": "https://irma.app/ld/request/issuance/v2",
        "subject": subject,
        "credentials": [
            {"credential": "demo.utrecht.personal", "attributes": {
                "given_names": "Anna", "family_name": "de Vries",
                "date_of_birth": "1990-04-01", "bsn": subject}},
            {"credential": "demo.utrecht.address", "attributes": {
                "street": "Domplein", "house_number": "29", "postal_code": "3512JE",
                "city": "Utrecht", "municipality": "Utrecht"}}
        ]
    })
}

/// A wallet: one holder secret and the pinned scheme.
pub struct Wallet {
    pub holder: HolderSecret,
    pub scheme: VerifiedScheme,
}

/// What a finished issuance gave the wallet.
pub struct Issued {
    pub offer: IssuanceOffer,
    pub tokens: Vec<Vec<CredentialToken>>,
    pub challenges: Vec<u8>,
    pub responses: Vec<u8>,
}

impl Wallet {
    pub fn new(seed: u8, scheme: VerifiedScheme) -> Self {
        Wallet {
            holder: HolderSecret::from_seed(&[seed; 32]),
            scheme,
        }
    }

    pub async fn fetch_offer(&self, h: &Harness, session_url: &str) -> IssuanceOffer {
        let r = h.client.get(session_url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], CBOR);
        IssuanceOffer::from_bytes(&r.bytes().await.unwrap()).unwrap()
    }

    /// The holder commitment for `offer` (one proof per credential).
    pub fn commitment(&self, offer: &IssuanceOffer) -> HolderCommitment {
        let proofs = offer
            .credentials
            .iter()
            .map(|c| {
                let key = c.check(&offer.issuer, &self.scheme, now()).unwrap();
                self.holder
                    .prove_possession(&mut OsRng, &offer.nonce.0, &key.key_id())
            })
            .collect();
        HolderCommitment::new(self.holder.public(), proofs)
    }

    /// Blinds challenges for the issuer's commitments.
    pub fn challenges(
        &self,
        offer: &IssuanceOffer,
        signer: &SignerCommitmentsMessage,
    ) -> (Vec<PendingIssuance>, ChallengesMessage) {
        let mut pending = Vec::new();
        let mut challenges = Vec::new();
        for (c, sc) in offer.credentials.iter().zip(&signer.commitments) {
            let key = c.check(&offer.issuer, &self.scheme, now()).unwrap();
            let (p, ch) = PendingIssuance::start(
                &mut OsRng,
                key,
                &self.holder,
                c.attributes.clone(),
                c.token_info.clone(),
                now(),
                sc,
            )
            .unwrap();
            pending.push(p);
            challenges.push(ch);
        }
        (pending, ChallengesMessage::new(challenges))
    }

    /// Unblinds; the token check runs inside `finish` for every token.
    pub fn finish(pending: Vec<PendingIssuance>, responses: &[u8]) -> Vec<Vec<CredentialToken>> {
        let responses = ResponsesMessage::from_bytes(responses).unwrap();
        pending
            .into_iter()
            .zip(&responses.responses)
            .map(|(p, r)| p.finish(r).unwrap())
            .collect()
    }

    /// The whole issuance over HTTP.
    pub async fn issue(&self, h: &Harness, session_url: &str) -> Issued {
        let offer = self.fetch_offer(h, session_url).await;
        let r = h
            .post_cbor(
                &format!("{session_url}/commitment"),
                self.commitment(&offer).to_bytes(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let signer = SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
        let (pending, challenges) = self.challenges(&offer, &signer);
        let challenges = challenges.to_bytes();
        let r = h
            .post_cbor(&format!("{session_url}/challenges"), challenges.clone())
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let responses = r.bytes().await.unwrap().to_vec();
        let tokens = Self::finish(pending, &responses);
        Issued {
            offer,
            tokens,
            challenges,
            responses,
        }
    }

    /// Starts a refresh; returns the HTTP status and, on success, the
    /// session URL and offer.
    pub async fn start_refresh(
        &self,
        h: &Harness,
        record: &str,
    ) -> (StatusCode, Option<(String, IssuanceOffer)>) {
        let request = RefreshRequest::new(record.parse::<RecordId>().unwrap());
        let r = h
            .post_cbor(&h.url("/wallet/refresh"), request.to_bytes())
            .await;
        let status = r.status();
        if status != StatusCode::CREATED {
            return (status, None);
        }
        let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
        let offer = IssuanceOffer::from_bytes(&r.bytes().await.unwrap()).unwrap();
        (status, Some((location, offer)))
    }

    /// A full refresh; panics unless it succeeds.
    pub async fn refresh(&self, h: &Harness, record: &str) -> Issued {
        let (status, started) = self.start_refresh(h, record).await;
        assert_eq!(status, StatusCode::CREATED);
        let (url, offer) = started.unwrap();
        let c = &offer.credentials[0];
        let key = c.check(&offer.issuer, &self.scheme, now()).unwrap();
        let proof = RefreshProof::new(
            c.record.clone(),
            self.holder
                .prove_possession(&mut OsRng, &offer.nonce.0, &key.key_id()),
        );
        let r = h
            .post_cbor(&format!("{url}/refresh-proof"), proof.to_bytes())
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let signer = SignerCommitmentsMessage::from_bytes(&r.bytes().await.unwrap()).unwrap();
        let (pending, challenges) = self.challenges(&offer, &signer);
        let challenges = challenges.to_bytes();
        let r = h
            .post_cbor(&format!("{url}/challenges"), challenges.clone())
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
        let responses = r.bytes().await.unwrap().to_vec();
        Issued {
            tokens: Self::finish(pending, &responses),
            offer,
            challenges,
            responses,
        }
    }
}

/// Asserts a problem+json answer with `status`; returns its JSON.
pub async fn problem(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()[CONTENT_TYPE], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], status.as_u16());
    assert!(v["type"]
        .as_str()
        .unwrap()
        .starts_with("urn:kenmerk:problem:"));
    assert!(v["title"].is_string() && v["detail"].is_string());
    v
}
