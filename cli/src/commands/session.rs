//! `kenmerk session <URL | QR payload | --qr-image FILE | ->`.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use base64::Engine as _;
use wallet_core::request::SessionKind;

use crate::cli::SessionArgs;
use crate::client::Client;
use crate::consent::{self, AutoConsent, ConsentPolicy, Interactive};
use crate::context::{now, Context};
use crate::error::{exit, CliError};
use crate::i18n::{t, tr, Key, Lang};
use crate::output;
use crate::qr;
use crate::session::{self, OpenWallet, SessionOutcome};
use crate::wallet_file::write_atomically;

/// Read the target: argument, `-` (first line of stdin), or a QR image.
pub fn read_target(
    arg: Option<&str>,
    qr_image: Option<&Path>,
    stdin: &mut dyn BufRead,
) -> Result<String, CliError> {
    if let Some(path) = qr_image {
        return Ok(qr::decode_image(path)?);
    }
    match arg {
        Some("-") | None => {
            let mut line = String::new();
            stdin.read_line(&mut line)?;
            Ok(line.trim().to_owned())
        }
        Some(text) => Ok(text.to_owned()),
    }
}

/// Print a session outcome; the exit code for it.
pub fn report_outcome(
    ctx: &Context,
    outcome: &SessionOutcome,
    signature_out: Option<&Path>,
) -> Result<u8, CliError> {
    let lang = ctx.lang;
    if let (
        SessionOutcome::Disclosed {
            signature: Some(sig),
            ..
        },
        Some(path),
    ) = (outcome, signature_out)
    {
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.to_bytes());
        write_atomically(path, format!("{text}\n").as_bytes())
            .map_err(|e| CliError::ReadFile(path.to_owned(), e))?;
    }
    if ctx.json {
        output::json(outcome)?;
    } else {
        match outcome {
            SessionOutcome::Declined => output::line(t(lang, Key::Declined))?,
            SessionOutcome::Issued { credentials } => {
                let names: Vec<String> = credentials
                    .iter()
                    .map(|c| format!("{} ({}, {} tokens)", c.name, c.id, c.tokens))
                    .collect();
                output::line(&tr(
                    lang,
                    Key::SessionIssued,
                    &[("names", &names.join(", "))],
                ))?;
            }
            SessionOutcome::Disclosed {
                kind,
                verifier,
                verifier_name,
                status,
                ..
            } => {
                let name = verifier_name.as_deref().unwrap_or(verifier);
                let key = match kind {
                    SessionKind::Signing => Key::SessionSigned,
                    _ => Key::SessionShared,
                };
                output::line(&tr(lang, key, &[("name", &name), ("status", status)]))?;
                if let Some(path) = signature_out {
                    output::line(&tr(lang, Key::SignatureSaved, &[("path", &path.display())]))?;
                }
            }
        }
    }
    Ok(match outcome {
        SessionOutcome::Declined => exit::DECLINED,
        SessionOutcome::Disclosed { status, .. }
            if status != "VALID" && status != "DONE" && status != "SHOWN" =>
        {
            exit::REFUSED
        }
        _ => exit::OK,
    })
}

/// A consent policy that shows the screen on stderr for `--yes` runs (so a
/// log shows what was shared) and otherwise asks on stdin/stderr. It also
/// runs the spinner: on while the network works, off while the resident
/// reads.
struct Policy<'a> {
    auto: Option<AutoConsent>,
    interactive: Interactive<&'a mut dyn BufRead, std::io::Stderr>,
    quiet: bool,
    spinner: Spinner,
}

/// A spinner on stderr (drawn only on a terminal).
struct Spinner {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Spinner {
    fn start(&mut self, message: &str) {
        self.stop();
        if self.quiet {
            return;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bar = Some(bar);
    }

    fn stop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Policy<'_> {
    fn resume(&mut self, lang: Lang, answered_yes: bool) {
        if answered_yes {
            self.spinner.start(t(lang, Key::ProgressSending));
        }
    }
}

impl ConsentPolicy for Policy<'_> {
    fn issuance(
        &mut self,
        view: &consent::IssuanceView,
        lang: Lang,
    ) -> Result<bool, consent::ConsentError> {
        self.spinner.stop();
        let yes = self.issuance_inner(view, lang)?;
        self.resume(lang, yes);
        Ok(yes)
    }

    fn disclosure(
        &mut self,
        view: &consent::DisclosureView,
        lang: Lang,
    ) -> Result<Option<wallet_core::request::Choice>, consent::ConsentError> {
        self.spinner.stop();
        let choice = self.disclosure_inner(view, lang)?;
        self.resume(lang, choice.is_some());
        Ok(choice)
    }
}

impl Policy<'_> {
    fn issuance_inner(
        &mut self,
        view: &consent::IssuanceView,
        lang: Lang,
    ) -> Result<bool, consent::ConsentError> {
        match &mut self.auto {
            Some(a) => {
                if !self.quiet {
                    eprint!("{}", consent::render_issuance(view, lang));
                }
                a.issuance(view, lang)
            }
            None => self.interactive.issuance(view, lang),
        }
    }

    fn disclosure_inner(
        &mut self,
        view: &consent::DisclosureView,
        lang: Lang,
    ) -> Result<Option<wallet_core::request::Choice>, consent::ConsentError> {
        match &mut self.auto {
            Some(a) => {
                let choice = a.disclosure(view, lang)?;
                if let (Some(c), false) = (&choice, self.quiet) {
                    eprint!("{}", consent::render_disclosure(view, c, lang));
                    let _ = std::io::stderr().flush();
                }
                Ok(choice)
            }
            None => self.interactive.disclosure(view, lang),
        }
    }
}

/// Run the command.
pub fn run(ctx: &Context, args: SessionArgs) -> Result<u8, CliError> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let text = read_target(args.target.as_deref(), args.qr_image.as_deref(), &mut input)?;
    let target = session::parse_target(&text)?;
    let client = Client::new()?;
    let (file, contents) = ctx.open_wallet()?;
    let mut wallet = OpenWallet { file, contents };
    let now = now();
    if target.kind() == Some(SessionKind::Issuing) {
        // The offer is checked against the type's current key (Rule 8):
        // fetch the pinned schemes again first, as a refresh does, so that
        // a stale scheme does not make an older key look current. Only for
        // issuance: before a disclosure the fetch would tell the scheme's
        // host when the resident presents.
        crate::commands::refresh::update_schemes(ctx, &mut wallet, &client, now);
    }
    let mut policy = Policy {
        auto: args.yes.then(|| AutoConsent {
            choose: args.choose.clone(),
        }),
        interactive: Interactive::new(&mut input as &mut dyn BufRead, std::io::stderr()),
        quiet: ctx.json,
        spinner: Spinner {
            bar: None,
            quiet: ctx.json,
        },
    };
    policy.spinner.start(t(ctx.lang, Key::ProgressContacting));
    let outcome = crate::commands::block_on(session::run(
        &mut wallet,
        &client,
        &target,
        &mut policy,
        ctx.lang,
        now,
    ));
    policy.spinner.stop();
    report_outcome(ctx, &outcome?, args.signature_out.as_deref())
}
