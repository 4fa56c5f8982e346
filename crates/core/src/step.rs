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

/// How long a messageId is remembered: a repeat within this window is a duplicate.
pub const DEDUPE_WINDOW: Duration = Duration::hours(24);
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
    /// True when this repeats the first outcome of an already applied `messageId`.
    #[serde(skip)]
    pub duplicate: bool,
}

/// The outcome of one stored signal: what the signal webhook answers (SPEC §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalApplied {
    pub lead_id: LeadId,
    /// The lead's target org, through the product org it is linked to, if that org exists.
    pub target_org_id: Option<TargetOrgId>,
    pub linked: bool,
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

/// The earliest time a remembered messageId still counts, for an update received at
/// `received_at`.
pub fn dedupe_since(received_at: DateTime<Utc>) -> DateTime<Utc> {
    received_at - DEDUPE_WINDOW
}

/// The answer to an update whose messageId was first stored at `first_at` with the outcome
/// `first`: that outcome again, marked a duplicate, while it is remembered; `None` once it is
/// forgotten (the update is then applied as a new one).
pub fn repeat<T: Outcome>(
    first: T,
    first_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
) -> Option<T> {
    (first_at >= dedupe_since(received_at)).then(|| first.repeated())
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
}

impl OrgState {
    /// A product org not stored yet; its first update creates target org `target_org_id`.
    pub fn new(target_org_id: TargetOrgId) -> Self {
        Self {
            target_org_id,
            fields: ProductOrgFields::default(),
            clock: FieldClock::default(),
            version: 0,
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
    /// Fields the update mapped but did not apply: a newer event had written them.
    pub older: Vec<String>,
    /// The newest event time among `older`.
    pub older_than: Option<DateTime<Utc>>,
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
/// A repeated messageId never gets here: see [`repeat`].
pub fn step(org: &mut OrgState, update: &Update, received_at: DateTime<Utc>) -> Step {
    let is_new_org = !org.is_stored();
    let merge = org.fields.merge(
        &mut org.clock,
        &update.patches,
        update.event_at.unwrap_or(received_at),
    );
    let changed = is_new_org || !merge.changes.is_empty();
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
    Step {
        applied: Applied {
            product_org_id: update.product_org_id.clone(),
            target_org_id: org.target_org_id,
            is_new_org,
            changed,
            duplicate: false,
        },
        write,
        older: merge.older,
        older_than: merge.older_than,
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
pub fn signal_applied(lead_id: LeadId, target: Option<TargetOrgId>) -> SignalApplied {
    SignalApplied {
        lead_id,
        target_org_id: target,
        linked: target.is_some(),
        duplicate: false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::Value;

    use super::*;
    use crate::fields::FieldPatch;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_767_225_600 + secs, 0).unwrap()
    }

    fn update(patches: Vec<FieldPatch>, event: Option<i64>) -> Update {
        Update {
            product_org_id: ProductOrgId::parse("ws_1").unwrap(),
            patches,
            event_at: event.map(t),
            message_id: None,
        }
    }

    fn plan(p: &str) -> FieldPatch {
        FieldPatch::PlanId(Some(p.into()))
    }

    #[test]
    fn the_first_update_creates_the_org_and_its_target_org_named_after_it() {
        let mut org = OrgState::new(TargetOrgId(7));
        let first = step(
            &mut org,
            &update(vec![FieldPatch::Name(Some("Acme".into()))], None),
            t(0),
        );
        assert!(first.applied.is_new_org && first.applied.changed);
        assert_eq!(first.applied.target_org_id, TargetOrgId(7));
        let Write::Change(change) = first.write else {
            panic!("{first:?}")
        };
        assert_eq!(
            change.created,
            Some(NewTargetOrg {
                id: TargetOrgId(7),
                name: "Acme".into()
            })
        );
        assert_eq!(change.history.version, 1);
        assert_eq!(change.history.received_at, t(0));
        let second = step(&mut org, &update(vec![plan("pro")], None), t(1));
        assert!(!second.applied.is_new_org, "isNewOrg once");
        assert!(matches!(
            second.write,
            Write::Change(Change { created: None, .. })
        ));
    }

    #[test]
    fn a_first_update_with_no_fields_still_creates_and_changes() {
        let mut org = OrgState::new(TargetOrgId(1));
        let first = step(&mut org, &update(vec![], None), t(0));
        assert!(first.applied.is_new_org && first.applied.changed);
        let Write::Change(change) = first.write else {
            panic!("{first:?}")
        };
        assert!(change.history.changes.is_empty());
        assert_eq!(
            change.created.unwrap().name,
            "ws_1",
            "named after its id without a name"
        );
    }

    #[test]
    fn an_older_event_loses_field_by_field_and_says_which() {
        let mut org = OrgState::new(TargetOrgId(1));
        step(&mut org, &update(vec![plan("pro")], Some(20)), t(100));
        let late = step(
            &mut org,
            &update(vec![plan("basic"), FieldPatch::Mrr(Some(100))], Some(10)),
            t(101),
        );
        assert!(late.applied.changed, "mrr, never written, takes any value");
        assert_eq!(org.fields.plan_id.as_deref(), Some("pro"));
        assert_eq!(org.fields.mrr, Some(100));
        assert_eq!(late.older, ["planId"]);
        assert_eq!(late.older_than, Some(t(20)));
        let Write::Change(change) = late.write else {
            panic!("{late:?}")
        };
        assert_eq!(change.history.version, 2);
        assert_eq!(change.history.changes.len(), 1);
        assert_eq!(change.history.event_at, Some(t(10)));
    }

    #[test]
    fn without_an_event_time_the_receive_time_decides() {
        let mut org = OrgState::new(TargetOrgId(1));
        step(&mut org, &update(vec![plan("pro")], None), t(50));
        let older = step(&mut org, &update(vec![plan("basic")], Some(40)), t(60));
        assert!(!older.applied.changed);
        let newer = step(&mut org, &update(vec![plan("team")], None), t(70));
        assert!(newer.applied.changed);
        assert_eq!(org.fields.plan_id.as_deref(), Some("team"));
    }

    #[test]
    fn a_tie_goes_to_the_later_arrival() {
        let mut org = OrgState::new(TargetOrgId(1));
        step(&mut org, &update(vec![plan("a")], Some(5)), t(100));
        let tie = step(&mut org, &update(vec![plan("b")], Some(5)), t(101));
        assert!(tie.applied.changed);
        assert_eq!(org.fields.plan_id.as_deref(), Some("b"));
    }

    #[test]
    fn null_clears_missing_keeps_and_a_newer_clear_is_not_undone() {
        let mut org = OrgState::new(TargetOrgId(1));
        step(
            &mut org,
            &update(vec![plan("pro"), FieldPatch::UserCount(Some(3))], Some(1)),
            t(0),
        );
        let cleared = step(
            &mut org,
            &update(vec![FieldPatch::PlanId(None)], Some(3)),
            t(1),
        );
        assert!(cleared.applied.changed);
        assert_eq!(org.fields.plan_id, None);
        assert_eq!(org.fields.user_count, Some(3), "a field not mapped stays");
        let Write::Change(change) = cleared.write else {
            panic!("{cleared:?}")
        };
        assert_eq!(change.history.changes[0].new, Value::Null);
        let late = step(&mut org, &update(vec![plan("old")], Some(2)), t(2));
        assert!(!late.applied.changed);
        assert_eq!(org.fields.plan_id, None, "the clear is newer");
    }

    #[test]
    fn the_same_values_at_a_newer_time_write_the_clock_alone() {
        let mut org = OrgState::new(TargetOrgId(1));
        step(&mut org, &update(vec![plan("pro")], Some(20)), t(0));
        let resend = step(&mut org, &update(vec![plan("pro")], Some(30)), t(1));
        assert!(!resend.applied.changed);
        assert_eq!(resend.write, Write::Clock);
        assert_eq!(org.version, 1, "no new version");
        let late = step(&mut org, &update(vec![plan("basic")], Some(25)), t(2));
        assert!(!late.applied.changed, "the resend at 30 still wins over 25");
        assert_eq!(late.write, Write::Nothing);
        assert_eq!(late.older_than, Some(t(30)));
    }

    #[test]
    fn the_same_values_at_the_same_time_write_nothing() {
        let mut org = OrgState::new(TargetOrgId(1));
        step(&mut org, &update(vec![plan("pro")], Some(20)), t(0));
        let again = step(&mut org, &update(vec![plan("pro")], Some(20)), t(1));
        assert_eq!(again.write, Write::Nothing);
        assert!(again.older.is_empty());
    }

    #[test]
    fn a_repeated_message_id_repeats_the_first_answer_for_a_day() {
        let first = Applied {
            product_org_id: ProductOrgId::parse("ws_1").unwrap(),
            target_org_id: TargetOrgId(1),
            is_new_org: true,
            changed: true,
            duplicate: false,
        };
        let again = repeat(first.clone(), t(0), t(3_600)).expect("within the day");
        assert!(again.duplicate && again.is_new_org && again.changed);
        assert!(
            repeat(first.clone(), t(0), t(86_400)).is_some(),
            "the day's edge"
        );
        assert_eq!(repeat(first, t(0), t(86_401)), None, "forgotten after it");
        assert_eq!(replay_since(t(600)), t(0));
    }

    #[test]
    fn a_signal_naming_a_product_org_links_its_lead_and_one_naming_none_keeps_the_link() {
        let signal = |email: Option<&str>, org: Option<&str>| Signal {
            lead_id: LeadId::parse("u_1").unwrap(),
            email: email.map(str::to_owned),
            product_org_id: org.map(|o| ProductOrgId::parse(o).unwrap()),
            name: None,
            event_at: None,
            properties: None,
            custom_fields: serde_json::Map::new(),
            message_id: None,
        };
        let first = lead_after(None, &signal(Some("ada@example.com"), Some("ws_1")));
        assert_eq!(first.product_org_id.as_ref().unwrap().as_str(), "ws_1");
        let kept = lead_after(Some(&first), &signal(None, None));
        assert_eq!(kept, first, "a signal naming nothing keeps email and link");
        let moved = lead_after(Some(&first), &signal(None, Some("ws_2")));
        assert_eq!(moved.product_org_id.unwrap().as_str(), "ws_2");
        assert_eq!(moved.email.as_deref(), Some("ada@example.com"));
        let lead = LeadId::parse("u_1").unwrap();
        assert!(!signal_applied(lead.clone(), None).linked);
        assert!(signal_applied(lead, Some(TargetOrgId(3))).linked);
    }
}
