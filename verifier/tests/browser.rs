//! The session page in a real headless Chromium (Debian's `chromium`, path
//! in `KENMERK_TEST_CHROMIUM`): it renders the QR code, follows the status
//! over server-sent events, and shows the result without a reload once a
//! wallet completes the session. Screenshots go to `KENMERK_ARTIFACTS`.
//!
//! Determinism: the first Chromium run dumps its DOM only after virtual
//! time has run out, and virtual time does not advance while a fetch is
//! pending: the open event stream holds the dump back until the page has
//! received DONE, fetched the result and closed the stream. The test
//! completes the session only after the daemon reports the page's stream
//! as open, so the page cannot have loaded after the completion. Every wait
//! is bounded.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const BROWSER_DEADLINE: Duration = Duration::from_secs(60);

fn chromium() -> Option<PathBuf> {
    std::env::var_os("KENMERK_TEST_CHROMIUM").map(PathBuf::from)
}

fn artifacts() -> PathBuf {
    std::env::var_os("KENMERK_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kenmerk-artifacts"))
}

fn browser(bin: &Path, profile: &Path, extra: &[&str], url: &str) -> Child {
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
            "--hide-scrollbars",
            "--lang=en-GB",
            "--window-size=412,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium")
}

/// Wait for the browser to exit, killing it at the deadline; its stdout.
async fn finish(mut child: Child, deadline: Duration) -> String {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within {deadline:?}");
            }
        }
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read as _;
        let _ = stdout.read_to_string(&mut out);
    }
    out
}

/// Decode the one QR code in a screenshot.
fn decode_qr(png: &Path) -> String {
    let image = image::open(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the page");
    grids[0].decode().unwrap().1
}

/// The requestor token, the wallet URL and the page URL of a new session.
async fn create(base: &str) -> (String, String, String) {
    let v: Value = client()
        .post(format!("{base}/session"))
        .json(&parking_request_json())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["token"].as_str().unwrap().to_owned(),
        v["sessionPtr"]["u"].as_str().unwrap().to_owned(),
        v["page"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn session_page_renders_qr_and_live_result() {
    let Some(bin) = chromium() else {
        println!("skipped: KENMERK_TEST_CHROMIUM not set");
        return;
    };
    let demo = Demo::new();
    let resident = Resident::new(&demo, 11);
    let d = daemon(&demo, |_| {}).await;
    let base = format!("http://{}", d.addr());
    let out_dir = artifacts();
    std::fs::create_dir_all(&out_dir).unwrap();
    let profile = tempfile::tempdir().unwrap();

    // 1. A waiting page: QR code, verifier, what is asked (screenshot).
    let (_, first_wallet_url, page) = create(&base).await;
    let waiting_png = out_dir.join("session-page-waiting.png");
    let _ = std::fs::remove_file(&waiting_png);
    let shot = browser(
        &bin,
        profile.path(),
        &[
            &format!("--screenshot={}", waiting_png.display()),
            // Real-time stop: the event stream stays open on a waiting page.
            "--timeout=5000",
        ],
        &page,
    );
    finish(shot, BROWSER_DEADLINE).await;
    assert!(std::fs::metadata(&waiting_png)
        .map(|m| m.len() > 1000)
        .unwrap_or(false));
    // The QR code on screen decodes to this session's pointer.
    let shown = decode_qr(&waiting_png);
    let pointer: Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(pointer["u"], first_wallet_url.as_str());
    assert_eq!(pointer["irmaqr"], "disclosing");

    // 2. The live run: load the page, let it connect, complete the session
    // as the wallet, and dump the DOM the page built without reloading.
    let (_, wallet_url, page) = create(&base).await;
    let streams_before = d.sessions().metrics().streams_opened();
    let live = browser(
        &bin,
        profile.path(),
        &["--dump-dom", "--virtual-time-budget=10000"],
        &page,
    );
    let start = Instant::now();
    while d.sessions().metrics().streams_opened() <= streams_before {
        assert!(
            start.elapsed() < BROWSER_DEADLINE,
            "the page never opened its status stream"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bytes = client()
        .get(&wallet_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let fetched = decode_request(&bytes);
    let p = parking_presentation(
        &demo,
        &resident,
        &resident.vehicle,
        demo.key("demo.rdw.vehicle").public(),
        &fetched,
    );
    let answer: Value = client()
        .post(format!("{wallet_url}/presentation"))
        .body(message(p))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["proofStatus"], "VALID");
    let dom = finish(live, BROWSER_DEADLINE).await;
    assert!(
        dom.contains("<svg role=\"img\""),
        "QR code rendered:\n{dom}"
    );
    assert!(
        dom.contains("Utrecht parking permits (demo)"),
        "verifier name:\n{dom}"
    );
    assert!(
        dom.contains("data-status=\"DONE\""),
        "live status reached DONE:\n{dom}"
    );
    assert!(dom.contains("status-done"), "{dom}");
    for value in ["AB-123-C", "3512JE", "Utrecht"] {
        assert!(dom.contains(value), "disclosed {value} shown:\n{dom}");
    }
    assert!(dom.contains("proven"), "predicate outcome shown:\n{dom}");
    assert!(!dom.contains("Domplein"), "nothing beyond the request");

    // 3. A failure is shown live too: the requestor cancels while the page
    // is open.
    let (token, _, failing_page) = create(&base).await;
    let streams_before = d.sessions().metrics().streams_opened();
    let failing = browser(
        &bin,
        profile.path(),
        &["--dump-dom", "--virtual-time-budget=10000"],
        &failing_page,
    );
    let start = Instant::now();
    while d.sessions().metrics().streams_opened() <= streams_before {
        assert!(start.elapsed() < BROWSER_DEADLINE, "no status stream");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = client()
        .delete(format!("{base}/session/{token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let dom = finish(failing, BROWSER_DEADLINE).await;
    assert!(dom.contains("data-status=\"FAILED\""), "{dom}");
    assert!(
        dom.contains("the session was cancelled"),
        "reason shown:\n{dom}"
    );

    // 4. Screenshot of the finished page.
    let done_png = out_dir.join("session-page.png");
    let _ = std::fs::remove_file(&done_png);
    let shot = browser(
        &bin,
        profile.path(),
        &[
            &format!("--screenshot={}", done_png.display()),
            "--virtual-time-budget=5000",
        ],
        &page,
    );
    finish(shot, BROWSER_DEADLINE).await;
    assert!(std::fs::metadata(&done_png)
        .map(|m| m.len() > 1000)
        .unwrap_or(false));
    println!(
        "screenshots: {} {}",
        waiting_png.display(),
        done_png.display()
    );
    d.shutdown().await.unwrap();
}
