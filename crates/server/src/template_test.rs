//! Test against recent deliveries (SPEC §6): a candidate template run over the payloads a key
//! really received, to see before saving what it would fix and what it would break. Nothing is
//! stored. Each payload is read as the webhook reads it (core's extractors, the errors it
//! would answer) and shown with core's preview fields; the admin API, the CLI and the web UI
//! all test through here.

use serde::Serialize;
use serde_json::{Map, Value};
use trailspark_core::extract::extract_product_org;
use trailspark_core::preview::preview;
use trailspark_core::signal::extract_signal;
use trailspark_core::template::PayloadTemplate;
use trailspark_store::{ApiKeyRecord, Delivery, DeliveryQuery, Outcome, PageRequest, Store};

use crate::error::ApiError;
use crate::keyring::IngestKey;

/// Default and most payloads one test reads.
pub const DEFAULT_LIMIT: u32 = 200;
pub const MAX_LIMIT: u32 = 1_000;

/// What a candidate template would make of the key's recent deliveries.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateTest {
    pub tested: usize,
    pub summary: Summary,
    pub results: Vec<Tested>,
}

/// How the results split.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Refused then, taken now.
    pub now_applied: usize,
    /// Refused then and now.
    pub still_refused: usize,
    /// Taken then, refused now.
    pub newly_refused: usize,
    /// Taken then and now, with other fields than the current template takes.
    pub extraction_changed: usize,
    /// Taken then and now, the same fields.
    pub same: usize,
}

/// One delivery, before and after.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tested {
    pub delivery_id: i64,
    pub before: Verdict,
    pub after: Verdict,
}

/// An outcome, and what the template takes (`after` only).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// `applied` (taken; whether it changes a value depends on what is stored by then),
    /// `unchanged`, `duplicate` or `refused`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Value>>,
}

/// Runs `candidate` over the key's newest `limit` deliveries that kept their payload; the
/// key's current template says what "the same fields" means.
pub async fn test(
    store: &dyn Store,
    key: ApiKeyRecord,
    candidate: &PayloadTemplate,
    limit: u32,
) -> Result<TemplateTest, ApiError> {
    let (tenant, key_id) = (key.tenant_id, key.id.clone());
    let current = &IngestKey::for_replay(key)?.template;
    let query = DeliveryQuery {
        with_payload: true,
        page: PageRequest {
            cursor: None,
            limit: limit.clamp(1, MAX_LIMIT),
        },
        ..DeliveryQuery::default()
    };
    let deliveries = store.deliveries(tenant, &key_id, &query).await?.items;
    let mut summary = Summary::default();
    let results: Vec<Tested> = deliveries
        .iter()
        .map(|d| {
            let tested = one(d, candidate);
            count(&mut summary, &tested, d, current);
            tested
        })
        .collect();
    Ok(TemplateTest {
        tested: results.len(),
        summary,
        results,
    })
}

fn one(delivery: &Delivery, candidate: &PayloadTemplate) -> Tested {
    let row = &delivery.row;
    Tested {
        delivery_id: delivery.id,
        before: Verdict {
            outcome: row.outcome.as_str(),
            code: row.code.clone(),
            fields: None,
        },
        after: read(candidate, row.payload.as_deref()),
    }
}

fn count(summary: &mut Summary, tested: &Tested, delivery: &Delivery, current: &PayloadTemplate) {
    let was_refused = delivery.row.outcome == Outcome::Refused;
    let is_refused = tested.after.outcome == Outcome::Refused.as_str();
    let slot = match (was_refused, is_refused) {
        (true, false) => &mut summary.now_applied,
        (true, true) => &mut summary.still_refused,
        (false, true) => &mut summary.newly_refused,
        (false, false) => {
            let now = read(current, delivery.row.payload.as_deref()).fields;
            if now == tested.after.fields {
                &mut summary.same
            } else {
                &mut summary.extraction_changed
            }
        }
    };
    *slot += 1;
}

/// What `template` makes of a stored payload, as the webhook would answer it.
fn read(template: &PayloadTemplate, payload: Option<&str>) -> Verdict {
    let refused = |code: &str| Verdict {
        outcome: Outcome::Refused.as_str(),
        code: Some(code.to_owned()),
        fields: None,
    };
    let Some(value) = payload
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
    else {
        return refused("payload_not_kept");
    };
    let extracted = match template {
        PayloadTemplate::ProductOrg(t) => extract_product_org(t, &value).map(drop),
        PayloadTemplate::Signal(t) => extract_signal(t, &value).map(drop),
    };
    match extracted {
        Ok(()) => Verdict {
            outcome: Outcome::Applied.as_str(),
            code: None,
            fields: Some(preview(template, &value).fields),
        },
        Err(e) => refused(ApiError::from(e).code()),
    }
}
