//! The canonical CBOR encoding every kenmerk message uses, and its decoder.
//!
//! Encoding is `ciborium` over the serde shape of a type: structs become maps
//! with short text keys in declaration order, byte strings carry points and
//! scalars. A value has exactly one accepted encoding: [`from_cbor`] decodes,
//! re-encodes and refuses the input unless the two byte strings are equal
//! (this rejects non-minimal integers, indefinite lengths, reordered or
//! unknown keys). Trailing bytes are refused. Points must be canonical
//! ristretto255 encodings of non-identity elements (protocol Rule 4) and
//! scalars must be canonical (`< q`).

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::{Zeroize, Zeroizing};

/// The largest message any decoder accepts (a presentation of several
/// credentials with predicates is a few KiB; a scheme some tens of KiB).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Why bytes were refused by a decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not valid CBOR for this message: {0}")]
    Syntax(String),
    #[error("trailing bytes after the message")]
    TrailingBytes,
    #[error("non-canonical CBOR encoding")]
    NonCanonical,
    #[error("scalar is not canonical (not below the group order)")]
    NonCanonicalScalar,
    #[error("point is not a canonical ristretto255 encoding")]
    NonCanonicalPoint,
    #[error("point is the identity element")]
    IdentityPoint,
    #[error("byte string has the wrong length")]
    WrongLength,
    #[error("unknown message version {0}")]
    UnknownVersion(u64),
    #[error("message larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("invalid value: {0}")]
    Invalid(&'static str),
}

// Markers carried through serde's string errors so `from_cbor` can tell the
// caller precisely which check failed.
const M_SCALAR: &str = "kenmerk:non-canonical-scalar";
const M_POINT: &str = "kenmerk:non-canonical-point";
const M_IDENTITY: &str = "kenmerk:identity-point";
const M_LENGTH: &str = "kenmerk:wrong-length";

/// Encodes `value` canonically.
pub fn to_cbor<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail; serde impls of our types cannot fail
    // either (no maps with non-string keys, no unsupported types).
    if ciborium::into_writer(value, &mut out).is_err() {
        out.clear();
    }
    out
}

/// Decodes `bytes` as `T`, accepting only its canonical encoding.
pub fn from_cbor<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge);
    }
    let mut reader = bytes;
    let value: T = ciborium::from_reader(&mut reader).map_err(classify)?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingBytes);
    }
    if to_cbor(&value) != bytes {
        return Err(DecodeError::NonCanonical);
    }
    Ok(value)
}

/// Size of the decoder's scratch buffer (ciborium's default): byte strings
/// up to this size are read into it.
const SCRATCH_BYTES: usize = 4096;

/// [`to_cbor`] for a value holding secrets (a key file, a stored issuance
/// session): written into a buffer of exactly its size, so no reallocation
/// leaves a copy in freed memory, and wiped on drop.
pub fn to_cbor_secret<T: Serialize + ?Sized>(value: &T) -> Zeroizing<Vec<u8>> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let mut out = Zeroizing::new(Vec::new());
    if ciborium::into_writer(value, &mut count).is_ok() {
        out.reserve_exact(count.0);
        if ciborium::into_writer(value, &mut *out).is_err() {
            out.clear();
        }
    }
    out
}

/// [`from_cbor`] for a value holding secrets: the decoder's scratch buffer
/// and the re-encoding for the canonicity check are wiped on every path.
/// `T` must wipe itself on drop (so an early error wipes it too).
pub fn from_cbor_secret<T: Serialize + DeserializeOwned + zeroize::ZeroizeOnDrop>(
    bytes: &[u8],
) -> Result<T, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge);
    }
    let mut scratch = Zeroizing::new(vec![0u8; SCRATCH_BYTES]);
    let mut reader = bytes;
    let value: T =
        ciborium::de::from_reader_with_buffer(&mut reader, &mut scratch).map_err(classify)?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingBytes);
    }
    if to_cbor_secret(&value).as_slice() != bytes {
        return Err(DecodeError::NonCanonical);
    }
    Ok(value)
}

/// Refuses any version but `expected`.
pub fn check_version(found: u16, expected: u16) -> Result<(), DecodeError> {
    if found == expected {
        Ok(())
    } else {
        Err(DecodeError::UnknownVersion(found.into()))
    }
}

fn classify<E: std::fmt::Debug>(e: ciborium::de::Error<E>) -> DecodeError {
    let msg = format!("{e:?}");
    if msg.contains(M_SCALAR) {
        DecodeError::NonCanonicalScalar
    } else if msg.contains(M_IDENTITY) {
        DecodeError::IdentityPoint
    } else if msg.contains(M_POINT) {
        DecodeError::NonCanonicalPoint
    } else if msg.contains(M_LENGTH) {
        DecodeError::WrongLength
    } else {
        DecodeError::Syntax(match e {
            ciborium::de::Error::Io(_) => "truncated input".to_owned(),
            ciborium::de::Error::Syntax(at) => format!("syntax error at byte {at}"),
            ciborium::de::Error::Semantic(_, m) => m,
            ciborium::de::Error::RecursionLimitExceeded => "nested too deeply".to_owned(),
        })
    }
}

/// Decodes a canonical, non-identity point (Rule 4).
pub fn decode_point(bytes: &[u8]) -> Result<RistrettoPoint, DecodeError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| DecodeError::WrongLength)?;
    let p = CompressedRistretto(arr)
        .decompress()
        .ok_or(DecodeError::NonCanonicalPoint)?;
    if p == RistrettoPoint::identity() {
        return Err(DecodeError::IdentityPoint);
    }
    Ok(p)
}

/// Decodes a canonical scalar (`< q`).
pub fn decode_scalar(bytes: &[u8]) -> Result<Scalar, DecodeError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| DecodeError::WrongLength)?;
    Option::<Scalar>::from(Scalar::from_canonical_bytes(arr)).ok_or(DecodeError::NonCanonicalScalar)
}

fn marker(e: DecodeError) -> &'static str {
    match e {
        DecodeError::NonCanonicalScalar => M_SCALAR,
        DecodeError::IdentityPoint => M_IDENTITY,
        DecodeError::NonCanonicalPoint => M_POINT,
        _ => M_LENGTH,
    }
}

struct BytesVisitor;
impl<'de> serde::de::Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a byte string")
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
}

fn de_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    d.deserialize_bytes(BytesVisitor)
}

/// serde for a [`RistrettoPoint`] as a 32-byte CBOR byte string (Rule 4 on decode).
pub mod point {
    use super::*;
    /// Serializes the compressed point.
    pub fn serialize<S: serde::Serializer>(p: &RistrettoPoint, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(p.compress().as_bytes())
    }
    /// Deserializes a canonical non-identity point.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RistrettoPoint, D::Error> {
        let b = de_bytes(d)?;
        decode_point(&b).map_err(|e| serde::de::Error::custom(marker(e)))
    }
}

/// A point as it came off the wire: its 32-byte canonical encoding and the
/// decoded element. Hashes take the bytes (no second compression); group
/// operations take the point. Equality is equality of the encodings (one
/// element has one canonical encoding).
#[derive(Clone, Copy)]
pub struct WirePoint {
    bytes: [u8; 32],
    point: RistrettoPoint,
}

impl WirePoint {
    /// Wraps a point computed locally (compresses it once).
    pub fn new(point: RistrettoPoint) -> Self {
        WirePoint {
            bytes: point.compress().to_bytes(),
            point,
        }
    }

    /// Decodes a canonical, non-identity point (Rule 4), keeping its bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let point = decode_point(bytes)?;
        let mut b = [0u8; 32];
        b.copy_from_slice(bytes);
        Ok(WirePoint { bytes: b, point })
    }

    /// The group element.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl std::ops::Deref for WirePoint {
    type Target = RistrettoPoint;
    fn deref(&self) -> &RistrettoPoint {
        &self.point
    }
}

impl From<RistrettoPoint> for WirePoint {
    fn from(p: RistrettoPoint) -> Self {
        WirePoint::new(p)
    }
}

impl PartialEq for WirePoint {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for WirePoint {}

impl std::fmt::Debug for WirePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WirePoint({})", hex::encode(self.bytes))
    }
}

impl Serialize for WirePoint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.bytes)
    }
}

impl<'de> serde::Deserialize<'de> for WirePoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = de_bytes(d)?;
        WirePoint::decode(&b).map_err(|e| serde::de::Error::custom(marker(e)))
    }
}

/// serde for a [`Scalar`] as a 32-byte CBOR byte string (canonical on decode).
pub mod scalar {
    use super::*;
    /// Serializes the canonical little-endian bytes.
    pub fn serialize<S: serde::Serializer>(x: &Scalar, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(x.as_bytes())
    }
    /// Deserializes a canonical scalar (decoded in place: a scalar may be
    /// secret, so no copy of its bytes is left on the heap).
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_bytes(ScalarVisitor)
    }
}

struct ScalarVisitor;
impl<'de> serde::de::Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a 32-byte scalar")
    }
    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Scalar, E> {
        decode_scalar(v).map_err(|e| E::custom(marker(e)))
    }
    fn visit_byte_buf<E: serde::de::Error>(self, mut v: Vec<u8>) -> Result<Scalar, E> {
        let r = self.visit_bytes(&v);
        v.zeroize();
        r
    }
}

/// A scalar element of a list, decoded in place.
struct ScalarElement(Scalar);
impl<'de> serde::Deserialize<'de> for ScalarElement {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_bytes(ScalarVisitor).map(ScalarElement)
    }
}

/// serde for a list of secret scalars (the issuer's stored nonces): each
/// decoded in place into a buffer allocated once for the list's declared
/// length (at most [`MAX_SECRET_LIST`]), wiped if decoding fails half-way.
pub mod secret_scalars {
    pub use super::scalars::serialize;
    use super::*;

    struct ListVisitor;
    impl<'de> serde::de::Visitor<'de> for ListVisitor {
        type Value = Vec<Scalar>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_SECRET_LIST} scalars")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Scalar>, A::Error> {
            let n = seq.size_hint().unwrap_or(MAX_SECRET_LIST);
            if n > MAX_SECRET_LIST {
                return Err(serde::de::Error::invalid_length(n, &self));
            }
            let mut out = Zeroizing::new(Vec::with_capacity(n));
            while let Some(ScalarElement(x)) = seq.next_element()? {
                if out.len() == n {
                    // More than declared (or than the cap): refuse rather
                    // than reallocate.
                    return Err(serde::de::Error::invalid_length(n + 1, &self));
                }
                out.push(x);
            }
            Ok(std::mem::take(&mut *out))
        }
    }

    /// Deserializes a list of canonical scalars.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Scalar>, D::Error> {
        d.deserialize_seq(ListVisitor)
    }
}

/// Longest list [`secret_scalars`] decodes (the issuance batch limit).
pub const MAX_SECRET_LIST: usize = 128;

/// serde for a list of scalars.
pub mod scalars {
    use super::*;
    use serde::ser::SerializeSeq;
    /// Serializes as an array of byte strings.
    pub fn serialize<S: serde::Serializer>(xs: &[Scalar], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(xs.len()))?;
        for x in xs {
            seq.serialize_element(&serde_bytes_ref(x.as_bytes()))?;
        }
        seq.end()
    }
    /// Deserializes an array of canonical scalars.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Scalar>, D::Error> {
        let raw: Vec<ByteBuf> = serde::Deserialize::deserialize(d)?;
        raw.iter()
            .map(|b| decode_scalar(&b.0).map_err(|e| serde::de::Error::custom(marker(e))))
            .collect()
    }
}

/// serde for a list of points.
pub mod points {
    use super::*;
    use serde::ser::SerializeSeq;
    /// Serializes as an array of byte strings.
    pub fn serialize<S: serde::Serializer>(ps: &[RistrettoPoint], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(ps.len()))?;
        for p in ps {
            seq.serialize_element(&serde_bytes_ref(p.compress().as_bytes()))?;
        }
        seq.end()
    }
    /// Deserializes an array of canonical non-identity points.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<RistrettoPoint>, D::Error> {
        let raw: Vec<ByteBuf> = serde::Deserialize::deserialize(d)?;
        raw.iter()
            .map(|b| decode_point(&b.0).map_err(|e| serde::de::Error::custom(marker(e))))
            .collect()
    }
}

/// serde for a fixed 32-byte string (identifiers, digests, nonces).
pub mod bytes32 {
    use super::*;
    /// Serializes as a byte string.
    pub fn serialize<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }
    /// Deserializes exactly 32 bytes.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let b = de_bytes(d)?;
        b.as_slice()
            .try_into()
            .map_err(|_| serde::de::Error::custom(M_LENGTH))
    }
}

/// serde for a variable-length byte string.
pub mod bytes {
    use super::*;
    /// Serializes as a byte string.
    pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }
    /// Deserializes a byte string.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        de_bytes(d)
    }
}

/// A borrowed byte string that serializes as CBOR bytes (not an array).
struct BytesRef<'a>(&'a [u8]);
fn serde_bytes_ref(b: &[u8]) -> BytesRef<'_> {
    BytesRef(b)
}
impl Serialize for BytesRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// An owned byte string read from CBOR bytes.
struct ByteBuf(Vec<u8>);
impl<'de> serde::Deserialize<'de> for ByteBuf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_bytes(d).map(ByteBuf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Msg {
        v: u16,
        #[serde(with = "point")]
        p: RistrettoPoint,
        #[serde(with = "scalar")]
        s: Scalar,
    }

    fn sample() -> Msg {
        Msg {
            v: 1,
            p: crate::group::g(),
            s: Scalar::from(7u64),
        }
    }

    /// Duplicate map keys are refused by the derived struct decoder
    /// (`Syntax`, serde's "duplicate field"), before the re-encoding check;
    /// `docs/protocol.md` §3 says so.
    #[test]
    fn duplicate_keys_are_refused() {
        let good = to_cbor(&sample());
        // a3 61 76 01 …: turn the 3-entry map into 4 entries, repeating `v: 1`.
        assert_eq!(good[..4], [0xa3, 0x61, 0x76, 0x01]);
        let mut dup = vec![0xa4, 0x61, 0x76, 0x01];
        dup.extend_from_slice(&good[1..]);
        assert!(matches!(
            from_cbor::<Msg>(&dup),
            Err(DecodeError::Syntax(_))
        ));
        // A repeated key after the others.
        let mut dup_last = good.clone();
        dup_last[0] = 0xa4;
        dup_last.extend_from_slice(&[0x61, 0x76, 0x01]);
        assert!(matches!(
            from_cbor::<Msg>(&dup_last),
            Err(DecodeError::Syntax(_))
        ));
    }

    #[test]
    fn round_trip() {
        let bytes = to_cbor(&sample());
        assert_eq!(from_cbor::<Msg>(&bytes).unwrap(), sample());
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = to_cbor(&sample());
        bytes.push(0);
        assert_eq!(from_cbor::<Msg>(&bytes), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn rejects_truncation() {
        let bytes = to_cbor(&sample());
        for n in 0..bytes.len() {
            assert!(from_cbor::<Msg>(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn rejects_non_canonical_scalar_and_identity() {
        let mut m = to_cbor(&sample());
        // The scalar's 32 bytes are the last 32 of the message: set them to q+... (all 0xff).
        let n = m.len();
        m[n - 32..].copy_from_slice(&[0xff; 32]);
        assert_eq!(from_cbor::<Msg>(&m), Err(DecodeError::NonCanonicalScalar));

        let mut m = to_cbor(&sample());
        let at = m
            .windows(32)
            .position(|w| w == crate::group::g().compress().as_bytes())
            .unwrap();
        m[at..at + 32].copy_from_slice(&[0u8; 32]);
        assert_eq!(from_cbor::<Msg>(&m), Err(DecodeError::IdentityPoint));
        m[at..at + 32].copy_from_slice(&[0xffu8; 32]);
        assert_eq!(from_cbor::<Msg>(&m), Err(DecodeError::NonCanonicalPoint));
    }

    #[test]
    fn rejects_non_minimal_integer() {
        // {"v": 1} with 1 encoded in two bytes (0x18 0x01) instead of one.
        #[derive(Serialize, Deserialize, Debug)]
        struct V {
            v: u16,
        }
        let canonical = to_cbor(&V { v: 1 });
        assert!(from_cbor::<V>(&canonical).is_ok());
        let mut long = canonical.clone();
        let last = long.len() - 1;
        long[last] = 0x18;
        long.push(0x01);
        assert_eq!(
            from_cbor::<V>(&long).unwrap_err(),
            DecodeError::NonCanonical
        );
    }
}
