//! The Segment-compatible API (SPEC §3): `POST /v1/batch` and `/v1/{group,identify,track,
//! page,screen,alias}`, as Segment's and RudderStack's server SDKs send them, so a backend can
//! send `group` calls straight to trailspark. A product org key applies `group` events and
//! skips the others; a signal key applies `identify`, `track`, `page` and `screen` as
//! signals. The key comes as the HTTP basic username (its secret, if it has one, as the
//! password), checked before the body is read, or as `writeKey` in the body; bodies may be
//! gzipped and are read as JSON whatever their content type (RudderStack's Node SDK labels
//! gzipped JSON as a form).

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use trailspark_core::json::{Doc, Json, Members};
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
    let received_at = Utc::now();
    let header_key = key_before_body(&app, &headers, received_at).await?;
    let bytes = read(&headers, body).await?;
    let members = members(&bytes)?;
    let write_key = write_key(&members);
    let batch = members
        .into_iter()
        .find_map(|(k, v)| (k == "batch").then_some(v));
    let events = match batch {
        Some(Doc::Array(events)) => checked_batch(events, MAX_EVENTS)?,
        _ => {
            return Err(ApiError::InvalidBody {
                code: "missing_batch",
                message: "The body must be an object with the events in a `batch` array: {\"batch\":[{\"type\":\"group\",…}]}.".into(),
            })
        }
    };
    let key = key_of(&app, &headers, header_key, write_key, received_at).await?;
    apply(&app, key, received_at, Payload::Many(events)).await
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
    let received_at = Utc::now();
    let header_key = key_before_body(&app, &headers, received_at).await?;
    let bytes = read(&headers, body).await?;
    let mut members = members(&bytes)?;
    // The path names the type; the body need not.
    if Members::get(members.as_slice(), "type").is_none() {
        members.push((Cow::Borrowed("type"), Doc::String(Cow::Borrowed(*kind))));
    }
    let write_key = write_key(&members);
    let key = key_of(&app, &headers, header_key, write_key, received_at).await?;
    apply(&app, key, received_at, Payload::One(Doc::Object(members))).await
}

/// The key when the headers carry it (HTTP basic), checked before the body is read: a bad
/// key or secret, a signing key, a sender over its rate are answered without reading (or
/// waiting for) the body. `None` when only the body can carry the key (`writeKey`).
async fn key_before_body(
    app: &App,
    headers: &HeaderMap,
    received_at: DateTime<Utc>,
) -> Result<Option<Arc<IngestKey>>, ApiError> {
    match basic(headers) {
        Some(credentials) => checked_key(app, headers, Some(credentials), received_at)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// The request's checked key: the header's, found before the body, else the body's
/// `writeKey`.
async fn key_of(
    app: &App,
    headers: &HeaderMap,
    header_key: Option<Arc<IngestKey>>,
    write_key: Option<Credentials>,
    received_at: DateTime<Utc>,
) -> Result<Arc<IngestKey>, ApiError> {
    match header_key {
        Some(key) => Ok(key),
        None => checked_key(app, headers, write_key, received_at).await,
    }
}

/// Finds the key and checks it ([`admitted`]); a refusal once the key is known is logged in
/// its delivery log.
async fn checked_key(
    app: &App,
    headers: &HeaderMap,
    credentials: Option<Credentials>,
    received_at: DateTime<Utc>,
) -> Result<Arc<IngestKey>, ApiError> {
    let Some(credentials) = credentials else {
        return Err(ApiError::MissingCredentials);
    };
    let key = app.keys.active(&credentials.key, received_at).await?;
    if let Err(refused) = admitted(app, headers, &credentials, &key) {
        app.metrics.refused(&key, refused.code(), 1);
        let entry = deliveries::refused_entry(&refused, None);
        let log = deliveries::request_log(
            &app.log_volume,
            &key,
            trailspark_store::Intake::Segment,
            None,
            vec![entry],
        );
        deliveries::log_refused(app.store.as_ref(), &key, received_at, log).await;
        return Err(refused);
    }
    Ok(key)
}

/// The events of a request whose key passed its checks, through the key's template.
async fn apply(
    app: &App,
    key: Arc<IngestKey>,
    received_at: DateTime<Utc>,
    payload: Payload<Doc<'_>>,
) -> Result<Response, ApiError> {
    let accepted = Accepted {
        key: Arc::clone(&key),
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

/// Reads the body, gunzipped when so encoded.
async fn read(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let raw = read_body_limited(headers, body, MAX_BATCH_BYTES).await?;
    decode(headers, raw)
}

/// The members of a body that must be a JSON object, borrowing its text as the webhooks'
/// bodies do ([`Doc`]: no map hashing and copying every key of every event of a batch).
fn members(bytes: &[u8]) -> Result<Vec<(Cow<'_, str>, Doc<'_>)>, ApiError> {
    match Doc::parse(bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))? {
        Doc::Object(members) => Ok(members),
        other => Err(super::webhook::not_object(&other)),
    }
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

fn write_key(members: &[(Cow<'_, str>, Doc<'_>)]) -> Option<Credentials> {
    Some(Credentials {
        key: Members::get(members, "writeKey")?.as_str()?.to_owned(),
        password: None,
    })
}
