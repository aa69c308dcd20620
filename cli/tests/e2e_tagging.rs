//! End to end, Rule 8: an issuer that hands one resident tokens other than
//! the scheme gives everyone (a far expiry, or an older key that is still
//! valid) is refused by the `kenmerk` wallet, with a message in Dutch and
//! English, and nothing is stored.
//!
//! The misbehaving issuer is a second `kenmerk-issuer` sharing the honest
//! one's scheme signing key and issuer key files but configured otherwise:
//! a scheme description with a longer validity, or a key directory from
//! before a rotation. The wallet pinned (and updated) the honest scheme.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use tokio::runtime::Runtime;

const PASS: &str = "correct horse battery";
const ADMIN_TOKEN: &str = "test-requestor-token-0123456789";

struct Issuer {
    url: String,
    _running: issuer::RunningIssuer,
}

/// Issuers on loopback sharing `dir/keys` (unless told otherwise) and
/// `dir/scheme-signing.key`.
struct Setup {
    rt: Runtime,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Setup {
    fn new() -> Self {
        Setup {
            rt: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            dir: tempfile::tempdir().unwrap(),
            http: reqwest::Client::new(),
        }
    }

    fn config(&self, name: &str, key_dir: &Path, scheme: Option<PathBuf>) -> issuer::IssuerConfig {
        issuer::IssuerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: self.dir.path().join(name),
            key_dir: Some(key_dir.to_owned()),
            scheme_key_file: Some(self.dir.path().join("scheme-signing.key")),
            scheme_file: scheme,
            batch_size: 2,
            requestors: vec![issuer::RequestorConfig {
                name: "test".into(),
                token: Some(ADMIN_TOKEN.into()),
                admin: true,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn start(&self, config: issuer::IssuerConfig) -> Issuer {
        let running = self.rt.block_on(issuer::start(config)).unwrap();
        Issuer {
            url: running.public_url().trim_end_matches('/').to_owned(),
            _running: running,
        }
    }

    fn keys(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    fn post(&self, url: &str, body: &Value) -> Value {
        self.rt.block_on(async {
            let resp = self
                .http
                .post(url)
                .bearer_auth(ADMIN_TOKEN)
                .json(body)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(status.is_success(), "{url}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    /// An address issuance session at `issuer`; the QR payload.
    fn issue_address(&self, issuer: &Issuer) -> String {
        let created = self.post(
            &format!("{}/session", issuer.url),
            &json!({
                "@context": "https://irma.app/ld/request/issuance/v2",
                "credentials": [{
                    "credential": "demo.utrecht.address",
                    "attributes": {
                        "street": "Domplein",
                        "house_number": "29",
                        "postal_code": "3512JE",
                        "city": "Utrecht",
                        "municipality": "Utrecht",
                    }
                }],
            }),
        );
        created["sessionPtr"].to_string()
    }
}

struct Wallet {
    dir: tempfile::TempDir,
}

impl Wallet {
    fn new() -> Self {
        let w = Wallet {
            dir: tempfile::tempdir().unwrap(),
        };
        assert_ok(&w.run(&["init", "--json"]));
        w
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kenmerk"));
        for var in ["LANG", "LC_ALL", "LC_MESSAGES", "KENMERK_PASSPHRASE_FILE"] {
            c.env_remove(var);
        }
        c.env("KENMERK_WALLET", self.dir.path().join("wallet.kenmerk"))
            .env("KENMERK_PASSPHRASE", PASS)
            .env("KENMERK_KDF_MEMORY_KIB", "64")
            .env("KENMERK_KDF_ITERATIONS", "1")
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .args(args)
            .output()
            .unwrap()
    }

    /// Pins (or updates) the scheme `issuer` publishes.
    fn pin(&self, issuer: &Issuer) {
        let out = self.run(&["scheme", "add", &format!("{}/scheme", issuer.url)]);
        assert_ok(&out);
    }

    fn credentials(&self) -> usize {
        let out = self.run(&["list", "--json"]);
        assert_ok(&out);
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    }

    /// Runs the session in English and in Dutch (the first run is refused
    /// before anything is sent, so the session is still open for the
    /// second); returns both outputs.
    fn refused_twice(&self, ptr: &str) -> (Output, Output) {
        let en = self.run(&["--lang", "en", "session", ptr, "--yes"]);
        let nl = self.run(&["--lang", "nl", "session", ptr, "--yes"]);
        (en, nl)
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

fn assert_refused(o: &Output, words: &[&str]) {
    assert_eq!(o.status.code(), Some(7), "{}", stderr(o));
    let text = stderr(o);
    for w in words {
        assert!(text.contains(w), "{w:?} not in: {text}");
    }
}

/// The demo scheme description with the address type's token validity set
/// to `validity` seconds.
fn scheme_with_address_validity(dir: &Path, validity: u64) -> PathBuf {
    scheme_with_address_policy(dir, &format!("token_validity = {validity}"))
}

/// The demo scheme description with `policy` lines for the address type.
fn scheme_with_address_policy(dir: &Path, policy: &str) -> PathBuf {
    let toml = wallet_core::scheme::demo::DEMO_SCHEME_TOML.replace(
        "id = \"address\"\n",
        &format!("id = \"address\"\n{policy}\n"),
    );
    assert!(toml.contains(policy), "demo.toml changed shape");
    let path = dir.join(format!("scheme-{}.toml", policy.len()));
    std::fs::write(&path, toml).unwrap();
    path
}

/// An issuer whose scheme puts a type on the day grid hands out the day
/// grid's expiry, and the wallet takes it.
#[test]
fn day_grid_from_the_scheme_end_to_end() {
    let s = Setup::new();
    let day = 86_400;
    let validity = 2 * day;
    let scheme = scheme_with_address_policy(
        s.dir.path(),
        &format!("token_validity = {validity}\ngrid_step = {day}"),
    );
    let issuer = s.start(s.config("daily", &s.keys(), Some(scheme)));
    let w = Wallet::new();
    w.pin(&issuer);
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_ok(&w.run(&["session", &s.issue_address(&issuer), "--yes"]));
    let after = time::OffsetDateTime::now_utc().unix_timestamp();
    let out = w.run(&["list", "--json"]);
    assert_ok(&out);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expiry = list[0]["expiry"].as_i64().unwrap();
    // Midnight UTC, the first at or after issuance plus two days.
    assert_eq!(expiry % day, 0, "{expiry}");
    assert!(expiry >= before + validity, "{expiry}");
    assert!(expiry < after + validity + day, "{expiry}");
}

#[test]
fn wallet_refuses_an_issuer_configured_for_a_far_expiry() {
    let s = Setup::new();
    let honest = s.start(s.config("honest", &s.keys(), None));
    let w = Wallet::new();
    w.pin(&honest);
    // The honest issuer's batch passes (one week, weekly grid).
    assert_ok(&w.run(&["session", &s.issue_address(&honest), "--yes"]));
    assert_eq!(w.credentials(), 1);

    // Same keys, same scheme signing key, but a scheme description giving
    // address tokens eight weeks: its expiry is on the weekly grid and
    // within the window today's wallet accepted.
    let eight_weeks = 8 * 7 * 86_400;
    let far = s.start(s.config(
        "far",
        &s.keys(),
        Some(scheme_with_address_validity(s.dir.path(), eight_weeks)),
    ));
    let (en, nl) = w.refused_twice(&s.issue_address(&far));
    assert_refused(
        &en,
        &["another end date than the scheme gives everyone", "hint"],
    );
    assert_refused(&nl, &["andere einddatum dan het schema", "tip"]);
    assert_eq!(w.credentials(), 1, "nothing stored from the tagging issuer");
}

#[test]
fn wallet_refuses_an_issuer_configured_with_an_older_key() {
    let s = Setup::new();
    let honest = s.start(s.config("honest", &s.keys(), None));
    // The key directory as it was before the rotation below.
    let old_keys = s.dir.path().join("old-keys");
    std::fs::create_dir(&old_keys).unwrap();
    for entry in std::fs::read_dir(s.keys()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, old_keys.join(path.file_name().unwrap())).unwrap();
    }
    // The wallet pins the scheme before the rotation (counter 1 only) ...
    let w = Wallet::new();
    w.pin(&honest);
    let version = |w: &Wallet| {
        let out = w.run(&["scheme", "list", "--json"]);
        assert_ok(&out);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()[0]["version"]
            .as_u64()
            .unwrap()
    };
    let before = version(&w);
    s.post(
        &format!("{}/admin/keys/demo.utrecht.address/rotate", honest.url),
        &json!({}),
    );

    // An issuer still holding only counter 1 (valid for a year yet).
    let old = s.start(s.config("old", &old_keys, None));
    // ... and fetches it again when an issuance session starts, so the
    // stale scheme cannot make counter 1 look current.
    let (en, nl) = w.refused_twice(&s.issue_address(&old));
    assert!(version(&w) > before, "scheme not updated before issuance");
    assert_refused(&en, &["older key than the current key"]);
    assert_refused(&nl, &["oudere sleutel dan de huidige sleutel"]);
    assert_eq!(w.credentials(), 0);

    // The honest issuer, with counter 2: accepted.
    assert_ok(&w.run(&["session", &s.issue_address(&honest), "--yes"]));
    assert_eq!(w.credentials(), 1);
}

#[test]
fn issuer_refuses_to_start_when_its_validity_disagrees_with_the_scheme() {
    let s = Setup::new();
    let mut config = s.config("disagree", &s.keys(), None);
    config.token_validity_secs = Some(14 * 86_400);
    let Err(e) = s.rt.block_on(issuer::start(config)) else {
        panic!("an issuer whose validity disagrees with the scheme started");
    };
    assert!(e.to_string().contains("disagrees with the scheme"), "{e}");
    // Agreeing with it (the demo scheme's one week) is fine.
    let mut config = s.config("agree", &s.keys(), None);
    config.token_validity_secs = Some(7 * 86_400);
    s.start(config);
}
