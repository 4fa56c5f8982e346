//! How a chunk holds an entry: a JSON array of its fields.

use serde::de::IgnoredAny;
use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};
use trailspark_core::{ApiKeyId, TargetOrgId};
use trailspark_store::{Delivery, DeliveryRow, Intake, Outcome, StoreError, StoreResult};

use crate::db::{from_micros, micros};

/// An entry as a chunk's array holds it: `S` is `&str` when written, `String` when read. The
/// payload is apart (table `delivery_payloads`); `payload` says whether one was kept.
///
/// Stored as a JSON array of its fields in this order (not an object: no field names to write
/// and store for every entry; migration 0010 writes the same shape).
#[derive(Deserialize)]
#[serde(from = "Packed<S>")]
pub(super) struct Entry<S> {
    pub(super) request: S,
    pub(super) index: Option<u32>,
    /// Received at, in microseconds since the epoch.
    pub(super) at: i64,
    pub(super) intake: S,
    pub(super) status: u16,
    pub(super) outcome: S,
    pub(super) code: Option<S>,
    pub(super) message: Option<S>,
    pub(super) org: Option<S>,
    pub(super) lead: Option<S>,
    pub(super) target: Option<i64>,
    pub(super) changed: bool,
    pub(super) unchanged: Option<S>,
    pub(super) warnings: Option<S>,
    pub(super) version: i64,
    pub(super) payload: bool,
    pub(super) replay_of: Option<i64>,
    /// [`DeliveryRow::changed_fields`]; absent from entries logged before it was kept.
    pub(super) fields: Vec<S>,
}

/// [`Entry`]'s fields in their stored order.
#[derive(Deserialize)]
#[allow(clippy::type_complexity)]
struct Packed<S>(
    S,
    Option<u32>,
    i64,
    S,
    u16,
    S,
    Option<S>,
    Option<S>,
    Option<S>,
    Option<S>,
    Option<i64>,
    bool,
    Option<S>,
    Option<S>,
    i64,
    bool,
    Option<i64>,
    #[serde(default = "Vec::new")] Vec<S>,
);

impl<S> From<Packed<S>> for Entry<S> {
    fn from(p: Packed<S>) -> Self {
        Self {
            request: p.0,
            index: p.1,
            at: p.2,
            intake: p.3,
            status: p.4,
            outcome: p.5,
            code: p.6,
            message: p.7,
            org: p.8,
            lead: p.9,
            target: p.10,
            changed: p.11,
            unchanged: p.12,
            warnings: p.13,
            version: p.14,
            payload: p.15,
            replay_of: p.16,
            fields: p.17,
        }
    }
}

impl<S: Serialize> Serialize for Entry<S> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let mut t = serializer.serialize_tuple(18)?;
        t.serialize_element(&self.request)?;
        t.serialize_element(&self.index)?;
        t.serialize_element(&self.at)?;
        t.serialize_element(&self.intake)?;
        t.serialize_element(&self.status)?;
        t.serialize_element(&self.outcome)?;
        t.serialize_element(&self.code)?;
        t.serialize_element(&self.message)?;
        t.serialize_element(&self.org)?;
        t.serialize_element(&self.lead)?;
        t.serialize_element(&self.target)?;
        t.serialize_element(&self.changed)?;
        t.serialize_element(&self.unchanged)?;
        t.serialize_element(&self.warnings)?;
        t.serialize_element(&self.version)?;
        t.serialize_element(&self.payload)?;
        t.serialize_element(&self.replay_of)?;
        t.serialize_element(&self.fields)?;
        t.end()
    }
}

impl<'a> Entry<&'a str> {
    pub(super) fn of(row: &'a DeliveryRow) -> Self {
        Self {
            request: &row.request_id,
            index: row.index,
            at: micros(&row.received_at),
            intake: row.intake.as_str(),
            status: row.status,
            outcome: row.outcome.as_str(),
            code: row.code.as_deref(),
            message: row.message.as_deref(),
            org: row.product_org_id.as_deref(),
            lead: row.lead_id.as_deref(),
            target: row.target_org_id.map(|t| t.0),
            changed: row.changed,
            unchanged: row.unchanged_reason.as_deref(),
            warnings: row.warnings.as_deref(),
            version: row.template_version,
            payload: row.payload.is_some(),
            replay_of: row.replay_of,
            fields: row.changed_fields.iter().map(String::as_str).collect(),
        }
    }
}

impl Entry<String> {
    pub(super) fn outcome(&self) -> StoreResult<Outcome> {
        Outcome::parse(&self.outcome)
            .ok_or_else(|| StoreError::other(format!("a delivery of outcome {:?}", self.outcome)))
    }

    pub(super) fn into_delivery(self, id: i64, key: &str) -> StoreResult<Delivery> {
        let outcome = self.outcome()?;
        let intake = Intake::parse(&self.intake)
            .ok_or_else(|| StoreError::other(format!("a delivery of intake {:?}", self.intake)))?;
        Ok(Delivery {
            id,
            key_id: ApiKeyId(key.to_owned()),
            row: DeliveryRow {
                request_id: self.request,
                index: self.index,
                received_at: from_micros(self.at),
                intake,
                status: self.status,
                outcome,
                code: self.code,
                message: self.message,
                product_org_id: self.org,
                lead_id: self.lead,
                target_org_id: self.target.map(TargetOrgId),
                changed: self.changed,
                unchanged_reason: self.unchanged,
                warnings: self.warnings,
                template_version: self.version,
                // Read apart, only for the entries that are shown (see `attach_payloads`).
                payload: None,
                replay_of: self.replay_of,
                changed_fields: self.fields,
            },
        })
    }
}

pub(super) type Entries = Vec<Option<Entry<String>>>;

/// What key health reads of a stored entry, every other element skipped unread: a key's
/// health reads a day of its log at a time, and building every string of every entry cost
/// more than the counting.
#[derive(Deserialize)]
pub(super) struct View(
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) i64,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) String,
    pub(super) Option<String>,
    pub(super) Option<String>,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    pub(super) IgnoredAny,
    #[serde(default = "Vec::new")] pub(super) Vec<String>,
);

#[cfg(test)]
mod tests {
    use super::*;

    /// An applied entry as written before entries kept their changed fields (17 elements).
    const OLD: &str = r#"[["req_1",null,1700000000000000,"webhook",200,"applied",null,null,
        "ws_1",null,7,true,null,null,1,false,null]]"#;

    #[test]
    fn an_entry_logged_before_fields_were_kept_reads_with_none() {
        let entries: Entries = serde_json::from_str(OLD).unwrap();
        let entry = entries[0].as_ref().unwrap();
        assert_eq!(entry.org.as_deref(), Some("ws_1"));
        assert!(entry.fields.is_empty());
        let views: Vec<Option<View>> = serde_json::from_str(OLD).unwrap();
        let view = views[0].as_ref().unwrap();
        assert_eq!(
            (view.2, view.5.as_str()),
            (1_700_000_000_000_000, "applied")
        );
        assert!(view.17.is_empty());
    }

    #[test]
    fn an_entry_keeps_its_changed_fields_and_the_view_reads_what_health_needs() {
        let row = DeliveryRow {
            request_id: "req_1".into(),
            index: Some(2),
            received_at: from_micros(1_700_000_000_000_000),
            intake: Intake::Webhook,
            status: 200,
            outcome: Outcome::Applied,
            code: Some("c".into()),
            message: Some("a \"quoted\" `code`".into()),
            product_org_id: Some("ws_1".into()),
            lead_id: None,
            target_org_id: Some(TargetOrgId(7)),
            changed: true,
            unchanged_reason: None,
            warnings: Some(r#"[{"code":"x"}]"#.into()),
            template_version: 3,
            payload: None,
            replay_of: Some(4),
            changed_fields: vec!["planName".into(), "customFields.seats".into()],
        };
        let json = serde_json::to_string(&[Entry::of(&row)]).unwrap();
        let entries: Entries = serde_json::from_str(&json).unwrap();
        let read = entries.into_iter().next().flatten().unwrap();
        let delivery = read.into_delivery(9, "key_1").unwrap();
        assert_eq!(delivery.row, row, "every column read back");
        let views: Vec<Option<View>> = serde_json::from_str(&json).unwrap();
        let View(_, _, at, _, _, outcome, code, message, .., fields) = views[0].as_ref().unwrap();
        assert_eq!(*at, 1_700_000_000_000_000);
        assert_eq!(
            (outcome.as_str(), code.as_deref(), message.as_deref()),
            ("applied", Some("c"), Some("a \"quoted\" `code`"))
        );
        assert_eq!(fields, &row.changed_fields);
    }
}
