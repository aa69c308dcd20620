//! base64url without padding (RFC 4648 §5), the one encoding of bytes in
//! the verifier's URLs and JSON: tokens, signatures, offline challenges and
//! answers. Every decode goes through [`decode`] (URL parts, exact) or
//! [`decode_pasted`] (text a person or a CLI pasted).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Text that is not base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not base64url")]
pub struct NotBase64url;

/// The base64url text of `bytes`, without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode exact base64url without padding (tokens in URLs: one spelling
/// per value, so a token has one store key).
pub fn decode(text: &str) -> Result<Vec<u8>, NotBase64url> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| NotBase64url)
}

/// Decode pasted text: surrounding whitespace and `=` padding are allowed.
pub fn decode_pasted(text: &str) -> Result<Vec<u8>, NotBase64url> {
    decode(text.trim().trim_end_matches('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_pasted() {
        assert_eq!(encode([0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(decode("-_8=").is_err(), "exact: no padding");
        assert!(decode(" -_8").is_err());
        assert_eq!(decode_pasted(" -_8=\n").unwrap(), vec![0xfb, 0xff]);
        assert!(decode_pasted("+/8").is_err(), "base64, not base64url");
    }
}
