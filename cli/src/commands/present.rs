//! `kenmerk present --offline <challenge | --qr-image FILE | ->`: answer a
//! verifier's offline challenge with a QR code.

use crate::cli::PresentArgs;
use crate::commands::session::{read_target, report_outcome};
use crate::consent::{AutoConsent, ConsentPolicy, Interactive};
use crate::context::{now, Context};
use crate::error::CliError;
use crate::i18n::{t, Key};
use crate::output;
use crate::qr;
use crate::session::{self, OpenWallet};

/// Run the command.
pub fn run(ctx: &Context, args: PresentArgs) -> Result<u8, CliError> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let payload = read_target(
        args.challenge.as_deref(),
        args.qr_image.as_deref(),
        &mut input,
    )?;
    let (file, contents) = ctx.open_wallet()?;
    let mut wallet = OpenWallet { file, contents };
    let mut auto;
    let mut interactive;
    let policy: &mut dyn ConsentPolicy = if args.yes {
        auto = AutoConsent {
            choose: args.choose.clone(),
        };
        &mut auto
    } else {
        interactive = Interactive::new(&mut input, std::io::stderr());
        &mut interactive
    };
    let (outcome, answer) = crate::commands::block_on(session::present_offline(
        &mut wallet,
        &payload,
        policy,
        ctx.lang,
        now(),
    ))?;
    if let Some(answer) = &answer {
        if let Some(png) = &args.png {
            qr::write_png(answer, png)?;
        }
        if ctx.json {
            output::json(&serde_json::json!({
                "outcome": outcome,
                "answer": answer,
            }))?;
            return Ok(crate::error::exit::OK);
        }
        output::line(t(ctx.lang, Key::OfflineShowThis))?;
        print!("{}", qr::terminal(answer)?);
        // The text last, so a script can take the final line.
        output::line(answer)?;
        return Ok(crate::error::exit::OK);
    }
    report_outcome(ctx, &outcome, None)
}
