//! The JSON a payload is read as. Every reader of payloads (paths, value rules, extraction,
//! hints) reads through [`Json`], which two documents implement: serde_json's `Value` (what
//! the admin API, the preview, the Segment-compatible API and a replay of a kept payload hold)
//! and [`Doc`], which the webhooks parse their bodies into. A `Doc` borrows its strings from
//! the body and keeps an object's members in a vector in the order sent: no key is hashed or
//! copied (serde_json's map hashes every key with SipHash and copies it), which made the parse
//! the largest part of a webhook request's own work.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Number, Value};

mod scan;

/// A JSON document the core can read.
pub trait Json: Sized {
    /// How an object's members are held.
    type Object<'a>: Members<'a, Self>
    where
        Self: 'a;

    /// What this value is.
    fn node(&self) -> Node<'_, Self>;

    /// The same value as serde_json's, for what is stored or shown.
    fn to_value(&self) -> Value;

    /// The member `key`, when this is an object that has it.
    fn get(&self, key: &str) -> Option<&Self> {
        match self.node() {
            Node::Object(members) => members.get(key),
            _ => None,
        }
    }

    /// The text, when this is a string.
    fn as_str(&self) -> Option<&str> {
        match self.node() {
            Node::String(text) => Some(text),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.node(), Node::Null)
    }

    fn is_object(&self) -> bool {
        matches!(self.node(), Node::Object(_))
    }
}

/// One JSON value, borrowed from its document.
pub enum Node<'a, J: Json + 'a> {
    Null,
    Bool(bool),
    Number(&'a Number),
    String(&'a str),
    Array(&'a [J]),
    Object(J::Object<'a>),
}

/// An object's members, each key once, in the order sent.
pub trait Members<'a, J: 'a>: Copy {
    fn get(self, key: &str) -> Option<&'a J>;
    fn iter(self) -> impl Iterator<Item = (&'a str, &'a J)>;
}

impl Json for Value {
    type Object<'a> = &'a Map<String, Value>;

    fn node(&self) -> Node<'_, Self> {
        match self {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n),
            Value::String(s) => Node::String(s),
            Value::Array(items) => Node::Array(items),
            Value::Object(map) => Node::Object(map),
        }
    }

    fn to_value(&self) -> Value {
        self.clone()
    }
}

/// Objects up to this many members are searched in order: comparing a few short keys costs
/// less than hashing the one looked for (SipHash, in serde_json's map). A map holds each key
/// once, so both ways find the same member.
const SCANNED_MEMBERS: usize = 16;

impl<'a> Members<'a, Value> for &'a Map<String, Value> {
    fn get(self, key: &str) -> Option<&'a Value> {
        if self.len() <= SCANNED_MEMBERS {
            self.iter().find_map(|(k, v)| (k == key).then_some(v))
        } else {
            Map::get(self, key)
        }
    }

    fn iter(self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        Map::iter(self).map(|(k, v)| (k.as_str(), v))
    }
}

/// A JSON document parsed from text it borrows: strings without escapes are slices of the
/// text, objects are their members in the order sent. A key sent twice is kept once, at its
/// first place with its last value, as serde_json's `Value` keeps it, so that both read a
/// payload alike.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc<'s> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'s, str>),
    Array(Vec<Doc<'s>>),
    Object(Vec<(Cow<'s, str>, Doc<'s>)>),
}

impl<'s> Doc<'s> {
    /// Parses `text` (a request body) as JSON, with serde_json's grammar and error messages.
    pub fn parse(text: &'s [u8]) -> serde_json::Result<Self> {
        // serde_json checks each string of a byte slice for UTF-8 on its own, which costs a
        // request more than one check of the whole body; bytes that are not UTF-8 are parsed
        // as bytes, so that their refusal is worded, and placed, as serde_json has it. Most
        // bodies are read by `scan`; serde_json parses what it leaves.
        match std::str::from_utf8(text) {
            Ok(text) => scan::parse(text).map_or_else(|| serde_json::from_str(text), Ok),
            Err(_) => serde_json::from_slice(text),
        }
    }
}

impl<'s> Json for Doc<'s> {
    type Object<'a>
        = &'a [(Cow<'s, str>, Doc<'s>)]
    where
        Self: 'a;

    fn node(&self) -> Node<'_, Self> {
        match self {
            Doc::Null => Node::Null,
            Doc::Bool(b) => Node::Bool(*b),
            Doc::Number(n) => Node::Number(n),
            Doc::String(s) => Node::String(s),
            Doc::Array(items) => Node::Array(items),
            Doc::Object(members) => Node::Object(members.as_slice()),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Number(n) => Value::Number(n.clone()),
            Doc::String(s) => Value::String(s.clone().into_owned()),
            Doc::Array(items) => Value::Array(items.iter().map(Doc::to_value).collect()),
            Doc::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone().into_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl<'a, 's> Members<'a, Doc<'s>> for &'a [(Cow<'s, str>, Doc<'s>)] {
    fn get(self, key: &str) -> Option<&'a Doc<'s>> {
        self.iter().find_map(|(k, v)| (k == key).then_some(v))
    }

    fn iter(self) -> impl Iterator<Item = (&'a str, &'a Doc<'s>)> {
        <[_]>::iter(self).map(|(k, v)| (k.as_ref(), v))
    }
}

/// Keeps each key once, at its first place with its last value, as serde_json's map does.
fn without_repeated_keys<V>(members: &mut Vec<(Cow<'_, str>, V)>) {
    /// Up to this many members, each is compared with those before it (no allocation, and a
    /// repeated key is rare); more are sorted.
    const COMPARED: usize = 32;
    let n = members.len();
    if n <= COMPARED {
        let mut later = 1;
        while later < members.len() {
            match (0..later).find(|&i| members[i].0 == members[later].0) {
                Some(first) => members[first].1 = members.remove(later).1,
                None => later += 1,
            }
        }
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| members[a].0.cmp(&members[b].0).then(a.cmp(&b)));
    let mut dropped = vec![false; n];
    let mut start = 0;
    while start < n {
        let first = order[start];
        let end = (start + 1..n)
            .find(|&i| members[order[i]].0 != members[first].0)
            .unwrap_or(n);
        if end - start > 1 {
            // Both hold the same key: the swap moves the last value to the first place.
            members.swap(first, order[end - 1]);
            order[start + 1..end]
                .iter()
                .for_each(|&i| dropped[i] = true);
        }
        start = end;
    }
    if dropped.contains(&true) {
        let mut at = 0;
        members.retain(|_| {
            at += 1;
            !dropped[at - 1]
        });
    }
}

impl<'de> Deserialize<'de> for Doc<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocVisitor)
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Doc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Doc<'de>, E> {
        Ok(Doc::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(n.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Doc<'de>, E> {
        // As serde_json's `Value`: a float that is not finite is null.
        Ok(Number::from_f64(f).map_or(Doc::Null, Doc::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Doc<'de>, E> {
        Ok(Doc::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Doc<'de>, E> {
        Ok(Doc::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Doc<'de>, E> {
        Ok(Doc::String(Cow::Owned(s)))
    }

    fn visit_unit<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::Null)
    }

    fn visit_none<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Doc<'de>, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Doc::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        without_repeated_keys(&mut members);
        Ok(Doc::Object(members))
    }
}

/// An object's key, borrowed when it has no escapes (serde's own `Cow<str>` always copies).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Written as serde_json writes the `Value` it stands for.
impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Null => serializer.serialize_unit(),
            Doc::Bool(b) => serializer.serialize_bool(*b),
            Doc::Number(n) => n.serialize(serializer),
            Doc::String(s) => serializer.serialize_str(s),
            Doc::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                items
                    .iter()
                    .try_for_each(|item| seq.serialize_element(item))?;
                seq.end()
            }
            Doc::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                members
                    .iter()
                    .try_for_each(|(k, v)| map.serialize_entry(k.as_ref(), v))?;
                map.end()
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
