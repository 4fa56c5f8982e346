//! Admin API: payload templates on their own, not yet a key's. `POST
//! /api/admin/payload-templates/preview` answers what a template makes of a sample payload
//! (SPEC §5), nothing stored: core's preview, the one the web UI's template builder draws.

use axum::body::Body;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trailspark_core::extract::FieldError;
use trailspark_core::preview::{preview, Unresolved};
use trailspark_core::template::{Preset, TemplateError};
use trailspark_core::EndpointType;

use super::keys::{body_of, preset_names};
use crate::app::App;
use crate::auth::TenantAdmin;
use crate::error::ApiError;
use crate::keys::TemplateSource;

/// Routes of the payload template admin API.
pub fn router() -> Router<App> {
    Router::new().route(
        "/api/admin/payload-templates/preview",
        post(preview_template),
    )
}

/// The body of `POST /api/admin/payload-templates/preview`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PreviewRequest {
    /// Which endpoint the template is for; most templates are product org templates.
    #[serde(default = "product_org_updates")]
    endpoint_type: EndpointType,
    /// The template's JSON form, or a preset's name.
    template: Value,
    /// The sample payload, as a CDP would send it.
    payload: Value,
}

fn product_org_updates() -> EndpointType {
    EndpointType::ProductOrgUpdates
}

/// The answer: core's preview as the admin API shows it.
#[derive(Debug, Serialize)]
struct PreviewView<'a> {
    fields: &'a Map<String, Value>,
    unresolved: &'a [Unresolved],
    errors: &'a [FieldError],
}

/// Answers what the template makes of the payload. The caller must be a tenant's admin (the
/// preview reads nothing of the tenant, but an open endpoint would be free compute for anyone).
async fn preview_template(
    _admin: TenantAdmin,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let asked: PreviewRequest = body_of(&headers, body).await?;
    let source = match asked.template {
        Value::String(name) => TemplateSource::Preset(preset(&name)?),
        json => TemplateSource::Json(json),
    };
    let template = source.compile(asked.endpoint_type)?;
    let shown = preview(&template, &asked.payload);
    let view = PreviewView {
        fields: &shown.fields,
        unresolved: &shown.unresolved,
        errors: &shown.errors,
    };
    Ok(Json(view).into_response())
}

/// The preset a template given as a string names; any other string is an invalid template.
fn preset(name: &str) -> Result<Preset, ApiError> {
    Preset::parse(name).ok_or_else(|| {
        ApiError::InvalidTemplate(TemplateError(vec![format!(
            "the template {name:?} is neither a JSON object of field → path nor a preset ({})",
            preset_names()
        )]))
    })
}
