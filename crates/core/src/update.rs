//! An extracted product org update and the per-field last-writer-wins merge (SPEC §2).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fields::{Field, FieldKey, FieldPatch, ProductOrgFields, CUSTOM_FIELDS};
use crate::ids::ProductOrgId;
use crate::warning::Warning;

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
    /// What its answer warns of before the store sees it (a mapped path that found nothing
    /// near a path that exists, the same productOrgId twice in one request).
    pub warnings: Vec<Warning>,
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

/// For each field, the event time (microseconds since the epoch) of the update that last
/// wrote it. Kept for cleared fields too, so an older update cannot bring a value back.
///
/// Stored as a JSON object from field name to time (`{"planId": 1700000000000000,
/// "customFields.x": …}`); held compactly, as stores keep many of these in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldClock {
    /// The standard fields' times, `None` for never written.
    standard: [Option<i64>; Field::COUNT],
    /// Custom fields' times by name (without the prefix), sorted by name.
    custom: Vec<(Box<str>, i64)>,
}

impl FieldClock {
    fn get(&self, key: FieldKey<'_>) -> Option<i64> {
        match key {
            FieldKey::Standard(field) => self.standard[field as usize],
            FieldKey::Custom(name) => self
                .custom
                .binary_search_by(|(k, _)| (**k).cmp(name))
                .ok()
                .map(|i| self.custom[i].1),
        }
    }

    fn set(&mut self, key: FieldKey<'_>, at: i64) {
        match key {
            FieldKey::Standard(field) => self.standard[field as usize] = Some(at),
            FieldKey::Custom(name) => {
                match self.custom.binary_search_by(|(k, _)| (**k).cmp(name)) {
                    Ok(i) => self.custom[i].1 = at,
                    Err(i) => self.custom.insert(i, (name.into(), at)),
                }
            }
        }
    }
}

impl Serialize for FieldClock {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let written = self.standard.iter().flatten().count() + self.custom.len();
        let mut map = serializer.serialize_map(Some(written))?;
        for (field, at) in Field::ALL.iter().zip(&self.standard) {
            if let Some(at) = at {
                map.serialize_entry(field.name(), at)?;
            }
        }
        for (name, at) in &self.custom {
            map.serialize_entry(&FieldKey::Custom(name).name(), at)?;
        }
        map.end()
    }
}

/// A key of a stored clock, read without allocating for the standard fields.
enum ClockKey {
    Standard(Field),
    Custom(String),
}

impl<'de> Deserialize<'de> for ClockKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ClockKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ClockKey, E> {
                if let Some(field) = Field::named(name) {
                    return Ok(ClockKey::Standard(field));
                }
                match name
                    .strip_prefix(CUSTOM_FIELDS)
                    .and_then(|n| n.strip_prefix('.'))
                {
                    Some(custom) => Ok(ClockKey::Custom(custom.to_owned())),
                    None => Err(E::custom(format!(
                        "unknown field {name:?} in a field clock"
                    ))),
                }
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl<'de> Deserialize<'de> for FieldClock {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = FieldClock;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object from field name to time")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<FieldClock, A::Error> {
                let mut clock = FieldClock::default();
                while let Some(key) = map.next_key::<ClockKey>()? {
                    let at: i64 = map.next_value()?;
                    match key {
                        ClockKey::Standard(field) => clock.standard[field as usize] = Some(at),
                        ClockKey::Custom(name) => clock.set(FieldKey::Custom(&name), at),
                    }
                }
                Ok(clock)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

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
    /// Fields the update mapped but did not apply, because a newer event wrote them.
    pub older: Vec<String>,
    /// The newest event time among the fields of `older`.
    pub older_than: Option<DateTime<Utc>>,
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
            let key = patch.key();
            match clock.get(key) {
                Some(written) if written > at => {
                    outcome.older.push(key.name());
                    let written = DateTime::from_timestamp_micros(written);
                    outcome.older_than = outcome.older_than.max(written);
                    continue;
                }
                Some(written) if written == at => {}
                _ => {
                    clock.set(key, at);
                    outcome.clock_moved = true;
                }
            }
            let (old, new) = self.set(patch);
            if old != new {
                outcome.changes.push(FieldChange {
                    field: key.name(),
                    old,
                    new,
                });
            }
        }
        outcome
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
    fn fields_are_stored_without_the_unset_ones() {
        let fields = ProductOrgFields {
            plan_id: Some("pro".into()),
            mrr: Some(100),
            ..Default::default()
        };
        let json = serde_json::to_string(&fields).unwrap();
        assert_eq!(json, r#"{"planId":"pro","mrr":100}"#);
        assert_eq!(
            serde_json::from_str::<ProductOrgFields>(&json).unwrap(),
            fields
        );
        let written_with_nulls = r#"{"name":null,"planId":"pro","planName":null,"userCount":null,
            "mrr":100,"trialStatus":null,"lastActiveAt":null,"featureFlags":null,"customFields":{}}"#;
        assert_eq!(
            serde_json::from_str::<ProductOrgFields>(written_with_nulls).unwrap(),
            fields
        );
    }

    #[test]
    fn a_clock_is_stored_as_an_object_of_field_times() {
        let mut f = ProductOrgFields::default();
        let mut c = FieldClock::default();
        f.merge(
            &mut c,
            &[
                FieldPatch::Mrr(Some(1)),
                FieldPatch::Custom("b".into(), Some(Value::from(1))),
                FieldPatch::Custom("a".into(), None),
            ],
            t(2),
        );
        f.merge(&mut c, &[FieldPatch::Name(Some("n".into()))], t(3));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": 3_000_000, "mrr": 2_000_000,
                "customFields.a": 2_000_000, "customFields.b": 2_000_000})
        );
        let back: FieldClock = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<FieldClock>(r#"{"plan": 1}"#).is_err());
        let not_a_map = serde_json::from_str::<FieldClock>("1").unwrap_err();
        assert!(
            not_a_map
                .to_string()
                .contains("an object from field name to time"),
            "{not_a_map}"
        );
        let Err(not_a_name) = ClockKey::deserialize(serde_json::json!(1)) else {
            panic!("a number read as a field name");
        };
        assert!(
            not_a_name.to_string().contains("a field name"),
            "{not_a_name}"
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
