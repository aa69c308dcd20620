//! Fresh random values from the operating system: session ids, requestor
//! tokens, record ids.

use rand_core::{OsRng, RngCore};

/// `n` random bytes from the OS as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
