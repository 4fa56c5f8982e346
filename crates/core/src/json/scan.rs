//! The parse of the JSON webhook bodies nearly always are, in one pass over the text: objects,
//! arrays, strings without escapes, integers, `true`, `false` and `null`. Anything else (an
//! escape, a fraction or an exponent, deep nesting, an integer past 18 digits, an error) it
//! leaves to serde_json, which then parses the whole text: what serde_json accepts, how it
//! reads numbers and how it words a refusal stay its own. serde_json's visitor interface was
//! most of a webhook request's parse: a call per value, and every object's vector grown member
//! by member; here each array and object is allocated once, at its length.

use std::borrow::Cow;

use serde_json::Number;

use super::{without_repeated_keys, Doc};

/// Deeper than this, serde_json parses (and refuses past its own limit of 128).
const MAX_DEPTH: u32 = 64;

/// `text` as a document, or `None` when serde_json should parse it.
pub(super) fn parse(text: &str) -> Option<Doc<'_>> {
    let mut scan = Scan {
        text,
        at: 0,
        depth: 0,
        // Enough for the objects of most bodies, so that it is allocated once.
        members: Vec::with_capacity(16),
        items: Vec::new(),
    };
    let doc = scan.value()?;
    scan.skip_whitespace();
    (scan.at == text.len()).then_some(doc)
}

struct Scan<'s> {
    text: &'s str,
    at: usize,
    depth: u32,
    /// The members of the objects being read, innermost last: each object takes its own off
    /// the end into a vector of its length.
    members: Vec<(Cow<'s, str>, Doc<'s>)>,
    /// The same for the items of arrays.
    items: Vec<Doc<'s>>,
}

impl<'s> Scan<'s> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, taken when it is `byte`.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn value(&mut self) -> Option<Doc<'s>> {
        self.skip_whitespace();
        match self.peek()? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(Doc::String),
            b't' => self.literal("true", Doc::Bool(true)),
            b'f' => self.literal("false", Doc::Bool(false)),
            b'n' => self.literal("null", Doc::Null),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, doc: Doc<'s>) -> Option<Doc<'s>> {
        let found = self.text.as_bytes()[self.at..].starts_with(word.as_bytes());
        self.at += word.len();
        found.then_some(doc)
    }

    /// A string without escapes or control characters, borrowed from the text.
    fn string(&mut self) -> Option<Cow<'s, str>> {
        let start = self.at + 1;
        let bytes = self.text.as_bytes();
        let end = start + special_at(&bytes[start..])?;
        // The quote and the backslash are ASCII, so `end` is a character boundary.
        (bytes[end] == b'"').then(|| {
            self.at = end + 1;
            Cow::Borrowed(&self.text[start..end])
        })
    }

    /// An integer of at most 18 digits (which no `i64` or `u64` overflows), read as serde_json
    /// reads it: a `u64` when positive, an `i64` when negative. `-0` is left to serde_json.
    fn integer(&mut self) -> Option<Doc<'s>> {
        let bytes = self.text.as_bytes();
        let negative = bytes[self.at] == b'-';
        let start = self.at + usize::from(negative);
        let digits = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = start + digits;
        let leading_zero = digits > 1 && bytes[start] == b'0';
        let fraction = matches!(bytes.get(end), Some(b'.' | b'e' | b'E'));
        if digits == 0 || digits > 18 || leading_zero || fraction {
            return None;
        }
        let n = bytes[start..end]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        self.at = end;
        match (negative, n) {
            (false, n) => Some(Doc::Number(n.into())),
            (true, 0) => None,
            // 18 digits are below 2^63.
            (true, n) => Some(Doc::Number(Number::from(-(n as i64)))),
        }
    }

    fn object(&mut self) -> Option<Doc<'s>> {
        self.enter()?;
        let first = self.members.len();
        if !self.eat(b'}') {
            loop {
                self.skip_whitespace();
                if self.peek() != Some(b'"') {
                    return None;
                }
                let key = self.string()?;
                if !self.eat(b':') {
                    return None;
                }
                let value = self.value()?;
                self.members.push((key, value));
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        let mut members: Vec<_> = self.members.drain(first..).collect();
        without_repeated_keys(&mut members);
        self.depth -= 1;
        Some(Doc::Object(members))
    }

    fn array(&mut self) -> Option<Doc<'s>> {
        self.enter()?;
        let first = self.items.len();
        if !self.eat(b']') {
            loop {
                let item = self.value()?;
                self.items.push(item);
                if self.eat(b']') {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        let items = self.items.drain(first..).collect();
        self.depth -= 1;
        Some(Doc::Array(items))
    }

    /// Steps past an object's or array's opening byte, one level deeper.
    fn enter(&mut self) -> Option<()> {
        self.at += 1;
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }
}

/// Where the first quote, backslash or control character of `bytes` is: eight bytes at a
/// time (a body is mostly string bytes, and a byte at a time was most of the scan).
pub(super) fn special_at(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    /// The high bit of each byte of `word` below `n` (n ≤ 0x80), and maybe of bytes after
    /// one: a byte's borrow reaches the next byte's high bit. The lowest bit set is exact.
    fn below(word: u64, n: u8) -> u64 {
        word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS
    }
    fn equal(word: u64, byte: u8) -> u64 {
        below(word ^ (ONES * u64::from(byte)), 1)
    }
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = equal(word, b'"') | equal(word, b'\\') | below(word, 0x20);
        if found != 0 {
            // Little-endian: the first byte is the lowest.
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let special = |b: &u8| *b == b'"' || *b == b'\\' || *b < 0x20;
    words.remainder().iter().position(special).map(|i| at + i)
}
