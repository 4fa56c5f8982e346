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

/// Any JSON: numbers of every kind, strings with escapes, keys with quotes, dots, backslashes.
pub(crate) fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    json_of(leaf.boxed(), "[a-c\"\\\\.]{0,3}")
}

/// Arrays and objects of `leaf` values, keys drawn from the `keys` pattern, up to four deep.
fn json_of(leaf: BoxedStrategy<Value>, keys: &'static str) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..8)
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

/// What serde_json's own parse into a `Doc` makes of `text`: what the scan must equal.
fn by_serde(text: &str) -> serde_json::Result<Doc<'_>> {
    serde_json::from_str(text)
}

#[test]
fn the_bodies_webhooks_are_sent_are_scanned_as_serde_json_parses_them() {
    for text in [
        r#"{"type":"group","groupId":"ws_1","traits":{"name":"Workspace","plan":"pro","employees":2,"mrr":49900},"messageId":"bench-1","timestamp":"2026-01-15T10:30:00.000Z"}"#,
        " [ {\"a\" : [ ] , \"b\":{}}, -12, 0, 999999999999999999, -999999999999999999, true, false, null ] ",
        r#"{"a":1,"b":2,"a":{"c":[1,{"a":3,"a":4}]}}"#,
        "\"caf\u{e9} \u{1f600}\"",
        "\t\r\n7\n",
    ] {
        let scanned = scan::parse(text).unwrap_or_else(|| panic!("scanned: {text}"));
        assert_eq!(scanned, by_serde(text).unwrap(), "{text}");
    }
    let Some(Doc::Object(members)) = scan::parse(r#"{"plan":"pro"}"#) else {
        panic!("an object")
    };
    assert!(matches!(
        members[0],
        (Cow::Borrowed("plan"), Doc::String(Cow::Borrowed("pro")))
    ));
}

#[test]
fn what_the_scan_does_not_read_is_left_to_serde_json() {
    let deep = "[".repeat(65) + &"]".repeat(65);
    for text in [
        r#"{"a":"tab\there"}"#,
        r#"{"a\u0062":1}"#,
        "[1.5]",
        "[1e3]",
        "[2E3]",
        "[-0]",
        "[1234567890123456789]",
        "[-1234567890123456789]",
        "\"a\u{1}b\"",
        &deep,
        // Refused: serde_json words why.
        "",
        "[01]",
        "[-]",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "[1 2]",
        "tru",
        "nulll",
        "{}x",
        "\u{feff}{}",
        "[\"unterminated]",
    ] {
        assert_eq!(scan::parse(text), None, "{text:?}");
    }
}

/// JSON-like text: the scan's grammar and its neighbours, valid or not.
fn json_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("fals".to_owned()),
        "-?[0-9]{1,20}(\\.[0-9])?".prop_map(|n| n),
        "\"[a-c\\\\\u{e9}\u{1}]{0,3}\"".prop_map(|s| s),
        "\"[a-c]{0,2}\":".prop_map(|s| s),
    ];
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

/// JSON the scan reads whole: integers of at most 18 digits, strings without escapes.
fn scannable_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-999_999_999_999_999_999i64..=999_999_999_999_999_999).prop_map(Value::from),
        (-3i64..10).prop_map(Value::from),
        "[a-z \u{e9}\u{1f600}]{0,4}".prop_map(Value::from),
    ];
    json_of(leaf.boxed(), "[a-c]{0,2}")
}

proptest! {
    /// Whatever the scan reads, serde_json reads alike; what serde_json refuses, the scan
    /// leaves to it.
    #[test]
    fn the_scan_reads_as_serde_json_or_leaves_the_text_to_it(text in json_like()) {
        if let Some(scanned) = scan::parse(&text) {
            prop_assert_eq!(Ok(scanned), by_serde(&text).map_err(|e| e.to_string()));
        }
    }

}

proptest! {
    // Each case is a small document: many, so that a change lands on every kind of token.
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Text the scan reads whole, then one character of it taken out or another put in.
    #[test]
    fn the_scan_reads_its_grammar_whole_and_leaves_any_change_that_breaks_it(
        value in scannable_json(),
        at in any::<prop::sample::Index>(),
        change in prop_oneof![Just(None), "[{}\\\\\\[\\]\\-,:\" 0a.e\u{1}]".prop_map(Some)],
        remove in any::<bool>(),
    ) {
        let text = value.to_string();
        prop_assert_eq!(scan::parse(&text).map(|d| d.to_value()), Some(value));
        let mut changed: Vec<char> = text.chars().collect();
        let at = at.index(changed.len() + 1);
        match change {
            Some(c) => changed.insert(at, c.chars().next().unwrap()),
            None if remove && at < changed.len() => {
                changed.remove(at);
            }
            None => {}
        }
        let changed: String = changed.into_iter().collect();
        if let Some(scanned) = scan::parse(&changed) {
            prop_assert_eq!(Ok(scanned), by_serde(&changed).map_err(|e| e.to_string()));
        }
    }

    #[test]
    fn any_value_written_by_serde_json_is_scanned_as_it_parses(value in any_json()) {
        for text in [value.to_string(), serde_json::to_string_pretty(&value).unwrap()] {
            if let Some(scanned) = scan::parse(&text) {
                prop_assert_eq!(&scanned, &by_serde(&text).unwrap());
                prop_assert_eq!(scanned.to_value(), value.clone());
            }
        }
    }
}

proptest! {
    /// The word-at-a-time search finds what a byte-at-a-time one finds, wherever it is.
    #[test]
    fn the_first_quote_backslash_or_control_character_is_found(
        bytes in prop::collection::vec(prop_oneof![
            Just(b'"'), Just(b'\\'), Just(0x1f), Just(0x00), Just(0x20), Just(0x7f), Just(0x80),
            Just(0xff), Just(0x5b), Just(0x21), any::<u8>(), 0x21u8..0x7f
        ], 0..40),
        padding in 0usize..40,
    ) {
        let mut bytes = bytes;
        bytes.splice(0..0, std::iter::repeat_n(b'a', padding));
        let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        prop_assert_eq!(scan::special_at(&bytes), naive);
    }
}
