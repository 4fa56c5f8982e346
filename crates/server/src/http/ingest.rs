//! `POST /api/product-orgs/webhook/{apiKey}`: the hot path, top to bottom in one place:
//! find key → verify ([`super::webhook::accept`]) → parse ([`super::webhook::parse`]) →
//! extract → apply → respond.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use trailspark_core::extract::extract_product_org;
use trailspark_core::json::Json;
use trailspark_core::warning::{warn_duplicates_in_batch, UnchangedReason, Warning};
use trailspark_core::EndpointType;
use trailspark_store::{Applied, IngestRequest, RequestLog};

use super::batch::{self, Element, Intake, Logging};
use super::webhook::{accept, parse, record};
use crate::app::App;
use crate::error::ApiError;

/// The product org webhook's route.
pub(crate) const ROUTE: &str = "/api/product-orgs/webhook/{api_key}";

/// Routes of the product org webhook.
pub fn router() -> Router<App> {
    Router::new().route(ROUTE, post(routed))
}

/// The key of a POST to the product org webhook, when reading it needs no router: the one
/// path segment after the route's prefix, with no percent-escape to decode (so it is what
/// `Path` would give). [`super::Served`] answers such requests before the router.
pub(crate) fn plain_key<B>(request: &axum::http::Request<B>) -> Option<&str> {
    key_in(request.method(), request.uri())
}

/// The route's path before its key.
const PREFIX: &str = "/api/product-orgs/webhook/";

fn key_in<'u>(method: &axum::http::Method, uri: &'u axum::http::Uri) -> Option<&'u str> {
    if method != axum::http::Method::POST {
        return None;
    }
    let key = uri.path().strip_prefix(PREFIX)?;
    // Searched as bytes a word at a time (`memchr`): a search of a set of chars decoded
    // each character, 430 instructions a key.
    let bytes = key.as_bytes();
    let plain = !bytes.contains(&b'/') && !bytes.contains(&b'%');
    (!key.is_empty() && plain).then_some(key)
}

/// Answers a request [`plain_key`] took, as the routed handler would.
pub(crate) async fn answer_plain(app: App, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    // Taken already: the rest of the path is the key.
    let key = parts.uri.path().strip_prefix(PREFIX).unwrap_or_default();
    product_org_webhook(&app, key, &parts.headers, body)
        .await
        .into_response()
}

async fn routed(
    State(app): State<App>,
    Path(api_key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    product_org_webhook(&app, &api_key, &headers, body).await
}

async fn product_org_webhook(
    app: &App,
    api_key: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let checked = accept(app, api_key, EndpointType::ProductOrgUpdates, headers, body).await?;
    let accepted = parse(app, api_key, &checked).await?;
    let logging = Logging {
        app,
        accepted: &accepted,
        intake: Intake::Webhook,
        replay_of: None,
    };
    let result = apply_product_org_updates(&logging).await;
    record(app, &accepted);
    result
}

/// Extracts and applies a request's product org update(s) and renders the answer.
pub(crate) async fn apply_product_org_updates<J: Json + Serialize>(
    logging: &Logging<'_, J>,
) -> Result<Response, ApiError> {
    let (app, accepted, intake) = (logging.app, logging.accepted, logging.intake);
    let key = &accepted.key;
    let template = key
        .template
        .as_product_org()
        .ok_or_else(|| anyhow::anyhow!("product org key {} holds a signal template", key.id))?;
    let extract = |(_, item): (usize, &J)| {
        if let Some(skipped) = intake.skips(item, &["group"])? {
            return Ok(Element::Skipped(skipped));
        }
        let mut update = extract_product_org(template, item).map_err(ApiError::from)?;
        if update.message_id.is_none() {
            update.message_id = intake.message_id(item);
        }
        Ok(Element::Update(update))
    };
    let store = async |mut updates: Vec<trailspark_core::Update>, log: RequestLog| {
        warn_duplicates_in_batch(&mut updates, || log.update_indexes());
        let request = IngestRequest {
            key_id: key.id.clone(),
            received_at: accepted.received_at,
            webhook_id: accepted.webhook_id.clone(),
            updates,
            log: Some(log),
        };
        let started = std::time::Instant::now();
        let result = app.store.ingest(key.tenant, request).await;
        app.metrics
            .apply_seconds
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            let kind = match e {
                trailspark_store::StoreError::Unavailable { .. } => "unavailable",
                _ => "other",
            };
            app.metrics
                .store_errors
                .get_or_create(&crate::metrics::ErrorLabels { kind })
                .inc();
        }
        Ok(result?)
    };
    let render = |outcome: Applied| {
        let counters = app.metrics.key_counters(key);
        if outcome.duplicate {
            counters.duplicates.inc();
        } else if outcome.changed {
            counters.changed.inc();
        } else {
            counters.unchanged.inc();
        }
        AppliedBody {
            success: true,
            product_org_id: outcome.product_org_id,
            target_org_id: outcome.target_org_id,
            is_new_org: outcome.is_new_org,
            changed: outcome.changed,
            unchanged_reason: outcome.unchanged_reason,
            warnings: outcome.warnings,
            duplicate: outcome.duplicate,
        }
    };
    batch::apply_payload(logging, extract, store, render).await
}

/// The answer to an applied update (SPEC §3), fields in the order the seed documents show,
/// then what SPEC §6 adds when there is something to say.
#[derive(serde::Serialize)]
#[cfg_attr(test, derive(Clone))]
#[serde(rename_all = "camelCase")]
struct AppliedBody {
    success: bool,
    product_org_id: trailspark_core::ProductOrgId,
    target_org_id: trailspark_core::TargetOrgId,
    is_new_org: bool,
    changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    unchanged_reason: Option<UnchangedReason>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<Warning>,
    /// A repeated messageId: the first answer again, and this.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

impl AppliedBody {
    /// The bytes its `Serialize` writes, written directly: every product org update is answered
    /// with one, and serde's calls per field (and the copy of the id its `into = "String"`
    /// makes) cost more than the rest of the answer.
    fn to_json(&self) -> Vec<u8> {
        let flag = |b: bool| if b { &b"true"[..] } else { &b"false"[..] };
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(br#"{"success":"#);
        out.extend_from_slice(flag(self.success));
        out.extend_from_slice(br#","productOrgId":"#);
        serde_json::to_writer(&mut out, self.product_org_id.as_str()).expect("a string is JSON");
        out.extend_from_slice(br#","targetOrgId":"#);
        out.extend_from_slice(self.target_org_id.0.to_string().as_bytes());
        out.extend_from_slice(br#","isNewOrg":"#);
        out.extend_from_slice(flag(self.is_new_org));
        out.extend_from_slice(br#","changed":"#);
        out.extend_from_slice(flag(self.changed));
        if let Some(reason) = self.unchanged_reason {
            out.extend_from_slice(br#","unchangedReason":""#);
            out.extend_from_slice(reason.as_str().as_bytes());
            out.push(b'"');
        }
        if !self.warnings.is_empty() {
            out.extend_from_slice(br#","warnings":"#);
            serde_json::to_writer(&mut out, &self.warnings).expect("warnings are JSON");
        }
        if self.duplicate {
            out.extend_from_slice(br#","duplicate":true"#);
        }
        out.push(b'}');
        out
    }
}

impl batch::Answer for AppliedBody {
    fn answer(self) -> Response {
        batch::json_bytes(self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use trailspark_core::{ProductOrgId, TargetOrgId};

    use super::*;

    #[test]
    fn the_fast_path_takes_the_routes_own_paths() {
        assert_eq!(ROUTE.strip_prefix(PREFIX), Some("{api_key}"));
        let post = |path: &str| {
            let request = axum::http::Request::post(path).body(()).unwrap();
            plain_key(&request).map(str::to_owned)
        };
        assert_eq!(
            post("/api/product-orgs/webhook/tsk_po_1").as_deref(),
            Some("tsk_po_1")
        );
        for routed in [
            "/api/product-orgs/webhook/",
            "/api/product-orgs/webhook/tsk%5Fpo_1",
            "/api/product-orgs/webhook/tsk_po_1/",
            "/api/signals/webhook/tsk_sig_1",
        ] {
            assert_eq!(post(routed), None, "{routed}");
        }
        let get = axum::http::Request::get("/api/product-orgs/webhook/k")
            .body(())
            .unwrap();
        assert_eq!(plain_key(&get), None);
    }

    #[test]
    fn an_answer_is_written_as_serde_json_writes_it() {
        let plain = AppliedBody {
            success: true,
            product_org_id: ProductOrgId::parse("ws_1").unwrap(),
            target_org_id: TargetOrgId(7),
            is_new_org: true,
            changed: true,
            unchanged_reason: None,
            warnings: Vec::new(),
            duplicate: false,
        };
        let mut cases = vec![plain.clone()];
        for reason in [UnchangedReason::SameValues, UnchangedReason::OlderEvent] {
            cases.push(AppliedBody {
                product_org_id: ProductOrgId::parse("quote \" back\\ tab\t caf\u{e9} \u{1}")
                    .unwrap(),
                target_org_id: TargetOrgId(-12_345_678_901),
                is_new_org: false,
                changed: false,
                unchanged_reason: Some(reason),
                warnings: vec![Warning::unresolved_path(
                    "plan",
                    "traits.plna",
                    "traits.plan",
                )],
                duplicate: true,
                ..plain.clone()
            });
        }
        for body in cases {
            let written = String::from_utf8(body.to_json()).unwrap();
            assert_eq!(written, serde_json::to_string(&body).unwrap());
        }
    }
}
