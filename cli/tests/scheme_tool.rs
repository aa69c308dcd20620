//! `kenmerk-scheme`, run as a maintainer would: signing key, issuer key,
//! build and sign from the demo description, verify; bad key, rollback and
//! overwrite refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tool(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kenmerk-scheme"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn description() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wallet-core/src/scheme/demo.toml")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn make_sign_and_verify_a_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let desc = description();
    let desc = desc.to_str().unwrap();

    let k = tool(&["keygen", "scheme.p8"], d);
    assert!(k.status.success(), "{k:?}");
    let key_hex = stdout(&k)
        .lines()
        .find_map(|l| l.strip_prefix("public key:").map(|s| s.trim().to_owned()))
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("scheme.p8"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwrites a key.
    assert!(!tool(&["keygen", "scheme.p8"], d).status.success());

    let ik = tool(
        &[
            "issuer-key",
            desc,
            "demo.utrecht.address",
            "1",
            "address.key",
            "address.pub",
        ],
        d,
    );
    assert!(ik.status.success(), "{ik:?}");
    assert!(
        !tool(&["issuer-key", desc, "demo.nowhere.x", "1", "a", "b"], d)
            .status
            .success()
    );

    let b = tool(
        &[
            "build",
            desc,
            "scheme.p8",
            "scheme-v2.cbor",
            "--issuer-key",
            "address.pub",
            "--version",
            "2",
        ],
        d,
    );
    assert!(b.status.success(), "{b:?}");
    assert!(stdout(&b).contains("version 2"));

    let v = tool(&["verify", "scheme-v2.cbor", "--key", &key_hex], d);
    assert!(v.status.success(), "{v:?}");
    assert!(stdout(&v).contains("demo.utrecht.address #1"));
    assert!(stdout(&v).contains("demo.parking"));

    // Another key, or a rollback below the trusted version: refused.
    let other = tool(&["keygen", "other.p8"], d);
    let other_hex = stdout(&other)
        .lines()
        .find_map(|l| l.strip_prefix("public key:").map(|s| s.trim().to_owned()))
        .unwrap();
    let bad = tool(&["verify", "scheme-v2.cbor", "--key", &other_hex], d);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("kenmerk-scheme: "));
    let rollback = tool(
        &[
            "verify",
            "scheme-v2.cbor",
            "--key",
            &key_hex,
            "--trusted-version",
            "3",
        ],
        d,
    );
    assert!(!rollback.status.success());
}
