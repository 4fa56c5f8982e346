use chrono::DateTime;

use super::*;

fn entry<'a>(
    id: i64,
    hour: i64,
    outcome: Outcome,
    code: Option<&'a str>,
    fields: &'a [String],
) -> TalliedEntry<'a> {
    TalliedEntry {
        id,
        hour,
        outcome,
        code,
        message: code.map(|_| "why"),
        changed_fields: fields,
    }
}

fn rows_of(
    tallies: Tallies<&'static str>,
) -> Vec<(&'static str, i64, &'static str, String, u64, u64)> {
    tallies
        .into_rows()
        .map(|(key, t)| (key, t.hour, t.kind.as_str(), t.name, t.count, t.only))
        .collect()
}

#[test]
fn each_entry_counts_in_its_key_hour_and_outcome() {
    let none: &[String] = &[];
    let mut tallies = Tallies::default();
    tallies.add(&"a", &entry(1, 10, Outcome::Unchanged, None, none));
    tallies.add(&"a", &entry(2, 10, Outcome::Unchanged, None, none));
    tallies.add(&"a", &entry(3, 11, Outcome::Duplicate, None, none));
    tallies.add(&"b", &entry(4, 10, Outcome::Unchanged, None, none));
    assert_eq!(
        rows_of(tallies),
        [
            ("a", 10, "outcome", "unchanged".to_owned(), 2, 0),
            ("a", 11, "outcome", "duplicate".to_owned(), 1, 0),
            ("b", 10, "outcome", "unchanged".to_owned(), 1, 0),
        ]
    );
}

#[test]
fn a_refusal_counts_by_code_with_the_newest_as_its_example() {
    let none: &[String] = &[];
    let mut tallies = Tallies::default();
    tallies.add(&(), &entry(7, 10, Outcome::Refused, Some("bad"), none));
    tallies.add(&(), &entry(9, 10, Outcome::Refused, Some("bad"), none));
    tallies.add(&(), &entry(8, 10, Outcome::Refused, Some("bad"), none));
    tallies.add(&(), &entry(5, 10, Outcome::Refused, None, none));
    let refusals: Vec<_> = tallies
        .into_rows()
        .filter(|(_, t)| t.kind == TallyKind::Refusal)
        .map(|(_, t)| (t.name, t.count, t.example))
        .collect();
    assert_eq!(
        refusals,
        [
            (String::new(), 1, Some((5, String::new()))),
            ("bad".to_owned(), 3, Some((9, "why".to_owned()))),
        ]
    );
}

#[test]
fn only_updates_that_name_their_changes_count_fields() {
    let both = ["planName".to_owned(), "userCount".to_owned()];
    let one = ["userCount".to_owned()];
    let none: &[String] = &[];
    let mut tallies = Tallies::default();
    tallies.add(&(), &entry(1, 3, Outcome::Applied, None, &both));
    tallies.add(&(), &entry(2, 3, Outcome::Applied, None, &one));
    // A creation (no fields named) and an unchanged update count as outcomes only.
    tallies.add(&(), &entry(3, 3, Outcome::Applied, None, none));
    tallies.add(&(), &entry(4, 3, Outcome::Unchanged, None, &one));
    let activity = KeyActivity::from_tallies(&tallies.into_rows().map(|r| r.1).collect::<Vec<_>>());
    assert_eq!(activity.changing_updates, 2);
    let fields: Vec<_> = activity
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.changed, f.only))
        .collect();
    assert_eq!(fields, [("planName", 1, 0), ("userCount", 2, 1)]);
    let outcomes: Vec<_> = activity
        .hours
        .iter()
        .map(|h| (h.outcome, h.count))
        .collect();
    assert_eq!(outcomes, [(Outcome::Applied, 3), (Outcome::Unchanged, 1)]);
}

#[test]
fn rows_of_one_hour_kind_and_name_add_up_whatever_shard_kept_them() {
    let row = |hour, kind, name: &str, count, example: Option<i64>| Tally {
        hour,
        kind,
        name: name.to_owned(),
        count,
        only: 0,
        example: example.map(|id| (id, format!("message {id}"))),
    };
    let activity = KeyActivity::from_tallies(&[
        row(5, TallyKind::Outcome, "refused", 2, None),
        row(5, TallyKind::Outcome, "refused", 3, None),
        row(6, TallyKind::Outcome, "refused", 1, None),
        row(5, TallyKind::Refusal, "bad", 2, Some(40)),
        row(5, TallyKind::Refusal, "bad", 3, Some(12)),
        row(6, TallyKind::Refusal, "bad", 1, Some(50)),
        row(6, TallyKind::Field, "name", 1, None),
    ]);
    let hours: Vec<_> = activity.hours.iter().map(|h| (h.hour, h.count)).collect();
    assert_eq!(hours, [(hour_start(5), 5), (hour_start(6), 1)]);
    assert_eq!(activity.refusals.len(), 1);
    let bad = &activity.refusals[0];
    assert_eq!(
        (bad.count, bad.example_id, bad.example_message.as_str()),
        (6, 50, "message 50"),
        "the newest example of every hour"
    );
    let outcomes = hour_counts(&[
        row(5, TallyKind::Outcome, "refused", 2, None),
        row(5, TallyKind::Refusal, "bad", 2, Some(40)),
        row(5, TallyKind::Changing, "", 7, None),
    ]);
    let outcomes: Vec<_> = outcomes.iter().map(|h| (h.outcome, h.count)).collect();
    assert_eq!(outcomes, [(Outcome::Refused, 2)], "outcome rows alone");
}

#[test]
fn tallies_are_empty_until_an_entry_is_added() {
    let mut tallies = Tallies::default();
    assert!(tallies.is_empty());
    tallies.add(&(), &entry(1, 0, Outcome::Duplicate, None, &[]));
    assert!(!tallies.is_empty());
}

#[test]
fn hours_before_the_epoch_round_down() {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    assert_eq!(hour_of(&at("1970-01-01T00:59:59Z")), 0);
    assert_eq!(hour_of(&at("1969-12-31T23:00:01Z")), -1);
    assert_eq!(
        hour_start(hour_of(&at("2026-03-01T10:30:00Z"))),
        at("2026-03-01T10:00:00Z")
    );
}

#[test]
fn kinds_read_back_as_written() {
    for kind in TallyKind::ALL {
        assert_eq!(TallyKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(TallyKind::parse("outcomes"), None);
}
