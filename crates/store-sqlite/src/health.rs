//! A key's activity since a time (the raw counts of key health): its log entries by hour and
//! outcome, its refusals by code and the fields its applied entries changed, in one pass over
//! the log's chunks of the key.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{
    hour_start, ChangedFields, HourCount, KeyActivity, Outcome, RefusalCount, StoreResult,
};

use crate::db::{micros, sqlite_error};
use crate::deliveries;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// The key's activity since `since`, read in one snapshot and one pass over its log.
pub fn activity(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> StoreResult<KeyActivity> {
    let tx = conn.unchecked_transaction().map_err(sqlite_error)?;
    let since = micros(&since);
    let mut counts = Counts::default();
    deliveries::each_since(&tx, tenant, key, since, |id, entry| {
        counts.add(id, &entry);
        Ok(())
    })?;
    let activity = KeyActivity {
        hours: counts.hours(),
        refusals: counts.refusals.into_values().collect(),
        changes: counts.changes,
    };
    tx.finish().map_err(sqlite_error)?;
    Ok(activity)
}

/// The key's log entries per hour by outcome since `since`.
pub fn hours(
    conn: &Connection,
    tenant: TenantId,
    key: &ApiKeyId,
    since: i64,
) -> StoreResult<Vec<HourCount>> {
    let mut counts = Counts::default();
    deliveries::each_since(conn, tenant, key, since, |_, entry| {
        counts.add_hour(&entry);
        Ok(())
    })?;
    Ok(counts.hours())
}

/// What one pass over a key's log entries counts.
#[derive(Default)]
struct Counts {
    /// Entries by (hour since the epoch, outcome).
    hours: BTreeMap<(i64, &'static str), (Outcome, u64)>,
    /// Refused entries by code, with the newest of each as its example.
    refusals: BTreeMap<String, RefusalCount>,
    /// The fields of each applied entry that kept them.
    changes: Vec<ChangedFields>,
}

impl Counts {
    /// Counts the entry in its hour only: what the overview needs.
    fn add_hour(&mut self, entry: &deliveries::EntryView<'_>) {
        let hour = entry.at.div_euclid(MICROS_PER_HOUR);
        self.hours
            .entry((hour, entry.outcome.as_str()))
            .or_insert((entry.outcome, 0))
            .1 += 1;
    }

    fn add(&mut self, id: i64, entry: &deliveries::EntryView<'_>) {
        self.add_hour(entry);
        match entry.outcome {
            Outcome::Refused => {
                let code = entry.code.unwrap_or_default();
                let refusal =
                    self.refusals
                        .entry(code.to_owned())
                        .or_insert_with(|| RefusalCount {
                            code: code.to_owned(),
                            count: 0,
                            example_id: id,
                            example_message: String::new(),
                        });
                refusal.count += 1;
                // Entries come oldest first: the last one seen is the newest.
                if id >= refusal.example_id {
                    refusal.example_id = id;
                    entry
                        .message
                        .unwrap_or_default()
                        .clone_into(&mut refusal.example_message);
                }
            }
            Outcome::Applied if !entry.changed_fields.is_empty() => {
                self.changes.push(ChangedFields {
                    fields: entry.changed_fields.to_vec(),
                });
            }
            _ => {}
        }
    }

    fn hours(&self) -> Vec<HourCount> {
        self.hours
            .iter()
            .map(|(&(hour, _), &(outcome, count))| HourCount {
                hour: hour_start(hour),
                outcome,
                count,
            })
            .collect()
    }
}
