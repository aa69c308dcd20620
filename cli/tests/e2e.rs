//! End to end: the `kenmerk` binary against a real issuer and verifier,
//! both running in this test process on loopback (ports chosen by the OS).
//!
//! Every test starts its own daemons and wallets, so tests run in parallel
//! without sharing state.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use tokio::runtime::Runtime;

const PASS: &str = "correct horse battery";
const ADMIN_TOKEN: &str = "test-requestor-token-0123456789";

/// Issuer and verifier on loopback, with an HTTP client for their requestor
/// and admin APIs.
struct Daemons {
    rt: Runtime,
    _issuer: issuer::RunningIssuer,
    _verifier: verifier::daemon::VerifierHandle,
    issuer_url: String,
    verifier_url: String,
    scheme_key: String,
    fingerprint: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Daemons {
    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = issuer::IssuerConfig::default();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.data_dir = dir.path().join("issuer");
        config.batch_size = 4;
        config.requestors = vec![issuer::RequestorConfig {
            name: "test".into(),
            token: Some(ADMIN_TOKEN.into()),
            admin: true,
            ..Default::default()
        }];
        let running = rt.block_on(issuer::start(config)).unwrap();
        let key = running.scheme_public_key();
        let signed =
            wallet_core::scheme::SignedScheme::from_cbor(&running.signed_scheme_cbor()).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        let verified = signed.verify(&key, None, now).unwrap();
        let handle = rt
            .block_on(verifier::daemon::start(
                verifier::daemon::VerifierConfig::with_scheme(verified),
            ))
            .unwrap();
        Daemons {
            issuer_url: running.public_url().trim_end_matches('/').to_owned(),
            verifier_url: handle.public_url().trim_end_matches('/').to_owned(),
            scheme_key: key.to_string(),
            fingerprint: key.fingerprint(),
            _issuer: running,
            _verifier: handle,
            rt,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn post_json(&self, url: &str, body: &Value, auth: bool) -> Value {
        self.rt.block_on(async {
            let mut req = self.http.post(url).json(body);
            if auth {
                req = req.bearer_auth(ADMIN_TOKEN);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(status.is_success(), "{url}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    fn get_json(&self, url: &str) -> Value {
        self.rt.block_on(async {
            let resp = self
                .http
                .get(url)
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            resp.json().await.unwrap()
        })
    }

    /// Create an issuance session; returns the QR payload and record ids.
    fn issue(&self, credentials: Value) -> (String, Vec<String>) {
        let created = self.post_json(
            &format!("{}/session", self.issuer_url),
            &json!({
                "@context": "https://irma.app/ld/request/issuance/v2",
                "credentials": credentials,
            }),
            true,
        );
        let records = created["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        (created["sessionPtr"].to_string(), records)
    }

    /// Create a verifier session; returns the QR payload and requestor token.
    fn ask(&self, verifier: &str, request: Value, allow_unregistered: bool) -> (String, String) {
        let created = self.post_json(
            &format!("{}/session", self.verifier_url),
            &json!({
                "verifier": verifier,
                "request": request,
                "allowUnregistered": allow_unregistered,
            }),
            false,
        );
        (
            created["sessionPtr"].to_string(),
            created["token"].as_str().unwrap().to_owned(),
        )
    }

    fn result(&self, token: &str) -> Value {
        self.get_json(&format!("{}/session/{token}/result", self.verifier_url))
    }

    fn status(&self, token: &str) -> Value {
        self.get_json(&format!("{}/session/{token}/status", self.verifier_url))
    }

    fn revoke(&self, record: &str) {
        self.post_json(
            &format!("{}/admin/credentials/{record}/revoke", self.issuer_url),
            &json!({}),
            true,
        );
    }
}

fn personal(dob: &str) -> Value {
    json!({
        "credential": "demo.utrecht.personal",
        "attributes": {
            "given_names": "Anna",
            "family_name": "de Vries",
            "date_of_birth": dob,
            "bsn": "999990019",
        }
    })
}

fn address() -> Value {
    json!({
        "credential": "demo.utrecht.address",
        "attributes": {
            "street": "Domplein",
            "house_number": "29",
            "postal_code": "3512JE",
            "city": "Utrecht",
            "municipality": "Utrecht",
        }
    })
}

fn vehicle(plate: &str) -> Value {
    json!({
        "credential": "demo.rdw.vehicle",
        "attributes": { "licence_plate": plate, "make": "Fiat", "owner_bsn": "999990019" }
    })
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parking_request() -> Value {
    json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [
            [["demo.utrecht.address.city", "demo.utrecht.address.postal_code"]],
            [["demo.rdw.vehicle.licence_plate"]]
        ],
        "predicates": [{
            "attribute": "demo.utrecht.personal.date_of_birth",
            "operator": "ageAtLeast", "years": 18, "on": today()
        }]
    })
}

/// A resident's wallet directory and `kenmerk` invocations.
struct Wallet {
    dir: tempfile::TempDir,
}

impl Wallet {
    fn new() -> Self {
        let w = Wallet {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = w.run(&["init", "--json"]);
        assert_ok(&out);
        w
    }

    /// A wallet with the scheme pinned and personal, address and one
    /// vehicle credential issued.
    fn with_credentials(d: &Daemons) -> Self {
        let w = Wallet::new();
        w.pin(d);
        let (ptr, _) = d.issue(json!([personal("1990-05-17"), address()]));
        assert_ok(&w.run(&["session", &ptr, "--yes"]));
        let (ptr, _) = d.issue(json!([vehicle("AB-123-C")]));
        assert_ok(&w.run(&["session", &ptr, "--yes"]));
        w
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("wallet.kenmerk")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kenmerk"));
        for var in ["LANG", "LC_ALL", "LC_MESSAGES", "KENMERK_PASSPHRASE_FILE"] {
            c.env_remove(var);
        }
        c.env("KENMERK_WALLET", self.path())
            .env("KENMERK_PASSPHRASE", PASS)
            .env("KENMERK_KDF_MEMORY_KIB", "64")
            .env("KENMERK_KDF_ITERATIONS", "1")
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn pin(&self, d: &Daemons) {
        let out = self.run(&[
            "scheme",
            "add",
            &format!("{}/scheme", d.issuer_url),
            "--key",
            &d.scheme_key,
            "--fingerprint",
            &d.fingerprint,
        ]);
        assert_ok(&out);
        assert!(stdout(&out).contains(&d.fingerprint), "{}", stdout(&out));
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert_ok(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn tokens_left(&self, credential_type: &str) -> Vec<u64> {
        self.json(&["list", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["credential_type"] == credential_type)
            .map(|c| c["tokens_left"].as_u64().unwrap())
            .collect()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

fn disclosed(result: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for cred in result["disclosed"].as_array().cloned().unwrap_or_default() {
        for a in cred.as_array().cloned().unwrap_or_else(|| vec![cred.clone()]) {
            if let (Some(id), Some(v)) = (a["id"].as_str(), a["rawvalue"].as_str().or(a["value"].as_str())) {
                out.push((id.to_owned(), v.to_owned()));
            }
        }
    }
    out
}

#[test]
fn issue_then_disclose_with_predicate() {
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    let list = w.json(&["list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
    assert_eq!(w.tokens_left("demo.utrecht.address"), vec![4]);

    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let out = w.run(&["session", &ptr, "--yes", "--json"]);
    assert_ok(&out);
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["outcome"], "disclosed");
    assert_eq!(outcome["status"], "VALID", "{outcome}");
    assert!(outcome["predicates"][0]
        .as_str()
        .unwrap()
        .contains("18 or older"));

    let result = d.result(&token);
    let text = result.to_string();
    assert!(text.contains("VALID"), "{text}");
    let shown = disclosed(&result);
    assert!(
        shown.iter().any(|(id, v)| id.ends_with("city") && v == "Utrecht"),
        "{text}"
    );
    assert!(shown.iter().any(|(_, v)| v == "AB-123-C"), "{text}");
    // The birth date itself never left the wallet.
    assert!(!text.contains("1990-05-17"), "{text}");

    // One token of each credential used, recorded in the log.
    assert_eq!(w.tokens_left("demo.utrecht.address"), vec![3]);
    assert_eq!(w.tokens_left("demo.utrecht.personal"), vec![3]);
    let log = w.json(&["log", "--json"]);
    let last = log.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "disclosure");
    assert_eq!(last["party"], "demo.parking");
    assert_eq!(last["outcome"], "VALID");
    assert!(last["attributes"].to_string().contains("3512JE"));
    let table = stdout(&w.run(&["log", "--lang", "nl"]));
    assert!(table.contains("gedeeld") && table.contains("18 jaar of ouder"), "{table}");
}
