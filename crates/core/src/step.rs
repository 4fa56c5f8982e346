//! The write rules of trailspark, as pure functions: what one update does to a product org
//! ([`step`]), what one signal does to its lead ([`lead_after`], [`signal_applied`]), and when
//! a messageId or a webhook-id repeats an earlier one. A store loads what is stored, calls
//! these, and writes what they say; no store decides any of it (STYLE §3a).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::fields::ProductOrgFields;
use crate::ids::{LeadId, ProductOrgId, TargetOrgId};
use crate::signal::Signal;
use crate::update::{FieldChange, FieldClock, Update};
use crate::warning::{UnchangedReason, UnlinkedReason, Warning};

/// How long a messageId is remembered: a repeat within this window is a duplicate. SPEC §2
/// says 24 hours (the default); an operator may shorten it, since the remembered ids are one
/// row each and a busy store holds a day of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupeWindow(Duration);

impl DedupeWindow {
    /// SPEC's window.
    pub const SPEC: Self = Self(Duration::hours(24));

    /// A window of `length`; `None` unless it is longer than zero.
    pub fn new(length: Duration) -> Option<Self> {
        (length > Duration::zero()).then_some(Self(length))
    }

    /// The earliest time a remembered messageId still counts, for an update received at
    /// `received_at`.
    pub fn since(self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        received_at - self.0
    }

    /// The answer to an update whose messageId was first stored at `first_at` with the
    /// outcome `first`: that outcome again, marked a duplicate, while it is remembered; `None`
    /// once it is forgotten (the update is then applied as a new one).
    pub fn repeat<T: Outcome>(
        self,
        first: T,
        first_at: DateTime<Utc>,
        received_at: DateTime<Utc>,
    ) -> Option<T> {
        (first_at >= self.since(received_at)).then(|| first.repeated())
    }
}

impl Default for DedupeWindow {
    fn default() -> Self {
        Self::SPEC
    }
}

/// How long a Standard Webhooks `webhook-id` is remembered: twice the signature window, so a
/// replay can never be both fresh enough to verify and old enough to be forgotten.
pub const REPLAY_WINDOW: Duration = Duration::minutes(10);

/// The outcome of one applied product org update: what the webhook answers (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub product_org_id: ProductOrgId,
    pub target_org_id: TargetOrgId,
    /// True exactly once per (tenant, productOrgId).
    pub is_new_org: bool,
    /// False when no field's value changed.
    pub changed: bool,
    /// Why nothing changed, when `changed` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unchanged_reason: Option<UnchangedReason>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// True when this repeats the first outcome of an already applied `messageId`: the
    /// outcome is stored without it, and a repeat answers it with it.
    #[serde(skip)]
    pub duplicate: bool,
    /// The fields an update of an existing product org changed, as history names them
    /// (`planName`, `customFields.seats`); empty for a creation and for no change. Not
    /// answered: the delivery log keeps it for key health.
    #[serde(skip)]
    pub changed_fields: Vec<String>,
}

/// The outcome of one stored signal: what the signal webhook answers (SPEC §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalApplied {
    pub lead_id: LeadId,
    /// The lead's target org, through the product org it is linked to, if that org exists.
    pub target_org_id: Option<TargetOrgId>,
    pub linked: bool,
    /// Why the lead is not linked, when `linked` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlinked_reason: Option<UnlinkedReason>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// True when this repeats the first outcome of an already stored `messageId`.
    #[serde(skip)]
    pub duplicate: bool,
}

/// An outcome that a repeated messageId answers again.
pub trait Outcome: Sized {
    /// The first outcome, said again for a repeat.
    fn repeated(self) -> Self;
}

impl Outcome for Applied {
    fn repeated(self) -> Self {
        Self {
            duplicate: true,
            ..self
        }
    }
}

impl Outcome for SignalApplied {
    fn repeated(self) -> Self {
        Self {
            duplicate: true,
            ..self
        }
    }
}

/// The earliest time a remembered webhook-id still counts, for a request received at `now`.
pub fn replay_since(now: DateTime<Utc>) -> DateTime<Utc> {
    now - REPLAY_WINDOW
}

/// A product org as the write step sees it: as stored, or not stored yet (version 0).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgState {
    pub target_org_id: TargetOrgId,
    pub fields: ProductOrgFields,
    pub clock: FieldClock,
    /// 1 once created, one more per change; 0 while nothing is stored.
    pub version: i64,
    /// For an org not stored yet: an existing product org whose id folds to the same as its
    /// own ([`ProductOrgId::folded`]), which the store looks up only then.
    pub similar: Option<ProductOrgId>,
}

impl OrgState {
    /// A product org not stored yet; its first update creates target org `target_org_id`.
    pub fn new(target_org_id: TargetOrgId) -> Self {
        Self {
            target_org_id,
            fields: ProductOrgFields::default(),
            clock: FieldClock::default(),
            version: 0,
            similar: None,
        }
    }

    /// Whether the product org exists in the store (or in the batch being written).
    pub fn is_stored(&self) -> bool {
        self.version > 0
    }
}

/// What one update does: the answer, and what the store must write.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub applied: Applied,
    pub write: Write,
}

/// What the store writes for one update.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Nothing: no value changed and no field's clock moved.
    Nothing,
    /// Only the field clock: no value changed, but a newer event touched some field, and a
    /// later-arriving older update must still lose to it. Version, `updatedAt` and history
    /// stay as they are.
    Clock,
    /// The whole row (values, clock, version, `updatedAt`) and one history row.
    Change(Change),
}

/// A change of a product org's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// For the update that creates the product org: the target org it creates with it.
    pub created: Option<NewTargetOrg>,
    pub history: HistoryRow,
}

/// The target org created with a product org, named after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTargetOrg {
    pub id: TargetOrgId,
    pub name: String,
}

/// One row of a product org's change history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub version: i64,
    pub changes: Vec<FieldChange>,
    /// The event time the update carried, if any.
    pub event_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

/// Applies `update`, received at `received_at`, to `org` (SPEC §2–3), and says what to write
/// and what to answer:
/// - each field takes its patch only if the update's event time (its receive time when it
///   has none) is not older than the time that last wrote that field; a tie goes to this,
///   later, arrival; `null` clears, a field the update does not map stays;
/// - the first update of a product org creates it and its target org: `isNewOrg`, and
///   `changed` whatever the values;
/// - a change bumps the version and writes one history row; the same values again change
///   nothing, but a newer event time is kept (the clock-only write).
///
/// The answer carries the update's own warnings (from extraction and its request), then
/// `similar_product_org` for a new org whose id folds like an existing one's, then
/// `older_event` when a newer event had written some of its fields; `changed:false` says why.
///
/// A repeated messageId never gets here: see [`repeat`].
pub fn step(org: &mut OrgState, update: &Update, received_at: DateTime<Utc>) -> Step {
    let is_new_org = !org.is_stored();
    let merge = org.fields.merge(
        &mut org.clock,
        &update.patches,
        update.event_at.unwrap_or(received_at),
    );
    let changed = is_new_org || !merge.changes.is_empty();
    let changed_fields = if is_new_org {
        Vec::new()
    } else {
        merge.changes.iter().map(|c| c.field.clone()).collect()
    };
    let write = if changed {
        org.version += 1;
        Write::Change(Change {
            created: is_new_org.then(|| NewTargetOrg {
                id: org.target_org_id,
                name: update.target_org_name(),
            }),
            history: HistoryRow {
                version: org.version,
                changes: merge.changes,
                event_at: update.event_at,
                received_at,
            },
        })
    } else if merge.clock_moved {
        Write::Clock
    } else {
        Write::Nothing
    };
    let mut warnings = update.warnings.clone();
    if let Some(existing) = org.similar.take().filter(|_| is_new_org) {
        warnings.push(Warning::similar_product_org(
            &update.product_org_id,
            &existing,
        ));
    }
    let unchanged_reason = (!changed).then_some(if merge.older.is_empty() {
        UnchangedReason::SameValues
    } else {
        UnchangedReason::OlderEvent
    });
    if let Some(stored) = merge.older_than.filter(|_| !merge.older.is_empty()) {
        warnings.push(Warning::older_event(merge.older, stored));
    }
    Step {
        applied: Applied {
            product_org_id: update.product_org_id.clone(),
            target_org_id: org.target_org_id,
            is_new_org,
            changed,
            unchanged_reason,
            warnings,
            duplicate: false,
            changed_fields,
        },
        write,
    }
}

/// A lead as the signal step sees it: what a signal can change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadState {
    pub email: Option<String>,
    /// The product org that links the lead to its target org.
    pub product_org_id: Option<ProductOrgId>,
}

/// The lead as a signal leaves it (SPEC §4): the latest signal that names a product org links
/// the lead to it, and one naming none keeps the link; likewise for the email.
pub fn lead_after(stored: Option<&LeadState>, signal: &Signal) -> LeadState {
    let stored = stored.cloned().unwrap_or_default();
    LeadState {
        email: signal.email.clone().or(stored.email),
        product_org_id: signal.product_org_id.clone().or(stored.product_org_id),
    }
}

/// The answer to a stored signal: linked when the lead's product org exists, whose target org
/// is `target` (`None` while it does not: the link is made when its first update arrives).
/// Unlinked says why: the lead names no product org, or it names one not found, then with
/// `similar`, an existing product org whose id folds alike, as a warning.
pub fn signal_applied(
    signal: &Signal,
    lead: &LeadState,
    target: Option<TargetOrgId>,
    similar: Option<&ProductOrgId>,
) -> SignalApplied {
    let mut warnings = signal.warnings.clone();
    let unlinked_reason = match (&lead.product_org_id, target) {
        (_, Some(_)) => None,
        (None, None) => Some(UnlinkedReason::NoProductOrgId),
        (Some(named), None) => {
            if let Some(existing) = similar {
                warnings.push(Warning::similar_product_org_for_lead(named, existing));
            }
            Some(UnlinkedReason::ProductOrgNotFound)
        }
    };
    SignalApplied {
        lead_id: signal.lead_id.clone(),
        target_org_id: target,
        linked: target.is_some(),
        unlinked_reason,
        warnings,
        duplicate: false,
    }
}

#[cfg(test)]
mod tests;
