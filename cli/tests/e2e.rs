//! End to end: the `kenmerk` binary against a real issuer and verifier,
//! both running in this test process on loopback (ports chosen by the OS).
//!
//! Every test starts its own daemons and wallets, so tests run in parallel
//! without sharing state.

use std::io::Write;
use std::path::PathBuf;
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
        let config = issuer::IssuerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("issuer"),
            batch_size: 4,
            requestors: vec![issuer::RequestorConfig {
                name: "test".into(),
                token: Some(ADMIN_TOKEN.into()),
                admin: true,
                ..Default::default()
            }],
            ..Default::default()
        };
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

    /// The session status text (the body is `"DONE"` or `{"status": ...}`).
    fn status(&self, token: &str) -> String {
        let v = self.get_json(&format!("{}/session/{token}/status", self.verifier_url));
        v.as_str()
            .or_else(|| v["status"].as_str())
            .unwrap_or_default()
            .to_owned()
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
        // A bare session URL (kind learnt from the first message), read
        // from standard input.
        let (ptr, _) = d.issue(json!([vehicle("AB-123-C")]));
        let url = serde_json::from_str::<Value>(&ptr).unwrap()["u"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_ok(&w.run_with_input(&["session", "-", "--yes"], &format!("{url}\n")));
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
        for a in cred
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![cred.clone()])
        {
            if let (Some(id), Some(v)) = (
                a["id"].as_str(),
                a["rawvalue"].as_str().or(a["value"].as_str()),
            ) {
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
        shown
            .iter()
            .any(|(id, v)| id.ends_with("city") && v == "Utrecht"),
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
    assert!(
        table.contains("gedeeld") && table.contains("18 jaar of ouder"),
        "{table}"
    );
}

#[test]
fn choose_between_alternatives() {
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    let (ptr, _) = d.issue(json!([vehicle("XY-987-Z")]));
    assert_ok(&w.run(&["session", &ptr, "--yes"]));

    // Two vehicles: the licence plate question has two options.
    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let out = w.run(&["session", &ptr, "--yes", "--choose", "1,2"]);
    assert_ok(&out);
    let shown = disclosed(&d.result(&token));
    assert!(shown.iter().any(|(_, v)| v == "XY-987-Z"), "{shown:?}");
    assert!(!shown.iter().any(|(_, v)| v == "AB-123-C"), "{shown:?}");

    // The same through the prompt: question 2, option 1, then yes.
    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let out = w.run_with_input(&["session", &ptr], "1\nja\n");
    assert_ok(&out);
    let screen = stderr(&out);
    assert!(
        screen.contains("Who asks: Utrecht parking permits (demo)"),
        "{screen}"
    );
    assert!(screen.contains("Purpose: Grant a resident"), "{screen}");
    assert!(screen.contains("you are 18 or older"), "{screen}");
    let shown = disclosed(&d.result(&token));
    assert!(shown.iter().any(|(_, v)| v == "AB-123-C"), "{shown:?}");

    // An out-of-range choice is a usage error; nothing is sent.
    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let out = w.run(&["session", &ptr, "--yes", "--choose", "1,3"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_ne!(d.status(&token), "DONE");
}

#[test]
fn decline_sends_nothing() {
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    let before = w.json(&["list", "--json"]);
    let log_before = w.json(&["log", "--json"]);
    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let out = w.run_with_input(&["session", &ptr], "n\n");
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("nothing was sent"),
        "{}",
        stdout(&out)
    );
    // The verifier learns only that the resident declined.
    assert_eq!(d.status(&token), "CANCELLED");
    assert!(d.result(&token)["disclosed"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    assert_eq!(w.json(&["list", "--json"]), before, "a token was used");
    assert_eq!(w.json(&["log", "--json"]), log_before);

    // Declining an issuance: nothing received.
    let (ptr, _) = d.issue(json!([vehicle("ZZ-000-Z")]));
    let out = w.run_with_input(&["session", &ptr, "--lang", "nl"], "nee\n");
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Accepteren? [j/N]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.json(&["list", "--json"]), before);

    // End of input (no terminal answer) declines as well.
    let (ptr, _) = d.ask("demo.parking", parking_request(), false);
    let out = w.run(&["session", &ptr]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
}

#[test]
fn sign_and_verify_signature() {
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    let request = json!({
        "@context": "https://irma.app/ld/request/signature/v2",
        "message": "I object to permit 2026-114",
        "disclose": [[["demo.utrecht.address.city"]]]
    });
    let (ptr, token) = d.ask("demo.parking", request, false);
    let sig = w.file("objection.sig");
    let out = w.run(&[
        "session",
        &ptr,
        "--yes",
        "--signature-out",
        sig.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let screen = stderr(&out);
    assert!(screen.contains("| I object to permit 2026-114"), "{screen}");
    assert!(screen.contains("show it to anyone"), "{screen}");
    assert!(d.result(&token).to_string().contains("VALID"));

    let report = w.json(&["verify-signature", sig.to_str().unwrap(), "--json"]);
    assert_eq!(report["status"], "VALID");
    assert_eq!(report["message"], "I object to permit 2026-114");
    assert_eq!(report["disclosed"][0]["value"], "Utrecht");
    let out = w.run(&["verify-signature", sig.to_str().unwrap(), "--lang", "nl"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("Geldige handtekening"),
        "{}",
        stdout(&out)
    );

    // Change the message: refused.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = b64
        .decode(std::fs::read_to_string(&sig).unwrap().trim())
        .unwrap();
    let mut s = wallet_core::signature::AttributeSignature::from_bytes(&bytes).unwrap();
    s.context.message = Some("I support permit 2026-114".into());
    let forged = w.file("forged.sig");
    std::fs::write(&forged, b64.encode(s.to_bytes())).unwrap();
    let out = w.run(&["verify-signature", forged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("not valid"), "{}", stderr(&out));
}

#[test]
fn poll_pseudonym_same_per_resident() {
    let d = Daemons::start();
    let anna = Wallet::with_credentials(&d);
    let bob = Wallet::new();
    bob.pin(&d);
    let (ptr, _) = d.issue(json!([address()]));
    assert_ok(&bob.run(&["session", &ptr, "--yes"]));

    let poll = json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[[{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]]],
        "pseudonym": "2026-parks"
    });
    let mut values = Vec::new();
    for w in [&anna, &anna, &bob] {
        let (ptr, token) = d.ask("demo.poll", poll.clone(), false);
        let out = w.run(&["session", &ptr, "--yes"]);
        assert_ok(&out);
        assert!(stderr(&out).contains("2026-parks"), "{}", stderr(&out));
        let result = d.result(&token);
        assert_eq!(
            result["pseudonym"]["scope"], "demo.poll/2026-parks",
            "{result}"
        );
        values.push(result["pseudonym"]["value"].as_str().unwrap().to_owned());
    }
    assert_eq!(values[0], values[1], "same resident, same scope");
    assert_ne!(values[0], values[2], "different residents");
    let log = anna.json(&["log", "--json"]);
    assert_eq!(
        log.as_array().unwrap().last().unwrap()["pseudonym_scope"],
        "demo.poll/2026-parks"
    );
}

#[test]
fn missing_credential_or_false_predicate_sends_nothing() {
    let d = Daemons::start();
    let w = Wallet::new();
    w.pin(&d);
    // Seventeen years old: cannot prove 18+.
    let young = format!("{}-01-01", time::OffsetDateTime::now_utc().year() - 17);
    let (ptr, _) = d.issue(json!([personal(&young), address()]));
    assert_ok(&w.run(&["session", &ptr, "--yes"]));
    let before = w.json(&["list", "--json"]);
    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let out = w.run(&["session", &ptr, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("you do not have what is asked"),
        "{}",
        stderr(&out)
    );
    assert_ne!(d.status(&token), "DONE");
    assert_eq!(w.json(&["list", "--json"]), before);
}

#[test]
fn refresh_and_revoked_refresh() {
    let d = Daemons::start();
    let w = Wallet::new();
    w.pin(&d);
    let (ptr, records) = d.issue(json!([personal("1990-05-17"), address()]));
    assert_ok(&w.run(&["session", &ptr, "--yes"]));
    // Use tokens until fewer than 3 are left.
    for _ in 0..2 {
        let (ptr, _) = d.ask(
            "demo.parking",
            json!({
                "@context": "https://irma.app/ld/request/disclosure/v2",
                "disclose": [[["demo.utrecht.address.city"]]]
            }),
            false,
        );
        assert_ok(&w.run(&["session", &ptr, "--yes"]));
    }
    assert_eq!(w.tokens_left("demo.utrecht.address"), vec![2]);
    let out = w.run(&["refresh", "--below", "3"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("renewed, 4 tokens"),
        "{}",
        stdout(&out)
    );
    assert_eq!(w.tokens_left("demo.utrecht.address"), vec![4]);
    assert_eq!(
        w.tokens_left("demo.utrecht.personal"),
        vec![4],
        "not due, untouched"
    );

    // The municipality revokes the address credential.
    d.revoke(&records[1]);
    let out = w.run(&["refresh", "--all", "--lang", "nl"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("weigert het te vernieuwen"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("Persoonsgegevens (c1): vernieuwd"),
        "{}",
        stdout(&out)
    );
    // The old tokens are kept until they expire.
    assert_eq!(w.tokens_left("demo.utrecht.address"), vec![4]);
}

#[test]
fn backup_restore_then_refresh() {
    let d = Daemons::start();
    let dir = tempfile::tempdir().unwrap();
    let phrase_wallet = Wallet {
        dir: tempfile::tempdir().unwrap(),
    };
    let out = phrase_wallet.run(&["init", "--json"]);
    assert_ok(&out);
    let phrase = serde_json::from_slice::<Value>(&out.stdout).unwrap()["recovery_phrase"]
        .as_str()
        .unwrap()
        .to_owned();
    phrase_wallet.pin(&d);
    let (ptr, _) = d.issue(json!([address()]));
    assert_ok(&phrase_wallet.run(&["session", &ptr, "--yes"]));
    let backup = dir.path().join("wallet.backup");
    assert_ok(&phrase_wallet.run(&["backup", "create", backup.to_str().unwrap()]));

    let new_machine = Wallet {
        dir: tempfile::tempdir().unwrap(),
    };
    let out = new_machine
        .cmd()
        .args(["backup", "restore", backup.to_str().unwrap()])
        .env("KENMERK_RECOVERY_PHRASE", &phrase)
        .output()
        .unwrap();
    assert_ok(&out);
    // Same holder: the issuer accepts the refresh proof.
    let out = new_machine.run(&["refresh", "--all"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("renewed"), "{}", stdout(&out));
    let (ptr, token) = d.ask(
        "demo.poll",
        json!({
            "@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[["demo.utrecht.address.municipality"]]]
        }),
        false,
    );
    assert_ok(&new_machine.run(&["session", &ptr, "--yes"]));
    assert!(d.result(&token).to_string().contains("VALID"));
}

#[test]
fn over_asking_and_host_warnings() {
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    // The poll is registered for the municipality only; it asks the BSN.
    let (ptr, _) = d.ask(
        "demo.poll",
        json!({
            "@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[["demo.utrecht.personal.bsn"]]]
        }),
        true,
    );
    let out = w.run_with_input(&["session", &ptr, "--lang", "nl"], "nee\n");
    assert_eq!(out.status.code(), Some(8));
    let screen = stderr(&out);
    assert!(
        screen.contains("LET OP: Buurtpeiling Utrecht (demo) vraagt meer dan waarvoor het geregistreerd is: Burgerservicenummer"),
        "{screen}"
    );
    // The same session through "localhost": registered too, no host warning;
    // through an unregistered name the wallet warns. (The verifier serves
    // 127.0.0.1; "localhost" resolves there.)
    let (ptr, _) = d.ask(
        "demo.poll",
        json!({
            "@context": "https://irma.app/ld/request/disclosure/v2",
            "disclose": [[["demo.utrecht.address.municipality"]]]
        }),
        false,
    );
    let ptr = ptr.replace("127.0.0.1", "localhost");
    let out = w.run_with_input(&["session", &ptr], "n\n");
    assert!(!stderr(&out).contains("WARNING"), "{}", stderr(&out));
}

#[test]
fn unknown_verifier_is_flagged() {
    // A verifier not in the scheme (served by a stand-in), asking the city.
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    let request: wallet_core::request::SessionRequest = serde_json::from_value(json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.city"]]]
    }))
    .unwrap();
    use wallet_core::wire::WireMessage as _;
    let message = wallet_core::wire::DisclosureRequestMessage::new(
        "demo.stranger".parse().unwrap(),
        request,
        wallet_core::wire::Nonce([7; 32]),
    )
    .to_bytes();
    let app = axum::Router::new().route(
        "/wallet/x",
        axum::routing::get(move || {
            let m = message.clone();
            async move { m }
        }),
    );
    let listener =
        d.rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
    let addr = listener.local_addr().unwrap();
    d.rt.spawn(async move { axum::serve(listener, app).await });
    let ptr = json!({"u": format!("http://{addr}/wallet/x"), "irmaqr": "disclosing"}).to_string();
    let out = w.run_with_input(&["session", &ptr], "n\n");
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("WARNING: demo.stranger is not registered in your scheme"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn offline_presentation_and_qr_images() {
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    let challenge = d.post_json(
        &format!("{}/offline/challenge", d.verifier_url),
        &json!({
            "verifier": "demo.parking",
            "request": {
                "@context": "https://irma.app/ld/request/disclosure/v2",
                "disclose": [[["demo.utrecht.address.postal_code"]]]
            }
        }),
        false,
    );
    let payload = challenge["payload"].as_str().unwrap();
    let token = challenge["token"].as_str().unwrap();
    // The challenge arrives as a QR image.
    let challenge_png = w.file("challenge.png");
    kenmerk_cli::qr::write_png(payload, &challenge_png).unwrap();
    let answer_png = w.file("answer.png");
    let out = w.run(&[
        "present",
        "--offline",
        "--qr-image",
        challenge_png.to_str().unwrap(),
        "--png",
        answer_png.to_str().unwrap(),
        "--yes",
    ]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("Show this QR code"), "{text}");
    assert!(text.contains('█'), "no terminal QR code: {text}");
    let answer = text.lines().last().unwrap().trim().to_owned();
    assert_eq!(kenmerk_cli::qr::decode_image(&answer_png).unwrap(), answer);
    let result = d.rt.block_on(async {
        d.http
            .post(format!("{}/offline/{token}/answer", d.verifier_url))
            .body(answer)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    assert!(result.to_string().contains("VALID"), "{result}");
    assert!(result.to_string().contains("3512JE"), "{result}");
    let log = w.json(&["log", "--json"]);
    assert_eq!(
        log.as_array().unwrap().last().unwrap()["kind"],
        "offline_disclosure"
    );

    // A session pointer read from a QR image.
    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let png = w.file("session.png");
    kenmerk_cli::qr::write_png(&ptr, &png).unwrap();
    assert_ok(&w.run(&["session", "--qr-image", png.to_str().unwrap(), "--yes"]));
    assert!(d.result(&token).to_string().contains("VALID"));
}

#[test]
fn scheme_pinning_refuses_other_key_and_wrong_fingerprint() {
    let d = Daemons::start();
    let other = Daemons::start();
    let w = Wallet::new();
    // Wrong fingerprint: nothing pinned.
    let out = w.run(&[
        "scheme",
        "add",
        &format!("{}/scheme", d.issuer_url),
        "--key",
        &d.scheme_key,
        "--fingerprint",
        &other.fingerprint,
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(w
        .json(&["scheme", "list", "--json"])
        .as_array()
        .unwrap()
        .is_empty());
    w.pin(&d);
    // The same again: unchanged.
    let out = w.run(&[
        "scheme",
        "add",
        &format!("{}/scheme", d.issuer_url),
        "--key",
        &d.scheme_key,
    ]);
    assert_ok(&out);
    assert!(stdout(&out).contains("nothing changed"), "{}", stdout(&out));
    // Another issuer's "demo" scheme, under its own key: refused.
    let out = w.run(&[
        "scheme",
        "add",
        &format!("{}/scheme", other.issuer_url),
        "--key",
        &other.scheme_key,
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pinned to another key"),
        "{}",
        stderr(&out)
    );
    // A credential offered by the other issuer does not verify either.
    let (ptr, _) = other.issue(json!([address()]));
    let out = w.run(&["session", &ptr, "--yes"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(w.json(&["list", "--json"]).as_array().unwrap().is_empty());
}

#[test]
fn interactive_consent_through_a_pseudo_terminal() {
    // `script` (util-linux) runs kenmerk on a pseudo-terminal; our input
    // goes to it as typed keys.
    if Command::new("script").arg("--version").output().is_err() {
        println!("skipped: script(1) not installed");
        return;
    }
    let d = Daemons::start();
    let w = Wallet::with_credentials(&d);
    let (ptr, token) = d.ask("demo.parking", parking_request(), false);
    let command = format!(
        "{} session '{}'",
        env!("CARGO_BIN_EXE_kenmerk"),
        ptr.replace('\'', "'\\''")
    );
    let mut c = Command::new("script");
    for (k, v) in w.cmd().get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let mut child = c
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Give the prompt time to appear, then answer like a person.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stdin.write_all(b"yes\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let screen = stdout(&out);
    assert!(screen.contains("Share this? [y/N]"), "{screen}");
    assert!(
        screen.contains("Shared with Utrecht parking permits (demo)"),
        "{screen}"
    );
    assert!(d.result(&token).to_string().contains("VALID"));
}

#[test]
fn refresh_after_key_rotation_updates_the_scheme() {
    let d = Daemons::start();
    let w = Wallet::new();
    w.pin(&d);
    let (ptr, _) = d.issue(json!([address()]));
    assert_ok(&w.run(&["session", &ptr, "--yes"]));
    let version = |w: &Wallet| {
        w.json(&["scheme", "list", "--json"])[0]["version"]
            .as_u64()
            .unwrap()
    };
    let before = version(&w);
    d.post_json(
        &format!("{}/admin/keys/demo.utrecht.address/rotate", d.issuer_url),
        &json!({}),
        true,
    );
    let out = w.run(&["refresh", "--all"]);
    assert_ok(&out);
    assert!(version(&w) > before, "scheme not updated");
    let show = w.json(&["show", "c1", "--json"]);
    assert_eq!(show["tokens_left"], 4);
    // The new batch, signed with the rotated key, verifies at the verifier
    // once it has the new scheme too; the wallet's own check passed already
    // (it accepts only keys from its pinned scheme).
    let log = w.json(&["log", "--json"]);
    assert_eq!(log.as_array().unwrap().last().unwrap()["kind"], "refresh");
}
