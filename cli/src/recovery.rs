//! The recovery phrase: the 32-byte holder seed written as 24 BIP-39 words.
//!
//! The words encode the seed itself (BIP-39 entropy, with its checksum), not
//! a PBKDF2 "BIP-39 seed": the holder secret and the backup key are derived
//! from these 32 bytes, so the same words always give the same holder.

use bip39::{Language, Mnemonic};
use zeroize::Zeroizing;

use crate::wallet::HolderSeed;

/// Number of words in a recovery phrase (256 bits of entropy).
pub const PHRASE_WORDS: usize = 24;

/// Why a recovery phrase was refused.
#[derive(Debug, thiserror::Error)]
pub enum PhraseError {
    #[error("expected {PHRASE_WORDS} words, got {0}")]
    WordCount(usize),
    #[error("{0}")]
    Invalid(String),
}

/// The seed as 24 words, separated by single spaces.
pub fn phrase_from_seed(seed: &HolderSeed) -> Zeroizing<String> {
    // 32 bytes is a valid BIP-39 entropy length, so this cannot fail; map the
    // impossible error to an empty phrase rather than panic.
    match Mnemonic::from_entropy_in(Language::English, seed.as_bytes()) {
        Ok(m) => {
            let words: Vec<&str> = m.words().collect();
            Zeroizing::new(words.join(" "))
        }
        Err(_) => Zeroizing::new(String::new()),
    }
}

/// Parse a phrase typed by a person: case and extra whitespace are forgiven,
/// the word list and checksum are not.
pub fn seed_from_phrase(phrase: &str) -> Result<HolderSeed, PhraseError> {
    // Built in one buffer of its final capacity: per-word `String`s or a
    // growing buffer would leave copies of the words in freed memory.
    // Lower-casing the ASCII word list never lengthens a word; other text is
    // refused by the word list below anyway.
    let mut normalised = Zeroizing::new(String::with_capacity(phrase.len()));
    for word in phrase.split_whitespace() {
        if !normalised.is_empty() {
            normalised.push(' ');
        }
        for c in word.chars() {
            normalised.push(c.to_ascii_lowercase());
        }
    }
    let count = normalised.split(' ').filter(|w| !w.is_empty()).count();
    if count != PHRASE_WORDS {
        return Err(PhraseError::WordCount(count));
    }
    let mnemonic = Mnemonic::parse_in_normalized(Language::English, &normalised)
        .map_err(|e| PhraseError::Invalid(e.to_string()))?;
    let (entropy, len) = mnemonic.to_entropy_array();
    let entropy = Zeroizing::new(entropy);
    if len != 32 {
        return Err(PhraseError::WordCount(count));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(&entropy[..32]);
    Ok(HolderSeed::new(*seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_round_trip() {
        let seed = HolderSeed::generate();
        let phrase = phrase_from_seed(&seed);
        assert_eq!(phrase.split(' ').count(), PHRASE_WORDS);
        let back = seed_from_phrase(&phrase).unwrap();
        assert_eq!(back, seed);
        // A person's typing: upper case, extra spaces, newline.
        let sloppy = format!("  {}\n", phrase.to_uppercase().replace(' ', "   "));
        assert_eq!(seed_from_phrase(&sloppy).unwrap(), seed);
    }

    /// The parsed mnemonic holds the seed's words: it must wipe itself
    /// (bip39's `zeroize` feature), on the error paths too.
    #[test]
    fn mnemonic_zeroizes_on_drop() {
        fn zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroize_on_drop::<Mnemonic>();
    }

    #[test]
    fn known_vector() {
        // BIP-39 reference vector: 32 zero bytes.
        let seed = HolderSeed::new([0u8; 32]);
        let phrase = phrase_from_seed(&seed);
        assert_eq!(
            phrase.as_str(),
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art"
        );
    }

    #[test]
    fn bad_phrases_refused() {
        let seed = HolderSeed::new([0u8; 32]);
        let phrase = phrase_from_seed(&seed);
        // Wrong checksum word.
        let bad = phrase.replace(" art", " abandon");
        assert!(matches!(
            seed_from_phrase(&bad),
            Err(PhraseError::Invalid(_))
        ));
        // Too few words.
        let short: Vec<&str> = phrase.split(' ').take(12).collect();
        assert!(matches!(
            seed_from_phrase(&short.join(" ")),
            Err(PhraseError::WordCount(12))
        ));
        // Not a word.
        let notword = phrase.replacen("abandon", "abandonn", 1);
        assert!(matches!(
            seed_from_phrase(&notword),
            Err(PhraseError::Invalid(_))
        ));
    }
}
