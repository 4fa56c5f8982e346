//! What key health and the overview count, kept per hour as the log is written: entries by
//! outcome, refusals by code (with the newest as the example), and the fields that applied
//! updates of existing product orgs changed.
//!
//! Counted from the log would miss whatever the log has already dropped: it keeps each key's
//! newest `--deliveries-per-key` entries, a few minutes of a busy key's day, and reading a
//! day of it costs a page a pass over everything the key sent. The writers add each commit's
//! entries here instead ([`Tallies`]), a few rows per key and hour; the pages read those rows
//! ([`KeyActivity::from_tallies`]), whatever the traffic. This module is the one place that
//! says what an entry adds; the stores only keep the rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::health::{hour_start, FieldCount, HourCount, KeyActivity, RefusalCount};
use crate::{DeliveryRow, Outcome};

/// What a row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TallyKind {
    /// Entries of one outcome (the row's `name`).
    Outcome,
    /// Refused entries of one code (`name`; empty for a refusal without one).
    Refusal,
    /// Updates of existing product orgs that changed the field `name`; `only` counts those
    /// in which it was the only change.
    Field,
    /// Updates of existing product orgs that changed some field (`name` is empty): what the
    /// fields' shares are shares of.
    Changing,
}

impl TallyKind {
    pub const ALL: [Self; 4] = [Self::Outcome, Self::Refusal, Self::Field, Self::Changing];

    /// As the stores keep it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outcome => "outcome",
            Self::Refusal => "refusal",
            Self::Field => "field",
            Self::Changing => "changing",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// The counts of one (hour, kind, name) of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Hours since the Unix epoch (UTC).
    pub hour: i64,
    pub kind: TallyKind,
    pub name: String,
    pub count: u64,
    /// For [`TallyKind::Field`]: how many of `count` changed that field alone.
    pub only: u64,
    /// For [`TallyKind::Refusal`]: the newest such entry's id and message.
    pub example: Option<(i64, String)>,
}

impl Tally {
    /// Adds `other`'s counts (same hour, kind and name); the newer example wins.
    pub fn add(&mut self, other: &Tally) {
        self.count += other.count;
        self.only += other.only;
        if other.example.as_ref().map(|e| e.0) > self.example.as_ref().map(|e| e.0) {
            self.example.clone_from(&other.example);
        }
    }
}

/// The hour (since the Unix epoch) a time falls in.
pub fn hour_of(t: &DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

/// What a tally needs of a log entry.
#[derive(Debug, Clone, Copy)]
pub struct TalliedEntry<'a> {
    pub id: i64,
    pub hour: i64,
    pub outcome: Outcome,
    pub code: Option<&'a str>,
    pub message: Option<&'a str>,
    /// See [`DeliveryRow::changed_fields`].
    pub changed_fields: &'a [String],
}

impl<'a> TalliedEntry<'a> {
    /// The entry `row`, logged as `id`.
    pub fn of(id: i64, row: &'a DeliveryRow) -> Self {
        Self {
            id,
            hour: hour_of(&row.received_at),
            outcome: row.outcome,
            code: row.code.as_deref(),
            message: row.message.as_deref(),
            changed_fields: &row.changed_fields,
        }
    }
}

/// Tallies of log entries of several keys (`K` says whose), added up as they are written.
#[derive(Debug)]
pub struct Tallies<K> {
    rows: BTreeMap<(K, i64, TallyKind, String), Tally>,
}

impl<K> Default for Tallies<K> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Tallies<K> {
    /// Counts `entry` of `key`.
    pub fn add(&mut self, key: &K, entry: &TalliedEntry<'_>) {
        let hour = entry.hour;
        let mut count = |kind, name: &str, only, example: Option<(i64, &str)>| {
            let tally = Tally {
                hour,
                kind,
                name: name.to_owned(),
                count: 1,
                only,
                example: example.map(|(id, message)| (id, message.to_owned())),
            };
            self.rows
                .entry((key.clone(), hour, kind, name.to_owned()))
                .and_modify(|t| t.add(&tally))
                .or_insert(tally);
        };
        count(TallyKind::Outcome, entry.outcome.as_str(), 0, None);
        match entry.outcome {
            Outcome::Refused => count(
                TallyKind::Refusal,
                entry.code.unwrap_or_default(),
                0,
                Some((entry.id, entry.message.unwrap_or_default())),
            ),
            // Only an update of an existing org names the fields it changed: a creation sets
            // every field it maps, which says nothing about which field keeps changing.
            Outcome::Applied if !entry.changed_fields.is_empty() => {
                count(TallyKind::Changing, "", 0, None);
                let alone = u64::from(entry.changed_fields.len() == 1);
                for field in entry.changed_fields {
                    count(TallyKind::Field, field, alone, None);
                }
            }
            _ => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, ordered by key, hour, kind and name: writers that take them in this order
    /// cannot deadlock on each other's rows.
    pub fn into_rows(self) -> impl Iterator<Item = (K, Tally)> {
        self.rows.into_iter().map(|((key, ..), tally)| (key, tally))
    }
}

impl KeyActivity {
    /// The activity that a key's tallies say, whatever hours they cover: rows of one (hour,
    /// kind, name) are added up (a store may keep them in several shards).
    pub fn from_tallies(tallies: &[Tally]) -> Self {
        let mut merged: Tallies<()> = Tallies::default();
        for tally in tallies {
            merged
                .rows
                .entry(((), tally.hour, tally.kind, tally.name.clone()))
                .and_modify(|t| t.add(tally))
                .or_insert_with(|| tally.clone());
        }
        let mut activity = KeyActivity::default();
        let mut refusals: BTreeMap<String, RefusalCount> = BTreeMap::new();
        let mut fields: BTreeMap<String, FieldCount> = BTreeMap::new();
        for (_, tally) in merged.into_rows() {
            match tally.kind {
                TallyKind::Outcome => activity.hours.extend(hour_count(&tally)),
                TallyKind::Refusal => {
                    let (id, message) = tally.example.unwrap_or_default();
                    let refusal =
                        refusals
                            .entry(tally.name.clone())
                            .or_insert_with(|| RefusalCount {
                                code: tally.name,
                                count: 0,
                                example_id: id,
                                example_message: message.clone(),
                            });
                    refusal.count += tally.count;
                    if id > refusal.example_id {
                        refusal.example_id = id;
                        refusal.example_message = message;
                    }
                }
                TallyKind::Field => {
                    let field = fields
                        .entry(tally.name.clone())
                        .or_insert_with(|| FieldCount {
                            field: tally.name,
                            changed: 0,
                            only: 0,
                        });
                    field.changed += tally.count;
                    field.only += tally.only;
                }
                TallyKind::Changing => activity.changing_updates += tally.count,
            }
        }
        activity.refusals = refusals.into_values().collect();
        activity.fields = fields.into_values().collect();
        activity
    }
}

/// The entries per hour by outcome that outcome tallies say (an unknown outcome is left out).
pub fn hour_counts(tallies: &[Tally]) -> Vec<HourCount> {
    tallies
        .iter()
        .filter(|t| t.kind == TallyKind::Outcome)
        .filter_map(hour_count)
        .collect()
}

fn hour_count(tally: &Tally) -> Option<HourCount> {
    Some(HourCount {
        hour: hour_start(tally.hour),
        outcome: Outcome::parse(&tally.name)?,
        count: tally.count,
    })
}

#[cfg(test)]
mod tests;
