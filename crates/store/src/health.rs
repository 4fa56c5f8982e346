//! Key health (SPEC §6): what a key's last 24 hours of deliveries say, computed here, once,
//! from the raw counts a store reads ([`KeyActivity`]), for the admin API, the CLI and the
//! key's web page alike.
//!
//! The window is the current UTC hour and the 23 before it, so that the hourly series has
//! exactly 24 bars and sums to `updates`.
//!
//! The counts come from the key's hourly tallies ([`crate::tally`]), kept as the log is
//! written, not from the log itself, which keeps only each key's newest entries. Which fields
//! an update changed is tallied for applied updates of existing product orgs only: a creation
//! sets every field it maps, so it says nothing about which field keeps changing.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use trailspark_core::fields::CUSTOM_FIELDS;
use trailspark_core::template::{PayloadTemplate, ProductOrgTemplate};
use trailspark_core::Field;

use crate::tally::{hour_counts, TallyKind};
use crate::{ApiKeyRecord, Outcome, Store, StoreResult};

/// Hours the health looks back over, the current one included.
pub const WINDOW_HOURS: i64 = 24;
/// Updates that changed something needed before a field can be called volatile: fewer say
/// too little about a sender's habits.
pub const MIN_CHANGING_UPDATES: u64 = 20;
/// Most error codes listed.
pub const TOP_ERRORS: usize = 5;

/// The raw counts of a key's deliveries since a time, as its tallies say
/// ([`KeyActivity::from_tallies`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyActivity {
    /// Entries per hour and outcome; hours and outcomes without entries are left out.
    pub hours: Vec<HourCount>,
    /// Refused entries by code, each with its newest entry as the example.
    pub refusals: Vec<RefusalCount>,
    /// Applied updates of existing product orgs that changed some field.
    pub changing_updates: u64,
    /// Each field those updates changed, in no order.
    pub fields: Vec<FieldCount>,
}

/// Log entries of one outcome received in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// The start of the UTC hour.
    pub hour: DateTime<Utc>,
    pub outcome: Outcome,
    pub count: u64,
}

/// Refused entries of one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalCount {
    pub code: String,
    pub count: u64,
    /// The newest of them: its delivery id and message.
    pub example_id: i64,
    pub example_message: String,
}

/// How often one field was among the changes of updates of existing product orgs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldCount {
    /// As history names it (`planName`, `customFields.seats`).
    pub field: String,
    /// Updates that changed it.
    pub changed: u64,
    /// Updates in which it was the only change.
    pub only: u64,
}

/// A key's health over the window (SPEC §6 "Key health").
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyHealth {
    /// The start of the window (the start of the hour 23 hours before the current one).
    pub since: DateTime<Utc>,
    /// Log entries in the window, whatever their outcome.
    pub updates: u64,
    /// Refused entries over `updates` (0 without updates).
    pub refused_share: f64,
    /// Entries that changed nothing over `updates`.
    pub unchanged_share: f64,
    /// The most frequent refusal codes, most frequent first.
    pub top_errors: Vec<TopError>,
    /// Updates of existing product orgs that changed some value: the base of `fields` and
    /// `volatileFields`.
    pub changing_updates: u64,
    /// Each field changed, with the share of `changingUpdates` that changed it, most changed
    /// first.
    pub fields: Vec<FieldShare>,
    /// Fields that are the only change of at least half of at least
    /// [`MIN_CHANGING_UPDATES`] changing updates, with what to do about it.
    pub volatile_fields: Vec<VolatileField>,
    /// Entries per hour by outcome, oldest first, every hour of the window present.
    pub hours: Vec<HourBar>,
}

/// A refusal code, how often, and one delivery it refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopError {
    pub code: String,
    pub count: u64,
    pub example: ErrorExample,
}

/// The newest delivery refused with a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorExample {
    pub delivery_id: i64,
    pub message: String,
}

/// How often a field was among an update's changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldShare {
    pub field: String,
    pub changed_share: f64,
}

/// A field that is often the only change of an update.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolatileField {
    pub field: String,
    /// Changing updates in which it was the only change, over all changing updates.
    pub only_change_share: f64,
    /// What to remove from which source.
    pub advice: String,
}

/// One hour of the series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourBar {
    /// The start of the UTC hour.
    pub hour: DateTime<Utc>,
    pub applied: u64,
    pub unchanged: u64,
    pub duplicate: u64,
    pub refused: u64,
}

impl HourBar {
    /// Entries of the hour, whatever their outcome.
    pub fn total(&self) -> u64 {
        self.applied + self.unchanged + self.duplicate + self.refused
    }

    /// The count of one outcome.
    pub fn of(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Applied => self.applied,
            Outcome::Unchanged => self.unchanged,
            Outcome::Duplicate => self.duplicate,
            Outcome::Refused => self.refused,
        }
    }
}

/// The start of the window that `now` falls in the last hour of.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let hour = now.timestamp().div_euclid(3600);
    hour_start(hour - (WINDOW_HOURS - 1))
}

/// The start of the `n`th hour since the Unix epoch: how stores turn the hour they group by
/// back into a time.
pub fn hour_start(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(n * 3600, 0).unwrap_or_default()
}

/// Whether a field is volatile: enough updates changed something, and it was the only change
/// of at least half of them.
pub fn is_volatile(changing_updates: u64, only_change: u64) -> bool {
    changing_updates >= MIN_CHANGING_UPDATES && only_change * 2 >= changing_updates
}

/// Reads the key's activity over the window ending `now` and computes its health.
pub async fn key_health(
    store: &dyn Store,
    key: &ApiKeyRecord,
    now: DateTime<Utc>,
) -> StoreResult<KeyHealth> {
    let since = window_start(now);
    let tallies = store
        .key_tallies(key.tenant_id, &key.id, since, None)
        .await?;
    let activity = KeyActivity::from_tallies(&tallies);
    let template = serde_json::from_str(&key.template)
        .ok()
        .and_then(|json| PayloadTemplate::from_json(key.endpoint_type, &json).ok());
    let template = template.as_ref().and_then(PayloadTemplate::as_product_org);
    Ok(KeyHealth::of(&activity, template, since))
}

/// The part of a key's health the overview shows: its entries per hour by outcome over the
/// window, their total and the refused share. Read with [`key_traffic`], without the refusals
/// and changed fields the whole [`KeyHealth`] also tallies.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyTraffic {
    pub updates: u64,
    pub refused_share: f64,
    pub hours: Vec<HourBar>,
}

impl KeyTraffic {
    /// The traffic that `counts` since `since` show.
    pub fn of(counts: &[HourCount], since: DateTime<Utc>) -> Self {
        let hours = series(counts, since);
        let updates = hours.iter().map(HourBar::total).sum();
        let refused: u64 = hours.iter().map(|h| h.refused).sum();
        Self {
            updates,
            refused_share: share(refused, updates),
            hours,
        }
    }
}

/// Reads the key's log entries per hour over the window ending `now`.
pub async fn key_traffic(
    store: &dyn Store,
    key: &ApiKeyRecord,
    now: DateTime<Utc>,
) -> StoreResult<KeyTraffic> {
    let since = window_start(now);
    let tallies = store
        .key_tallies(key.tenant_id, &key.id, since, Some(TallyKind::Outcome))
        .await?;
    Ok(KeyTraffic::of(&hour_counts(&tallies), since))
}

impl KeyHealth {
    /// The health that `activity` since `since` shows; `template` (the key's, when it is a
    /// product org key) names the payload path of each field in the advice.
    pub fn of(
        activity: &KeyActivity,
        template: Option<&ProductOrgTemplate>,
        since: DateTime<Utc>,
    ) -> Self {
        let KeyTraffic {
            updates,
            refused_share,
            hours,
        } = KeyTraffic::of(&activity.hours, since);
        let total = |outcome| hours.iter().map(|h| h.of(outcome)).sum::<u64>();
        let changing_updates = activity.changing_updates;
        let tallies = most_changed_first(&activity.fields);
        let fields = tallies
            .iter()
            .map(|t| FieldShare {
                field: t.field.clone(),
                changed_share: share(t.changed, changing_updates),
            })
            .collect();
        let volatile_fields = tallies
            .iter()
            .filter(|t| is_volatile(changing_updates, t.only))
            .map(|t| VolatileField {
                field: t.field.clone(),
                only_change_share: share(t.only, changing_updates),
                advice: advice(template, &t.field),
            })
            .collect();
        Self {
            since,
            updates,
            refused_share,
            unchanged_share: share(total(Outcome::Unchanged), updates),
            top_errors: top_errors(&activity.refusals),
            changing_updates,
            fields,
            volatile_fields,
            hours,
        }
    }
}

// Counts of a day's log stay far below 2^52, where f64 would round them.
#[allow(clippy::cast_precision_loss)]
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Every hour of the window from `since`, with the counts that fall in it.
fn series(counts: &[HourCount], since: DateTime<Utc>) -> Vec<HourBar> {
    let mut hours: Vec<HourBar> = (0..WINDOW_HOURS)
        .map(|n| HourBar {
            hour: since + Duration::hours(n),
            applied: 0,
            unchanged: 0,
            duplicate: 0,
            refused: 0,
        })
        .collect();
    for count in counts {
        let Some(bar) = hours.iter_mut().find(|h| h.hour == count.hour) else {
            continue;
        };
        let slot = match count.outcome {
            Outcome::Applied => &mut bar.applied,
            Outcome::Unchanged => &mut bar.unchanged,
            Outcome::Duplicate => &mut bar.duplicate,
            Outcome::Refused => &mut bar.refused,
        };
        *slot += count.count;
    }
    hours
}

/// The most frequent codes first (ties by code, so the order is stable).
fn top_errors(refusals: &[RefusalCount]) -> Vec<TopError> {
    let mut sorted: Vec<&RefusalCount> = refusals.iter().collect();
    sorted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    sorted
        .into_iter()
        .take(TOP_ERRORS)
        .map(|r| TopError {
            code: r.code.clone(),
            count: r.count,
            example: ErrorExample {
                delivery_id: r.example_id,
                message: r.example_message.clone(),
            },
        })
        .collect()
}

/// The fields, the most changed first (ties by name).
fn most_changed_first(fields: &[FieldCount]) -> Vec<&FieldCount> {
    let mut sorted: Vec<&FieldCount> = fields.iter().collect();
    sorted.sort_by(|a, b| {
        b.changed
            .cmp(&a.changed)
            .then_with(|| a.field.cmp(&b.field))
    });
    sorted
}

/// What to do about a volatile field, in the words of the guide to syncing (seed 001): a
/// key whose product org id is a `groupId` is fed by Segment or RudderStack group calls;
/// any other by rows of a model (Hightouch).
fn advice(template: Option<&ProductOrgTemplate>, field: &str) -> String {
    let path = template
        .and_then(|t| field_path(t, field))
        .unwrap_or_else(|| field.to_owned());
    if template.is_some_and(group_calls) {
        format!(
            "fire `group` only when a scoring-relevant value changes, not on every `{path}` \
             change"
        )
    } else {
        format!(
            "remove the column `{path}` from the Hightouch model (or exclude it from change \
             detection): it changes on every sync and makes every row look changed"
        )
    }
}

/// The payload path a template reads a field (as history names it) from.
fn field_path(template: &ProductOrgTemplate, field: &str) -> Option<String> {
    let path = match Field::named(field) {
        Some(standard) => template.path(standard)?,
        None => {
            let custom = field.strip_prefix(CUSTOM_FIELDS)?.strip_prefix('.')?;
            template
                .custom_fields
                .iter()
                .find_map(|(name, path)| (name == custom).then_some(path))?
        }
    };
    Some(path.as_str().to_owned())
}

/// Whether the template reads Segment/RudderStack group calls: its product org id is a
/// `groupId`.
fn group_calls(template: &ProductOrgTemplate) -> bool {
    template.product_org_id.paths().iter().any(|p| {
        let p = p.as_str();
        p == "groupId" || p.ends_with(".groupId")
    })
}

#[cfg(test)]
mod tests;
