//! Admin API: a tenant's API keys (list, create, one, revoke) and their templates (change,
//! every version). The key itself is shown once, when created; tenant-scoped by the admin's
//! credential, so another tenant's key is simply not found.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use trailspark_core::template::Preset;
use trailspark_core::{ApiKeyId, EndpointType};

use super::target_orgs::json_body;
use super::views::{
    ApiKeyDetailView, ApiKeyView, CreatedApiKeyView, ItemsView, TemplateChangedView,
    TemplateVersionView,
};
use crate::app::App;
use crate::auth::TenantAdmin;
use crate::error::ApiError;
use crate::keys::{change_template, create_api_key, KeyRequest, TemplateSource};
use crate::template_test::{self, DEFAULT_LIMIT, MAX_LIMIT};

/// Routes of the API key admin API.
pub fn router() -> Router<App> {
    Router::new()
        .route("/api/admin/api-keys", get(list).post(create))
        .route("/api/admin/api-keys/{key_id}", get(one).delete(revoke))
        .route("/api/admin/api-keys/{key_id}/template", put(set_template))
        .route(
            "/api/admin/api-keys/{key_id}/template/test",
            post(test_template),
        )
        .route(
            "/api/admin/api-keys/{key_id}/template/versions",
            get(template_versions),
        )
}

/// The body of `POST /api/admin/api-keys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewKey {
    name: String,
    endpoint_type: EndpointType,
    preset: Option<String>,
    template: Option<Value>,
    expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    hmac_secret: bool,
}

impl NewKey {
    /// The template the body asks for: a preset or a template, exactly one of them.
    fn template_source(&self) -> Result<TemplateSource, ApiError> {
        match (&self.preset, &self.template) {
            (Some(name), None) => preset_named(name).map(TemplateSource::Preset),
            (None, Some(json)) => Ok(TemplateSource::Json(json.clone())),
            _ => Err(ApiError::BadRequest {
                code: "invalid_body",
                message: format!(
                    "Send either `preset` ({}) or `template` (the template's JSON object), \
                     not both.",
                    preset_names()
                ),
            }),
        }
    }
}

/// The preset of that name, or a refusal that lists the presets.
fn preset_named(name: &str) -> Result<Preset, ApiError> {
    Preset::parse(name).ok_or_else(|| ApiError::BadRequest {
        code: "unknown_preset",
        message: format!(
            "There is no preset {name:?}; the presets are {}.",
            preset_names()
        ),
    })
}

/// The presets' names, for messages that list them.
pub(super) fn preset_names() -> String {
    let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
    names.join(", ")
}

/// The body of `PUT /api/admin/api-keys/{keyId}/template`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTemplate {
    template: Value,
}

/// A JSON body read as `T`; a body of another shape is refused with what is wrong.
pub(super) async fn body_of<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    serde_json::from_value(json_body(headers, body).await?).map_err(|e| ApiError::BadRequest {
        code: "invalid_body",
        message: format!("The body is not what this endpoint takes: {e}."),
    })
}

async fn list(State(app): State<App>, admin: TenantAdmin) -> Result<Response, ApiError> {
    let keys = app.store.list_api_keys(admin.tenant).await?;
    let items = keys.iter().map(ApiKeyView::from).collect();
    Ok(Json(ItemsView { items }).into_response())
}

async fn create(
    State(app): State<App>,
    admin: TenantAdmin,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let asked: NewKey = body_of(&headers, body).await?;
    let template = asked.template_source()?.compile(asked.endpoint_type)?;
    let request = KeyRequest {
        name: asked.name,
        template,
        expires_at: asked.expires_at,
        with_secret: asked.secret,
        with_hmac_secret: asked.hmac_secret,
        created_by: admin.author().into(),
    };
    let created = create_api_key(app.store.as_ref(), admin.tenant, request, Utc::now()).await?;
    let view = CreatedApiKeyView::try_from(&created)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn one(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = app.store.api_key(admin.tenant, &ApiKeyId(id)).await?;
    Ok(Json(ApiKeyDetailView::try_from(&key)?).into_response())
}

async fn revoke(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = app
        .store
        .revoke_api_key(admin.tenant, &ApiKeyId(id))
        .await?;
    Ok(Json(ApiKeyView::from(&key)).into_response())
}

async fn set_template(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let asked: NewTemplate = body_of(&headers, body).await?;
    let source = TemplateSource::Json(asked.template);
    let id = ApiKeyId(id);
    let version = change_template(
        app.store.as_ref(),
        admin.tenant,
        &id,
        &source,
        admin.author(),
    )
    .await?;
    let view = TemplateChangedView {
        template_version: version.version,
    };
    Ok(Json(view).into_response())
}

async fn template_versions(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let versions = app
        .store
        .template_versions(admin.tenant, &ApiKeyId(id))
        .await?;
    let items = versions
        .iter()
        .map(TemplateVersionView::try_from)
        .collect::<anyhow::Result<_>>()?;
    Ok(Json(ItemsView { items }).into_response())
}

/// The body of `POST /api/admin/api-keys/{keyId}/template/test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateTestBody {
    /// The candidate: a template's JSON form, or a preset's name.
    template: Value,
    limit: Option<u32>,
}

async fn test_template(
    State(app): State<App>,
    admin: TenantAdmin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let asked: TemplateTestBody = body_of(&headers, body).await?;
    let limit = asked.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest {
            code: "invalid_limit",
            message: format!("limit must be a whole number from 1 to {MAX_LIMIT}, got {limit}"),
        });
    }
    let record = app.store.api_key(admin.tenant, &ApiKeyId(id)).await?;
    let source = match asked.template {
        Value::String(name) => TemplateSource::Preset(preset_named(&name)?),
        json => TemplateSource::Json(json),
    };
    let candidate = source.compile(record.endpoint_type)?;
    let tested = template_test::test(app.store.as_ref(), record, &candidate, limit).await?;
    Ok(Json(tested).into_response())
}
