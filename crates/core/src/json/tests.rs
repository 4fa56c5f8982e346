use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// What serde_json's `Value` makes of `text`, and what a `Doc` does.
fn both(text: &str) -> (Value, Doc<'_>) {
    let value: Value = serde_json::from_str(text).expect("valid JSON");
    let doc = Doc::parse(text.as_bytes()).expect("valid JSON");
    (value, doc)
}

#[test]
fn a_doc_reads_as_the_value_serde_json_parses() {
    for text in [
        r#"{"type":"group","groupId":"ws_1","traits":{"plan":"pro","seats":12,"mrr":499.5}}"#,
        r#"[1, -2, 18446744073709551615, -9223372036854775808, 1e300, 0.1, true, null, "x"]"#,
        r#"{"a\"b":{"c.d":["\u00e9", "tab\there", "\ud83d\ude00"]}, "":{}}"#,
        r#""just a string""#,
        "null",
    ] {
        let (value, doc) = both(text);
        assert_eq!(doc.to_value(), value, "{text}");
        assert_eq!(serde_json::to_string(&doc).unwrap(), value.to_string());
    }
}

#[test]
fn strings_without_escapes_are_borrowed_from_the_text() {
    let (_, doc) = both(r#"{"plan":"pro","quoted":"a\"b"}"#);
    let Doc::Object(members) = &doc else {
        panic!("an object")
    };
    assert!(matches!(members[0].0, Cow::Borrowed("plan")));
    assert!(matches!(members[0].1, Doc::String(Cow::Borrowed("pro"))));
    assert!(matches!(&members[1].1, Doc::String(Cow::Owned(s)) if s == "a\"b"));
}

#[test]
fn a_key_sent_twice_keeps_its_first_place_and_its_last_value() {
    let (value, doc) = both(r#"{"a":1,"b":2,"a":3,"c":4,"a":5}"#);
    assert_eq!(doc.to_value(), value);
    assert_eq!(
        serde_json::to_string(&doc).unwrap(),
        r#"{"a":5,"b":2,"c":4}"#
    );
    assert_eq!(doc.get("a"), Some(&Doc::Number(5.into())));
}

#[test]
fn repeated_keys_of_a_large_object_are_kept_once_too() {
    let mut text = String::from("{");
    for i in 0..100 {
        text.push_str(&format!("\"k{}\":{i},", i % 40));
    }
    text.push_str("\"k3\":\"last\"}");
    let (value, doc) = both(&text);
    assert_eq!(value.as_object().unwrap().len(), 40);
    assert_eq!(doc.to_value(), value);
    assert_eq!(
        serde_json::to_string(&doc).unwrap(),
        value.to_string(),
        "the same members in the same order"
    );
}

#[test]
fn both_documents_answer_the_same_questions() {
    let text = r#"{"traits":{"plan":"pro"},"n":1,"list":[null]}"#;
    let (value, doc) = both(text);
    assert_eq!(
        value
            .get("traits")
            .and_then(|t| Json::get(t, "plan"))
            .and_then(Json::as_str),
        Some("pro")
    );
    assert_eq!(
        doc.get("traits")
            .and_then(|t| t.get("plan"))
            .and_then(Json::as_str),
        Some("pro")
    );
    assert!(Json::is_object(&value) && doc.is_object());
    assert!(doc.get("missing").is_none() && Json::get(&value, "missing").is_none());
    let Node::Array([item]) = doc.get("list").unwrap().node() else {
        panic!("an array of one")
    };
    assert!(item.is_null());
}

#[test]
fn only_objects_are_objects_and_their_members_come_in_the_order_sent() {
    let (value, doc) = both(r#"{"b":1,"a":[{"c":null}],"s":"x"}"#);
    for text in ["[1]", "\"x\"", "1", "null", "true"] {
        assert!(!Doc::parse(text.as_bytes()).unwrap().is_object(), "{text}");
    }
    let Node::Object(members) = doc.node() else {
        panic!("an object")
    };
    let keys: Vec<&str> = Members::iter(members).map(|(k, _)| k).collect();
    assert_eq!(keys, ["b", "a", "s"]);
    for wanted in ["B", "a.0.d", "a.0.c", "t"] {
        assert_eq!(
            crate::hint::closest_path(&doc, wanted),
            crate::hint::closest_path(&value, wanted),
            "hints read a document as they read its value: {wanted}"
        );
    }
    assert_eq!(crate::hint::closest_path(&doc, "S").as_deref(), Some("s"));
}

#[test]
fn refusals_read_as_serde_json_words_them() {
    for text in [
        "",
        "{",
        r#"{"a":}"#,
        "[1,]",
        "nul",
        r#"{"a":1}x"#,
        "\"\\x\"",
        "{1:2}",
    ] {
        let value = serde_json::from_str::<Value>(text).unwrap_err().to_string();
        let doc = Doc::parse(text.as_bytes()).unwrap_err().to_string();
        assert_eq!(doc, value, "{text:?}");
    }
}

#[test]
fn bytes_that_are_not_utf8_are_refused_as_serde_json_words_it() {
    for bytes in [
        &b"{\"plan\":\"pro\xff\"}"[..],
        b"{\"pl\xc3an\":1}",
        b"[1,\xe2\x82]",
        b"\xef\xbb\xbf{}",
    ] {
        let value = serde_json::from_slice::<Value>(bytes)
            .unwrap_err()
            .to_string();
        let doc = Doc::parse(bytes).unwrap_err().to_string();
        assert_eq!(doc, value, "{bytes:?}");
    }
}

#[test]
fn nesting_is_bounded_as_for_a_value() {
    let deep = "[".repeat(200) + &"]".repeat(200);
    assert!(serde_json::from_str::<Value>(&deep).is_err());
    assert!(Doc::parse(deep.as_bytes()).is_err());
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-c\"\\\\.]{0,3}", inner), 0..8)
                .prop_map(|members| json!(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    /// Small objects are searched in order, larger ones through their index: the same member,
    /// and a document's members give it too.
    #[test]
    fn a_member_is_found_alike_in_objects_of_any_size(
        keys in prop::collection::vec("[ab]{1,3}|k[0-9]{1,2}", 0..40),
        wanted in "[ab]{1,3}|k[0-9]{1,2}",
    ) {
        let map: Map<String, Value> =
            keys.iter().enumerate().map(|(i, k)| (k.clone(), json!(i))).collect();
        let value = Value::Object(map.clone());
        let text = value.to_string();
        let doc = Doc::parse(text.as_bytes()).unwrap();
        prop_assert_eq!(Members::get(&map, &wanted), map.get(&wanted));
        prop_assert_eq!(doc.get(&wanted).map(Doc::to_value), map.get(&wanted).cloned());
    }

    #[test]
    fn any_document_reads_as_its_value(value in any_json()) {
        let text = value.to_string();
        let (parsed, doc) = both(&text);
        prop_assert_eq!(serde_json::to_string(&doc).unwrap(), parsed.to_string());
        prop_assert_eq!(doc.to_value(), parsed);
    }

    #[test]
    fn objects_with_repeated_keys_read_as_their_value(
        members in prop::collection::vec(("[a-e]", any::<u8>()), 0..80),
    ) {
        let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        let text = format!("{{{}}}", body.join(","));
        let (value, doc) = both(&text);
        prop_assert_eq!(doc.to_value(), value.clone());
        prop_assert_eq!(serde_json::to_string(&doc).unwrap(), value.to_string());
    }

    #[test]
    fn any_text_is_refused_by_both_or_by_neither(text in "[\\[\\]{}\",:0-9a-z \\\\]{0,24}") {
        let value = serde_json::from_str::<Value>(&text).map_err(|e| e.to_string());
        let doc = Doc::parse(text.as_bytes()).map_err(|e| e.to_string());
        prop_assert_eq!(doc.map(|d| d.to_value()), value);
    }
}
