//! Array bodies: each element is one update, and all of a request's updates go to the store in
//! one request, applied in order. The answer lists one result per element: 200 when all were
//! applied, 207 when some were, and the first failure's status when none was (SPEC §3). An
//! element that cannot be extracted fails alone; the others are still applied.

use std::sync::Mutex;

use anyhow::anyhow;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use trailspark_store::IngestResult;

use super::webhook::{not_object, Payload};
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
    pub(crate) fn skips(self, event: &Value, takes: &[&str]) -> Result<Option<Value>, ApiError> {
        if self == Self::Webhook {
            return Ok(None);
        }
        let size = serde_json::to_vec(event).map_or(usize::MAX, |b| b.len());
        if size > MAX_EVENT_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_EVENT_BYTES,
            });
        }
        let Some(kind) = event.get("type").and_then(Value::as_str) else {
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
        Ok(Some(
            json!({"success": true, "skipped": true, "type": kind}),
        ))
    }

    /// The event's own messageId, for the Segment API.
    pub(crate) fn message_id(self, event: &Value) -> Option<String> {
        if self == Self::Webhook {
            return None;
        }
        event
            .get("messageId")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && id.len() <= 255 && !id.contains('\0'))
            .map(str::to_owned)
    }
}

/// What the delivery log records of a request, filled in while it is handled.
#[derive(Debug, Default)]
pub(crate) struct Note {
    // Mutexes, not cells: the handlers' futures hold a `&Note` across awaits and must be Send.
    subject: Mutex<Option<String>>,
    changed: Mutex<Option<bool>>,
    error: Mutex<Option<String>>,
}

impl Note {
    /// An update applied: the first one names the request; any change counts.
    pub(crate) fn applied(&self, subject: &str, changed: Option<bool>) {
        self.subject
            .lock()
            .expect("note lock")
            .get_or_insert_with(|| subject.to_owned());
        if let Some(changed) = changed {
            let mut any = self.changed.lock().expect("note lock");
            *any = Some(any.unwrap_or(false) || changed);
        }
    }

    /// A refusal: the first one is kept, with its hint.
    pub(crate) fn failed(&self, e: &ApiError) {
        let mut error = self.error.lock().expect("note lock");
        if error.is_none() {
            let body = e.body();
            *error = Some(format!(
                "{}: {}",
                e.code(),
                body["message"].as_str().unwrap_or_default()
            ));
        }
    }

    /// The log entry of a request refused before its body was understood (no payload kept:
    /// it was not read, or is not what the key takes).
    pub(crate) fn refused(
        self,
        at: chrono::DateTime<chrono::Utc>,
        status: u16,
    ) -> trailspark_store::Delivery {
        trailspark_store::Delivery {
            at,
            status,
            subject: None,
            changed: None,
            error: self.error.into_inner().expect("note lock"),
            body: None,
        }
    }

    /// The log entry of a request received at `at` with `payload`, answered `result`.
    pub(crate) fn delivery(
        self,
        at: chrono::DateTime<chrono::Utc>,
        payload: &Payload,
        result: &Result<Response, ApiError>,
    ) -> trailspark_store::Delivery {
        let status = match result {
            Ok(response) => response.status().as_u16(),
            Err(e) => {
                self.failed(e);
                e.status().as_u16()
            }
        };
        let error = self.error.into_inner().expect("note lock");
        // The body of a refused request helps to fix the mapping.
        // Keys and secrets travel in the URL and headers, or (`/v1`) as `writeKey` in the body:
        // that one is taken out before the body is kept.
        let body = error.is_some().then(|| {
            let mut kept = match payload {
                Payload::One(value) => value.clone(),
                Payload::Many(items) => Value::from(items.clone()),
            };
            trailspark_core::redact::redact(&mut kept, &[]);
            cut(kept.to_string(), trailspark_store::Delivery::MAX_BODY)
        });
        trailspark_store::Delivery {
            at,
            status,
            subject: self.subject.into_inner().expect("note lock"),
            changed: self.changed.into_inner().expect("note lock"),
            error,
            body,
        }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// The one result of a one-update request, or the error that stands for it.
pub(crate) fn single<T>(result: IngestResult<T>) -> Result<T, ApiError> {
    match result {
        IngestResult::Replayed => Err(ApiError::Replayed),
        IngestResult::Applied(mut results) => Ok(results
            .pop()
            .ok_or_else(|| anyhow::anyhow!("store returned no result for one update"))?
            .map_err(|why| anyhow::anyhow!("update not applied: {why}"))?),
    }
}

/// What an element turned into.
pub(crate) enum Element<U> {
    /// Something to store.
    Update(U),
    /// Accepted and not stored (an event type this key does not take); its result.
    Skipped(Value),
}

/// One update or a batch of them: extracted, stored and answered (a lone update answers with
/// its own result or error, a batch as [`apply`] does).
pub(crate) async fn apply_payload<U, T, R: serde::Serialize>(
    note: &Note,
    payload: &Payload,
    extract: impl Fn((usize, &Value)) -> Result<Element<U>, ApiError>,
    store: impl AsyncFnOnce(Vec<U>) -> Result<IngestResult<T>, ApiError>,
    render: impl Fn(T) -> R,
) -> Result<Response, ApiError> {
    match payload {
        Payload::One(item) => match extract((0, item))? {
            Element::Skipped(result) => Ok(Json(result).into_response()),
            Element::Update(update) => {
                Ok(Json(render(single(store(vec![update]).await?)?)).into_response())
            }
        },
        Payload::Many(items) => {
            let render =
                |outcome| serde_json::to_value(render(outcome)).expect("a result renders as JSON");
            apply(note, items, extract, store, render).await
        }
    }
}

/// Extracts every element, stores those that could be extracted, and renders the answer.
pub(crate) async fn apply<U, T>(
    note: &Note,
    items: &[Value],
    extract: impl Fn((usize, &Value)) -> Result<Element<U>, ApiError>,
    store: impl AsyncFnOnce(Vec<U>) -> Result<IngestResult<T>, ApiError>,
    render: impl Fn(T) -> Value,
) -> Result<Response, ApiError> {
    // `None` marks an element waiting for the store's result.
    let mut results: Vec<Option<Result<Value, ApiError>>> = Vec::with_capacity(items.len());
    let mut updates = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let extracted = if item.is_object() {
            extract((n, item))
        } else {
            Err(not_object(item))
        };
        match extracted {
            Ok(Element::Update(update)) => {
                updates.push(update);
                results.push(None);
            }
            Ok(Element::Skipped(result)) => results.push(Some(Ok(result))),
            Err(e) => results.push(Some(Err(e))),
        }
    }
    if !updates.is_empty() {
        // A store that cannot take the request fails it whole (503: the sender retries it,
        // and messageIds keep the retry from applying anything twice).
        let applied = match store(updates).await? {
            IngestResult::Replayed => return Err(ApiError::Replayed),
            IngestResult::Applied(applied) => applied,
        };
        let mut applied = applied.into_iter();
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
    Ok(respond(note, results))
}

fn respond(note: &Note, results: Vec<Result<Value, ApiError>>) -> Response {
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
                note.failed(&e);
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
    (status, Json(body)).into_response()
}
