//! What every webhook shares before and after its own work: the front half (find key →
//! secret → rate → content type → body → signature, then the JSON's shape), and the record
//! at the end (the key's last use; the delivery log is written with the request). The product
//! org and signal webhooks and the Segment-compatible API all go through it.

use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{header, HeaderMap};
use chrono::{DateTime, Utc};
use trailspark_core::json::{Doc, Json, Node};
use trailspark_core::signature::{self, SignatureHeaders, Verified};
use trailspark_core::EndpointType;

use trailspark_store::{Delivery, Intake};

use crate::app::App;
use crate::deliveries;
use crate::error::ApiError;
use crate::keyring::IngestKey;

/// Largest accepted body (SPEC §3).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most elements of an array body: what Segment's Webhooks (Actions) batching sends at most.
pub const MAX_ELEMENTS: usize = 4_000;

/// A webhook request that passed every check before extraction: its key, its JSON body (an
/// object, or an array of updates), and what the store needs to refuse a replay.
pub(crate) struct Accepted<J> {
    pub key: Arc<IngestKey>,
    pub payload: Payload<J>,
    pub webhook_id: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// One update, or a batch of them.
pub(crate) enum Payload<J> {
    One(J),
    Many(Vec<J>),
}

/// A webhook request whose key, checks and signature passed: its body read, not yet parsed.
pub(crate) struct Checked {
    pub key: Arc<IngestKey>,
    pub body: Bytes,
    pub webhook_id: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// The front half every webhook shares: find key → type → secret → rate → content type →
/// body → signature; [`parse`] then reads the body. Cheap refusals come before reading the
/// body. A request refused once its key is known is logged in the key's delivery log.
pub(crate) async fn accept(
    app: &App,
    api_key: &str,
    kind: EndpointType,
    headers: &HeaderMap,
    body: Body,
) -> Result<Checked, ApiError> {
    let received_at = Utc::now();
    let key = app.keys.active(api_key, received_at).await?;
    match checks(app, &key, kind, headers, body, received_at).await {
        Ok((body, webhook_id)) => Ok(Checked {
            key,
            body,
            webhook_id,
            received_at,
        }),
        Err(refused) => Err(refuse(app, &key, received_at, refused, None).await),
    }
}

/// The body of a verified request as JSON: an object (one update) or an array of them, each
/// a [`Doc`] borrowing the body. A body that is neither is refused and kept as text, its
/// credentials taken out, to see what was sent.
pub(crate) async fn parse<'b>(
    app: &App,
    api_key: &str,
    checked: &'b Checked,
) -> Result<Accepted<Doc<'b>>, ApiError> {
    let body = &checked.body;
    let payload = match Doc::parse(body) {
        Ok(Doc::Array(items)) => checked_batch(items, MAX_ELEMENTS).map(Payload::Many),
        Ok(one @ Doc::Object(_)) => Ok(Payload::One(one)),
        Ok(other) => Err(not_object(&other)),
        Err(e) => Err(ApiError::InvalidJson(e.to_string())),
    };
    match payload {
        Ok(payload) => Ok(Accepted {
            key: Arc::clone(&checked.key),
            payload,
            webhook_id: checked.webhook_id.clone(),
            received_at: checked.received_at,
        }),
        Err(refused) => {
            // Not JSON (or not an update's shape), so kept as text: its credentials are taken
            // out of the text, as `deliveries::payload_text` takes them out of JSON.
            let text =
                trailspark_core::redact::redact_text(&String::from_utf8_lossy(body), &[api_key]);
            let kept = trailspark_store::cut(text, Delivery::MAX_PAYLOAD);
            let (key, at) = (&checked.key, checked.received_at);
            Err(refuse(app, key, at, refused, Some(kept)).await)
        }
    }
}

/// Counts and logs a request of `key` refused whole, with its payload when one is kept.
async fn refuse(
    app: &App,
    key: &IngestKey,
    received_at: DateTime<Utc>,
    refused: ApiError,
    payload: Option<String>,
) -> ApiError {
    app.metrics.refused(key, refused.code(), 1);
    let entry = deliveries::refused_entry(&refused, payload);
    let log = deliveries::request_log(&app.log_volume, key, Intake::Webhook, None, vec![entry]);
    deliveries::log_refused(app.store.as_ref(), key, received_at, log).await;
    refused
}

/// The checks of a request whose key is known: type, secret, rate, content type, body,
/// signature. Nothing of a request refused here is kept: its body is not read, or not shown
/// to be the key owner's.
async fn checks(
    app: &App,
    key: &IngestKey,
    kind: EndpointType,
    headers: &HeaderMap,
    body: Body,
    received_at: DateTime<Utc>,
) -> Result<(Bytes, Option<String>), ApiError> {
    if key.endpoint_type != kind {
        return Err(ApiError::WrongKeyType {
            expected: kind,
            got: key.endpoint_type,
        });
    }
    check_api_secret(key, headers)?;
    app.check_rate(key)?;
    require_json(headers)?;
    let body = read_body(headers, body).await?;
    let webhook_id = match key.hmac_secret() {
        Some(secret) => {
            match signature::verify(&signature_headers(headers), &body, secret, received_at)? {
                Verified::StandardWebhooks { webhook_id } => Some(webhook_id),
                Verified::HexSha256 | Verified::HexSha1 => None,
            }
        }
        None => None,
    };
    Ok((body, webhook_id))
}

/// The elements of a batch, refused whole when empty or over `limit`.
pub(crate) fn checked_batch<J>(items: Vec<J>, limit: usize) -> Result<Vec<J>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::InvalidBody {
            code: "empty_batch",
            message: "The batch is an empty array: send at least one update.".into(),
        });
    }
    if items.len() > limit {
        return Err(ApiError::TooManyEvents { limit });
    }
    Ok(items)
}

pub(crate) fn not_object<J: Json>(value: &J) -> ApiError {
    ApiError::InvalidBody {
        code: "body_not_object",
        message: format!(
            "An update must be a JSON object (or the body an array of them), got {}.",
            json_kind(value)
        ),
    }
}

/// Marks the key used (its delivery log entries were written with the request).
pub(crate) fn record<J>(app: &App, accepted: &Accepted<J>) {
    app.keys.mark_used(&accepted.key, accepted.received_at);
}

fn check_api_secret(key: &IngestKey, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(stored) = &key.secret_hash else {
        return Ok(());
    };
    let presented = headers
        .get("x-api-secret")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::MissingApiSecret)?;
    if trailspark_core::credentials::secret_matches(presented, stored) {
        Ok(())
    } else {
        Err(ApiError::InvalidApiSecret)
    }
}

pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE);
    // What nearly every sender sends, taken before the general reading below.
    if content_type.is_some_and(|v| v.as_bytes() == b"application/json") {
        return Ok(());
    }
    let content_type = content_type.and_then(|v| v.to_str().ok());
    // Compared without lower-casing into a new string: every webhook request asks this.
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(str::trim);
    // As bytes, since `to_str` let only visible ASCII through: no slice of it can split a
    // character.
    let json = essence.map(str::as_bytes).is_some_and(|ct| {
        ct.eq_ignore_ascii_case(b"application/json")
            || ct.len() >= b"application/+json".len()
                && ct[..b"application/".len()].eq_ignore_ascii_case(b"application/")
                && ct[ct.len() - b"+json".len()..].eq_ignore_ascii_case(b"+json")
    });
    if json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType {
            got: content_type.map(str::to_owned),
        })
    }
}

pub(crate) async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    read_body_limited(headers, body, MAX_BODY_BYTES).await
}

/// The body, refused (413) past `limit` bytes, by its declared length before reading it.
pub(crate) async fn read_body_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large = ApiError::PayloadTooLarge { limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    to_bytes(body, limit).await.map_err(|_| too_large)
}

fn signature_headers(headers: &HeaderMap) -> SignatureHeaders<'_> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    SignatureHeaders {
        webhook_id: get("webhook-id"),
        webhook_timestamp: get("webhook-timestamp"),
        webhook_signature: get("webhook-signature"),
        x_signature: get("x-signature"),
    }
}

fn json_kind<J: Json>(v: &J) -> &'static str {
    match v.node() {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::String(_) => "a string",
        Node::Array(_) => "an array",
        Node::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_type(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(content_type).expect("a header value");
        headers.insert(header::CONTENT_TYPE, value);
        headers
    }

    #[test]
    fn json_is_recognised_in_any_case_with_parameters_and_suffixes() {
        for taken in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/json ",
            "application/vnd.segment+json",
            "APPLICATION/CLOUDEVENTS+JSON;charset=UTF-8",
            "application/+json",
        ] {
            assert!(require_json(&with_type(taken)).is_ok(), "{taken}");
        }
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "application/json+xml",
            "text/json",
            "application+json",
            "application/\u{e9}+json",
            "\u{e9}pplication/json",
            "",
        ] {
            assert!(require_json(&with_type(refused)).is_err(), "{refused}");
        }
        assert!(require_json(&HeaderMap::new()).is_err(), "no content type");
    }
}
