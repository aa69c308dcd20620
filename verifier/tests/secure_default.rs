//! Secure by default: `kenmerk-verifier serve` refuses to start with an
//! unauthenticated requestor API on a non-loopback address unless the
//! operator passes `--allow-open-requestor-api` (or sets it in the file or
//! environment), and then warns at every start. Requests only go to
//! 127.0.0.1; every child is killed at the end.

mod common;

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(demo: &Demo, dir: &std::path::Path) -> std::path::PathBuf {
    let scheme_path = dir.join("scheme.json");
    std::fs::write(&scheme_path, demo.signed.to_json_pretty().unwrap()).unwrap();
    let config_path = dir.join("verifier.toml");
    std::fs::write(
        &config_path,
        format!(
            "scheme = \"{}\"\nscheme_key = \"{}\"\ndefault_verifier = \"demo.parking\"\n",
            scheme_path.display(),
            demo.scheme_key.public_key()
        ),
    )
    .unwrap();
    config_path
}

fn serve(config: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kenmerk-verifier"));
    c.arg("serve")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("KENMERK_VERIFIER_ALLOW_OPEN_REQUESTOR_API")
        .env_remove("KENMERK_VERIFIER_REQUESTOR_TOKENS")
        .env("KENMERK_VERIFIER_LOG_JSON", "true")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Start and wait for the start line; the log lines seen until then.
fn started(mut command: Command) -> (Daemon, String, Vec<Value>) {
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let daemon = Daemon(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            seen.push(v.clone());
            if v["fields"]["message"] == "kenmerk-verifier listening" {
                let addr = v["fields"]["addr"].as_str().unwrap_or("").to_owned();
                let _ = tx.send((addr, std::mem::take(&mut seen)));
            }
        }
    });
    let (addr, lines) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the daemon started");
    (daemon, addr, lines)
}

fn warned_open(lines: &[Value]) -> bool {
    lines.iter().any(|v| {
        v["level"] == "WARN"
            && v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("requestor API is open"))
    })
}

async fn healthy(addr: &str) {
    let port = addr.rsplit(':').next().unwrap();
    let r = client()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn open_requestor_api_beyond_loopback_needs_the_operators_word() {
    let demo = Demo::new();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&demo, dir.path());

    // No requestors, all interfaces, no flag: refused, non-zero, one line.
    let mut child = serve(&config, &["--listen", "0.0.0.0:0"], &[])
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the daemon started with an open requestor API on 0.0.0.0");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let reason: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(reason.len(), 1, "one line: {stderr}");
    assert!(
        reason[0].contains("--allow-open-requestor-api") && reason[0].contains("0.0.0.0"),
        "{stderr}"
    );

    // With the flag: serves, and says so in a warning at this start.
    let (d, addr, lines) = started(serve(
        &config,
        &["--listen", "0.0.0.0:0", "--allow-open-requestor-api"],
        &[],
    ));
    assert!(warned_open(&lines), "{lines:?}");
    healthy(&addr).await;
    drop(d);
    // The same from the environment, and the warning again at that start.
    let (d, addr, lines) = started(serve(
        &config,
        &["--listen", "0.0.0.0:0"],
        &[("KENMERK_VERIFIER_ALLOW_OPEN_REQUESTOR_API", "true")],
    ));
    assert!(warned_open(&lines), "{lines:?}");
    healthy(&addr).await;
    drop(d);

    // Requestors configured: no flag needed, no warning.
    let (d, addr, lines) = started(serve(
        &config,
        &["--listen", "0.0.0.0:0"],
        &[(
            "KENMERK_VERIFIER_REQUESTOR_TOKENS",
            "desk=desk-secret-0123456789",
        )],
    ));
    assert!(!warned_open(&lines), "{lines:?}");
    healthy(&addr).await;
    drop(d);
    // Open on loopback (the default): no flag needed.
    let (d, addr, _) = started(serve(&config, &["--listen", "127.0.0.1:0"], &[]));
    healthy(&addr).await;
    drop(d);
}
