//! Replay (SPEC §6): stored payloads re-applied through the key's current template, each as
//! if it had arrived at its original time, so per-field last-writer-wins and messageId dedupe
//! hold (an old event never overwrites newer data; replaying twice applies once). Each replay
//! is logged with `replayOf`. The admin API and the CLI both replay through here.

use std::sync::Arc;

use axum::body::to_bytes;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use trailspark_core::{ApiKeyId, EndpointType, TenantId};
use trailspark_store::{Delivery, DeliveryQuery, Missing, Outcome, PageRequest, Store, StoreError};

use crate::app::App;
use crate::error::ApiError;
use crate::http::batch::Logging;
use crate::http::webhook::{Accepted, Payload};
use crate::keyring::IngestKey;

/// Which deliveries to replay.
#[derive(Debug, Clone)]
pub enum Selection {
    /// These, by id.
    Ids(Vec<i64>),
    /// Every refused one of the key (replays excepted), received at or after `since`.
    Refused { since: Option<DateTime<Utc>> },
}

/// Most deliveries one replay takes.
pub const MAX_REPLAY: usize = 1_000;

/// What a replayed delivery was answered.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replayed {
    pub delivery_id: i64,
    pub status: u16,
    /// The body the webhook would have answered.
    pub body: Value,
}

/// Replays the `selection` of the key's deliveries, oldest first, one result each.
pub async fn replay(
    app: &App,
    tenant: TenantId,
    key_id: &ApiKeyId,
    selection: Selection,
) -> Result<Vec<Replayed>, ApiError> {
    let record = app.store.api_key(tenant, key_id).await?;
    if record.revoked_at.is_some() {
        return Err(ApiError::Conflict(format!(
            "key {} is revoked; its deliveries are not replayed",
            key_id.0
        )));
    }
    let key = Arc::new(IngestKey::for_replay(record)?);
    let mut chosen = chosen(app, tenant, key_id, selection).await?;
    chosen.sort_by_key(|d| d.id);
    let mut results = Vec::with_capacity(chosen.len());
    for delivery in chosen {
        results.push(one(app, &key, &delivery).await);
    }
    Ok(results)
}

async fn chosen(
    app: &App,
    tenant: TenantId,
    key_id: &ApiKeyId,
    selection: Selection,
) -> Result<Vec<Delivery>, ApiError> {
    match selection {
        Selection::Ids(ids) => {
            if ids.len() > MAX_REPLAY {
                return Err(too_many());
            }
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                let delivery = app.store.delivery(tenant, id).await?;
                // Another key's delivery is not this key's to replay: as if it did not exist.
                if delivery.key_id != *key_id {
                    return Err(StoreError::NotFound(Missing::Delivery(id)).into());
                }
                found.push(delivery);
            }
            Ok(found)
        }
        Selection::Refused { since } => {
            let found = refused(app.store.as_ref(), tenant, key_id, since).await?;
            if found.len() > MAX_REPLAY {
                return Err(too_many());
            }
            Ok(found)
        }
    }
}

/// The key's refused deliveries that kept their payload and are not replays themselves,
/// received at or after `since`, oldest first: what `Selection::Refused` replays. Stops one
/// past [`MAX_REPLAY`], which a replay then refuses.
pub async fn refused(
    store: &dyn Store,
    tenant: TenantId,
    key_id: &ApiKeyId,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Delivery>, ApiError> {
    let mut query = DeliveryQuery {
        outcome: Some(Outcome::Refused),
        since,
        with_payload: true,
        page: PageRequest {
            cursor: None,
            limit: 200,
        },
        ..DeliveryQuery::default()
    };
    let mut found = Vec::new();
    loop {
        let page = store.deliveries(tenant, key_id, &query).await?;
        found.extend(page.items.into_iter().filter(|d| d.row.replay_of.is_none()));
        match page.next_cursor {
            Some(cursor) if found.len() <= MAX_REPLAY => query.page.cursor = Some(cursor),
            _ => break,
        }
    }
    found.sort_by_key(|d| d.id);
    Ok(found)
}

fn too_many() -> ApiError {
    ApiError::BadRequest {
        code: "too_many_deliveries",
        message: format!(
            "One replay takes at most {MAX_REPLAY} deliveries; choose fewer, or a later `since`."
        ),
    }
}

/// Re-applies one delivery as its intake would have, at its original receive time.
async fn one(app: &App, key: &Arc<IngestKey>, delivery: &Delivery) -> Replayed {
    let answered = |status: StatusCode, body: Value| Replayed {
        delivery_id: delivery.id,
        status: status.as_u16(),
        body,
    };
    let Some(payload) = payload(delivery) else {
        let e = ApiError::BadRequest {
            code: "payload_not_kept",
            message: "This delivery kept no payload that is one update (none was kept, it was cut \
                      at 64 KiB, or it is not a JSON object): there is nothing to replay; ask the \
                      sender to send it again."
                .into(),
        };
        return answered(e.status(), e.body());
    };
    let accepted = Accepted {
        key: Arc::clone(key),
        payload: Payload::One(payload),
        webhook_id: None,
        received_at: delivery.row.received_at,
    };
    let logging = Logging {
        app,
        accepted: &accepted,
        intake: delivery.row.intake.into(),
        replay_of: Some(delivery.id),
    };
    let result = match key.endpoint_type {
        EndpointType::ProductOrgUpdates => {
            crate::http::ingest::apply_product_org_updates(&logging).await
        }
        EndpointType::SignalStaging => crate::http::signals::apply_signals(&logging).await,
    };
    match result {
        Ok(response) => {
            let status = response.status();
            let body = to_bytes(response.into_body(), usize::MAX)
                .await
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_else(|| json!({}));
            answered(status, body)
        }
        Err(e) => answered(e.status(), e.body()),
    }
}

/// The delivery's payload as an update, when it was kept whole.
fn payload(delivery: &Delivery) -> Option<Value> {
    let value: Value = serde_json::from_str(delivery.row.payload.as_deref()?).ok()?;
    value.is_object().then_some(value)
}
