//! `kenmerk demo`: the municipal stories end to end, as a resident sees them.
//!
//! Starts an issuer and a verifier inside this process (temporary directory,
//! SQLite, loopback ports chosen by the OS), makes a temporary wallet that
//! pins the demo scheme, and walks the five stories of the design notes:
//!
//! 1. issuing personal data, address and vehicle credentials;
//! 2. the parking permit: city, postal code and licence plate disclosed,
//!    "18 or older" proven without the birth date;
//! 3. a local poll: two votes of one resident share a pseudonym (the second
//!    is caught), another resident's differs;
//! 4. signing an objection, verified afterwards by anyone;
//! 5. refusals: revoked, expired, tampered, replayed, wrong verifier,
//!    unknown issuer, over-asking.
//!
//! Every step states what it expects; the demo exits 0 only when every step
//! gave that outcome. The wallet side is the same code `kenmerk session`
//! runs ([`crate::session::run`]); the back office and the service builders
//! are played with plain HTTP calls to the daemons' requestor APIs.

use std::path::Path;

use rand_core::OsRng;
use serde_json::{json, Value};
use wallet_core::encoding::AttributeValue;
use wallet_core::holder::HolderSecret;
use wallet_core::issuance::issuer::IssuerSession;
use wallet_core::issuance::wallet::PendingIssuance;
use wallet_core::keys::{IssuerSecretKey, KeyParams};
use wallet_core::matching::PresentationResult;
use wallet_core::presentation::{verify, ChallengeContext, Presentation, PresentationBuilder};
use wallet_core::pseudonym::Scope;
use wallet_core::scheme::{SignedScheme, VerifiedScheme};
use wallet_core::token::{CredentialToken, TokenInfo};
use wallet_core::wire::{
    DisclosureRequestMessage, PresentationMessage, SessionPointer, WireMessage,
};

use crate::client::Client;
use crate::consent::{self, AutoConsent, ConsentPolicy};
use crate::envelope::KdfParams;
use crate::error::DemoError;
use crate::i18n::Lang;
use crate::session::{self, OpenWallet, SessionOutcome};
use crate::wallet::{HolderSeed, WalletContents};
use crate::wallet_file::{LockWait, WalletFile};

const BACK_OFFICE_TOKEN: &str = "demo-back-office-token-0123456789";
const PASSPHRASE: &[u8] = b"demo passphrase, not for real use";
const BSN: &str = "999990019";

fn setup<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> DemoError + '_ {
    move |e| DemoError::Setup(format!("{what}: {e}"))
}

/// One step's outcome.
struct Step {
    story: &'static str,
    what: String,
    ok: bool,
}

/// Prints the walk-through and remembers every step.
struct Narrator {
    steps: Vec<Step>,
    story: &'static str,
}

impl Narrator {
    fn story(&mut self, title: &'static str, intro: &str) {
        self.story = title;
        println!("\n══ {title} ══");
        println!("{intro}");
    }

    fn say(&self, line: &str) {
        println!("   {line}");
    }

    fn check(&mut self, what: impl Into<String>, ok: bool, detail: &str) {
        let what = what.into();
        println!(
            "   {} {what}{}{detail}",
            if ok { "✔" } else { "✘" },
            if detail.is_empty() { "" } else { ": " }
        );
        self.steps.push(Step {
            story: self.story,
            what,
            ok,
        });
    }
}

/// Accepts every prompt, as `--yes` does, and shows the resident's screen
/// indented under the step.
struct ShowAndAccept {
    auto: AutoConsent,
}

fn indented(text: &str) {
    for line in text.lines() {
        println!("      │ {line}");
    }
}

impl ConsentPolicy for ShowAndAccept {
    fn issuance(
        &mut self,
        view: &consent::IssuanceView,
        lang: Lang,
    ) -> Result<bool, consent::ConsentError> {
        indented(&consent::render_issuance(view, lang));
        self.auto.issuance(view, lang)
    }

    fn disclosure(
        &mut self,
        view: &consent::DisclosureView,
        lang: Lang,
    ) -> Result<Option<wallet_core::request::Choice>, consent::ConsentError> {
        let choice = self.auto.disclosure(view, lang)?;
        if let Some(c) = &choice {
            indented(&consent::render_disclosure(view, c, lang));
        }
        Ok(choice)
    }
}

/// The issuer and verifier daemons and the requestor-side HTTP client.
struct Daemons {
    issuer: issuer::RunningIssuer,
    verifier: verifier::daemon::VerifierHandle,
    issuer_url: String,
    verifier_url: String,
    scheme: VerifiedScheme,
    signed_scheme: SignedScheme,
    http: reqwest::Client,
}

/// An HTTP answer: status and JSON body (problem details on errors).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn detail(&self) -> String {
        self.body["detail"]
            .as_str()
            .or_else(|| self.body["title"].as_str())
            .unwrap_or("")
            .to_owned()
    }
}

impl Daemons {
    async fn start(dir: &Path) -> Result<Self, DemoError> {
        let config = issuer::IssuerConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            data_dir: dir.join("issuer"),
            batch_size: 10,
            requestors: vec![issuer::RequestorConfig {
                name: "back-office".into(),
                token: Some(BACK_OFFICE_TOKEN.into()),
                admin: true,
                ..Default::default()
            }],
            ..Default::default()
        };
        let issuer = issuer::start(config).await.map_err(setup("issuer"))?;
        let key = issuer.scheme_public_key();
        let signed_scheme =
            SignedScheme::from_cbor(&issuer.signed_scheme_cbor()).map_err(setup("scheme"))?;
        let scheme = signed_scheme
            .verify(&key, None, unix_now())
            .map_err(setup("scheme"))?;
        let verifier = verifier::daemon::start(verifier::daemon::VerifierConfig::with_scheme(
            scheme.clone(),
        ))
        .await
        .map_err(setup("verifier"))?;
        Ok(Daemons {
            issuer_url: issuer.public_url().trim_end_matches('/').to_owned(),
            verifier_url: verifier.public_url().trim_end_matches('/').to_owned(),
            issuer,
            verifier,
            scheme,
            signed_scheme,
            http: reqwest::Client::new(),
        })
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Answer {
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp
                    .bytes()
                    .await
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                Answer { status, body }
            }
            Err(e) => Answer {
                status: 0,
                body: json!({ "detail": e.to_string() }),
            },
        }
    }

    async fn back_office(&self, method: reqwest::Method, path: &str, body: Value) -> Answer {
        let url = format!("{}{path}", self.issuer_url);
        self.call(
            self.http
                .request(method, url)
                .bearer_auth(BACK_OFFICE_TOKEN)
                .json(&body),
        )
        .await
    }

    /// The back office asks for an issuance session: (QR payload, record ids).
    async fn issuance_session(&self, credentials: Value) -> Result<(String, Vec<String>), String> {
        let a = self
            .back_office(
                reqwest::Method::POST,
                "/session",
                json!({
                    "@context": "https://irma.app/ld/request/issuance/v2",
                    "credentials": credentials,
                    "subject": BSN,
                }),
            )
            .await;
        if a.status != 201 && a.status != 200 {
            return Err(format!("issuer answered {}: {}", a.status, a.detail()));
        }
        let records = a.body["records"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok((a.body["sessionPtr"].to_string(), records))
    }

    /// A service builder asks the verifier for a session: (QR payload,
    /// requestor token), or the refusal.
    async fn verifier_session(
        &self,
        verifier: &str,
        request: Value,
    ) -> Result<(String, String), Answer> {
        let a = self
            .call(
                self.http
                    .post(format!("{}/session", self.verifier_url))
                    .json(&json!({
                        "verifier": verifier,
                        "request": request,
                    })),
            )
            .await;
        if a.status != 200 && a.status != 201 {
            return Err(a);
        }
        let token = a.body["token"].as_str().unwrap_or("").to_owned();
        Ok((a.body["sessionPtr"].to_string(), token))
    }

    async fn result(&self, token: &str) -> Value {
        self.call(
            self.http
                .get(format!("{}/session/{token}/result", self.verifier_url)),
        )
        .await
        .body
    }

    /// Posts presentation bytes to a verifier session, as a wallet would.
    async fn post_presentation(&self, wallet_url: &str, bytes: Vec<u8>) -> Answer {
        self.call(
            self.http
                .post(format!("{wallet_url}/presentation"))
                .header(reqwest::header::CONTENT_TYPE, "application/cbor")
                .body(bytes),
        )
        .await
    }
}

fn unix_now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

fn today() -> String {
    AttributeValue::Date(time::OffsetDateTime::now_utc().date()).to_string()
}

fn disclosed_pairs(result: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for group in result["disclosed"].as_array().cloned().unwrap_or_default() {
        for a in group.as_array().cloned().unwrap_or_default() {
            let id = a["id"].as_str().unwrap_or("").to_owned();
            let value = a["rawvalue"]
                .as_str()
                .or_else(|| a["value"].as_str())
                .map(str::to_owned)
                .unwrap_or_else(|| a["value"].to_string());
            out.push((id, value));
        }
    }
    out
}

fn make_wallet(dir: &Path, name: &str, d: &Daemons) -> Result<OpenWallet, DemoError> {
    let path = dir.join(format!("{name}.kenmerk"));
    let now = i64::try_from(unix_now()).unwrap_or(0);
    let mut contents = WalletContents::new(HolderSeed::generate(), now);
    crate::scheme_store::pin(
        &mut contents,
        &d.signed_scheme,
        &d.issuer.scheme_public_key(),
        Some(&d.issuer.scheme_public_key().fingerprint()),
        &format!("{}/scheme", d.issuer_url),
        now,
    )
    .map_err(setup("pinning the scheme"))?;
    // A cheaper key derivation than a real wallet's: the demo wallet is
    // temporary and its passphrase is printed in the source.
    let kdf = KdfParams {
        m_cost_kib: 8 * 1024,
        t_cost: 1,
        p_cost: 1,
    };
    let file = WalletFile::create(&path, PASSPHRASE, kdf, &contents, LockWait::default())
        .map_err(setup("creating the wallet"))?;
    Ok(OpenWallet { file, contents })
}

async fn run_session(
    wallet: &mut OpenWallet,
    pointer: &str,
    lang: Lang,
) -> Result<SessionOutcome, String> {
    let target = session::parse_target(pointer).map_err(|e| e.to_string())?;
    let client = Client::new().map_err(|e| e.to_string())?;
    let mut policy = ShowAndAccept {
        auto: AutoConsent::default(),
    };
    let now = i64::try_from(unix_now()).unwrap_or(0);
    session::run(wallet, &client, &target, &mut policy, lang, now)
        .await
        .map_err(|e| e.to_string())
}

/// An unused token of `credential_type` from the wallet, marked used (the
/// demo's "misbehaving" steps build presentations by hand from it).
fn take_token(wallet: &mut OpenWallet, credential_type: &str) -> Option<CredentialToken> {
    let cred = wallet
        .contents
        .credentials
        .iter_mut()
        .find(|c| c.credential_type == credential_type && c.tokens_left() > 0)?;
    let stored = cred.tokens.iter_mut().find(|t| !t.used)?;
    stored.used = true;
    CredentialToken::from_bytes(stored.token.as_slice()).ok()
}

/// Fetches a disclosure request from a session pointer's wallet URL.
async fn fetch_request(d: &Daemons, pointer: &str) -> Option<(String, DisclosureRequestMessage)> {
    let url = SessionPointer::from_json(pointer).ok()?.u;
    let bytes = d
        .http
        .get(&url)
        .header(reqwest::header::ACCEPT, "application/cbor")
        .send()
        .await
        .ok()?
        .bytes()
        .await
        .ok()?;
    DisclosureRequestMessage::from_bytes(&bytes)
        .ok()
        .map(|m| (url, m))
}

/// A poll presentation built directly with wallet-core: the municipality
/// (position 4 of the address credential) and the poll pseudonym.
fn poll_presentation(
    holder: &HolderSecret,
    token: &CredentialToken,
    scheme: &VerifiedScheme,
    context: ChallengeContext,
    scope: Scope,
) -> Option<Presentation> {
    let key = scheme.key_by_id(&token.token().key_id)?;
    let mut b = PresentationBuilder::new(holder, context);
    b.token(token, key, &[4]);
    b.pseudonym(scope);
    b.prove(&mut OsRng).ok()
}

/// Runs the demo; returns the process exit code.
pub fn run(keep: bool, lang: Lang) -> Result<u8, DemoError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(setup("async runtime"))?;
    rt.block_on(demo(keep, lang))
}

async fn demo(keep: bool, lang: Lang) -> Result<u8, DemoError> {
    let dir = tempfile::tempdir().map_err(setup("temporary directory"))?;
    let d = Daemons::start(dir.path()).await?;
    let mut n = Narrator {
        steps: Vec::new(),
        story: "",
    };
    println!("kenmerk demo");
    println!(
        "  issuer   (municipality of Utrecht, RDW)  {}",
        d.issuer_url
    );
    println!(
        "  verifier (parking desk, poll, objections) {}",
        d.verifier_url
    );
    println!(
        "  scheme key fingerprint                   {}",
        d.issuer.scheme_public_key().fingerprint()
    );
    println!(
        "  temporary wallets and SQLite store in    {}",
        dir.path().display()
    );

    let mut anna = make_wallet(dir.path(), "anna", &d)?;
    let mut bram = make_wallet(dir.path(), "bram", &d)?;

    // ── Story 1 ──────────────────────────────────────────────────────────
    n.story(
        "1. Issuing",
        "Anna de Vries visits the municipality's site (after DigiD). The back office\n\
         asks the issuer for her personal data and address; the RDW adds her car.\n\
         Her wallet receives each credential blindly: the issuer never sees the tokens.",
    );
    let anna_credentials = json!([
        {"credential": "demo.utrecht.personal", "attributes": {
            "given_names": "Anna Maria", "family_name": "de Vries",
            "date_of_birth": "2001-03-14", "bsn": BSN}},
        {"credential": "demo.utrecht.address", "attributes": {
            "street": "Domplein", "house_number": "29", "postal_code": "3512JE",
            "city": "Utrecht", "municipality": "Utrecht"}},
    ]);
    let mut anna_records = Vec::new();
    match d.issuance_session(anna_credentials).await {
        Ok((pointer, records)) => {
            anna_records = records;
            let out = run_session(&mut anna, &pointer, lang).await;
            n.check(
                "personal data and address issued to Anna's wallet",
                matches!(&out, Ok(SessionOutcome::Issued { credentials }) if credentials.len() == 2),
                &out.as_ref().err().cloned().unwrap_or_default(),
            );
        }
        Err(e) => n.check("issuance session created", false, &e),
    }
    let vehicle = json!([{"credential": "demo.rdw.vehicle", "attributes": {
        "licence_plate": "GV-123-K", "make": "Fiat", "owner_bsn": BSN}}]);
    match d.issuance_session(vehicle).await {
        Ok((pointer, _)) => {
            let out = run_session(&mut anna, &pointer, lang).await;
            n.check(
                "vehicle credential (RDW) issued",
                matches!(&out, Ok(SessionOutcome::Issued { .. })),
                &out.as_ref().err().cloned().unwrap_or_default(),
            );
        }
        Err(e) => n.check("vehicle issuance session created", false, &e),
    }
    let bram_credentials = json!([{"credential": "demo.utrecht.address", "attributes": {
        "street": "Oudegracht", "house_number": "200", "postal_code": "3511NR",
        "city": "Utrecht", "municipality": "Utrecht"}}]);
    match d.issuance_session(bram_credentials).await {
        Ok((pointer, _)) => {
            let out = run_session(&mut bram, &pointer, lang).await;
            n.check(
                "Bram, a neighbour, receives his address credential",
                matches!(&out, Ok(SessionOutcome::Issued { .. })),
                &out.as_ref().err().cloned().unwrap_or_default(),
            );
        }
        Err(e) => n.check("Bram's issuance session created", false, &e),
    }

    // ── Story 2 ──────────────────────────────────────────────────────────
    n.story(
        "2. Parking permit",
        "The parking desk needs the city and postal code, a licence plate, and that\n\
         the applicant is 18 or older: not the birth date, not the BSN.",
    );
    let parking = json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [
            [["demo.utrecht.address.city", "demo.utrecht.address.postal_code"]],
            [["demo.rdw.vehicle.licence_plate"]]
        ],
        "predicates": [{"attribute": "demo.utrecht.personal.date_of_birth",
                        "operator": "ageAtLeast", "years": 18, "on": today()}]
    });
    match d.verifier_session("demo.parking", parking.clone()).await {
        Ok((pointer, token)) => {
            let out = run_session(&mut anna, &pointer, lang).await;
            let result = d.result(&token).await;
            let disclosed = disclosed_pairs(&result);
            n.say("the desk received:");
            for (id, value) in &disclosed {
                n.say(&format!("  {id} = {value}"));
            }
            for p in result["predicates"].as_array().cloned().unwrap_or_default() {
                n.say(&format!("  proven: {}", p));
            }
            let text = result.to_string();
            n.check(
                "VALID, with city, postal code and plate",
                out.is_ok()
                    && result["proofStatus"] == "VALID"
                    && disclosed.iter().any(|(_, v)| v == "3512JE")
                    && disclosed.iter().any(|(_, v)| v == "GV-123-K"),
                result["proofStatus"].as_str().unwrap_or(""),
            );
            n.say("not revealed: birth date, BSN, names, street and house number, car make");
            n.check(
                "age 18+ proven; birth date and BSN not revealed",
                !text.contains("2001-03-14")
                    && !text.contains(BSN)
                    && text.contains("date_of_birth"),
                "",
            );
        }
        Err(a) => n.check("parking session created", false, &a.detail()),
    }

    // ── Story 3 ──────────────────────────────────────────────────────────
    n.story(
        "3. Local poll",
        "The poll needs to know you live in Utrecht and have not voted yet; not who\n\
         you are. Your wallet gives a pseudonym that is the same each time you vote\n\
         in this poll and different in every other poll.",
    );
    let poll = json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[[{"type": "demo.utrecht.address.municipality", "value": "Utrecht"}]]],
        "pseudonym": "park-2026"
    });
    let mut pseudonyms: Vec<(String, String)> = Vec::new();
    for who in ["Anna", "Anna again", "Bram"] {
        let wallet = if who == "Bram" { &mut bram } else { &mut anna };
        match d.verifier_session("demo.poll", poll.clone()).await {
            Ok((pointer, token)) => {
                let out = run_session(wallet, &pointer, lang).await;
                let result = d.result(&token).await;
                let ps = result["pseudonym"]["value"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                n.say(&format!(
                    "{who} votes; pseudonym {}…",
                    ps.get(..16).unwrap_or("")
                ));
                n.check(
                    format!("{who}: VALID residency proof"),
                    out.is_ok() && result["proofStatus"] == "VALID" && !ps.is_empty(),
                    result["proofStatus"].as_str().unwrap_or(""),
                );
                pseudonyms.push((who.to_owned(), ps));
            }
            Err(a) => n.check("poll session created", false, &a.detail()),
        }
    }
    n.say("not revealed to the poll: names, BSN, address, birth date; the pseudonym is");
    n.say("useless anywhere else (another poll gets an unrelated one)");
    if let [(_, a1), (_, a2), (_, b)] = pseudonyms.as_slice() {
        n.check(
            "Anna's second vote has the same pseudonym: detected as a double vote",
            a1 == a2,
            "",
        );
        n.check(
            "Bram's pseudonym differs: votes of different residents are told apart",
            a1 != b,
            "",
        );
    }

    // ── Story 4 ──────────────────────────────────────────────────────────
    n.story(
        "4. Signing an objection",
        "Anna signs \"I object to permit 2026-114\" with her names, postal code and\n\
         house number. Anyone can check the signature later against the scheme.",
    );
    let objection = json!({
        "@context": "https://irma.app/ld/request/signature/v2",
        "message": "I object to permit 2026-114",
        "disclose": [
            [["demo.utrecht.personal.given_names", "demo.utrecht.personal.family_name"]],
            [["demo.utrecht.address.postal_code", "demo.utrecht.address.house_number"]]
        ]
    });
    match d.verifier_session("demo.objections", objection).await {
        Ok((pointer, _token)) => {
            let out = run_session(&mut anna, &pointer, lang).await;
            let signature = match &out {
                Ok(SessionOutcome::Disclosed { signature, .. }) => signature.clone(),
                _ => None,
            };
            n.check(
                "signature made",
                signature.is_some(),
                &out.as_ref().err().cloned().unwrap_or_default(),
            );
            if let Some(sig) = signature {
                let later = sig.verify(
                    &wallet_core::presentation::Expected::protocol_limits(),
                    &d.scheme,
                    unix_now(),
                );
                n.check(
                    "a third party verifies it against the scheme",
                    later.is_ok(),
                    &later.err().map(|e| e.to_string()).unwrap_or_default(),
                );
                let mut forged = sig.clone();
                forged.context.message = Some("I support permit 2026-114".into());
                n.check(
                    "the same signature on another message is refused",
                    forged
                        .verify(
                            &wallet_core::presentation::Expected::protocol_limits(),
                            &d.scheme,
                            unix_now(),
                        )
                        .is_err(),
                    "",
                );
            }
        }
        Err(a) => n.check("signing session created", false, &a.detail()),
    }

    // ── Story 5 ──────────────────────────────────────────────────────────
    n.story(
        "5. Refusals",
        "What must not work, does not: each is refused with its reason.",
    );
    refusals(&d, &mut n, &mut anna, &anna_records, lang).await;

    // ── Summary ──────────────────────────────────────────────────────────
    let failed: Vec<&Step> = n.steps.iter().filter(|s| !s.ok).collect();
    println!("\n══ Summary ══");
    println!(
        "   {} steps, {} as expected, {} not",
        n.steps.len(),
        n.steps.len() - failed.len(),
        failed.len()
    );
    for s in &failed {
        println!("   ✘ [{}] {}", s.story, s.what);
    }
    println!(
        "   Anna's disclosure log (kenmerk log) has {} entries.",
        anna.contents.log.entries().len()
    );

    if keep {
        // The page URL comes from the verifier: it carries the page token,
        // not the requestor token that opens the result.
        let created = d
            .call(
                d.http
                    .post(format!("{}/session", d.verifier_url))
                    .json(&json!({"verifier": "demo.parking", "request": parking})),
            )
            .await;
        if let Some(page) = created.body["page"].as_str() {
            println!("\nThe daemons keep running (Ctrl-C stops them):");
            println!("  issuer         {}", d.issuer_url);
            println!("  verifier       {}", d.verifier_url);
            println!("  session page   {page}");
            println!("  requestor token for the issuer: {BACK_OFFICE_TOKEN}");
        }
        let _ = tokio::signal::ctrl_c().await;
        // Keep the temporary directory for inspection only while running.
    }
    let _ = d.verifier.shutdown().await;
    let _ = d.issuer.shutdown().await;
    Ok(if failed.is_empty() { 0 } else { 1 })
}

async fn refusals(
    d: &Daemons,
    n: &mut Narrator,
    anna: &mut OpenWallet,
    anna_records: &[String],
    lang: Lang,
) {
    let holder = HolderSecret::from_seed(anna.contents.seed.as_bytes());
    let poll = json!({
        "@context": "https://irma.app/ld/request/disclosure/v2",
        "disclose": [[["demo.utrecht.address.municipality"]]],
        "pseudonym": "park-2026"
    });
    let scope = Scope("demo.poll/park-2026".into());

    // Replayed: one valid presentation posted twice, then to a new session.
    let first = d.verifier_session("demo.poll", poll.clone()).await.ok();
    let second = d.verifier_session("demo.poll", poll.clone()).await.ok();
    let built = match (&first, take_token(anna, "demo.utrecht.address")) {
        (Some((pointer, _)), Some(token)) => match fetch_request(d, pointer).await {
            Some((url, m)) => {
                poll_presentation(&holder, &token, &d.scheme, m.context(), scope.clone())
                    .map(|p| (url, p, m.context()))
            }
            None => None,
        },
        _ => None,
    };
    if let Some((url, p, ctx)) = &built {
        let bytes = PresentationMessage::new(p.clone()).to_bytes();
        let once = d.post_presentation(url, bytes.clone()).await;
        let again = d.post_presentation(url, bytes.clone()).await;
        n.check(
            "replayed: the same presentation posted twice to its session is refused",
            once.body["proofStatus"] == "VALID" && again.status >= 400,
            &again.detail(),
        );
        if let Some((pointer2, token2)) = &second {
            let url2 = SessionPointer::from_json(pointer2)
                .map(|p| p.u)
                .unwrap_or_default();
            let other = d.post_presentation(&url2, bytes).await;
            let result = d.result(token2).await;
            n.check(
                "replayed: the same presentation in another session (other nonce) is refused",
                other.status >= 400 || other.body["proofStatus"] != "VALID",
                &reason(&other, &result),
            );
        }

        // Expired: the same presentation checked once its tokens expired.
        let expiry = p.tokens.first().map(|t| t.token.ti.expiry).unwrap_or(0);
        {
            let later = verify(
                p,
                &wallet_core::presentation::Expected::protocol_limits(),
                ctx,
                &d.scheme,
                expiry,
            );
            let status = match &later {
                Ok(_) => "VALID".to_owned(),
                Err(e) => format!(
                    "{:?}",
                    PresentationResult::from_verify_error(e).proof_status
                ),
            };
            n.check(
                "expired: checked after the tokens' expiry, the result is EXPIRED",
                status.to_uppercase().contains("EXPIRED"),
                &later.err().map(|e| e.to_string()).unwrap_or_default(),
            );
        }
    } else {
        n.check("replay setup", false, "could not build a presentation");
    }

    // Tampered and wrong verifier.
    if let Ok((pointer, token)) = d.verifier_session("demo.poll", poll.clone()).await {
        if let (Some((url, m)), Some(t)) = (
            fetch_request(d, &pointer).await,
            take_token(anna, "demo.utrecht.address"),
        ) {
            if let Some(mut p) =
                poll_presentation(&holder, &t, &d.scheme, m.context(), scope.clone())
            {
                if let Some(first) = p.tokens.first_mut().and_then(|t| t.disclosed.first_mut()) {
                    first.1 = AttributeValue::String("Amsterdam".into());
                }
                let a = d
                    .post_presentation(&url, PresentationMessage::new(p).to_bytes())
                    .await;
                let result = d.result(&token).await;
                n.check(
                    "tampered: municipality changed to Amsterdam after proving is INVALID",
                    a.body["proofStatus"] != "VALID" && result["proofStatus"] != "VALID",
                    &reason(&a, &result),
                );
            }
        }
    }
    if let (Some((poll_ptr, _)), Some((parking_ptr, parking_token))) = (
        d.verifier_session("demo.poll", poll.clone()).await.ok(),
        d.verifier_session(
            "demo.parking",
            json!({"@context": "https://irma.app/ld/request/disclosure/v2",
                   "disclose": [[["demo.utrecht.address.city"]]]}),
        )
        .await
        .ok(),
    ) {
        if let (Some((_, m)), Some((parking_url, _)), Some(t)) = (
            fetch_request(d, &poll_ptr).await,
            fetch_request(d, &parking_ptr).await,
            take_token(anna, "demo.utrecht.address"),
        ) {
            if let Some(p) = poll_presentation(&holder, &t, &d.scheme, m.context(), scope.clone()) {
                let a = d
                    .post_presentation(&parking_url, PresentationMessage::new(p).to_bytes())
                    .await;
                let result = d.result(&parking_token).await;
                n.check(
                    "wrong verifier: a presentation made for the poll is refused by the parking desk",
                    a.body["proofStatus"] != "VALID" && result["proofStatus"] != "VALID",
                    &reason(&a, &result),
                );
            }
        }
    }

    // Unknown issuer: a look-alike address credential under a key that is
    // not in the scheme.
    if let Ok((pointer, token)) = d.verifier_session("demo.poll", poll.clone()).await {
        if let (Some((url, m)), Some(rogue)) =
            (fetch_request(d, &pointer).await, rogue_token(&holder))
        {
            let (key, t) = rogue;
            let mut b = PresentationBuilder::new(&holder, m.context());
            b.token(&t, key.public(), &[4]);
            b.pseudonym(scope.clone());
            if let Ok(p) = b.prove(&mut OsRng) {
                let a = d
                    .post_presentation(&url, PresentationMessage::new(p).to_bytes())
                    .await;
                let result = d.result(&token).await;
                n.check(
                    "unknown issuer: a credential signed by a key outside the scheme is INVALID",
                    a.body["proofStatus"] != "VALID" && result["proofStatus"] != "VALID",
                    result["proofStatus"].as_str().unwrap_or(""),
                );
            }
        }
    }

    // Over-asking: the parking desk asks for the BSN, which it is not
    // registered for.
    let over = d
        .verifier_session(
            "demo.parking",
            json!({"@context": "https://irma.app/ld/request/disclosure/v2",
                   "disclose": [[["demo.utrecht.personal.bsn"]]]}),
        )
        .await;
    n.check(
        "over-asking: the parking desk asking for the BSN is refused at creation",
        over.is_err(),
        &over.err().map(|a| a.detail()).unwrap_or_default(),
    );

    // Revoked: the municipality revokes Anna's credentials (she moved away);
    // her wallet's refresh is refused from then on.
    let revoke = d
        .back_office(
            reqwest::Method::POST,
            &format!("/admin/subjects/{BSN}/revoke"),
            json!({"reason": "moved out of the municipality (demo)"}),
        )
        .await;
    n.say(&format!(
        "the municipality revokes {} credential record(s) of BSN {BSN}",
        revoke.body["revoked"].as_array().map_or(0, Vec::len)
    ));
    let index = anna
        .contents
        .credentials
        .iter()
        .position(|c| c.credential_type == "demo.utrecht.address");
    let refused = match index {
        Some(i) => {
            let client = Client::new().ok();
            match client {
                Some(c) => {
                    let now = i64::try_from(unix_now()).unwrap_or(0);
                    match session::refresh_credential(anna, &c, i, now).await {
                        Ok(session::RefreshOutcome::Refused { detail }) => Some(detail),
                        Ok(_) => None,
                        Err(e) => Some(e.to_string()),
                    }
                }
                None => None,
            }
        }
        None => None,
    };
    n.check(
        "revoked: refreshing the address credential is refused",
        !anna_records.is_empty() && refused.is_some(),
        &refused.unwrap_or_default(),
    );
    let _ = lang;
}

/// The refusal as the daemon worded it, else the session's proof status.
fn reason(answer: &Answer, result: &Value) -> String {
    let detail = answer.detail();
    if !detail.is_empty() {
        return detail;
    }
    answer.body["reason"]
        .as_str()
        .or_else(|| answer.body["proofStatus"].as_str())
        .or_else(|| result["proofStatus"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// An address credential for `holder` under a freshly made key that no
/// scheme lists (what a forger could make).
fn rogue_token(holder: &HolderSecret) -> Option<(IssuerSecretKey, CredentialToken)> {
    use wallet_core::encoding::AttributeKind::{Integer, String as Text};
    let now = unix_now();
    let key = IssuerSecretKey::generate(
        &mut OsRng,
        KeyParams {
            credential_type: "demo.utrecht.address".parse().ok()?,
            counter: 1,
            valid_from: now.saturating_sub(60),
            valid_until: now + 365 * 86_400,
            attributes: vec![Text, Integer, Text, Text, Text],
        },
    )
    .ok()?;
    let values = vec![
        AttributeValue::String("Nepstraat".into()),
        AttributeValue::Integer(1),
        AttributeValue::String("1234AB".into()),
        AttributeValue::String("Utrecht".into()),
        AttributeValue::String("Utrecht".into()),
    ];
    let ti = TokenInfo::new(key.public().credential_type.clone(), 1, now, 7 * 86_400);
    let nonce = [7u8; 32];
    let proof = holder.prove_possession(&mut OsRng, &nonce, &key.public().key_id());
    let (session, commitments) = IssuerSession::start(
        &mut OsRng,
        &key,
        &values,
        &ti,
        &holder.public(),
        &proof,
        &nonce,
        1,
    )
    .ok()?;
    let (pending, challenges) = PendingIssuance::start(
        &mut OsRng,
        key.public(),
        holder,
        values,
        ti,
        now,
        &commitments,
    )
    .ok()?;
    let (_, responses) = session.answer(&key, &challenges).ok()?;
    let token = pending.finish(&responses).ok()?.pop()?;
    Some((key, token))
}
