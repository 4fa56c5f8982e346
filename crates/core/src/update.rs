//! An extracted product org update and the per-field last-writer-wins merge (SPEC §2).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::ProductOrgId;

/// One validated update of one product org, as extracted from a payload by its template.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// Which product org.
    pub product_org_id: ProductOrgId,
    /// The fields the payload set or cleared, in template order; absent fields are not here.
    pub patches: Vec<FieldPatch>,
    /// The event's own time, when the template maps one.
    pub event_at: Option<DateTime<Utc>>,
    /// The sender's message id, for dedupe, when the template maps one.
    pub message_id: Option<String>,
}

impl Update {
    /// The name of the target org this update's product org creates: the product org's name
    /// if the update carries one, else its id.
    pub fn target_org_name(&self) -> String {
        self.patches
            .iter()
            .find_map(|p| match p {
                FieldPatch::Name(Some(name)) => Some(name.clone()),
                _ => None,
            })
            .unwrap_or_else(|| self.product_org_id.as_str().to_owned())
    }
}

/// A new value for one field; `None` clears the field (the payload held JSON `null`).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldPatch {
    Name(Option<String>),
    PlanId(Option<String>),
    PlanName(Option<String>),
    UserCount(Option<i64>),
    /// Monthly recurring revenue in cents.
    Mrr(Option<i64>),
    TrialStatus(Option<String>),
    LastActiveAt(Option<DateTime<Utc>>),
    FeatureFlags(Option<Map<String, Value>>),
    /// A custom field by name; any JSON value.
    Custom(String, Option<Value>),
}

impl FieldPatch {
    /// The field's name as used in JSON, clocks and history (`planName`, `customFields.x`).
    pub fn field_name(&self) -> String {
        match self {
            Self::Name(_) => "name".into(),
            Self::PlanId(_) => "planId".into(),
            Self::PlanName(_) => "planName".into(),
            Self::UserCount(_) => "userCount".into(),
            Self::Mrr(_) => "mrr".into(),
            Self::TrialStatus(_) => "trialStatus".into(),
            Self::LastActiveAt(_) => "lastActiveAt".into(),
            Self::FeatureFlags(_) => "featureFlags".into(),
            Self::Custom(name, _) => format!("customFields.{name}"),
        }
    }
}

/// The current values of a product org; `None` is unset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrgFields {
    pub name: Option<String>,
    pub plan_id: Option<String>,
    pub plan_name: Option<String>,
    pub user_count: Option<i64>,
    pub mrr: Option<i64>,
    pub trial_status: Option<String>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub feature_flags: Option<Map<String, Value>>,
    pub custom_fields: Map<String, Value>,
}

/// For each field, the event time (microseconds since the epoch) of the update that last
/// wrote it. Kept for cleared fields too, so an older update cannot bring a value back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldClock(pub BTreeMap<String, i64>);

/// One field's change, as recorded in history: JSON `null` stands for unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// What merging an update did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeOutcome {
    /// Fields whose value changed; empty means `changed:false`.
    pub changes: Vec<FieldChange>,
    /// Whether some field's clock moved forward (the row must be written even when no value
    /// changed, so that a later-arriving older update still loses).
    pub clock_moved: bool,
}

/// Formats a timestamp the way trailspark shows it: RFC 3339, UTC, `Z`.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl ProductOrgFields {
    /// Applies `patches` that happened at `at`, field by field: a field takes the patch only if
    /// `at` is not older than the time that last wrote it (a tie goes to this, later, arrival).
    pub fn merge(
        &mut self,
        clock: &mut FieldClock,
        patches: &[FieldPatch],
        at: DateTime<Utc>,
    ) -> MergeOutcome {
        let at = at.timestamp_micros();
        let mut outcome = MergeOutcome::default();
        for patch in patches {
            let field = patch.field_name();
            match clock.0.get(&field) {
                Some(&written) if written > at => continue,
                Some(&written) if written == at => {}
                _ => {
                    clock.0.insert(field.clone(), at);
                    outcome.clock_moved = true;
                }
            }
            let (old, new) = self.set(patch);
            if old != new {
                outcome.changes.push(FieldChange { field, old, new });
            }
        }
        outcome
    }

    /// Sets one field and returns its old and new value as JSON.
    fn set(&mut self, patch: &FieldPatch) -> (Value, Value) {
        fn swap<T: Clone>(
            slot: &mut Option<T>,
            new: &Option<T>,
            json: impl Fn(&T) -> Value,
        ) -> (Value, Value) {
            let old = slot.as_ref().map(&json).unwrap_or(Value::Null);
            slot.clone_from(new);
            (old, new.as_ref().map(json).unwrap_or(Value::Null))
        }
        let text = |s: &String| Value::String(s.clone());
        let int = |n: &i64| Value::from(*n);
        match patch {
            FieldPatch::Name(v) => swap(&mut self.name, v, text),
            FieldPatch::PlanId(v) => swap(&mut self.plan_id, v, text),
            FieldPatch::PlanName(v) => swap(&mut self.plan_name, v, text),
            FieldPatch::UserCount(v) => swap(&mut self.user_count, v, int),
            FieldPatch::Mrr(v) => swap(&mut self.mrr, v, int),
            FieldPatch::TrialStatus(v) => swap(&mut self.trial_status, v, text),
            FieldPatch::LastActiveAt(v) => swap(&mut self.last_active_at, v, |t| {
                Value::String(format_timestamp(t))
            }),
            FieldPatch::FeatureFlags(v) => {
                swap(&mut self.feature_flags, v, |m| Value::Object(m.clone()))
            }
            FieldPatch::Custom(name, v) => {
                let old = self.custom_fields.get(name).cloned().unwrap_or(Value::Null);
                match v {
                    Some(value) => self.custom_fields.insert(name.clone(), value.clone()),
                    None => self.custom_fields.remove(name),
                };
                (old, v.clone().unwrap_or(Value::Null))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn an_older_update_loses_field_by_field() {
        let mut f = ProductOrgFields::default();
        let mut c = FieldClock::default();
        f.merge(&mut c, &[FieldPatch::PlanId(Some("pro".into()))], t(20));
        let out = f.merge(
            &mut c,
            &[
                FieldPatch::PlanId(Some("basic".into())),
                FieldPatch::Mrr(Some(100)),
            ],
            t(10),
        );
        assert_eq!(f.plan_id.as_deref(), Some("pro"));
        assert_eq!(f.mrr, Some(100), "a field never written takes any value");
        assert_eq!(out.changes.len(), 1);
    }

    #[test]
    fn a_tie_goes_to_the_later_arrival() {
        let mut f = ProductOrgFields::default();
        let mut c = FieldClock::default();
        f.merge(&mut c, &[FieldPatch::Name(Some("a".into()))], t(5));
        let out = f.merge(&mut c, &[FieldPatch::Name(Some("b".into()))], t(5));
        assert_eq!(f.name.as_deref(), Some("b"));
        assert!(!out.clock_moved);
    }

    #[test]
    fn same_values_again_change_nothing_but_move_the_clock() {
        let mut f = ProductOrgFields::default();
        let mut c = FieldClock::default();
        f.merge(&mut c, &[FieldPatch::UserCount(Some(3))], t(1));
        let out = f.merge(&mut c, &[FieldPatch::UserCount(Some(3))], t(2));
        assert!(out.changes.is_empty());
        assert!(out.clock_moved);
        let late = f.merge(&mut c, &[FieldPatch::UserCount(Some(9))], t(1));
        assert!(
            late.changes.is_empty(),
            "the resend at t=2 still wins over t=1"
        );
    }

    #[test]
    fn null_clears_and_the_clear_is_remembered() {
        let mut f = ProductOrgFields::default();
        let mut c = FieldClock::default();
        f.merge(
            &mut c,
            &[FieldPatch::Custom("x".into(), Some(Value::from(1)))],
            t(1),
        );
        let out = f.merge(&mut c, &[FieldPatch::Custom("x".into(), None)], t(3));
        assert!(f.custom_fields.is_empty());
        assert_eq!(out.changes[0].field, "customFields.x");
        assert_eq!(out.changes[0].new, Value::Null);
        f.merge(
            &mut c,
            &[FieldPatch::Custom("x".into(), Some(Value::from(2)))],
            t(2),
        );
        assert!(f.custom_fields.is_empty());
    }
}
