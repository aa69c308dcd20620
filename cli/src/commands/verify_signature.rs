//! `kenmerk verify-signature FILE`: check an attribute-based signature
//! against the pinned scheme, offline.

use std::path::Path;

use base64::Engine as _;
use serde::Serialize;
use wallet_core::signature::AttributeSignature;

use crate::context::{now, Context};
use crate::error::{exit, CliError};
use crate::i18n::{t, tr, Key};
use crate::labels::Labels;
use crate::output;
use crate::scheme_store;

/// Largest signature file read.
const MAX_SIGNATURE_FILE: u64 = 1 << 20;

#[derive(Serialize)]
struct Disclosed {
    id: String,
    label: String,
    value: Option<String>,
}

#[derive(Serialize)]
struct SignatureReport {
    status: &'static str,
    message: String,
    verifier: String,
    timestamp: Option<u64>,
    credentials: Vec<String>,
    disclosed: Vec<Disclosed>,
    predicates: Vec<String>,
}

/// Signature bytes from a file: base64url text (as `kenmerk session
/// --signature-out` and the verifier's result give it) or raw CBOR.
pub fn read_signature(path: &Path) -> Result<AttributeSignature, CliError> {
    let io = |e| CliError::ReadFile(path.to_owned(), e);
    if std::fs::metadata(path).map_err(io)?.len() > MAX_SIGNATURE_FILE {
        return Err(CliError::SignatureInvalid("file larger than 1 MiB".into()));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let decoded = std::str::from_utf8(&bytes).ok().and_then(|text| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .ok()
    });
    let raw = decoded.unwrap_or(bytes);
    AttributeSignature::from_bytes(&raw).map_err(|e| CliError::SignatureInvalid(e.to_string()))
}

/// Run the command.
pub fn run(ctx: &Context, file: &Path) -> Result<u8, CliError> {
    let signature = read_signature(file)?;
    let (_wallet, contents) = ctx.open_wallet()?;
    let verifier = signature.context.verifier.clone();
    let scheme_id = verifier.split('.').next().unwrap_or("").to_owned();
    let scheme = scheme_store::scheme_for(&contents, &scheme_id, now())?;
    let verified = signature
        .verify(
            &wallet_core::presentation::Expected::protocol_limits(),
            &scheme,
            u64::try_from(now()).unwrap_or(0),
        )
        .map_err(|e| CliError::SignatureInvalid(e.to_string()))?;
    let labels = Labels::new(&contents, ctx.lang);
    let mut disclosed = Vec::new();
    for c in &verified.credentials {
        let ct = scheme.credential_type(&c.credential_type);
        for (position, value) in &c.disclosed {
            let id = ct
                .and_then(|ct| ct.attributes.get(*position))
                .map(|a| a.id.to_string())
                .unwrap_or_else(|| format!("{}#{position}", c.credential_type));
            disclosed.push(Disclosed {
                label: labels.attribute(&id),
                id,
                value: match value {
                    wallet_core::encoding::AttributeValue::Absent => None,
                    v => Some(v.to_string()),
                },
            });
        }
    }
    let predicates = verified
        .predicates
        .iter()
        .map(|p| {
            let label = verified
                .credentials
                .get(p.credential)
                .and_then(|c| scheme.credential_type(&c.credential_type))
                .and_then(|ct| ct.attributes.get(p.position))
                .map(|a| labels.attribute(a.id.as_str()))
                .unwrap_or_default();
            crate::session::predicate_words(&p.predicate, &label, ctx.lang)
        })
        .collect();
    let report = SignatureReport {
        status: "VALID",
        message: signature.message().to_owned(),
        verifier,
        timestamp: signature.context.timestamp,
        credentials: verified
            .credentials
            .iter()
            .map(|c| labels.name(c.credential_type.as_str()))
            .collect(),
        disclosed,
        predicates,
    };
    if ctx.json {
        output::json(&report)?;
        return Ok(exit::OK);
    }
    let lang = ctx.lang;
    output::line(&tr(
        lang,
        Key::SignatureValid,
        &[("credentials", &report.credentials.join(", "))],
    ))?;
    if let Some(ts) = report.timestamp {
        output::line(&tr(
            lang,
            Key::SignatureMade,
            &[("when", &output::datetime(i64::try_from(ts).unwrap_or(0)))],
        ))?;
    }
    output::line(t(lang, Key::SignatureMessage))?;
    for line in report.message.lines() {
        output::line(&format!("    | {line}"))?;
    }
    output::line(t(lang, Key::SignatureDisclosed))?;
    for d in &report.disclosed {
        output::line(&format!(
            "  - {}: {}",
            d.label,
            d.value.as_deref().unwrap_or(t(lang, Key::ValueAbsent))
        ))?;
    }
    for p in &report.predicates {
        output::line(&format!("  - {p}"))?;
    }
    Ok(exit::OK)
}
