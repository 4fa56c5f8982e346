use serde_json::json;
use trailspark_core::template::Preset;
use trailspark_core::EndpointType;

use super::*;

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// `n` applied updates of existing orgs, each changing `fields`.
fn changes(n: usize, fields: &[&str]) -> Vec<Vec<String>> {
    (0..n)
        .map(|_| fields.iter().map(|f| (*f).to_owned()).collect())
        .collect()
}

/// The health of `changes`, tallied as a store's writer tallies them.
fn health_of(changes: Vec<Vec<String>>) -> KeyHealth {
    let mut tallies = crate::Tallies::default();
    for (id, fields) in (0..).zip(&changes) {
        let entry = crate::TalliedEntry {
            id,
            hour: 0,
            outcome: Outcome::Applied,
            code: None,
            message: None,
            changed_fields: fields,
        };
        tallies.add(&(), &entry);
    }
    let tallies: Vec<_> = tallies.into_rows().map(|(_, t)| t).collect();
    let activity = KeyActivity::from_tallies(&tallies);
    KeyHealth::of(&activity, None, t("2026-03-01T00:00:00Z"))
}

fn volatile(health: &KeyHealth) -> Vec<&str> {
    health
        .volatile_fields
        .iter()
        .map(|v| v.field.as_str())
        .collect()
}

fn product_org_template(kind: Preset) -> ProductOrgTemplate {
    match PayloadTemplate::preset(EndpointType::ProductOrgUpdates, kind) {
        PayloadTemplate::ProductOrg(t) => t,
        PayloadTemplate::Signal(_) => unreachable!("a product org preset"),
    }
}

#[test]
fn nineteen_changing_updates_are_too_few_and_twenty_are_enough() {
    let nineteen = health_of(changes(19, &["lastActiveAt"]));
    assert_eq!(nineteen.changing_updates, 19);
    assert!(volatile(&nineteen).is_empty(), "{nineteen:?}");
    let twenty = health_of(changes(20, &["lastActiveAt"]));
    assert_eq!(volatile(&twenty), ["lastActiveAt"]);
    assert!((twenty.volatile_fields[0].only_change_share - 1.0).abs() < f64::EPSILON);
}

#[test]
fn the_only_change_of_exactly_half_is_volatile_and_of_less_is_not() {
    let mut half = changes(10, &["lastActiveAt"]);
    half.extend(changes(10, &["lastActiveAt", "userCount"]));
    let health = health_of(half);
    assert_eq!(volatile(&health), ["lastActiveAt"], "{health:?}");
    assert!((health.volatile_fields[0].only_change_share - 0.5).abs() < f64::EPSILON);

    let mut less = changes(9, &["lastActiveAt"]);
    less.extend(changes(11, &["lastActiveAt", "userCount"]));
    let health = health_of(less);
    assert!(volatile(&health).is_empty(), "{health:?}");
    let shares: Vec<_> = health
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.changed_share))
        .collect();
    assert_eq!(shares, [("lastActiveAt", 1.0), ("userCount", 0.55)]);
}

#[test]
fn the_rule_stands_alone() {
    assert!(!is_volatile(19, 19));
    assert!(is_volatile(20, 10));
    assert!(!is_volatile(20, 9));
    assert!(is_volatile(21, 11));
    assert!(!is_volatile(21, 10));
}

#[test]
fn entries_without_fields_do_not_count_as_changing_updates() {
    let health = health_of(changes(20, &[]));
    assert_eq!(health.changing_updates, 0);
    assert!(health.fields.is_empty() && health.volatile_fields.is_empty());
}

#[test]
fn every_hour_of_the_window_is_in_the_series_and_shares_are_of_all_entries() {
    let since = window_start(t("2026-03-01T10:30:00Z"));
    assert_eq!(since, t("2026-02-28T11:00:00Z"));
    let count = |hour: &str, outcome, count| HourCount {
        hour: t(hour),
        outcome,
        count,
    };
    let activity = KeyActivity {
        hours: vec![
            count("2026-02-28T11:00:00Z", Outcome::Applied, 3),
            count("2026-02-28T11:00:00Z", Outcome::Refused, 1),
            count("2026-03-01T10:00:00Z", Outcome::Unchanged, 3),
            count("2026-03-01T10:00:00Z", Outcome::Duplicate, 2),
            // Before the window: a store that read too much is not counted.
            count("2026-02-28T10:00:00Z", Outcome::Refused, 50),
        ],
        ..KeyActivity::default()
    };
    let health = KeyHealth::of(&activity, None, since);
    assert_eq!(health.hours.len(), 24);
    assert_eq!(health.hours[0].hour, since);
    assert_eq!(health.hours[23].hour, t("2026-03-01T10:00:00Z"));
    assert_eq!((health.hours[0].applied, health.hours[0].refused), (3, 1));
    assert_eq!(
        (health.hours[23].unchanged, health.hours[23].duplicate),
        (3, 2)
    );
    assert!(health.hours[1..23].iter().all(|h| h.total() == 0));
    assert_eq!(health.updates, 9);
    assert!((health.refused_share - 1.0 / 9.0).abs() < f64::EPSILON);
    assert!((health.unchanged_share - 3.0 / 9.0).abs() < f64::EPSILON);
    assert_eq!(
        serde_json::to_value(&health.hours[0]).unwrap(),
        json!({"hour": "2026-02-28T11:00:00Z", "applied": 3, "unchanged": 0, "duplicate": 0,
               "refused": 1})
    );
}

#[test]
fn no_updates_is_no_share() {
    let health = health_of(Vec::new());
    assert_eq!(
        (health.updates, health.refused_share, health.unchanged_share),
        (0, 0.0, 0.0)
    );
}

#[test]
fn top_errors_are_the_most_frequent_codes_with_their_example() {
    let refusal = |code: &str, count| RefusalCount {
        code: code.into(),
        count,
        example_id: count.try_into().unwrap(),
        example_message: format!("why {code}"),
    };
    let activity = KeyActivity {
        refusals: ["a", "b", "c", "d", "e", "f"]
            .iter()
            .zip([1, 7, 3, 3, 2, 5])
            .map(|(code, n)| refusal(code, n))
            .collect(),
        ..KeyActivity::default()
    };
    let health = KeyHealth::of(&activity, None, t("2026-03-01T00:00:00Z"));
    let codes: Vec<_> = health
        .top_errors
        .iter()
        .map(|e| (e.code.as_str(), e.count))
        .collect();
    assert_eq!(codes, [("b", 7), ("f", 5), ("c", 3), ("d", 3), ("e", 2)]);
    assert_eq!(
        serde_json::to_value(&health.top_errors[0]).unwrap(),
        json!({"code": "b", "count": 7, "example": {"deliveryId": 7, "message": "why b"}})
    );
}

#[test]
fn advice_names_the_models_column_or_the_group_calls_trait() {
    let hightouch = product_org_template(Preset::Hightouch);
    assert_eq!(
        advice(Some(&hightouch), "lastActiveAt"),
        "remove the column `last_active_at` from the Hightouch model (or exclude it from \
         change detection): it changes on every sync and makes every row look changed"
    );
    let json = json!({"productOrgId": "groupId", "lastActiveAt": "traits.last_seen",
                      "customFields": {"seen": "traits.seen_at"}});
    let segment = PayloadTemplate::from_json(EndpointType::ProductOrgUpdates, &json).unwrap();
    let segment = segment.as_product_org().unwrap();
    assert_eq!(
        advice(Some(segment), "lastActiveAt"),
        "fire `group` only when a scoring-relevant value changes, not on every \
         `traits.last_seen` change"
    );
    assert!(
        advice(Some(segment), "customFields.seen").contains("`traits.seen_at`"),
        "a custom field's path"
    );
    assert!(
        advice(None, "planName").contains("column `planName`"),
        "without a template, the field's own name"
    );
}
