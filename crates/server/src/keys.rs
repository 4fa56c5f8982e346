//! Creating API keys and changing their templates: one place for the CLI, the admin API and
//! the web UI. The key and its secrets are returned once, here, and stored only hashed (or
//! sealed).

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::Value;
use trailspark_core::credentials::{
    generate_api_key, generate_api_secret, generate_hmac_secret, generate_key_id, hash_credential,
    seal_hmac_secret, shown_prefix,
};
use trailspark_core::template::{PayloadTemplate, Preset, TemplateError};
use trailspark_core::{ApiKeyId, EndpointType, TenantId};
use trailspark_store::{ApiKeyRecord, NewApiKey, Store, TemplateVersion};

use crate::error::ApiError;

/// Longest key name accepted.
pub const MAX_NAME_LEN: usize = 200;

/// The author of what is done with an admin token (tokens have no names yet).
pub const BY_ADMIN_TOKEN: &str = "admin token";
/// The author of what is done on the command line.
pub const BY_CLI: &str = "cli";
/// The author of what is done in the web UI (sessions are not named as authors yet).
pub const BY_WEB_UI: &str = "web UI";

/// What a new key should be.
#[derive(Debug, Clone)]
pub struct KeyRequest {
    pub name: String,
    /// Compiled template; its endpoint type is the key's.
    pub template: PayloadTemplate,
    pub expires_at: Option<DateTime<Utc>>,
    /// Require `X-Api-Secret`.
    pub with_secret: bool,
    /// Require an HMAC signature.
    pub with_hmac_secret: bool,
    /// Who asks for the key: the author of its template's version 1.
    pub created_by: String,
}

/// A key just created: the only moment its text and secrets exist outside the sender.
#[derive(Debug)]
pub struct CreatedKey {
    pub record: ApiKeyRecord,
    pub api_key: SecretString,
    pub secret: Option<SecretString>,
    pub hmac_secret: Option<SecretString>,
}

/// Creates a key for `tenant`.
pub async fn create_api_key(
    store: &dyn Store,
    tenant: TenantId,
    request: KeyRequest,
    now: DateTime<Utc>,
) -> Result<CreatedKey, ApiError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::BadRequest {
            code: "invalid_key_name",
            message: format!("A key needs a name of 1 to {MAX_NAME_LEN} characters."),
        });
    }
    if let Some(at) = request.expires_at.filter(|at| *at <= now) {
        return Err(ApiError::BadRequest {
            code: "invalid_expiry",
            message: format!("The expiry {at} is not in the future."),
        });
    }
    let endpoint_type = request.template.endpoint_type();
    let api_key = generate_api_key(endpoint_type);
    let secret = request.with_secret.then(generate_api_secret);
    let hmac_secret = request.with_hmac_secret.then(generate_hmac_secret);
    let new = NewApiKey {
        id: generate_key_id(),
        name: name.to_owned(),
        endpoint_type,
        prefix: shown_prefix(&api_key),
        key_hash: hash_credential(&api_key),
        template: request.template.to_json().to_string(),
        expires_at: request.expires_at,
        secret_hash: secret.as_deref().map(hash_credential),
        hmac_secret_sealed: hmac_secret
            .as_deref()
            .map(|s| seal_hmac_secret(&api_key, s)),
        created_by: request.created_by,
    };
    let record = store.create_api_key(tenant, new).await?;
    Ok(CreatedKey {
        record,
        api_key: api_key.into(),
        secret: secret.map(Into::into),
        hmac_secret: hmac_secret.map(Into::into),
    })
}

/// Where a key's template comes from: its JSON form, or a preset.
#[derive(Debug, Clone)]
pub enum TemplateSource {
    Json(Value),
    Preset(Preset),
}

impl TemplateSource {
    /// The template for keys of `kind`, or every reason it is not one.
    pub fn compile(&self, kind: EndpointType) -> Result<PayloadTemplate, TemplateError> {
        match self {
            Self::Json(json) => PayloadTemplate::from_json(kind, json),
            Self::Preset(preset) => Ok(PayloadTemplate::preset(kind, *preset)),
        }
    }
}

/// Gives a key of `tenant` a new template (its next version, by `author`), validated for the
/// key's endpoint type: unknown key → 404, invalid template → 422 with every reason, revoked
/// key → 409. Running servers use it within their key refresh interval.
pub async fn change_template(
    store: &dyn Store,
    tenant: TenantId,
    id: &ApiKeyId,
    source: &TemplateSource,
    author: &str,
) -> Result<TemplateVersion, ApiError> {
    let key = store.api_key(tenant, id).await?;
    let template = source.compile(key.endpoint_type)?;
    let json = template.to_json().to_string();
    Ok(store.set_template(tenant, id, &json, author).await?)
}
