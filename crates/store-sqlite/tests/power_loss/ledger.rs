//! What the writers sent and what the store acknowledged, per product org and field, and the
//! check of a reopened store against it.

use std::collections::{BTreeMap, BTreeSet};

use trailspark_core::ProductOrgFields;

/// The fields the load sets: a standard one and a custom one, each carrying the sequence
/// number of the update that set it (event times grow with it, so the newest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Plan,
    Seq,
}

pub const CUSTOM: &str = "seq";

impl Field {
    /// The sequence number this field of `fields` holds, if set.
    pub fn read(self, fields: &ProductOrgFields) -> Option<i64> {
        match self {
            Field::Plan => fields.plan_id.as_ref()?.split(' ').next()?.parse().ok(),
            Field::Seq => fields.custom_fields.get(CUSTOM)?.as_i64(),
        }
    }
}

#[derive(Default)]
struct Values {
    sent: BTreeSet<i64>,
    acknowledged: BTreeSet<i64>,
}

/// The writers' record of one run up to a cut.
#[derive(Default)]
pub struct Ledger {
    fields: BTreeMap<(usize, Field), Values>,
    /// Requests answered Ok.
    pub acknowledged: usize,
    /// Requests answered with an error (after the cut, all of them should be).
    pub refused: usize,
    /// Requests that had no answer in time.
    pub unanswered: usize,
}

/// What the check of one reopened store found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Acknowledged updates of a field, each found with its value or a newer one.
    pub acknowledged: usize,
    /// Updates sent, never acknowledged, and not in the reopened store.
    pub lost_unacknowledged: usize,
    /// Updates sent, never acknowledged, and in the store all the same (committed and synced,
    /// but the answer did not come before the cut).
    pub kept_unacknowledged: usize,
    /// What contradicts durability: one line each.
    pub violations: Vec<String>,
}

impl Ledger {
    pub fn sent(&mut self, org: usize, fields: &[Field], n: i64) {
        for field in fields {
            self.fields.entry((org, *field)).or_default().sent.insert(n);
        }
    }

    pub fn acknowledged(&mut self, org: usize, fields: &[Field], n: i64) {
        self.acknowledged += 1;
        for field in fields {
            self.fields
                .entry((org, *field))
                .or_default()
                .acknowledged
                .insert(n);
        }
    }

    /// Checks a field as the reopened store holds it (`stored`): the newest acknowledged value
    /// or a newer one that was sent; never a value nobody sent.
    pub fn check(&self, org: usize, field: Field, stored: Option<i64>, checked: &mut Checked) {
        let Some(values) = self.fields.get(&(org, field)) else {
            if let Some(s) = stored {
                let line = format!("org {org} {field:?}: holds {s}, but nothing was sent");
                checked.violations.push(line);
            }
            return;
        };
        let newest = values.acknowledged.last().copied();
        match (newest, stored) {
            (Some(acked), None) => checked.violations.push(format!(
                "org {org} {field:?}: update {acked} was acknowledged, the field is unset"
            )),
            (Some(acked), Some(s)) if s < acked => checked.violations.push(format!(
                "org {org} {field:?}: update {acked} was acknowledged, the field holds older {s}"
            )),
            (_, Some(s)) if !values.sent.contains(&s) => checked.violations.push(format!(
                "org {org} {field:?}: holds {s}, which was never sent"
            )),
            _ => {}
        }
        checked.acknowledged += values.acknowledged.len();
        let present = stored.unwrap_or(i64::MIN);
        for n in values.sent.difference(&values.acknowledged) {
            if *n > present {
                checked.lost_unacknowledged += 1;
            } else if *n == present {
                checked.kept_unacknowledged += 1;
            }
        }
    }

    /// The product orgs and fields written to.
    pub fn written(&self) -> impl Iterator<Item = (usize, Field)> + '_ {
        self.fields.keys().copied()
    }
}
