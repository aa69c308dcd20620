//! `kenmerk-scheme`: the scheme (trust registry) maintainer's tool.
//!
//! A thin layer over `wallet_core::scheme`: make a scheme signing key, make
//! issuer keys for the credential types of a TOML description, build and
//! sign the scheme document from the description plus issuer public keys,
//! and verify a signed scheme. Secret key files are written with mode 0600
//! and never printed.
//!
//! ```text
//! kenmerk-scheme keygen scheme-key.p8
//! kenmerk-scheme issuer-key scheme.toml demo.utrecht.address 1 address-1.key address-1.pub
//! kenmerk-scheme build scheme.toml scheme-key.p8 scheme.cbor --issuer-key address-1.pub --version 2
//! kenmerk-scheme verify scheme.cbor --key <64 hex digits> [--trusted-version 1]
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rand_core::OsRng;
use wallet_core::ids::CredentialTypeId;
use wallet_core::keys::{IssuerPublicKey, IssuerSecretKey};
use wallet_core::scheme::{SchemeBuilder, SchemePublicKey, SchemeSigningKey, SignedScheme};

#[derive(Parser)]
#[command(
    name = "kenmerk-scheme",
    version,
    about = "Make, sign and check kenmerk schemes (trust registries)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make a scheme signing key (Ed25519, PKCS#8) and print its public key
    /// and fingerprint.
    Keygen {
        /// Where to write the secret key (mode 0600; refuses to overwrite).
        out: PathBuf,
    },
    /// Make an issuer key for one credential type of a TOML description.
    IssuerKey {
        /// The scheme description (TOML).
        description: PathBuf,
        /// The credential type, `scheme.issuer.credential`.
        credential_type: String,
        /// Key counter (the next number on rotation).
        counter: u32,
        /// Where to write the secret key (mode 0600; refuses to overwrite).
        secret_out: PathBuf,
        /// Where to write the public key (CBOR), for `build --issuer-key`.
        public_out: PathBuf,
        /// Validity in days from now.
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
    /// Build the scheme from a TOML description and issuer public keys, and
    /// sign it.
    Build {
        /// The scheme description (TOML).
        description: PathBuf,
        /// The scheme signing key (from `keygen`).
        key: PathBuf,
        /// Where to write the signed scheme (CBOR).
        out: PathBuf,
        /// An issuer public key file (repeat for each).
        #[arg(long = "issuer-key")]
        issuer_keys: Vec<PathBuf>,
        /// Document version (must grow with every publication).
        #[arg(long)]
        version: Option<u64>,
        /// Validity of the document in days from now.
        #[arg(long, default_value_t = 365)]
        days: u64,
    },
    /// Verify a signed scheme under a public key and print a summary.
    Verify {
        /// The signed scheme (CBOR or JSON).
        scheme: PathBuf,
        /// The trusted scheme public key, 64 hex digits.
        #[arg(long)]
        key: String,
        /// The version already trusted (a lower one is a rollback).
        #[arg(long)]
        trusted_version: Option<u64>,
    },
}

fn now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes a new file (never overwrites), mode 0600 for secrets.
fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn description(path: &Path) -> Result<SchemeBuilder, String> {
    let text =
        String::from_utf8(read(path)?).map_err(|_| format!("{} is not UTF-8", path.display()))?;
    SchemeBuilder::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Keygen { out } => {
            let key = SchemeSigningKey::generate().map_err(|e| e.to_string())?;
            write_new(&out, key.pkcs8(), true)?;
            let public = key.public_key();
            println!("public key:  {public}");
            println!("fingerprint: {}", public.fingerprint());
        }
        Command::IssuerKey {
            description: desc,
            credential_type,
            counter,
            secret_out,
            public_out,
            days,
        } => {
            let builder = description(&desc)?;
            let id: CredentialTypeId = credential_type.parse().map_err(|e| format!("{e}"))?;
            let ct = builder
                .scheme()
                .credential_type(&id)
                .ok_or_else(|| format!("{id} is not a credential type of {}", desc.display()))?;
            let from = now();
            let key = IssuerSecretKey::generate(
                &mut OsRng,
                ct.key_params(counter, from, from + days * 86_400),
            )
            .map_err(|e| e.to_string())?;
            write_new(&secret_out, &key.to_bytes(), true)?;
            write_new(&public_out, &key.public().to_bytes(), false)?;
            println!("{id} key {counter}: key id {}", key.public().key_id());
        }
        Command::Build {
            description: desc,
            key,
            out,
            issuer_keys,
            version,
            days,
        } => {
            let signing = SchemeSigningKey::from_pkcs8(&read(&key)?).map_err(|e| e.to_string())?;
            let mut builder = description(&desc)?;
            for path in &issuer_keys {
                let pk = IssuerPublicKey::from_bytes(&read(path)?)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                builder = builder.add_issuer_key(pk);
            }
            if let Some(v) = version {
                builder = builder.version(v);
            }
            let from = now();
            let scheme = builder
                .validity(from, from + days * 86_400)
                .build()
                .map_err(|e| e.to_string())?;
            let signed = scheme.sign(&signing).map_err(|e| e.to_string())?;
            write_new(&out, &signed.to_cbor(), false)?;
            println!(
                "{} version {}: {} issuers, {} credential types, {} issuer keys, {} verifiers",
                scheme.id,
                scheme.version,
                scheme.issuers.len(),
                scheme.credential_types.len(),
                scheme.issuer_keys.len(),
                scheme.verifiers.len()
            );
        }
        Command::Verify {
            scheme,
            key,
            trusted_version,
        } => {
            let bytes = read(&scheme)?;
            let signed = match SignedScheme::from_cbor(&bytes) {
                Ok(s) => s,
                Err(_) => {
                    SignedScheme::from_json(&String::from_utf8_lossy(&bytes)).map_err(|e| {
                        format!("{}: neither CBOR nor JSON scheme: {e}", scheme.display())
                    })?
                }
            };
            let key: SchemePublicKey = key
                .parse()
                .map_err(|_| "--key must be 64 hex digits".to_owned())?;
            let verified = signed
                .verify(&key, trusted_version, now())
                .map_err(|e| format!("{}: {e}", scheme.display()))?;
            println!(
                "valid: {} version {}, signed by {}",
                verified.id,
                verified.version,
                key.fingerprint()
            );
            for k in &verified.issuer_keys {
                println!(
                    "  key {} #{} id {}",
                    k.credential_type,
                    k.counter,
                    k.key_id()
                );
            }
            for v in &verified.verifiers {
                println!("  verifier {}", v.id);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kenmerk-scheme: {e}");
            ExitCode::FAILURE
        }
    }
}
