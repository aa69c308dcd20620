//! What a verifier expects a presentation to contain, checked before any
//! group operation (Rule 11).
//!
//! Verification costs group operations per token, pseudonym and predicate,
//! and decoding a point (decompression) is one too. A request fixes how
//! many of each an honest wallet can send, so anything beyond that is work
//! the verifier never asked for: [`Expected`] states the limits (derived
//! from the request with [`Expected::for_request`], or the protocol maxima
//! for a stored signature that comes without its request), [`Shape`] counts
//! the parts, and [`Shape::of_bytes`] counts them on the undecoded CBOR by
//! reading array headers only, so an oversized presentation is refused
//! before a single point is decompressed.
//!
//! [`verify`](super::verify) takes an `&Expected`, so there is no way to
//! verify a presentation without saying what was asked.

use std::fmt;

use crate::cbor::{DecodeError, MAX_MESSAGE_BYTES};
use crate::keys::MAX_ATTRIBUTES;

use super::{Presentation, MAX_TOKENS};

/// Most pseudonyms, equalities or predicates in a presentation checked
/// without a request (a stored signature); a request asks at most one
/// pseudonym, no equalities and [`crate::request::MAX_PREDICATES`]
/// predicates, so this bound only matters without one.
pub const MAX_PARTS: usize = 16;

/// A countable part of a presentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// Tokens (`t`).
    Tokens,
    /// Scope pseudonyms (`p`).
    Pseudonyms,
    /// Equalities of hidden attributes (`e`).
    Equalities,
    /// Predicates on hidden attributes (`q`).
    Predicates,
    /// Disclosed (`d`) or hidden (`u`) entries of one token: never more
    /// than a key's attributes ([`MAX_ATTRIBUTES`]).
    Attributes,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Tokens => "tokens",
            Part::Pseudonyms => "pseudonyms",
            Part::Equalities => "equalities",
            Part::Predicates => "predicates",
            Part::Attributes => "disclosed or hidden entries in one token",
        })
    }
}

/// How many of each part a presentation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// Tokens.
    pub tokens: usize,
    /// Scope pseudonyms.
    pub pseudonyms: usize,
    /// Equalities.
    pub equalities: usize,
    /// Predicates.
    pub predicates: usize,
    /// The longest disclosed or hidden list of any token.
    pub attributes: usize,
}

/// A presentation carries more than was asked for (Rule 11). The sender is
/// at fault; nothing of the presentation was checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the presentation carries {found} {part}, the request allows at most {max}")]
pub struct Unrequested {
    /// Which part is over its limit (the first in `t`, `p`, `e`, `q` order).
    pub part: Part,
    /// How many it carries (as its CBOR array header says).
    pub found: usize,
    /// How many the request allows.
    pub max: usize,
}

/// The most of each part a verifier accepts. Only the constructors here
/// make one, so every limit is either derived from a request or the
/// protocol maxima.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    max: Shape,
}

impl Expected {
    /// At most `max` of each part. Crate-internal: the public
    /// constructors are [`Expected::for_request`] (in `matching.rs`, which
    /// knows requests; this module does not, so that `presentation` and
    /// `request` do not import each other) and [`Expected::protocol_limits`].
    pub(crate) fn at_most(max: Shape) -> Self {
        Expected { max }
    }

    /// The protocol maxima, for a presentation that comes without its
    /// request (a stored attribute-based signature): [`MAX_TOKENS`] tokens
    /// and [`MAX_PARTS`] of every other part.
    pub fn protocol_limits() -> Self {
        Expected {
            max: Shape {
                tokens: MAX_TOKENS,
                pseudonyms: MAX_PARTS,
                equalities: MAX_PARTS,
                predicates: MAX_PARTS,
                attributes: MAX_ATTRIBUTES,
            },
        }
    }

    /// The limits, for display.
    pub fn limits(&self) -> Shape {
        self.max
    }

    /// Refuses a shape with more of any part than allowed.
    pub fn check(&self, shape: &Shape) -> Result<(), Unrequested> {
        for (part, found, max) in [
            (Part::Tokens, shape.tokens, self.max.tokens),
            (Part::Pseudonyms, shape.pseudonyms, self.max.pseudonyms),
            (Part::Equalities, shape.equalities, self.max.equalities),
            (Part::Predicates, shape.predicates, self.max.predicates),
            (Part::Attributes, shape.attributes, self.max.attributes),
        ] {
            if found > max {
                return Err(Unrequested { part, found, max });
            }
        }
        Ok(())
    }

    /// Checks the counts of undecoded bare-presentation bytes, each as
    /// soon as its array header is read (so a header that claims more items
    /// than allowed is refused even if the items are not there), then
    /// decodes them (canonical only, Rule 4).
    pub fn decode(&self, bytes: &[u8]) -> Result<Presentation, ReadError> {
        self.check_bytes(bytes)?;
        Ok(Presentation::from_bytes(bytes)?)
    }

    /// Checks the counts of undecoded bare-presentation bytes (see
    /// [`Expected::decode`]) without decoding them.
    pub fn check_bytes(&self, bytes: &[u8]) -> Result<Shape, ReadError> {
        let mut c = Cursor::new(bytes)?;
        walk(&mut c, self)
    }

    /// Like [`Expected::check_bytes`] for the presentation under text key
    /// `field` of a top-level map: `"presentation"` in a
    /// `PresentationMessage`, `"p"` in an `AttributeSignature`.
    pub fn check_field_bytes(&self, bytes: &[u8], field: &str) -> Result<Shape, ReadError> {
        let mut c = Cursor::new(bytes)?;
        let entries = c.map_header()?;
        for _ in 0..entries {
            if c.text()? == field.as_bytes() {
                return walk(&mut c, self);
            }
            c.skip()?;
        }
        Err(DecodeError::Invalid("no presentation in the message").into())
    }

    /// No limits: only for counting.
    fn unbounded() -> Self {
        Expected {
            max: Shape {
                tokens: usize::MAX,
                pseudonyms: usize::MAX,
                equalities: usize::MAX,
                predicates: usize::MAX,
                attributes: usize::MAX,
            },
        }
    }

    fn max_of(&self, part: Part) -> usize {
        match part {
            Part::Tokens => self.max.tokens,
            Part::Pseudonyms => self.max.pseudonyms,
            Part::Equalities => self.max.equalities,
            Part::Predicates => self.max.predicates,
            Part::Attributes => self.max.attributes,
        }
    }
}

/// Reads a presentation map's part counts, refusing each over `limit` as
/// soon as its header is read; other values and the items are skipped.
fn walk(c: &mut Cursor<'_>, limit: &Expected) -> Result<Shape, ReadError> {
    let mut shape = Shape::default();
    let entries = c.map_header()?;
    for _ in 0..entries {
        let (part, slot) = match c.text()? {
            b"t" => (Part::Tokens, &mut shape.tokens),
            b"p" => (Part::Pseudonyms, &mut shape.pseudonyms),
            b"e" => (Part::Equalities, &mut shape.equalities),
            b"q" => (Part::Predicates, &mut shape.predicates),
            _ => {
                c.skip()?;
                continue;
            }
        };
        let n = c.array_header()?;
        *slot = count(n, part, limit)?;
        if part == Part::Tokens {
            // Each token's lists too: a token may not carry more entries
            // than any key has attributes.
            for _ in 0..n {
                shape.attributes = shape.attributes.max(walk_token(c, limit)?);
            }
        } else {
            c.skip_n(n)?;
        }
    }
    Ok(shape)
}

fn count(n: u64, part: Part, limit: &Expected) -> Result<usize, ReadError> {
    let found = usize::try_from(n).unwrap_or(usize::MAX);
    let max = limit.max_of(part);
    if found > max {
        return Err(Unrequested { part, found, max }.into());
    }
    Ok(found)
}

/// One token proof's map: its `d` and `u` lists counted, the rest skipped;
/// the longer list's length.
fn walk_token(c: &mut Cursor<'_>, limit: &Expected) -> Result<usize, ReadError> {
    let mut longest = 0;
    let entries = c.map_header()?;
    for _ in 0..entries {
        match c.text()? {
            b"d" | b"u" => {
                let n = c.array_header()?;
                longest = longest.max(count(n, Part::Attributes, limit)?);
                c.skip_n(n)?;
            }
            _ => c.skip()?,
        }
    }
    Ok(longest)
}

/// Why bytes were refused before verification: too many parts (checked
/// first, Rule 11) or not a canonical presentation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Unrequested(#[from] Unrequested),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl Shape {
    /// The shape of a decoded presentation.
    pub fn of(p: &Presentation) -> Self {
        Shape {
            tokens: p.tokens.len(),
            pseudonyms: p.pseudonyms.len(),
            equalities: p.equalities.len(),
            predicates: p.predicates.len(),
            attributes: p
                .tokens
                .iter()
                .map(|t| t.disclosed.len().max(t.hidden.len()))
                .max()
                .unwrap_or(0),
        }
    }

    /// The shape of a bare presentation's CBOR, from its array headers:
    /// no point is decompressed and nothing is allocated. Only what the
    /// walk needs is checked (definite lengths, within the input); the full
    /// canonical decoding comes after the limits are checked.
    pub fn of_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        match Expected::unbounded().check_bytes(bytes) {
            Ok(shape) => Ok(shape),
            Err(ReadError::Decode(e)) => Err(e),
            // Nothing is over an unbounded limit.
            Err(ReadError::Unrequested(_)) => Err(DecodeError::Invalid("shape")),
        }
    }
}

/// A forward-only reader of CBOR heads.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;

fn truncated() -> DecodeError {
    DecodeError::Syntax("truncated input".to_owned())
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::TooLarge);
        }
        Ok(Cursor { bytes, pos: 0 })
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// Major type and argument of the next head.
    fn head(&mut self) -> Result<(u8, u64), DecodeError> {
        let first = self.byte()?;
        let (major, info) = (first >> 5, first & 0x1f);
        let len = match info {
            0..=23 => return Ok((major, u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            // Indefinite lengths and reserved values are never canonical.
            _ => return Err(DecodeError::NonCanonical),
        };
        let mut arg = 0u64;
        for _ in 0..len {
            arg = (arg << 8) | u64::from(self.byte()?);
        }
        Ok((major, arg))
    }

    fn expect(&mut self, major: u8) -> Result<u64, DecodeError> {
        match self.head()? {
            (m, arg) if m == major => Ok(arg),
            _ => Err(DecodeError::Syntax("unexpected CBOR type".to_owned())),
        }
    }

    fn map_header(&mut self) -> Result<u64, DecodeError> {
        self.expect(MAJOR_MAP)
    }

    fn array_header(&mut self) -> Result<u64, DecodeError> {
        self.expect(MAJOR_ARRAY)
    }

    fn advance(&mut self, n: u64) -> Result<&'a [u8], DecodeError> {
        let n = usize::try_from(n).map_err(|_| truncated())?;
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let out = self.bytes.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn text(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.expect(MAJOR_TEXT)?;
        self.advance(n)
    }

    fn skip(&mut self) -> Result<(), DecodeError> {
        self.skip_n(1)
    }

    /// Skips `n` data items without recursion: every head read consumes at
    /// least one byte, so the walk ends within the input's length.
    fn skip_n(&mut self, n: u64) -> Result<(), DecodeError> {
        let mut pending = n;
        while pending > 0 {
            pending -= 1;
            let (major, arg) = self.head()?;
            match major {
                MAJOR_BYTES | MAJOR_TEXT => {
                    self.advance(arg)?;
                }
                MAJOR_ARRAY => pending = pending.saturating_add(arg),
                MAJOR_TAG => pending = pending.saturating_add(1),
                MAJOR_MAP => pending = pending.saturating_add(arg.saturating_mul(2)),
                _ => {}
            }
            // Each pending item needs at least one byte.
            if pending > (self.bytes.len() - self.pos) as u64 {
                return Err(truncated());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
