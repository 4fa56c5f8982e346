//! `trailspark key create|list|show|revoke`, `key template …` ([`template`]) and `key health`
//! ([`health`]).

mod health;
mod template;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use trailspark_core::template::{Preset, TemplateError};
use trailspark_core::update::format_timestamp;
use trailspark_core::{ApiKeyId, EndpointType};
use trailspark_server::keys::{create_api_key, KeyRequest, TemplateSource};
use trailspark_server::ApiError;
use trailspark_store::{ApiKeyRecord, Store, StoreError, Tenant};

use super::database::{find_tenant, DatabaseArgs};
use super::print_json;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an API key. The key and its secrets are printed once and never again.
    Create(CreateArgs),
    /// List a tenant's keys (never the keys themselves).
    List(super::TenantArg),
    /// Show one key (never the key itself): its fields, current template and template version.
    Show(KeyArgs),
    /// Revoke a key by its id (`key_…`); requests with it are refused from then on.
    Revoke(KeyArgs),
    /// Show or change a key's payload template; every change is a new version, and every
    /// earlier version stays readable.
    #[command(subcommand)]
    Template(template::TemplateCommand),
    /// A key's last 24 hours: updates, refused and unchanged shares, top errors with an
    /// example delivery, fields that change alone on most updates and what to do about them,
    /// and deliveries per hour by outcome.
    Health(KeyArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyType {
    /// For POST /api/product-orgs/webhook/{apiKey}.
    ProductOrgUpdates,
    /// For POST /api/signals/webhook/{apiKey}.
    SignalStaging,
}

/// A ready-made payload template, by the name `--preset` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PresetArg {
    /// Segment group calls: groupId, traits.*, timestamp, messageId.
    Segment,
    /// RudderStack group calls (same shape as Segment).
    Rudderstack,
    /// Hightouch HTTP Request rows: workspace_id, workspace_name, plan_id, …
    Hightouch,
    /// Flat payloads: workspace_id, workspace_name, plan_id, …
    Flat,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mapping").required(true).args(["preset", "template"])))]
pub struct CreateArgs {
    /// Tenant subdomain.
    #[arg(long)]
    pub tenant: String,
    /// Which endpoint the key is for.
    #[arg(long = "type", value_enum)]
    pub key_type: KeyType,
    /// A name to recognise the key by, e.g. "Segment production".
    #[arg(long)]
    pub name: String,
    /// Use a ready-made payload template.
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// Read the payload template (JSON, see the README) from FILE.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Refuse requests after this time (RFC 3339, e.g. 2027-01-01T00:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Also issue a secret that requests must send as X-Api-Secret.
    #[arg(long)]
    pub secret: bool,
    /// Also issue an HMAC secret that requests must be signed with (Standard Webhooks,
    /// X-Signature sha256= or Segment's X-Signature).
    #[arg(long)]
    pub hmac_secret: bool,
}

/// One key of a tenant.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Tenant subdomain.
    #[arg(long)]
    pub tenant: String,
    /// The key's id as shown by `key list` (`key_…`), not the key itself.
    pub id: String,
}

pub(super) fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 time such as 2027-01-01T00:00:00Z ({e})"))
}

pub async fn run(db: &DatabaseArgs, json: bool, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create(args) => create(db, json, args).await,
        KeyCommand::List(t) => list(db, json, &t.tenant).await,
        KeyCommand::Show(args) => show(db, json, args).await,
        KeyCommand::Revoke(args) => revoke(db, json, args).await,
        KeyCommand::Template(cmd) => template::run(db, json, cmd).await,
        KeyCommand::Health(args) => health::run(db, json, args).await,
    }
}

/// The template `--preset` or `--template FILE` names (clap requires one of them).
fn template_source(
    preset: Option<PresetArg>,
    file: Option<&Path>,
) -> anyhow::Result<TemplateSource> {
    if let Some(preset) = preset {
        let preset = match preset {
            PresetArg::Segment => Preset::Segment,
            PresetArg::Rudderstack => Preset::Rudderstack,
            PresetArg::Hightouch => Preset::Hightouch,
            PresetArg::Flat => Preset::Flat,
        };
        return Ok(TemplateSource::Preset(preset));
    }
    let path = file.expect("clap requires --preset or --template");
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the template file {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("the template file {} is not JSON", path.display()))?;
    Ok(TemplateSource::Json(value))
}

/// A refused template, with every reason, and the file it came from.
fn invalid_template(file: Option<&Path>, e: &TemplateError) -> anyhow::Error {
    let source = file.map_or(String::new(), |p| format!(" in {}", p.display()));
    let reasons: Vec<String> = e.0.iter().map(|r| format!("\n  - {r}")).collect();
    anyhow::anyhow!(
        "the template{source} is invalid ({} reason(s)):{}",
        e.0.len(),
        reasons.concat()
    )
}

/// An admin API error as the CLI says it: its message, in the sender's terms.
fn said(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.body()["message"].as_str().unwrap_or("failed"))
}

/// The tenant's key `id`, or an error that says how to find its keys.
pub(super) async fn find_key(
    store: &dyn Store,
    tenant: &Tenant,
    id: &str,
) -> anyhow::Result<ApiKeyRecord> {
    match store.api_key(tenant.id, &ApiKeyId(id.to_owned())).await {
        Ok(key) => Ok(key),
        Err(StoreError::NotFound(_)) => bail!(
            "tenant {} has no key {id}; `trailspark key list --tenant {}` shows its keys",
            tenant.subdomain,
            tenant.subdomain
        ),
        Err(e) => Err(e.into()),
    }
}

async fn create(db: &DatabaseArgs, json: bool, args: CreateArgs) -> anyhow::Result<()> {
    let kind = match args.key_type {
        KeyType::ProductOrgUpdates => EndpointType::ProductOrgUpdates,
        KeyType::SignalStaging => EndpointType::SignalStaging,
    };
    let file = args.template.as_deref();
    let template = template_source(args.preset, file)?
        .compile(kind)
        .map_err(|e| invalid_template(file, &e))?;
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
    let request = KeyRequest {
        name: args.name,
        template,
        expires_at: args.expires_at,
        with_secret: args.secret,
        with_hmac_secret: args.hmac_secret,
        created_by: trailspark_server::keys::BY_CLI.into(),
    };
    let created = create_api_key(store.as_ref(), tenant.id, request, Utc::now())
        .await
        .map_err(said)?;
    store.close().await;
    let key = created.api_key.expose_secret();
    let secret = created.secret.as_ref().map(|s| s.expose_secret());
    let hmac = created.hmac_secret.as_ref().map(|s| s.expose_secret());
    if json {
        print_json(
            &json!({"id": created.record.id, "apiKey": key, "secret": secret, "hmacSecret": hmac}),
        );
        return Ok(());
    }
    let r = &created.record;
    println!(
        "Created {} key {:?} ({}) for tenant {}.",
        kind.title(),
        r.name,
        r.id,
        tenant.subdomain
    );
    println!("Copy these now: they are shown once and never again.\n");
    println!("  API key:      {key}");
    if let Some(s) = secret {
        println!("  Secret:       {s}   (send as header X-Api-Secret)");
    }
    if let Some(h) = hmac {
        println!("  HMAC secret:  {h}   (sign requests with it)");
    }
    let endpoint = match kind {
        EndpointType::ProductOrgUpdates => "/api/product-orgs/webhook/",
        EndpointType::SignalStaging => "/api/signals/webhook/",
    };
    println!("\nWebhook: POST {}{endpoint}{key}", webhook_origin());
    Ok(())
}

/// Where the webhook is reached: `serve --public-url`'s setting, when this process has it in
/// its environment (`TRAILSPARK_PUBLIC_URL`), so the line can be pasted into the CDP as it is.
fn webhook_origin() -> String {
    const UNKNOWN: &str = "https://<your trailspark host>";
    let Ok(setting) = std::env::var("TRAILSPARK_PUBLIC_URL") else {
        return UNKNOWN.to_owned();
    };
    match setting.parse::<trailspark_server::PublicUrl>() {
        Ok(url) => url.origin().to_owned(),
        Err(e) => {
            eprintln!("TRAILSPARK_PUBLIC_URL is not used here: {e}");
            UNKNOWN.to_owned()
        }
    }
}

fn key_json(r: &ApiKeyRecord) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "type": r.endpoint_type.as_str(),
        "prefix": r.prefix,
        "createdAt": format_timestamp(&r.created_at),
        "expiresAt": r.expires_at.as_ref().map(format_timestamp),
        "lastUsedAt": r.last_used_at.as_ref().map(format_timestamp),
        "revokedAt": r.revoked_at.as_ref().map(format_timestamp),
        "templateVersion": r.template_version,
    })
}

/// Whether a key takes requests now.
fn status(r: &ApiKeyRecord) -> &'static str {
    if r.revoked_at.is_some() {
        "revoked"
    } else if r.expires_at.is_some_and(|at| at <= Utc::now()) {
        "expired"
    } else {
        "active"
    }
}

/// A stored template's JSON text as JSON.
fn stored_template(text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).context("the stored template is not JSON")
}

async fn show(db: &DatabaseArgs, json: bool, args: KeyArgs) -> anyhow::Result<()> {
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
    let key = find_key(store.as_ref(), &tenant, &args.id).await;
    store.close().await;
    let key = key?;
    let template = stored_template(&key.template)?;
    if json {
        let mut shown = key_json(&key);
        shown["template"] = template;
        print_json(&shown);
        return Ok(());
    }
    let when = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("-".to_owned(), format_timestamp);
    println!(
        "Key {} ({:?}) of tenant {}",
        key.id, key.name, tenant.subdomain
    );
    println!("  type       {}", key.endpoint_type.as_str());
    println!("  prefix     {}", key.prefix);
    println!("  status     {}", status(&key));
    println!("  created    {}", format_timestamp(&key.created_at));
    println!("  expires    {}", when(&key.expires_at));
    println!("  last used  {}", when(&key.last_used_at));
    println!("  revoked    {}", when(&key.revoked_at));
    println!("Template, version {}:", key.template_version);
    println!("{}", serde_json::to_string_pretty(&template)?);
    Ok(())
}

async fn list(db: &DatabaseArgs, json: bool, tenant: &str) -> anyhow::Result<()> {
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), tenant).await?;
    let keys = store.list_api_keys(tenant.id).await?;
    store.close().await;
    if json {
        print_json(&Value::Array(keys.iter().map(key_json).collect()));
        return Ok(());
    }
    if keys.is_empty() {
        println!("Tenant {} has no API keys yet.", tenant.subdomain);
        return Ok(());
    }
    // Whole seconds keep the table's columns aligned; --json has the exact times.
    let secs = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let when = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("-".to_owned(), secs);
    println!(
        "{:<21} {:<24} {:<20} {:<13} {:<20} {:<20} {:<20} STATUS",
        "ID", "NAME", "TYPE", "PREFIX", "CREATED", "EXPIRES", "LAST USED"
    );
    for r in &keys {
        let status = status(r);
        println!(
            "{:<21} {:<24} {:<20} {:<13} {:<20} {:<20} {:<20} {status}",
            r.id.0,
            r.name,
            r.endpoint_type.as_str(),
            r.prefix,
            secs(&r.created_at),
            when(&r.expires_at),
            when(&r.last_used_at),
        );
    }
    Ok(())
}

async fn revoke(db: &DatabaseArgs, json: bool, args: KeyArgs) -> anyhow::Result<()> {
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
    let id = ApiKeyId(args.id);
    let record = match store.revoke_api_key(tenant.id, &id).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => {
            bail!(
                "tenant {} has no key {}; `trailspark key list --tenant {}` shows its keys",
                tenant.subdomain,
                id,
                tenant.subdomain
            )
        }
        Err(e) => return Err(e.into()),
    };
    store.close().await;
    if json {
        print_json(&key_json(&record));
    } else {
        println!(
            "Revoked key {} ({:?}). Running servers refuse it within a few seconds.",
            record.id, record.name
        );
    }
    Ok(())
}
