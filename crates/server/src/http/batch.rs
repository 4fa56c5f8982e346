//! Array bodies: each element is one update, and all of a request's updates go to the store in
//! one request, applied in order. The answer lists one result per element: 200 when all were
//! applied, 207 when some were, and the first failure's status when none was (SPEC §3). An
//! element that cannot be extracted fails alone; the others are still applied.

use anyhow::anyhow;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};
use trailspark_core::json::Json;
use trailspark_store::{IngestResult, NewDelivery, RequestLog, Verdict};

use super::webhook::{not_object, Accepted, Payload};
use crate::app::App;
use crate::deliveries;
use crate::error::ApiError;

/// Largest Segment event, as Segment's own API has it.
pub(crate) const MAX_EVENT_BYTES: usize = 32 * 1024;

/// Where a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intake {
    /// A webhook: every element is an update for the key's template.
    Webhook,
    /// The Segment-compatible API: elements are Segment events of at most 32 KiB; a key
    /// takes some event types and skips the others; an event's own `messageId` counts when
    /// the template maps none (SDKs set one on every event and resend it on retries).
    Segment,
}

impl Intake {
    /// For the Segment API, the result of an event this key skips (its type is not in
    /// `takes`), or why the event is refused; `None` for an event to apply.
    pub(crate) fn skips<J: Json + Serialize>(
        self,
        event: &J,
        takes: &[&str],
    ) -> Result<Option<Value>, ApiError> {
        if self == Self::Webhook {
            return Ok(None);
        }
        let size = serde_json::to_vec(event).map_or(usize::MAX, |b| b.len());
        if size > MAX_EVENT_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_EVENT_BYTES,
            });
        }
        let Some(kind) = event.get("type").and_then(Json::as_str) else {
            return Err(ApiError::InvalidBody {
                code: "missing_event_type",
                message:
                    "Every event needs its `type` (group, identify, track, page, screen, alias)."
                        .into(),
            });
        };
        if takes.contains(&kind) {
            return Ok(None);
        }
        Ok(Some(json!({
            "success": true,
            "skipped": true,
            "type": kind,
            "message": skip_message(kind, takes),
        })))
    }

    /// The event's own messageId, for the Segment API.
    pub(crate) fn message_id<J: Json>(self, event: &J) -> Option<String> {
        if self == Self::Webhook {
            return None;
        }
        event
            .get("messageId")
            .and_then(Json::as_str)
            .filter(|id| !id.is_empty() && id.len() <= 255 && !id.contains('\0'))
            .map(str::to_owned)
    }
}

/// Why an event of type `kind` was skipped by a key that takes `takes`, and where to send it,
/// in the words of the CDP guide. Other event types are accepted, not refused (SPEC §3), so
/// that an SDK does not retry them; without this the sender sees `success` and nothing stored.
fn skip_message(kind: &str, takes: &[&str]) -> String {
    let skipped = format!("so `{kind}` events are skipped (nothing stored)");
    if takes.contains(&"group") {
        let instead = match kind {
            "identify" | "track" | "page" | "screen" => format!(
                "send `group` calls to this key, or use a Signal Staging key for `{kind}`. In \
                 Segment's Webhooks (Actions), the trigger \"Event type is group\" filters out \
                 track, identify, and page calls"
            ),
            _ => format!("send `group` calls to this key; trailspark has no use for `{kind}`"),
        };
        return format!(
            "Only `group` calls carry `groupId` and the group's traits; this key takes product \
             org updates, {skipped}: {instead}."
        );
    }
    let listed: Vec<String> = takes.iter().map(|t| format!("`{t}`")).collect();
    let instead = match kind {
        "group" => "send `group` calls to a Product Org Updates key".to_owned(),
        _ => format!("trailspark has no use for `{kind}`"),
    };
    format!(
        "This key takes signals ({} calls), {skipped}: {instead}.",
        listed.join(", ")
    )
}

impl From<trailspark_store::Intake> for Intake {
    fn from(logged: trailspark_store::Intake) -> Self {
        match logged {
            trailspark_store::Intake::Webhook => Self::Webhook,
            trailspark_store::Intake::Segment => Self::Segment,
        }
    }
}

impl Intake {
    /// As the delivery log names it.
    pub(crate) fn logged(self) -> trailspark_store::Intake {
        match self {
            Self::Webhook => trailspark_store::Intake::Webhook,
            Self::Segment => trailspark_store::Intake::Segment,
        }
    }
}

/// A request being applied, as its delivery log entries need it.
pub(crate) struct Logging<'a, J> {
    pub app: &'a App,
    pub accepted: &'a Accepted<J>,
    pub intake: Intake,
    /// The delivery this request replays.
    pub replay_of: Option<i64>,
}

impl<J: Json> Logging<'_, J> {
    /// The entry of an element (`index` in an array body) extracted into the `n`th update:
    /// its payload kept while the key's budget allows.
    fn update(&self, index: Option<u32>, item: &J, n: usize) -> NewDelivery {
        let keep = self.replay_of.is_some()
            || self
                .app
                .payload_budget
                .take(&self.accepted.key, self.accepted.received_at);
        NewDelivery {
            index,
            payload: keep.then(|| deliveries::payload_text(item)),
            verdict: Verdict::Update(n),
        }
    }

    /// The entry of an element refused before the store: its payload always kept, to fix
    /// the mapping and replay it.
    fn refused(&self, index: Option<u32>, item: &J, e: &ApiError) -> NewDelivery {
        self.app.metrics.refused(&self.accepted.key, e.code(), 1);
        NewDelivery {
            index,
            payload: Some(deliveries::payload_text(item)),
            verdict: Verdict::Refused(deliveries::refusal(e)),
        }
    }

    fn log(&self, entries: Vec<NewDelivery>) -> RequestLog {
        deliveries::request_log(
            &self.app.log_volume,
            &self.accepted.key,
            self.intake.logged(),
            self.replay_of,
            entries,
        )
    }

    /// Writes `entries`, none of which reached the store, on their own.
    async fn write_refused(&self, entries: Vec<NewDelivery>) {
        if entries.is_empty() {
            return;
        }
        let log = self.log(entries);
        deliveries::log_refused(
            self.app.store.as_ref(),
            &self.accepted.key,
            self.accepted.received_at,
            log,
        )
        .await;
    }

    /// Stores `updates` with their log. A request refused as a replayed webhook-id stored
    /// nothing, its entries neither: they are written again, refused.
    async fn store<U, T>(
        &self,
        updates: Vec<U>,
        entries: Vec<NewDelivery>,
        store: impl AsyncFnOnce(Vec<U>, RequestLog) -> Result<IngestResult<T>, ApiError>,
    ) -> Result<Vec<Result<T, String>>, ApiError> {
        let again = self.accepted.webhook_id.is_some().then(|| entries.clone());
        match store(updates, self.log(entries)).await? {
            IngestResult::Applied(results) => Ok(results),
            IngestResult::Replayed => {
                let refusal = deliveries::refusal(&ApiError::Replayed);
                self.app.metrics.replayed(&self.accepted.key, &again);
                let entries = again
                    .unwrap_or_default()
                    .into_iter()
                    .map(|entry| NewDelivery {
                        verdict: Verdict::Refused(refusal.clone()),
                        ..entry
                    })
                    .collect();
                self.write_refused(entries).await;
                Err(ApiError::Replayed)
            }
        }
    }
}

/// The one result of a one-update request, or the error that stands for it.
pub(crate) fn single<T>(mut results: Vec<Result<T, String>>) -> Result<T, ApiError> {
    Ok(results
        .pop()
        .ok_or_else(|| anyhow::anyhow!("store returned no result for one update"))?
        .map_err(|why| anyhow::anyhow!("update not applied: {why}"))?)
}

/// What an element turned into.
pub(crate) enum Element<U> {
    /// Something to store.
    Update(U),
    /// Accepted and not stored (an event type this key does not take); its result.
    Skipped(Value),
}

/// A lone update's result as its answer: its JSON, unless it writes itself faster.
pub(crate) trait Answer: Serialize + Sized {
    fn answer(self) -> Response {
        axum::Json(self).into_response()
    }
}

impl Answer for Value {}

/// A JSON answer of `body`'s bytes (built as is: bytes' own answer would name them
/// `application/octet-stream` first).
pub(crate) fn json_bytes(body: Vec<u8>) -> Response {
    const JSON: axum::http::HeaderValue = axum::http::HeaderValue::from_static("application/json");
    let mut response = Response::new(axum::body::Body::from(body));
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, JSON);
    response
}

/// One update or a batch of them: extracted, stored and answered (a lone update answers with
/// its own result or error, a batch as [`apply`] does), each logged.
pub(crate) async fn apply_payload<J: Json, U, T, R: Answer>(
    logging: &Logging<'_, J>,
    extract: impl Fn((usize, &J)) -> Result<Element<U>, ApiError>,
    store: impl AsyncFnOnce(Vec<U>, RequestLog) -> Result<IngestResult<T>, ApiError>,
    render: impl Fn(T) -> R,
) -> Result<Response, ApiError> {
    match &logging.accepted.payload {
        Payload::One(item) => match extract((0, item)) {
            Err(e) => {
                logging
                    .write_refused(vec![logging.refused(None, item, &e)])
                    .await;
                Err(e)
            }
            Ok(Element::Skipped(result)) => Ok(axum::Json(result).into_response()),
            Ok(Element::Update(update)) => {
                let entries = vec![logging.update(None, item, 0)];
                let results = logging.store(vec![update], entries, store).await?;
                Ok(render(single(results)?).answer())
            }
        },
        Payload::Many(items) => {
            let render =
                |outcome| serde_json::to_value(render(outcome)).expect("a result renders as JSON");
            apply(logging, items, extract, store, render).await
        }
    }
}

/// Extracts every element, stores those that could be extracted, and renders the answer.
pub(crate) async fn apply<J: Json, U, T>(
    logging: &Logging<'_, J>,
    items: &[J],
    extract: impl Fn((usize, &J)) -> Result<Element<U>, ApiError>,
    store: impl AsyncFnOnce(Vec<U>, RequestLog) -> Result<IngestResult<T>, ApiError>,
    render: impl Fn(T) -> Value,
) -> Result<Response, ApiError> {
    // `None` marks an element waiting for the store's result.
    let mut results: Vec<Option<Result<Value, ApiError>>> = Vec::with_capacity(items.len());
    let mut updates = Vec::new();
    let mut entries = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let index = u32::try_from(n).ok();
        let extracted = if item.is_object() {
            extract((n, item))
        } else {
            Err(not_object(item))
        };
        match extracted {
            Ok(Element::Update(update)) => {
                entries.push(logging.update(index, item, updates.len()));
                updates.push(update);
                results.push(None);
            }
            Ok(Element::Skipped(result)) => results.push(Some(Ok(result))),
            Err(e) => {
                entries.push(logging.refused(index, item, &e));
                results.push(Some(Err(e)));
            }
        }
    }
    if updates.is_empty() {
        logging.write_refused(entries).await;
    } else {
        // A store that cannot take the request fails it whole (503: the sender retries it,
        // and messageIds keep the retry from applying anything twice).
        let mut applied = logging.store(updates, entries, store).await?.into_iter();
        for slot in results.iter_mut().filter(|r| r.is_none()) {
            let outcome = applied
                .next()
                .ok_or_else(|| anyhow!("the store returned fewer results than updates"))?;
            *slot = Some(
                outcome
                    .map(&render)
                    .map_err(|why| ApiError::Internal(anyhow!("update not applied: {why}"))),
            );
        }
    }
    let results = results
        .into_iter()
        .map(|r| r.ok_or_else(|| anyhow!("an element got no result")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(respond(results))
}

fn respond(results: Vec<Result<Value, ApiError>>) -> Response {
    let failed = results.iter().filter(|r| r.is_err()).count();
    let first_error = results.iter().find_map(|r| r.as_ref().err());
    let (status, mut body) = match first_error {
        None => (StatusCode::OK, json!({"success": true})),
        Some(e) if failed == results.len() => (e.status(), e.body()),
        Some(_) => (StatusCode::MULTI_STATUS, json!({"success": false})),
    };
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(done) => done,
            Err(e) => {
                if let ApiError::Internal(cause) = &e {
                    let (request_id, route) = super::log_context();
                    tracing::error!(request_id, route, error = ?cause, "batch element failed");
                }
                let mut failure = e.body();
                failure["status"] = json!(e.status().as_u16());
                failure
            }
        })
        .collect();
    body["results"] = Value::Array(results);
    (status, axum::Json(body)).into_response()
}
