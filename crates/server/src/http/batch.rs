//! Array bodies: each element is one update, and all of a request's updates go to the store in
//! one request, applied in order. The answer lists one result per element: 200 when all were
//! applied, 207 when some were, and the first failure's status when none was (SPEC §3). An
//! element that cannot be extracted fails alone; the others are still applied.

use anyhow::anyhow;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use trailspark_store::IngestResult;

use super::ingest::not_object;
use crate::error::ApiError;

/// Extracts every element, stores those that could be extracted, and renders the answer.
pub(crate) async fn apply<U, T>(
    items: &[Value],
    extract: impl Fn((usize, &Value)) -> Result<U, ApiError>,
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
            Ok(update) => {
                updates.push(update);
                results.push(None);
            }
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
                    tracing::error!(error = ?cause, "batch element failed");
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
