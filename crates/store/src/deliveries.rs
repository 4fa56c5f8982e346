//! The delivery log (SPEC §6): one entry per update and one per request refused before its
//! updates were read, written by the store in the transaction that applies the updates, so an
//! entry says what the store holds and costs no commit of its own.
//!
//! What an entry says of an update that reached the store (its outcome, subject, whether it
//! changed something) is decided here, once, from the update's result: both backends only
//! write the rows [`RequestLog::rows`] gives them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use trailspark_core::{
    ApiKeyId, Applied, SignalApplied, TargetOrgId, UnchangedReason, UnlinkedReason, Warning,
};

use crate::PageRequest;

/// Where a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intake {
    /// A product org or signal webhook (`/webhooks/…`).
    Webhook,
    /// The Segment-compatible API (`/v1/…`).
    Segment,
}

impl Intake {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Segment => "segment",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "webhook" => Some(Self::Webhook),
            "segment" => Some(Self::Segment),
            _ => None,
        }
    }
}

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Stored, and some value changed (or the org or lead is new).
    Applied,
    /// Stored, and no value changed.
    Unchanged,
    /// A repeated messageId: the first outcome was answered again, nothing stored.
    Duplicate,
    /// Refused: nothing stored.
    Refused,
}

impl Outcome {
    pub const ALL: [Self; 4] = [
        Self::Applied,
        Self::Unchanged,
        Self::Duplicate,
        Self::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// The log of one request, carried to the store with its updates.
#[derive(Debug, Clone)]
pub struct RequestLog {
    /// The request's id (`X-Request-Id`), shared by every entry of an array body.
    pub request_id: String,
    pub intake: Intake,
    /// The template version the request was read with.
    pub template_version: i64,
    /// The delivery a replay re-applies (every entry of a replay has one).
    pub replay_of: Option<i64>,
    pub entries: Vec<NewDelivery>,
}

/// One entry to be written.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The element of an array or batch body; `None` for a single update.
    pub index: Option<u32>,
    /// The update's JSON text, credentials already taken out, at most
    /// [`Delivery::MAX_PAYLOAD`] bytes; `None` when not kept.
    pub payload: Option<String>,
    pub verdict: Verdict,
}

/// How an entry's outcome is known.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// The `n`th update of the request (or signal): the store's result for it says.
    Update(usize),
    /// Refused before it reached the store.
    Refused(Refusal),
}

/// Why an update or a request was refused, as its answer says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// One entry of the delivery log, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub key_id: ApiKeyId,
    pub row: DeliveryRow,
}

/// An entry's columns: what a backend writes.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    pub request_id: String,
    pub index: Option<u32>,
    pub received_at: DateTime<Utc>,
    pub intake: Intake,
    pub status: u16,
    pub outcome: Outcome,
    pub code: Option<String>,
    pub message: Option<String>,
    pub product_org_id: Option<String>,
    pub lead_id: Option<String>,
    pub target_org_id: Option<TargetOrgId>,
    pub changed: bool,
    /// Why nothing changed (`same_values`, `older_event`), when that is known.
    pub unchanged_reason: Option<String>,
    /// The result's warnings as a JSON array; `None` for none.
    pub warnings: Option<String>,
    pub template_version: i64,
    pub payload: Option<String>,
    pub replay_of: Option<i64>,
    /// The fields an applied update of an existing product org changed, as history names
    /// them; empty otherwise. Key health reads them here, in the log it already reads, rather
    /// than walking each org's history.
    pub changed_fields: Vec<String>,
}

impl Delivery {
    /// Most bytes of a payload kept (SPEC §6).
    pub const MAX_PAYLOAD: usize = 64 * 1024;
    /// Default of `--deliveries-retention-days`.
    pub const RETENTION_DAYS: u32 = 7;
    /// Default of `--deliveries-per-key`.
    pub const PER_KEY: u32 = 10_000;
}

/// What a store's result for one update says in its log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    pub outcome: Outcome,
    pub product_org_id: Option<String>,
    pub lead_id: Option<String>,
    pub target_org_id: Option<TargetOrgId>,
    pub changed: bool,
    /// Why nothing changed (`same_values`, `older_event`), or why a lead is not linked.
    pub unchanged_reason: Option<&'static str>,
    /// The result's warnings, as the answer's JSON array; `None` for none.
    pub warnings: Option<String>,
    /// See [`DeliveryRow::changed_fields`].
    pub changed_fields: Vec<String>,
}

/// What a store's result for one update says in the log.
pub trait Logged {
    fn verdict(&self) -> Said;
}

/// The warnings as the log stores them.
fn warnings_json(warnings: &[Warning]) -> Option<String> {
    (!warnings.is_empty())
        .then(|| serde_json::to_string(warnings).expect("warnings serialize as JSON"))
}

impl Logged for Applied {
    fn verdict(&self) -> Said {
        let outcome = match (self.duplicate, self.changed) {
            (true, _) => Outcome::Duplicate,
            (false, true) => Outcome::Applied,
            (false, false) => Outcome::Unchanged,
        };
        Said {
            outcome,
            product_org_id: Some(self.product_org_id.as_str().to_owned()),
            lead_id: None,
            target_org_id: Some(self.target_org_id),
            // A duplicate stored nothing, whatever its first outcome changed.
            changed: self.changed && !self.duplicate,
            unchanged_reason: self.unchanged_reason.map(UnchangedReason::as_str),
            warnings: warnings_json(&self.warnings),
            changed_fields: if outcome == Outcome::Applied {
                self.changed_fields.clone()
            } else {
                Vec::new()
            },
        }
    }
}

impl Logged for SignalApplied {
    fn verdict(&self) -> Said {
        // A stored signal always adds to its lead: it counts as a change.
        let outcome = if self.duplicate {
            Outcome::Duplicate
        } else {
            Outcome::Applied
        };
        Said {
            outcome,
            product_org_id: None,
            lead_id: Some(self.lead_id.as_str().to_owned()),
            target_org_id: self.target_org_id,
            changed: !self.duplicate,
            // A signal's entry has no column of its own for why its lead is not linked; the
            // reason column says it (`no_product_org_id`, `product_org_not_found`).
            unchanged_reason: self.unlinked_reason.map(UnlinkedReason::as_str),
            warnings: warnings_json(&self.warnings),
            changed_fields: Vec::new(),
        }
    }
}

impl RequestLog {
    /// The body index of each update of the request, in update order (a single update's is
    /// 0): what a warning about the request's elements names.
    pub fn update_indexes(&self) -> Vec<u32> {
        self.entries
            .iter()
            .filter(|entry| matches!(entry.verdict, Verdict::Update(_)))
            .map(|entry| entry.index.unwrap_or(0))
            .collect()
    }

    /// The rows of this log, given the store's result for each update of the request (an
    /// update the store failed is logged refused with a 500).
    pub fn rows<T: Logged>(
        &self,
        received_at: DateTime<Utc>,
        results: &[Result<T, String>],
    ) -> Vec<DeliveryRow> {
        self.entries
            .iter()
            .map(|entry| {
                let mut row = DeliveryRow {
                    request_id: self.request_id.clone(),
                    index: entry.index,
                    received_at,
                    intake: self.intake,
                    status: 200,
                    outcome: Outcome::Refused,
                    code: None,
                    message: None,
                    product_org_id: None,
                    lead_id: None,
                    target_org_id: None,
                    changed: false,
                    unchanged_reason: None,
                    warnings: None,
                    template_version: self.template_version,
                    payload: entry.payload.clone(),
                    replay_of: self.replay_of,
                    changed_fields: Vec::new(),
                };
                match &entry.verdict {
                    Verdict::Refused(refusal) => row.refuse(refusal),
                    Verdict::Update(n) => match results.get(*n) {
                        Some(Ok(result)) => {
                            let said = result.verdict();
                            row.outcome = said.outcome;
                            row.product_org_id = said.product_org_id;
                            row.lead_id = said.lead_id;
                            row.target_org_id = said.target_org_id;
                            row.changed = said.changed;
                            row.unchanged_reason = said.unchanged_reason.map(str::to_owned);
                            row.warnings = said.warnings;
                            row.changed_fields = said.changed_fields;
                        }
                        Some(Err(why)) => row.refuse(&Refusal {
                            status: 500,
                            code: "internal_error".into(),
                            message: format!("The update was not stored: {why}"),
                        }),
                        None => row.refuse(&Refusal {
                            status: 500,
                            code: "internal_error".into(),
                            message: "The store returned no result for the update.".into(),
                        }),
                    },
                }
                row
            })
            .collect()
    }
}

impl DeliveryRow {
    fn refuse(&mut self, refusal: &Refusal) {
        self.status = refusal.status;
        self.outcome = Outcome::Refused;
        self.code = Some(refusal.code.clone());
        self.message = Some(refusal.message.clone());
    }
}

/// Filters of a key's delivery log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub outcome: Option<Outcome>,
    pub product_org_id: Option<String>,
    /// Entries received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only entries that kept their payload.
    pub with_payload: bool,
    pub page: PageRequest,
}

/// How many entries a sweep of the log removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Older than the retention.
    pub expired: u64,
    /// Over a key's count.
    pub over_count: u64,
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use trailspark_core::ProductOrgId;

    use super::*;

    fn log(entries: Vec<NewDelivery>) -> RequestLog {
        RequestLog {
            request_id: "req_1".into(),
            intake: Intake::Webhook,
            template_version: 3,
            replay_of: None,
            entries,
        }
    }

    fn applied(changed: bool, duplicate: bool) -> Applied {
        Applied {
            product_org_id: ProductOrgId::parse("ws_1").unwrap(),
            target_org_id: TargetOrgId(9),
            is_new_org: false,
            changed,
            unchanged_reason: None,
            warnings: Vec::new(),
            duplicate,
            changed_fields: vec!["planName".into()],
        }
    }

    #[test]
    fn an_updates_entry_says_its_result() {
        let entry = |n| NewDelivery {
            index: Some(u32::try_from(n).unwrap()),
            payload: None,
            verdict: Verdict::Update(n),
        };
        let refused = NewDelivery {
            index: Some(3),
            payload: Some("{}".into()),
            verdict: Verdict::Refused(Refusal {
                status: 400,
                code: "missing_product_org_id".into(),
                message: "no id".into(),
            }),
        };
        let rows = log(vec![entry(0), entry(1), entry(2), refused]).rows(
            Utc::now(),
            &[
                Ok(applied(true, false)),
                Ok(applied(false, false)),
                Ok(applied(true, true)),
            ],
        );
        let outcomes: Vec<_> = rows
            .iter()
            .map(|r| (r.outcome, r.changed, r.status))
            .collect();
        assert_eq!(
            outcomes,
            [
                (Outcome::Applied, true, 200),
                (Outcome::Unchanged, false, 200),
                (Outcome::Duplicate, false, 200),
                (Outcome::Refused, false, 400),
            ]
        );
        assert_eq!(rows[0].product_org_id.as_deref(), Some("ws_1"));
        assert_eq!(rows[0].target_org_id, Some(TargetOrgId(9)));
        assert_eq!(rows[3].code.as_deref(), Some("missing_product_org_id"));
        let fields: Vec<&[String]> = rows.iter().map(|r| &r.changed_fields[..]).collect();
        assert_eq!(
            fields,
            [&["planName".to_owned()][..], &[], &[], &[]],
            "only the applied entry keeps the fields its update changed"
        );
        assert!(rows
            .iter()
            .all(|r| r.template_version == 3 && r.request_id == "req_1"));
    }

    #[test]
    fn an_update_the_store_failed_is_logged_refused() {
        let rows = log(vec![NewDelivery {
            index: None,
            payload: None,
            verdict: Verdict::Update(0),
        }])
        .rows::<Applied>(Utc::now(), &[Err("disk I/O error".into())]);
        assert_eq!((rows[0].outcome, rows[0].status), (Outcome::Refused, 500));
    }

    #[test]
    fn a_payload_is_cut_on_a_character_boundary() {
        assert_eq!(cut("aé".into(), 2), "a");
        assert_eq!(cut("abc".into(), 5), "abc");
    }
}
