//! Messages in Dutch and English.
//!
//! Every text the resident reads goes through [`Key`]: one table below holds
//! both languages side by side, so a message cannot exist in one language
//! only (it would not compile), and a test checks that both carry the same
//! `{placeholders}`.  Labels of credentials and attributes come from the
//! scheme itself (which has nl and en labels), not from here.

use std::fmt::Display;

/// The resident's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Nederlands.
    Nl,
    /// English.
    En,
}

impl Lang {
    /// From `--lang`, else `LC_ALL`, `LC_MESSAGES`, `LANG` (POSIX order of
    /// precedence); Dutch for any `nl*` locale, English otherwise.
    pub fn detect(flag: Option<&str>) -> Self {
        if let Some(l) = flag.and_then(Self::parse) {
            return l;
        }
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(v) = std::env::var(var) {
                if v.is_empty() {
                    continue;
                }
                return Self::parse(&v).unwrap_or(Lang::En);
            }
        }
        Lang::En
    }

    /// `nl`, `nl_NL.UTF-8`, `en`, `en-GB`, ... (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_lowercase();
        if s.starts_with("nl") {
            Some(Lang::Nl)
        } else if s.starts_with("en") || s == "c" || s.starts_with("c.") || s == "posix" {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The scheme's label key for this language.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }
}

macro_rules! messages {
    ($($key:ident => { en: $en:expr, nl: $nl:expr $(,)? }),* $(,)?) => {
        /// A message id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Key { $($key),* }

        impl Key {
            /// Every message id (for the completeness test).
            pub const ALL: &'static [Key] = &[$(Key::$key),*];

            /// The template in a language.
            pub fn template(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(
                        (Key::$key, Lang::En) => $en,
                        (Key::$key, Lang::Nl) => $nl,
                    )*
                }
            }
        }
    };
}

messages! {
    // Frame of an error report.
    ErrorPrefix => { en: "error", nl: "fout" },
    Warning => { en: "warning", nl: "waarschuwing" },
    HintPrefix => { en: "hint", nl: "tip" },

    // Wallet file.
    WalletNotFound => {
        en: "no wallet at {path}",
        nl: "geen wallet gevonden op {path}",
    },
    WalletNotFoundHint => {
        en: "create one with `kenmerk init`, restore one with `kenmerk recover` or `kenmerk backup restore`, or point to it with --wallet",
        nl: "maak er een met `kenmerk init`, herstel er een met `kenmerk recover` of `kenmerk backup restore`, of wijs hem aan met --wallet",
    },
    WalletExists => {
        en: "a wallet already exists at {path}; it was left untouched",
        nl: "er staat al een wallet op {path}; die is niet aangeraakt",
    },
    WalletExistsHint => {
        en: "use --wallet to choose another file, or move the existing one away first",
        nl: "kies een ander bestand met --wallet, of zet het bestaande eerst ergens anders neer",
    },
    WalletLocked => {
        en: "another kenmerk is using this wallet right now (lock {path})",
        nl: "een andere kenmerk gebruikt deze wallet op dit moment (slot {path})",
    },
    WalletLockedHint => {
        en: "wait until the other kenmerk has finished, then try again",
        nl: "wacht tot de andere kenmerk klaar is en probeer het dan opnieuw",
    },
    FileIo => {
        en: "cannot read or write {path}: {detail}",
        nl: "kan {path} niet lezen of schrijven: {detail}",
    },
    FileIoHint => {
        en: "check that the directory exists and that you may write to it",
        nl: "controleer of de map bestaat en of u erin mag schrijven",
    },
    WrongPassphrase => {
        en: "wrong passphrase: the wallet stays locked and was not changed",
        nl: "verkeerd wachtwoord: de wallet blijft op slot en is niet gewijzigd",
    },
    WrongPassphraseHint => {
        en: "forgot it? restore with `kenmerk backup restore` or `kenmerk recover` and your recovery phrase",
        nl: "vergeten? herstel met `kenmerk backup restore` of `kenmerk recover` en uw herstelzin",
    },
    FileTruncated => {
        en: "{path} is truncated (shorter than a kenmerk file can be); it was not changed",
        nl: "{path} is afgekapt (korter dan een kenmerk-bestand kan zijn); het is niet gewijzigd",
    },
    FileNotKenmerk => {
        en: "{path} is not a kenmerk {what} file",
        nl: "{path} is geen kenmerk-{what}bestand",
    },
    FileNotKenmerkHint => {
        en: "check the file name",
        nl: "controleer de bestandsnaam",
    },
    FileNewer => {
        en: "{path} was written by a newer kenmerk (format {found}, this one reads up to {supported}); it was not changed",
        nl: "{path} is geschreven door een nieuwere kenmerk (formaat {found}, deze leest tot en met {supported}); het is niet gewijzigd",
    },
    FileNewerHint => {
        en: "install the newest kenmerk",
        nl: "installeer de nieuwste kenmerk",
    },
    FileCorrupt => {
        en: "{path} is damaged or was altered; it was not changed",
        nl: "{path} is beschadigd of gewijzigd; het is niet aangeraakt",
    },
    FileCorruptHint => {
        en: "restore your wallet from a backup with `kenmerk backup restore`",
        nl: "herstel uw wallet uit een reservekopie met `kenmerk backup restore`",
    },
    WalletWordForWallet => { en: "wallet", nl: "wallet" },
    WalletWordForBackup => { en: "backup", nl: "reservekopie" },

    // Passphrases and recovery phrases.
    PassphraseMismatch => {
        en: "the two passphrases are not the same",
        nl: "de twee wachtwoorden zijn niet gelijk",
    },
    PassphraseMismatchHint => {
        en: "run the command again and type the same passphrase twice",
        nl: "voer de opdracht opnieuw uit en typ twee keer hetzelfde wachtwoord",
    },
    PassphraseTooShort => {
        en: "the passphrase is too short (at least {min} characters)",
        nl: "het wachtwoord is te kort (minstens {min} tekens)",
    },
    PassphraseTooShortHint => {
        en: "a few unrelated words make a passphrase that is long and easy to remember",
        nl: "een paar losse woorden geven een wachtwoord dat lang is en goed te onthouden",
    },
    NoTerminal => {
        en: "cannot ask for the {what}: there is no terminal",
        nl: "kan niet om het {what} vragen: er is geen terminal",
    },
    NoTerminalPassphraseHint => {
        en: "for scripts use --passphrase-file FILE or the KENMERK_PASSPHRASE variable",
        nl: "gebruik in scripts --passphrase-file BESTAND of de variabele KENMERK_PASSPHRASE",
    },
    NoTerminalPhraseHint => {
        en: "for scripts use --phrase-file FILE or the KENMERK_RECOVERY_PHRASE variable",
        nl: "gebruik in scripts --phrase-file BESTAND of de variabele KENMERK_RECOVERY_PHRASE",
    },
    WordPassphrase => { en: "passphrase", nl: "wachtwoord" },
    WordPhrase => { en: "recovery phrase", nl: "herstelzin" },
    WordPseudonym => { en: "a pseudonym", nl: "een pseudoniem" },
    PhraseInvalid => {
        en: "this is not a valid recovery phrase: {detail}",
        nl: "dit is geen geldige herstelzin: {detail}",
    },
    PhraseInvalidHint => {
        en: "type the 24 words exactly as written down, separated by spaces",
        nl: "typ de 24 woorden precies zoals opgeschreven, gescheiden door spaties",
    },
    PromptPassphrase => { en: "Passphrase: ", nl: "Wachtwoord: " },
    PromptNewPassphrase => { en: "New passphrase: ", nl: "Nieuw wachtwoord: " },
    PromptRepeatPassphrase => { en: "Repeat passphrase: ", nl: "Herhaal wachtwoord: " },
    PromptPhrase => { en: "Recovery phrase (24 words): ", nl: "Herstelzin (24 woorden): " },

    // init / recover.
    InitCreated => {
        en: "Wallet created: {path}",
        nl: "Wallet aangemaakt: {path}",
    },
    InitPhraseIntro => {
        en: "Your recovery phrase is below. Write it down on paper and keep it safe. It is shown only this once. With it you can recover your wallet and open your backups; anyone who has it can do the same.",
        nl: "Hieronder staat uw herstelzin. Schrijf hem op papier en bewaar hem goed. Hij wordt alleen nu getoond. Daarmee herstelt u uw wallet en opent u uw reservekopieën; iedereen die hem heeft kan dat ook.",
    },
    RecoverDone => {
        en: "Wallet recovered: {path}. Your credentials are not in the phrase: restore a backup, or ask your municipality to issue them again.",
        nl: "Wallet hersteld: {path}. Uw kenmerken zitten niet in de herstelzin: zet een reservekopie terug, of vraag uw gemeente ze opnieuw uit te geven.",
    },

    // backup.
    BackupCreated => {
        en: "Backup written to {path}. It opens with your recovery phrase.",
        nl: "Reservekopie geschreven naar {path}. Hij opent met uw herstelzin.",
    },
    BackupExists => {
        en: "{path} already exists; it was left untouched",
        nl: "{path} bestaat al; het is niet aangeraakt",
    },
    BackupExistsHint => {
        en: "choose another file name, or add --force to replace it",
        nl: "kies een andere bestandsnaam, of voeg --force toe om het te vervangen",
    },
    BackupWrongPhrase => {
        en: "this recovery phrase does not open {path}",
        nl: "deze herstelzin opent {path} niet",
    },
    BackupWrongPhraseHint => {
        en: "a backup opens only with the recovery phrase of the wallet it was made from",
        nl: "een reservekopie opent alleen met de herstelzin van de wallet waarvan hij is gemaakt",
    },
    BackupRestored => {
        en: "Backup restored to {path}: {count} credential(s). Run `kenmerk refresh` for fresh tokens.",
        nl: "Reservekopie teruggezet naar {path}: {count} kenmerk(en). Voer `kenmerk refresh` uit voor nieuwe tokens.",
    },

    // list / show.
    ColId => { en: "ID", nl: "ID" },
    ColCredential => { en: "CREDENTIAL", nl: "KENMERK" },
    ColIssuer => { en: "ISSUER", nl: "UITGEVER" },
    ColExpires => { en: "EXPIRES", nl: "VERLOOPT" },
    ColTokensLeft => { en: "TOKENS LEFT", nl: "TOKENS OVER" },
    ListEmpty => {
        en: "The wallet holds no credentials yet. Scan a QR code from your municipality with `kenmerk session`.",
        nl: "De wallet bevat nog geen kenmerken. Scan een QR-code van uw gemeente met `kenmerk session`.",
    },
    ShowCredential => { en: "Credential", nl: "Kenmerk" },
    ShowIssuer => { en: "Issuer", nl: "Uitgever" },
    ShowIssued => { en: "Issued", nl: "Uitgegeven" },
    ShowExpires => { en: "Expires", nl: "Verloopt" },
    ShowTokensLeft => { en: "Tokens left", nl: "Tokens over" },
    ShowAttributes => { en: "Attributes", nl: "Gegevens" },
    ValueAbsent => { en: "(empty)", nl: "(leeg)" },
    CredentialNotFound => {
        en: "no credential {key} in this wallet",
        nl: "geen kenmerk {key} in deze wallet",
    },
    CredentialNotFoundHint => {
        en: "`kenmerk list` shows the ids",
        nl: "`kenmerk list` toont de id's",
    },
    CredentialAmbiguous => {
        en: "{key} matches more than one credential",
        nl: "{key} past bij meer dan één kenmerk",
    },

    // log.
    ColWhen => { en: "WHEN", nl: "WANNEER" },
    ColWhat => { en: "WHAT", nl: "WAT" },
    ColToWhom => { en: "TO WHOM", nl: "AAN WIE" },
    ColAttributes => { en: "ATTRIBUTES", nl: "GEGEVENS" },
    ColPredicates => { en: "PROVEN", nl: "BEWEZEN" },
    ColPseudonym => { en: "PSEUDONYM SCOPE", nl: "PSEUDONIEM VOOR" },
    ColMessage => { en: "SIGNED MESSAGE", nl: "ONDERTEKEND BERICHT" },
    LogEmpty => {
        en: "Nothing has been disclosed from this wallet yet.",
        nl: "Er is nog niets gedeeld vanuit deze wallet.",
    },
    KindDisclosure => { en: "disclosed", nl: "gedeeld" },
    KindSignature => { en: "signed", nl: "ondertekend" },
    KindIssuance => { en: "received", nl: "ontvangen" },
    KindRefresh => { en: "renewed", nl: "vernieuwd" },
    KindOffline => { en: "shown offline", nl: "offline getoond" },
    Unknown => { en: "unknown", nl: "onbekend" },

    // Consent screens.
    ConsentIssuanceTitle => {
        en: "{issuer} ({host}) wants to give you:",
        nl: "{issuer} ({host}) wil u geven:",
    },
    ConsentValidUntil => {
        en: "valid until {date}, {count} one-time tokens",
        nl: "geldig tot {date}, {count} eenmalige tokens",
    },
    ConsentAcceptQuestion => { en: "Accept? [y/N] ", nl: "Accepteren? [j/N] " },
    ConsentWho => { en: "Who asks: {name} ({host})", nl: "Wie vraagt: {name} ({host})" },
    ConsentPurpose => { en: "Purpose: {purpose}", nl: "Doel: {purpose}" },
    ConsentUnknownVerifier => {
        en: "WARNING: {verifier} is not registered in your scheme; kenmerk cannot tell who is asking or what they may ask.",
        nl: "LET OP: {verifier} staat niet in uw schema; kenmerk kan niet zeggen wie dit vraagt of wat die mag vragen.",
    },
    ConsentHostMismatch => {
        en: "WARNING: this request comes from {host}, which is not a registered address of {name}.",
        nl: "LET OP: dit verzoek komt van {host}, en dat is geen geregistreerd adres van {name}.",
    },
    ConsentInsecure => {
        en: "WARNING: the connection to {host} is not encrypted (http); others on the network can read what you share.",
        nl: "LET OP: de verbinding met {host} is niet versleuteld (http); anderen op het netwerk kunnen lezen wat u deelt.",
    },
    ConsentOverAsking => {
        en: "WARNING: {name} asks for more than it is registered for: {items}.",
        nl: "LET OP: {name} vraagt meer dan waarvoor het geregistreerd is: {items}.",
    },
    ConsentWillShare => { en: "You will share:", nl: "U deelt:" },
    ConsentChooseOne => { en: "Choose one:", nl: "Kies één:" },
    ConsentChoosePrompt => { en: "Your choice [1-{n}]: ", nl: "Uw keuze [1-{n}]: " },
    ConsentNothing => { en: "nothing for this question", nl: "niets voor deze vraag" },
    ConsentProves => {
        en: "kenmerk proves, without showing the value:",
        nl: "kenmerk bewijst, zonder de waarde te tonen:",
    },
    PredicateAge => {
        en: "you are {years} or older (on {on})",
        nl: "u bent {years} jaar of ouder (op {on})",
    },
    PredicateAtLeast => {
        en: "{attribute} is at least {value}",
        nl: "{attribute} is minstens {value}",
    },
    PredicateAtMost => {
        en: "{attribute} is at most {value}",
        nl: "{attribute} is hoogstens {value}",
    },
    ConsentPseudonym => {
        en: "a code that is the same each time you take part in \"{scope}\" of {name}, and says nothing about you anywhere else",
        nl: "een code die elke keer gelijk is als u meedoet aan \"{scope}\" van {name}, en nergens anders iets over u zegt",
    },
    ConsentSignMessage => { en: "You sign this message:", nl: "U ondertekent dit bericht:" },
    ConsentSignWarning => {
        en: "Whoever receives the signature can show it to anyone as proof of what you signed and shared.",
        nl: "Wie de handtekening ontvangt, kan die aan iedereen laten zien als bewijs van wat u ondertekende en deelde.",
    },
    ConsentShareQuestion => { en: "Share this? [y/N] ", nl: "Delen? [j/N] " },
    ConsentSignQuestion => { en: "Sign and share this? [y/N] ", nl: "Ondertekenen en delen? [j/N] " },
    ConsentBadChoice => {
        en: "please type a number from 1 to {n}",
        nl: "typ een getal van 1 tot en met {n}",
    },
    Declined => { en: "Declined: nothing was sent.", nl: "Geweigerd: er is niets verstuurd." },
    SessionShared => {
        en: "Shared with {name}. Result: {status}",
        nl: "Gedeeld met {name}. Resultaat: {status}",
    },
    SessionSigned => {
        en: "Signed and sent to {name}. Result: {status}",
        nl: "Ondertekend en verstuurd naar {name}. Resultaat: {status}",
    },
    SignatureSaved => {
        en: "A copy of the signature is in {path}.",
        nl: "Een kopie van de handtekening staat in {path}.",
    },
    SessionIssued => { en: "Received: {names}", nl: "Ontvangen: {names}" },

    // Schemes.
    SchemePinned => {
        en: "Scheme {scheme} version {version} pinned. Key fingerprint:",
        nl: "Schema {scheme} versie {version} vastgelegd. Vingerafdruk van de sleutel:",
    },
    SchemeUpdated => {
        en: "Scheme {scheme} updated from version {from} to {version}.",
        nl: "Schema {scheme} bijgewerkt van versie {from} naar {version}.",
    },
    SchemeUnchanged => {
        en: "Scheme {scheme} is already at version {version}; nothing changed.",
        nl: "Schema {scheme} staat al op versie {version}; er is niets veranderd.",
    },
    SchemeTofuWarning => {
        en: "Compare this fingerprint with the one your municipality publishes. Next time use --fingerprint.",
        nl: "Vergelijk deze vingerafdruk met die uw gemeente publiceert. Gebruik voortaan --fingerprint.",
    },
    SchemeNoneList => {
        en: "No schemes pinned. Add one with `kenmerk scheme add URL`.",
        nl: "Geen schema's vastgelegd. Voeg er een toe met `kenmerk scheme add URL`.",
    },
    ColScheme => { en: "SCHEME", nl: "SCHEMA" },
    ColVersion => { en: "VERSION", nl: "VERSIE" },
    ColFingerprint => { en: "FINGERPRINT", nl: "VINGERAFDRUK" },
    ColSource => { en: "SOURCE", nl: "BRON" },
    SchemeFingerprintMismatch => {
        en: "the scheme key's fingerprint is {actual}, not the expected {expected}; nothing was pinned",
        nl: "de vingerafdruk van de schemasleutel is {actual}, niet de verwachte {expected}; er is niets vastgelegd",
    },
    SchemeFingerprintHint => {
        en: "do not trust this scheme; check where you got the fingerprint and the URL",
        nl: "vertrouw dit schema niet; controleer waar u de vingerafdruk en de URL vandaan hebt",
    },
    SchemeOtherKey => {
        en: "scheme {scheme} is pinned to another key ({pinned}); this update is signed with {offered} and was refused",
        nl: "schema {scheme} is vastgelegd met een andere sleutel ({pinned}); deze update is getekend met {offered} en is geweigerd",
    },
    SchemeOtherKeyHint => {
        en: "someone may be posing as the scheme manager; a real key change is announced by your municipality",
        nl: "iemand doet zich misschien voor als de schemabeheerder; een echte sleutelwissel kondigt uw gemeente aan",
    },
    SchemeRollback => {
        en: "this scheme is version {found}, older than the trusted version {trusted}; refused",
        nl: "dit schema is versie {found}, ouder dan de vertrouwde versie {trusted}; geweigerd",
    },
    SchemeRollbackHint => {
        en: "an old scheme can bring back revoked keys; fetch the current one from the official address",
        nl: "een oud schema kan ingetrokken sleutels terugbrengen; haal het huidige op bij het officiële adres",
    },
    SchemeBadSignature => {
        en: "the scheme's signature does not verify under its key; refused",
        nl: "de handtekening van het schema klopt niet bij de sleutel; geweigerd",
    },
    SchemeExpired => {
        en: "scheme {scheme} has expired",
        nl: "schema {scheme} is verlopen",
    },
    SchemeUpdateHint => {
        en: "update it with `kenmerk scheme add URL`",
        nl: "werk het bij met `kenmerk scheme add URL`",
    },
    SchemeInvalid => {
        en: "the scheme is not valid: {detail}",
        nl: "het schema is niet geldig: {detail}",
    },
    SchemeNotPinned => {
        en: "scheme {scheme} is not pinned in this wallet",
        nl: "schema {scheme} is niet vastgelegd in deze wallet",
    },
    SchemeNotPinnedHint => {
        en: "add it first with `kenmerk scheme add URL --fingerprint F`",
        nl: "voeg het eerst toe met `kenmerk scheme add URL --fingerprint F`",
    },
    SchemeNeedsKey => {
        en: "no scheme key for {source}",
        nl: "geen schemasleutel voor {source}",
    },
    SchemeNeedsKeyHint => {
        en: "give the key with --key (64 hex digits)",
        nl: "geef de sleutel met --key (64 hexadecimale tekens)",
    },

    // Network and peers.
    NetworkUnreachable => {
        en: "cannot reach {url}: {detail}",
        nl: "kan {url} niet bereiken: {detail}",
    },
    NetworkUnreachableHint => {
        en: "check the address and your connection; is the service running?",
        nl: "controleer het adres en uw verbinding; draait de dienst?",
    },
    PeerRefused => {
        en: "{url} refused: {detail}",
        nl: "{url} weigerde: {detail}",
    },
    PeerTooSlowHint => {
        en: "the connection was too slow to send the message in time; nothing was changed. Try again on a better connection",
        nl: "de verbinding was te traag om het bericht op tijd te versturen; er is niets veranderd. Probeer het opnieuw met een betere verbinding",
    },
    PeerNonsense => {
        en: "{url} sent something kenmerk does not accept: {detail}",
        nl: "{url} stuurde iets dat kenmerk niet accepteert: {detail}",
    },
    PeerNonsenseHint => {
        en: "nothing was shared; the service may be misconfigured or not genuine",
        nl: "er is niets gedeeld; de dienst is misschien verkeerd ingesteld of niet echt",
    },
    SessionNotALink => {
        en: "this is not a session link or QR code: {detail}",
        nl: "dit is geen sessielink of QR-code: {detail}",
    },
    SessionNotALinkHint => {
        en: "scan the QR code again, or copy the whole link",
        nl: "scan de QR-code opnieuw, of kopieer de hele link",
    },
    SessionMissing => {
        en: "you do not have what is asked: {what}; nothing was sent",
        nl: "u hebt niet wat er gevraagd wordt: {what}; er is niets verstuurd",
    },
    SessionMissingHint => {
        en: "get the credential from its issuer first, or run `kenmerk refresh` if yours ran out",
        nl: "haal het kenmerk eerst op bij de uitgever, of voer `kenmerk refresh` uit als het op is",
    },
    IssuerTagExpiry => {
        en: "the issuer offered tokens with another end date than the scheme gives everyone for this credential; such tokens could make you recognisable, so nothing was accepted",
        nl: "de uitgever bood tokens aan met een andere einddatum dan het schema iedereen geeft voor dit kenmerk; aan zulke tokens kunt u herkend worden, dus er is niets aangenomen",
    },
    IssuerTagOldKey => {
        en: "the issuer signs with an older key than the current key the scheme lists for this credential; such tokens could make you recognisable, so nothing was accepted",
        nl: "de uitgever ondertekent met een oudere sleutel dan de huidige sleutel in het schema voor dit kenmerk; aan zulke tokens kunt u herkend worden, dus er is niets aangenomen",
    },
    IssuerTagHint => {
        en: "update the scheme (`kenmerk scheme add <address>`) and check your computer's clock; if it keeps happening, report this issuer to the scheme's manager",
        nl: "werk het schema bij (`kenmerk scheme add <adres>`) en kijk of de klok van uw computer goed staat; gebeurt het vaker, meld de uitgever dan bij de beheerder van het schema",
    },
    SessionFailed => {
        en: "the session failed: {detail}",
        nl: "de sessie is mislukt: {detail}",
    },
    ChoiceInvalid => {
        en: "invalid --choose: {detail}",
        nl: "ongeldige --choose: {detail}",
    },
    QrFailed => {
        en: "QR code: {detail}",
        nl: "QR-code: {detail}",
    },

    ProgressContacting => { en: "contacting the service…", nl: "verbinding maken met de dienst…" },
    ProgressSending => { en: "sending…", nl: "versturen…" },

    // Refresh.
    RefreshNothing => {
        en: "All credentials have enough tokens; nothing to renew.",
        nl: "Alle kenmerken hebben genoeg tokens; er is niets te vernieuwen.",
    },
    RefreshRenewed => {
        en: "{name} ({id}): renewed, {count} tokens until {date}",
        nl: "{name} ({id}): vernieuwd, {count} tokens tot {date}",
    },
    RefreshRevoked => {
        en: "{name} ({id}): the issuer refused to renew it (revoked or no longer known); {left} tokens left",
        nl: "{name} ({id}): de uitgever weigert het te vernieuwen (ingetrokken of niet meer bekend); nog {left} tokens",
    },
    RefreshFailed => {
        en: "{name} ({id}): not renewed: {detail}",
        nl: "{name} ({id}): niet vernieuwd: {detail}",
    },
    RefreshSomeFailed => {
        en: "{count} credential(s) could not be renewed",
        nl: "{count} kenmerk(en) konden niet worden vernieuwd",
    },
    RefreshSomeFailedHint => {
        en: "ask the issuer about revoked credentials; try again later for the others",
        nl: "vraag de uitgever naar ingetrokken kenmerken; probeer de andere later opnieuw",
    },

    // Offline and signatures.
    OfflineShowThis => {
        en: "Show this QR code to the verifier:",
        nl: "Laat deze QR-code zien aan de controleur:",
    },
    SignatureValid => {
        en: "Valid signature by a holder of {credentials}.",
        nl: "Geldige handtekening van een houder van {credentials}.",
    },
    SignatureMessage => { en: "Message:", nl: "Bericht:" },
    SignatureDisclosed => { en: "Disclosed:", nl: "Gedeeld:" },
    SignatureMade => { en: "Made at: {when}", nl: "Gemaakt op: {when}" },
    SignatureInvalid => {
        en: "the signature is not valid: {detail}",
        nl: "de handtekening is niet geldig: {detail}",
    },
    SignatureInvalidHint => {
        en: "the file was changed, or it was not made with credentials from your pinned scheme",
        nl: "het bestand is gewijzigd, of het is niet gemaakt met kenmerken uit uw vastgelegde schema",
    },

    // Generic.
    OutputFailed => {
        en: "cannot write the output: {detail}",
        nl: "kan de uitvoer niet schrijven: {detail}",
    },
    Internal => {
        en: "internal error: {detail}",
        nl: "interne fout: {detail}",
    },
    InternalHint => {
        en: "this is a bug in kenmerk; please report it",
        nl: "dit is een fout in kenmerk; meld het alstublieft",
    },
}

/// Fill a message's `{name}` placeholders.  Unknown placeholders are left
/// as they are (a test makes sure none are).
pub fn tr(lang: Lang, key: Key, args: &[(&str, &dyn Display)]) -> String {
    let template = key.template(lang);
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(&v.to_string()),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message without placeholders.
pub fn t(lang: Lang, key: Key) -> &'static str {
    key.template(lang)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(s: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = s;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let end = after.find('}').expect("unclosed placeholder");
            out.insert(after[..end].to_owned());
            rest = &after[end + 1..];
        }
        out
    }

    #[test]
    fn both_languages_have_the_same_placeholders() {
        for key in Key::ALL {
            let en = placeholders(key.template(Lang::En));
            let nl = placeholders(key.template(Lang::Nl));
            assert_eq!(en, nl, "{key:?}");
            assert!(!key.template(Lang::Nl).is_empty(), "{key:?}");
        }
    }

    #[test]
    fn fills_named_placeholders() {
        let s = tr(Lang::Nl, Key::WalletNotFound, &[("path", &"/tmp/w")]);
        assert_eq!(s, "geen wallet gevonden op /tmp/w");
        let s = tr(
            Lang::En,
            Key::FileNewer,
            &[("path", &"w"), ("found", &2), ("supported", &1)],
        );
        assert!(s.contains("format 2") && s.contains("up to 1"), "{s}");
    }

    #[test]
    fn parses_locales() {
        assert_eq!(Lang::parse("nl_NL.UTF-8"), Some(Lang::Nl));
        assert_eq!(Lang::parse("NL"), Some(Lang::Nl));
        assert_eq!(Lang::parse("en_GB.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("C.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("de_DE"), None);
        assert_eq!(Lang::detect(Some("nl")), Lang::Nl);
    }
}
