//! Tests of [`super`]: each rule with the cases that would tell a wrong one.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use trailspark_core::update::FieldChange;

use super::*;

#[test]
fn times_read_relative_with_the_exact_time_kept() {
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
    let ago = |d: Duration| relative(&(now - d), now);
    assert_eq!(ago(Duration::seconds(3)), "just now");
    assert_eq!(ago(Duration::seconds(42)), "42 s ago");
    assert_eq!(ago(Duration::seconds(150)), "2 min ago");
    assert_eq!(ago(Duration::hours(5)), "5 h ago");
    assert_eq!(ago(Duration::days(1)), "1 day ago");
    assert_eq!(ago(Duration::days(3)), "3 days ago");
    assert_eq!(ago(Duration::days(40)), "2026-10-24");
    assert_eq!(ago(Duration::minutes(-10)), "in 10 min");
    let drawn = when_from(&(now - Duration::hours(2)), now).into_string();
    assert_eq!(
        drawn,
        "<time datetime=\"2026-12-03T10:00:00Z\" title=\"2026-12-03T10:00:00Z\">2 h ago</time>"
    );
}

#[test]
fn money_is_in_units_grouped_by_thousands() {
    assert_eq!(money(0), "0.00");
    assert_eq!(money(5), "0.05");
    assert_eq!(money(49_900), "499.00");
    assert_eq!(money(123_456), "1,234.56");
    assert_eq!(money(100_000_000), "1,000,000.00");
    assert_eq!(money(-2_550), "-25.50");
    assert_eq!(
        [0, 7, 999, 1_000, 12_345, 1_000_000].map(grouped),
        ["0", "7", "999", "1,000", "12,345", "1,000,000"]
    );
    let drawn = value("mrr", &json!(49_900)).into_string();
    assert!(
        drawn.contains("499.00") && drawn.contains("49900 cents"),
        "{drawn}"
    );
    assert_eq!(
        value("userCount", &json!(49_900)).into_string(),
        "<code>49900</code>"
    );
}

#[test]
fn counts_take_the_singular_for_one_only() {
    assert_eq!(counted(0, "update"), "0 updates");
    assert_eq!(counted(1, "update"), "1 update");
    assert_eq!(counted(2, "product org"), "2 product orgs");
    assert_eq!(counted(12_345, "update"), "12,345 updates");
}

#[test]
fn field_names_read_as_words() {
    assert_eq!(label("userCount"), "User count");
    assert_eq!(label("productOrgId"), "Product org ID");
    assert_eq!(label("mrr"), "MRR");
    assert_eq!(label("trialStatus"), "Trial status");
    assert_eq!(label("lastActiveAt"), "Last active");
    assert_eq!(label("webhook_url"), "Webhook URL");
    assert_eq!(label("name"), "Name");
    assert_eq!(label(""), "");
}

#[test]
fn values_of_each_kind() {
    assert_eq!(value("planId", &json!(null)).into_string(), "—");
    assert_eq!(value("x", &json!(true)).into_string(), "yes");
    assert_eq!(value("x", &json!({})).into_string(), "—");
    assert_eq!(value("planId", &json!("<b>")).into_string(), "&lt;b&gt;");
    let at = value("updatedAt", &json!("2026-01-15T10:30:00Z")).into_string();
    assert!(
        at.starts_with("<time datetime=\"2026-01-15T10:30:00Z\""),
        "{at}"
    );
    assert_eq!(value("updatedAt", &json!("soon")).into_string(), "soon");
    let flags = value("featureFlags", &json!({"beta_UI": true, "seats": 3})).into_string();
    assert!(flags.contains("<code>beta_UI</code>: yes"), "{flags}");
    assert!(
        flags.contains("<code>seats</code>: <code>3</code>"),
        "{flags}"
    );
    let table = fields(&json!({"userCount": 47})).into_string();
    assert!(
        table.contains("title=\"userCount\">User count</th>"),
        "{table}"
    );
}

#[test]
fn history_reads_field_old_to_new() {
    let drawn = changes(&[
        FieldChange {
            field: "mrr".into(),
            old: json!(49_900),
            new: json!(59_900),
        },
        FieldChange {
            field: "planId".into(),
            old: json!(null),
            new: json!("pro"),
        },
    ])
    .into_string();
    assert!(drawn.contains(">MRR</th>"), "{drawn}");
    let mrr = drawn.find("499.00").unwrap();
    assert!(
        mrr < drawn.find("599.00").unwrap(),
        "old before new: {drawn}"
    );
    assert!(drawn.contains("—</span><span class=\"arrow\""), "{drawn}");
    assert!(drawn.contains("pro</span>"), "{drawn}");
}

#[test]
fn surrounding_whitespace_is_drawn_and_inner_text_kept() {
    let spaced = visible_id("ws_abc123 ").into_string();
    assert!(
        spaced.contains("ws_abc123<span class=\"space\""),
        "{spaced}"
    );
    assert!(spaced.contains(">␣</span>”"), "{spaced}");
    let tabbed = visible_id("\tWS 1\r\n").into_string();
    assert!(tabbed.contains(">⇥</span>WS 1<span"), "{tabbed}");
    assert!(tabbed.contains(">␍␤</span>”"), "{tabbed}");
    assert!(
        visible_id(" ").into_string().contains(">␣</span>”"),
        "all space, drawn once"
    );
    assert!(!visible_id("ws_abc123").into_string().contains("space"));
}

#[test]
fn long_ids_are_cut_with_the_whole_kept_for_copying() {
    let short = long_id("ws_abc123", "ID").into_string();
    assert!(short.contains(">ws_abc123</code>"), "{short}");
    let id = "req_0123456789abcdefghijklmnopqrstuvwxyz";
    let cut = long_id(id, "request ID").into_string();
    assert!(cut.contains(">req_0123456789ab…uvwxyz</code>"), "{cut}");
    assert!(cut.contains(&format!("data-copy-text=\"{id}\"")), "{cut}");
    assert!(cut.contains(&format!("title=\"{id}\"")), "{cut}");
    assert!(cut.contains("data-copy-what=\"request ID\""), "{cut}");
    let wide = long_id(&"é".repeat(30), "ID").into_string();
    assert!(wide.contains('…'), "cut at characters, not bytes: {wide}");
}

#[test]
fn messages_draw_backticks_as_code() {
    assert_eq!(
        message("path `groupId` for Segment, `workspace_id` for flat").into_string(),
        "path <code>groupId</code> for Segment, <code>workspace_id</code> for flat"
    );
    assert_eq!(
        message("a `<b>` c").into_string(),
        "a <code>&lt;b&gt;</code> c"
    );
    assert_eq!(message("an odd ` one").into_string(), "an odd ` one");
    assert_eq!(message("none").into_string(), "none");
    assert_eq!(
        message("`ws_a ` is like `ws_a`").into_string(),
        r#"<code>ws_a<span class="space">␣</span></code> is like <code>ws_a</code>"#,
        "whitespace around code is drawn"
    );
}
