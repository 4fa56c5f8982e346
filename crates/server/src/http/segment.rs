//! The Segment-compatible API (SPEC §3): `POST /v1/batch` and `/v1/{group,identify,track,
//! page,screen,alias}`, as Segment's and RudderStack's server SDKs send them, so a backend can
//! send `group` calls straight to trailspark. A product org key applies `group` events and
//! skips the others; a signal key applies `identify`, `track`, `page` and `screen` as
//! signals. The key comes as the HTTP basic username (its secret, if it has one, as the
//! password) or as `writeKey` in the body; bodies may be gzipped and are read as JSON
//! whatever their content type (RudderStack's Node SDK labels gzipped JSON as a form).

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use serde_json::Value;
use trailspark_core::EndpointType;

use super::batch::{Intake, Logging};
use super::ingest::apply_product_org_updates;
use super::signals::apply_signals;
use super::webhook::{checked_batch, read_body_limited, record, Accepted, Payload};
use crate::app::App;
use crate::deliveries;
use crate::error::ApiError;
use crate::keyring::IngestKey;

/// Largest batch body, compressed or not, as Segment's own API has it.
pub const MAX_BATCH_BYTES: usize = 500 * 1024;
/// Most events in one batch, as Segment's own API has it.
pub const MAX_EVENTS: usize = 2_500;
/// The single-event endpoints.
pub(super) const EVENT_TYPES: [&str; 6] = ["group", "identify", "track", "page", "screen", "alias"];

/// Routes of the Segment-compatible API.
pub fn router() -> Router<App> {
    Router::new()
        .route("/v1/batch", post(batch))
        .route("/v1/{event_type}", post(event))
}

async fn batch(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (credentials, mut body) = read(&headers, body).await?;
    let events = match body.get_mut("batch").map(Value::take) {
        Some(Value::Array(events)) => checked_batch(events, MAX_EVENTS)?,
        _ => {
            return Err(ApiError::InvalidBody {
                code: "missing_batch",
                message: "The body must be an object with the events in a `batch` array: {\"batch\":[{\"type\":\"group\",…}]}.".into(),
            })
        }
    };
    apply(
        &app,
        &headers,
        credentials.or_else(|| write_key(&body)),
        Payload::Many(events),
    )
    .await
}

async fn event(
    State(app): State<App>,
    Path(event_type): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(kind) = EVENT_TYPES.iter().find(|t| **t == event_type) else {
        return Err(ApiError::NotFound(format!(
            "There is no /v1/{event_type}; the Segment-compatible API takes /v1/batch and /v1/{}.",
            EVENT_TYPES.join(", /v1/")
        )));
    };
    let (credentials, mut body) = read(&headers, body).await?;
    // The path names the type; the body need not.
    if body.get("type").is_none() {
        body["type"] = Value::from(*kind);
    }
    let key = credentials.or_else(|| write_key(&body));
    apply(&app, &headers, key, Payload::One(body)).await
}

/// The key, its checks, then the events through the key's template.
async fn apply(
    app: &App,
    headers: &HeaderMap,
    credentials: Option<Credentials>,
    payload: Payload,
) -> Result<Response, ApiError> {
    let received_at = Utc::now();
    let Some(credentials) = credentials else {
        return Err(ApiError::MissingCredentials);
    };
    let key = app.keys.active(&credentials.key, received_at).await?;
    if let Err(refused) = admitted(app, headers, &credentials, &key) {
        app.metrics.refused(&key, refused.code(), 1);
        let entry = deliveries::refused_entry(&refused, None);
        let log =
            deliveries::request_log(&key, trailspark_store::Intake::Segment, None, vec![entry]);
        deliveries::log_refused(app.store.as_ref(), &key, received_at, log).await;
        return Err(refused);
    }
    let accepted = Accepted {
        key: std::sync::Arc::clone(&key),
        payload,
        webhook_id: None,
        received_at,
    };
    let logging = Logging {
        app,
        accepted: &accepted,
        intake: Intake::Segment,
        replay_of: None,
    };
    let result = match key.endpoint_type {
        EndpointType::ProductOrgUpdates => apply_product_org_updates(&logging).await,
        EndpointType::SignalStaging => apply_signals(&logging).await,
    };
    record(app, &accepted);
    result
}

/// The checks of a request whose key is known: its secret (as `X-Api-Secret` or the Basic
/// password), a key that signs its requests (the Segment API cannot), its rate.
fn admitted(
    app: &App,
    headers: &HeaderMap,
    credentials: &Credentials,
    key: &IngestKey,
) -> Result<(), ApiError> {
    if let Some(stored) = &key.secret_hash {
        let presented = headers
            .get("x-api-secret")
            .and_then(|v| v.to_str().ok())
            .or(credentials.password.as_deref())
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::MissingApiSecret)?;
        if !trailspark_core::credentials::secret_matches(presented, stored) {
            return Err(ApiError::InvalidApiSecret);
        }
    }
    if key.hmac_secret().is_some() {
        return Err(ApiError::SignedKeyOnSegmentApi);
    }
    app.check_rate(key)
}

struct Credentials {
    key: String,
    password: Option<String>,
}

/// Reads the body (gunzipped when so encoded) as a JSON object, and the basic credentials.
async fn read(headers: &HeaderMap, body: Body) -> Result<(Option<Credentials>, Value), ApiError> {
    let raw = read_body_limited(headers, body, MAX_BATCH_BYTES).await?;
    let bytes = decode(headers, raw)?;
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    if !body.is_object() {
        return Err(super::webhook::not_object(&body));
    }
    Ok((basic(headers), body))
}

fn decode(headers: &HeaderMap, raw: Bytes) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("" | "identity") => Ok(raw),
        Some("gzip" | "x-gzip") => {
            let mut out = Vec::new();
            // One byte past the limit is enough to know it is too large (a small body can
            // unpack to gigabytes).
            flate2::read::GzDecoder::new(&raw[..])
                .take(MAX_BATCH_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| ApiError::InvalidBody {
                    code: "invalid_gzip",
                    message: format!(
                        "The body says Content-Encoding: gzip but could not be unpacked: {e}."
                    ),
                })?;
            if out.len() > MAX_BATCH_BYTES {
                return Err(ApiError::PayloadTooLarge {
                    limit: MAX_BATCH_BYTES,
                });
            }
            Ok(out.into())
        }
        Some(other) => Err(ApiError::InvalidBody {
            code: "unsupported_content_encoding",
            message: format!(
                "Content-Encoding {other} is not supported; send the body plain or gzipped."
            ),
        }),
    }
}

fn basic(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (key, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    Some(Credentials {
        key: key.to_owned(),
        password: Some(password.to_owned()).filter(|p| !p.is_empty()),
    })
}

fn write_key(body: &Value) -> Option<Credentials> {
    Some(Credentials {
        key: body.get("writeKey")?.as_str()?.to_owned(),
        password: None,
    })
}
