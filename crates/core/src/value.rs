//! The value rules of SPEC §2: what each field accepts and what it is stored as.
//!
//! Each function takes a non-null JSON value (null means "clear" and is handled by the caller)
//! and returns the stored form or a message that tells the sender what to send instead.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::json::{Json, Members, Node};

use crate::ids::{LeadId, ProductOrgId};

/// An epoch integer at least this large (in magnitude) is taken as milliseconds: 1e11 seconds
/// is the year 5138, 1e11 milliseconds is 1973, so real timestamps never fall in between.
const EPOCH_MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// The deepest a stored JSON value (feature flags, a custom field, signal properties,
/// firmographics) may nest, counting its own object or array as the first level. A value is read
/// back wrapped a few levels deeper (a history row is an array of `{field, old, new}`, custom
/// fields sit in one object, an evaluation context wraps both), and serde_json stops at 128
/// levels: past that the org's reads would fail for good. 32 leaves that margin with room to
/// spare, and no real flag or property set comes near it.
pub const MAX_JSON_DEPTH: usize = 32;

/// A product org id: a non-empty string kept exactly, or an integer as its decimal text.
pub fn product_org_id<J: Json>(value: &J) -> Result<ProductOrgId, String> {
    ProductOrgId::parse(id_text(value)?).map_err(|e| e.to_string())
}

/// A lead id: a non-empty string kept exactly, or an integer as its decimal text.
pub fn lead_id<J: Json>(value: &J) -> Result<LeadId, String> {
    LeadId::parse(id_text(value)?)
}

/// The text of an id: a string as is, an integer in decimal.
fn id_text<J: Json>(value: &J) -> Result<String, String> {
    match value.node() {
        Node::String(s) => Ok(s.to_owned()),
        Node::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        _ => Err(format!(
            "expected a string or an integer, got {}",
            describe(value)
        )),
    }
}

/// An email address, trimmed and lower-cased so that one person is one lead.
pub fn email<J: Json>(value: &J) -> Result<String, String> {
    let Node::String(raw) = value.node() else {
        return Err(format!(
            "expected an email address string, got {}",
            describe(value)
        ));
    };
    if raw.contains('\0') {
        return Err(NUL.into());
    }
    let email = raw.trim().to_lowercase();
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(format!(
            "expected an email address like \"ada@example.com\", got {}",
            quote(raw)
        ));
    }
    if email.chars().count() > crate::ids::MAX_LEAD_ID_LEN {
        return Err(format!(
            "is longer than {} characters",
            crate::ids::MAX_LEAD_ID_LEN
        ));
    }
    Ok(email)
}

/// A text field: a string as is, a number or boolean as its JSON text.
pub fn text<J: Json>(value: &J) -> Result<String, String> {
    match value.node() {
        Node::String(s) if s.contains('\0') => Err(NUL.into()),
        Node::String(s) => Ok(s.to_owned()),
        Node::Number(n) => Ok(n.to_string()),
        Node::Bool(b) => Ok(b.to_string()),
        _ => Err(format!(
            "expected a string, number or boolean, got {}",
            describe(value)
        )),
    }
}

/// A count (userCount, mrr in cents): an integer ≥ 0, an integral float, or a digit string.
pub fn count<J: Json>(value: &J) -> Result<i64, String> {
    let negative = || "must not be negative".to_owned();
    let too_large = || "is too large".to_owned();
    match value.node() {
        Node::Number(n) => {
            if let Some(i) = n.as_i64() {
                return if i < 0 { Err(negative()) } else { Ok(i) };
            }
            if n.is_u64() {
                return Err(too_large());
            }
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() != 0.0 || !f.is_finite() {
                return Err(format!("expected a whole number, got {n}"));
            }
            if f < 0.0 {
                return Err(negative());
            }
            // 2^63 itself does not fit in i64; every smaller integral f64 does.
            if f >= 9_223_372_036_854_775_808.0 {
                return Err(too_large());
            }
            Ok(f as i64)
        }
        Node::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| too_large())
        }
        Node::String(s) => Err(format!(
            "expected a whole number or a string of digits, got the string {}",
            quote(s)
        )),
        _ => Err(format!("expected a whole number, got {}", describe(value))),
    }
}

/// A timestamp: an RFC 3339 string, or epoch seconds or milliseconds as an integer.
pub fn timestamp<J: Json>(value: &J) -> Result<DateTime<Utc>, String> {
    match value.node() {
        Node::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                format!(
                    "expected an RFC 3339 timestamp such as \"2024-01-15T10:30:00Z\", got {}",
                    quote(s)
                )
            }),
        Node::Number(n) => {
            let epoch = n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                        .map(|f| f as i64)
                })
                .ok_or_else(|| format!("expected whole epoch seconds or milliseconds, got {n}"))?;
            let at = if epoch.abs() >= EPOCH_MILLIS_THRESHOLD {
                Utc.timestamp_millis_opt(epoch).single()
            } else {
                Utc.timestamp_opt(epoch, 0).single()
            };
            at.ok_or_else(|| format!("the epoch value {n} is out of range"))
        }
        _ => Err(format!(
            "expected an RFC 3339 string or epoch seconds/milliseconds, got {}",
            describe(value)
        )),
    }
}

/// A JSON object, kept as sent.
pub fn object<J: Json>(value: &J) -> Result<Map<String, Value>, String> {
    match value.node() {
        Node::Object(members) => storable(value).map(|()| {
            members
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_value()))
                .collect()
        }),
        _ => Err(format!("expected a JSON object, got {}", describe(value))),
    }
}

/// A message id: a non-empty string or a number, as text.
pub fn message_id<J: Json>(value: &J) -> Result<String, String> {
    const MAX: usize = 255;
    let text = match value.node() {
        Node::String("") => return Err("must not be empty".into()),
        Node::String(s) if s.contains('\0') => return Err(NUL.into()),
        Node::String(s) => s.to_owned(),
        Node::Number(n) => n.to_string(),
        _ => return Err(format!("expected a string, got {}", describe(value))),
    };
    if text.len() > MAX {
        return Err(format!("is longer than {MAX} characters"));
    }
    Ok(text)
}

/// Any JSON value (custom fields), as long as it can be stored and read back.
pub fn json<J: Json>(value: &J) -> Result<Value, String> {
    storable(value).map(|()| value.to_value())
}

/// Whether a JSON value can be stored and read back: no string in it holds a NUL character,
/// which text columns cannot store, and it nests at most [`MAX_JSON_DEPTH`] levels.
fn storable<J: Json>(value: &J) -> Result<(), String> {
    if has_nul(value) {
        return Err(NUL.into());
    }
    if nests_deeper_than(value, MAX_JSON_DEPTH) {
        return Err(format!(
            "is nested deeper than {MAX_JSON_DEPTH} levels of objects and arrays; send a flatter value"
        ));
    }
    Ok(())
}

const NUL: &str = "must not contain NUL (\\u0000) characters";

/// Stops at `levels + 1`, so the walk is bounded by the limit and not by the value.
fn nests_deeper_than<J: Json>(value: &J, levels: usize) -> bool {
    match value.node() {
        Node::Array(items) => levels == 0 || items.iter().any(|v| nests_deeper_than(v, levels - 1)),
        Node::Object(map) => {
            levels == 0 || map.iter().any(|(_, v)| nests_deeper_than(v, levels - 1))
        }
        Node::Null | Node::Bool(_) | Node::Number(_) | Node::String(_) => false,
    }
}

fn has_nul<J: Json>(value: &J) -> bool {
    match value.node() {
        Node::String(s) => s.contains('\0'),
        Node::Array(items) => items.iter().any(has_nul),
        Node::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Node::Null | Node::Bool(_) | Node::Number(_) => false,
    }
}

/// Names a JSON value's kind for an error message, with the value when it is short.
pub fn describe<J: Json>(value: &J) -> String {
    match value.node() {
        Node::Null => "null".into(),
        Node::Bool(b) => format!("the boolean {b}"),
        Node::Number(n) => format!("the number {n}"),
        Node::String(s) => format!("the string {}", quote(s)),
        Node::Array(_) => "an array".into(),
        Node::Object(_) => "an object".into(),
    }
}

fn quote(s: &str) -> String {
    const SHOWN: usize = 40;
    if s.chars().count() <= SHOWN {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(SHOWN).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn counts_accept_integers_integral_floats_and_digit_strings() {
        assert_eq!(count(&json!(47)), Ok(47));
        assert_eq!(count(&json!(47.0)), Ok(47));
        assert_eq!(count(&json!("47")), Ok(47));
        assert_eq!(count(&json!(0)), Ok(0));
        for bad in [
            json!(-1),
            json!(47.5),
            json!("47.0"),
            json!(" 47"),
            json!(""),
            json!("-3"),
            json!(true),
            json!({}),
            json!([1]),
        ] {
            assert!(count(&bad).is_err(), "{bad} must be refused");
        }
        assert!(count(&json!(u64::MAX)).is_err());
        assert!(count(&json!("99999999999999999999")).is_err());
    }

    #[test]
    fn text_fields_take_scalars() {
        assert_eq!(text(&json!("pro")), Ok("pro".into()));
        assert_eq!(text(&json!(3)), Ok("3".into()));
        assert_eq!(text(&json!(1.5)), Ok("1.5".into()));
        assert_eq!(text(&json!(true)), Ok("true".into()));
        assert!(text(&json!({"a": 1})).is_err());
        assert!(text(&json!([])).is_err());
    }

    #[test]
    fn product_org_ids_are_kept_exactly() {
        assert_eq!(product_org_id(&json!(" Ws_1 ")).unwrap().as_str(), " Ws_1 ");
        assert_eq!(product_org_id(&json!(12345)).unwrap().as_str(), "12345");
        assert!(product_org_id(&json!("")).is_err());
        assert!(product_org_id(&json!(1.5)).is_err());
        assert!(product_org_id(&json!("x".repeat(256))).is_err());
        assert!(product_org_id(&json!({"id": 1})).is_err());
    }

    #[test]
    fn timestamps_take_rfc3339_and_epochs() {
        let t = timestamp(&json!("2024-01-15T10:30:00Z")).unwrap();
        assert_eq!(t.timestamp(), 1_705_314_600);
        assert_eq!(timestamp(&json!("2024-01-15T11:30:00+01:00")).unwrap(), t);
        assert_eq!(timestamp(&json!(1_705_314_600)).unwrap(), t);
        assert_eq!(timestamp(&json!(1_705_314_600_000_i64)).unwrap(), t);
        assert!(timestamp(&json!("yesterday")).is_err());
        assert!(timestamp(&json!("2024-01-15")).is_err());
        assert!(timestamp(&json!(true)).is_err());
        assert!(timestamp(&json!(i64::MAX)).is_err());
    }

    #[test]
    fn nul_characters_are_refused_everywhere() {
        assert!(text(&json!("a\u{0}b")).is_err());
        assert!(object(&json!({"a": ["x\u{0}"]})).is_err());
        assert!(json(&json!({"k\u{0}": 1})).is_err());
        assert!(json(&json!({"k": [1, "ok"]})).is_ok());
        assert!(product_org_id(&json!("ws\u{0}")).is_err());
        assert!(lead_id(&json!("u\u{0}")).is_err());
        assert!(message_id(&json!("m\u{0}")).is_err());
    }

    /// A stored value must be readable inside its history row, a few levels deeper, by a
    /// reader that stops at 128 levels.
    #[test]
    fn stored_values_nest_at_most_the_limit() {
        let objects = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!({ "k": inner }));
        let arrays = |levels: usize| (0..levels).fold(json!(1), |inner, _| json!([inner]));
        for deep in [objects, arrays] {
            assert_eq!(json(&deep(MAX_JSON_DEPTH)), Ok(deep(MAX_JSON_DEPTH)));
            let refused = json(&deep(MAX_JSON_DEPTH + 1)).unwrap_err();
            assert!(
                refused.contains(&format!("nested deeper than {MAX_JSON_DEPTH} levels")),
                "{refused}"
            );
            assert!(json(&deep(126)).is_err());
        }
        assert!(object(&objects(MAX_JSON_DEPTH)).is_ok());
        assert!(object(&objects(MAX_JSON_DEPTH + 1)).is_err());
        let history_row =
            json!([{"field": "featureFlags", "old": null, "new": objects(MAX_JSON_DEPTH)}]);
        let read_back: Result<Value, _> = serde_json::from_str(&history_row.to_string());
        assert_eq!(
            read_back.ok(),
            Some(history_row),
            "the limit leaves the reader room"
        );
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            email(&json!("  Ada@Example.COM ")),
            Ok("ada@example.com".into())
        );
        for bad in [
            json!("ada"),
            json!("@x.com"),
            json!("ada@"),
            json!("a b@x.com"),
            json!("a@b@c"),
            json!(5),
        ] {
            assert!(email(&bad).is_err(), "{bad} must be refused");
        }
        assert_eq!(lead_id(&json!(" U1 ")).unwrap().as_str(), " U1 ");
        assert_eq!(lead_id(&json!(42)).unwrap().as_str(), "42");
        assert!(lead_id(&json!("")).is_err());
    }

    proptest! {
        #[test]
        fn digit_strings_and_integers_agree(n in 0_i64..i64::MAX) {
            prop_assert_eq!(count(&json!(n.to_string())), Ok(n));
            prop_assert_eq!(count(&json!(n)), Ok(n));
        }

        #[test]
        fn epoch_seconds_and_millis_agree(secs in 0_i64..50_000_000_000) {
            let from_secs = timestamp(&json!(secs)).unwrap();
            prop_assert_eq!(from_secs.timestamp(), secs);
            if secs >= EPOCH_MILLIS_THRESHOLD / 1000 {
                prop_assert_eq!(timestamp(&json!(secs * 1000)).unwrap(), from_secs);
            }
        }

        #[test]
        fn coercions_never_panic(s in "\\PC{0,32}", f in proptest::num::f64::ANY) {
            let _ = count(&json!(s));
            let _ = timestamp(&json!(s));
            let _ = count(&json!(f));
            let _ = timestamp(&json!(f));
        }
    }
}
