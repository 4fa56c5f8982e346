//! Dot-notation paths into a JSON payload (SPEC §2): `traits.plan`, `items.0.id`, `a\.b`.
//!
//! A path is parsed once, when its template is created, and resolved for every payload.

use std::fmt;

use serde_json::Value;

use crate::json::{Json, Members, Node};

/// Longest path accepted, in bytes: generous for real payloads, bounded for hostile templates.
pub const MAX_PATH_LEN: usize = 1024;
/// Most segments in one path.
pub const MAX_SEGMENTS: usize = 64;

/// A compiled dot-notation path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    source: String,
    segments: Vec<Segment>,
}

/// One step of a path: an object key, which also indexes an array when it is all digits.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: String,
    index: Option<usize>,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("the path `{path}` has an empty segment (segment {position}); write `a.b`, not `a..b`, `.a` or `a.`")]
    EmptySegment { path: String, position: usize },
    #[error("the path is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
    #[error("the path `{path}` has more than {MAX_SEGMENTS} segments")]
    TooManySegments { path: String },
}

impl Path {
    /// Parses `source`: segments split on `.`, `\.` a literal dot and `\\` a literal backslash.
    pub fn parse(source: &str) -> Result<Self, PathError> {
        if source.is_empty() {
            return Err(PathError::Empty);
        }
        if source.len() > MAX_PATH_LEN {
            return Err(PathError::TooLong);
        }
        let mut keys = vec![String::new()];
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some('.') | Some('\\') => keys
                        .last_mut()
                        .expect("one key")
                        .push(chars.next().expect("peeked")),
                    // Any other backslash is kept as written: keys may hold backslashes.
                    _ => keys.last_mut().expect("one key").push('\\'),
                },
                '.' => keys.push(String::new()),
                c => keys.last_mut().expect("one key").push(c),
            }
        }
        if keys.len() > MAX_SEGMENTS {
            return Err(PathError::TooManySegments {
                path: source.to_owned(),
            });
        }
        if let Some(i) = keys.iter().position(String::is_empty) {
            return Err(PathError::EmptySegment {
                path: source.to_owned(),
                position: i + 1,
            });
        }
        let segments = keys
            .into_iter()
            .map(|key| {
                let index = if key.bytes().all(|b| b.is_ascii_digit()) {
                    key.parse().ok()
                } else {
                    None
                };
                Segment { key, index }
            })
            .collect();
        Ok(Self {
            source: source.to_owned(),
            segments,
        })
    }

    /// The value at this path, or `None` when some step is missing. A JSON `null` found at the
    /// path is returned as `Some(Null)`: it means "clear", not "missing".
    pub fn resolve<'a, J: Json>(&self, payload: &'a J) -> Option<&'a J> {
        self.segments
            .iter()
            .try_fold(payload, |value, segment| match value.node() {
                Node::Object(members) => members.get(&segment.key),
                Node::Array(items) => segment.index.and_then(|i| items.get(i)),
                _ => None,
            })
    }

    /// Puts `value` where [`Path::resolve`] finds it, making the objects on the way (an array,
    /// padded with nulls, for a segment of digits). `false`, with `payload` unchanged, when
    /// something is in the way: a value at the path, or a step into a value that is not an
    /// object or array. A `null` counts as empty.
    pub fn insert(&self, payload: &mut Value, value: Value) -> bool {
        let mut slot = payload;
        for segment in &self.segments {
            if slot.is_null() {
                *slot = match segment.index {
                    Some(_) => Value::Array(Vec::new()),
                    None => Value::Object(serde_json::Map::new()),
                };
            }
            slot = match slot {
                Value::Object(map) => map.entry(segment.key.clone()).or_insert(Value::Null),
                Value::Array(items) => {
                    let Some(index) = segment.index else {
                        return false;
                    };
                    if items.len() <= index {
                        items.resize(index + 1, Value::Null);
                    }
                    &mut items[index]
                }
                _ => return false,
            };
        }
        if !slot.is_null() {
            return false;
        }
        *slot = value;
        true
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Where a template reads one field: a path, or alternatives tried in order (written as a
/// JSON array), for payloads whose shape varies by event type: `["event", "type"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    paths: Vec<Path>,
    shown: String,
}

/// Most alternatives one field may list.
pub const MAX_ALTERNATIVES: usize = 8;

impl FieldPath {
    /// One or more paths (non-empty, at most [`MAX_ALTERNATIVES`]).
    pub fn new(paths: Vec<Path>) -> Option<Self> {
        if paths.is_empty() || paths.len() > MAX_ALTERNATIVES {
            return None;
        }
        let shown = paths
            .iter()
            .map(Path::as_str)
            .collect::<Vec<_>>()
            .join(" | ");
        Some(Self { paths, shown })
    }

    /// The first alternative holding a non-null value; else `null` if one held `null`; else
    /// nothing.
    pub fn resolve<'a, J: Json>(&self, payload: &'a J) -> Option<&'a J> {
        let mut null = None;
        for path in &self.paths {
            match path.resolve(payload) {
                Some(found) if found.is_null() => null = Some(found),
                Some(found) => return Some(found),
                None => {}
            }
        }
        null
    }

    /// The paths as written, for messages: `a` or `a | b`.
    pub fn as_str(&self) -> &str {
        &self.shown
    }

    /// The alternatives.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }
}

impl From<Path> for FieldPath {
    fn from(path: Path) -> Self {
        Self {
            shown: path.source.clone(),
            paths: vec![path],
        }
    }
}

/// Writes one key as a path segment, escaping what `Path::parse` would split on.
pub fn escape_segment(key: &str) -> String {
    key.replace('\\', "\\\\").replace('.', "\\.")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn insert_puts_a_value_where_resolve_finds_it() {
        let mut payload = json!({"traits": {"plan": "pro"}, "name": "Acme"});
        let at = |p: &str| Path::parse(p).unwrap();
        assert!(at("traits.seats").insert(&mut payload, json!(3)));
        assert!(at("items.2.id").insert(&mut payload, json!("c")));
        assert!(at("a\\.b.c").insert(&mut payload, json!(true)));
        assert_eq!(
            payload,
            json!({"traits": {"plan": "pro", "seats": 3}, "name": "Acme",
                   "items": [null, null, {"id": "c"}], "a.b": {"c": true}})
        );
        let before = payload.clone();
        assert!(!at("traits.plan").insert(&mut payload, json!("x")), "taken");
        assert!(
            !at("name.first").insert(&mut payload, json!("x")),
            "text in the way"
        );
        assert!(
            !at("items.id").insert(&mut payload, json!("x")),
            "not an index"
        );
        assert_eq!(payload, before, "nothing changed");
    }

    #[test]
    fn resolves_nested_keys_array_indexes_and_escaped_dots() {
        let payload = json!({
            "traits": {"plan": "pro"},
            "items": [{"id": "a"}, {"id": "b"}],
            "a.b": {"c": 1},
            "obj": {"0": "zero"}
        });
        let at = |p: &str| Path::parse(p).unwrap().resolve(&payload).cloned();
        assert_eq!(at("traits.plan"), Some(json!("pro")));
        assert_eq!(at("items.1.id"), Some(json!("b")));
        assert_eq!(at("items.2.id"), None);
        assert_eq!(at("a\\.b.c"), Some(json!(1)));
        assert_eq!(at("a.b.c"), None);
        assert_eq!(
            at("obj.0"),
            Some(json!("zero")),
            "a digit segment is a key in an object"
        );
        assert_eq!(at("traits.plan.x"), None);
        assert_eq!(at("Traits.plan"), None, "paths are case-sensitive");
    }

    #[test]
    fn null_is_found_not_missing() {
        let payload = json!({"traits": {"plan": null}});
        assert_eq!(
            Path::parse("traits.plan").unwrap().resolve(&payload),
            Some(&Value::Null)
        );
    }

    #[test]
    fn refuses_empty_paths_and_segments() {
        assert_eq!(Path::parse(""), Err(PathError::Empty));
        for bad in ["a..b", ".a", "a.", "."] {
            let err = Path::parse(bad).unwrap_err();
            assert!(
                matches!(err, PathError::EmptySegment { .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("empty segment"), "{err}");
        }
        assert_eq!(
            Path::parse(&"a".repeat(MAX_PATH_LEN + 1)),
            Err(PathError::TooLong)
        );
        assert!(matches!(
            Path::parse(&vec!["a"; MAX_SEGMENTS + 1].join(".")),
            Err(PathError::TooManySegments { .. })
        ));
    }

    #[test]
    fn alternatives_take_the_first_non_null_value() {
        let p = |s: &str| Path::parse(s).unwrap();
        let field = FieldPath::new(vec![p("event"), p("type")]).unwrap();
        assert_eq!(field.as_str(), "event | type");
        assert_eq!(
            field.resolve(&json!({"type": "identify"})),
            Some(&json!("identify"))
        );
        assert_eq!(
            field.resolve(&json!({"event": "Signed Up", "type": "track"})),
            Some(&json!("Signed Up"))
        );
        assert_eq!(
            field.resolve(&json!({"event": null, "type": "track"})),
            Some(&json!("track"))
        );
        assert_eq!(field.resolve(&json!({"event": null})), Some(&Value::Null));
        assert_eq!(field.resolve(&json!({})), None);
        assert!(FieldPath::new(vec![]).is_none());
    }

    proptest! {
        #[test]
        fn escaped_keys_resolve_to_themselves(keys in prop::collection::vec("[a-z.\\\\_0-9]{1,8}", 1..5)) {
            let mut payload = json!("leaf");
            for key in keys.iter().rev() {
                payload = json!({ key.clone(): payload });
            }
            let source: Vec<String> = keys.iter().map(|k| escape_segment(k)).collect();
            let path = Path::parse(&source.join(".")).unwrap();
            prop_assert_eq!(path.resolve(&payload), Some(&json!("leaf")));
        }

        #[test]
        fn an_inserted_value_resolves(source in "[a-z0-9]{1,4}(\\.[a-z0-9]{1,4}){0,4}") {
            let path = Path::parse(&source).unwrap();
            let mut payload = json!({});
            prop_assert!(path.insert(&mut payload, json!("v")));
            prop_assert_eq!(path.resolve(&payload), Some(&json!("v")));
        }

        #[test]
        fn parse_never_panics(source in "\\PC{0,64}") {
            let _ = Path::parse(&source);
        }
    }
}
