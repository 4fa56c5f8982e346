//! `trailspark admin-token create|list|revoke`.

use anyhow::bail;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use trailspark_core::credentials::{
    generate_admin_token, generate_admin_token_id, hash_credential,
};
use trailspark_core::update::format_timestamp;
use trailspark_core::AdminTokenId;
use trailspark_store::{AdminToken, NewAdminToken, StoreError};

use super::database::{find_tenant, DatabaseArgs};
use super::key::parse_time;
use super::{print_json, TenantArg};

/// Longest admin token name accepted (as for API keys).
const MAX_NAME_LEN: usize = trailspark_server::keys::MAX_NAME_LEN;
/// Longest `--expires-in`: a hundred years is "never" for any purpose, and keeps the time
/// far inside what every store can hold.
const MAX_EXPIRES_IN_DAYS: i64 = 36_500;

#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Create a bearer token for the admin API of one tenant. The token is printed once and
    /// never again (only its SHA-256 is stored).
    Create(CreateArgs),
    /// List a tenant's admin tokens: id, name, created, expires, last used, status (never the
    /// tokens themselves).
    List(TenantArg),
    /// Revoke an admin token by its id (`adm_…`, as `admin-token list` shows it). Running
    /// servers refuse it within their --key-refresh-ms.
    Revoke(TokenArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Tenant subdomain, e.g. `default` or `acme`.
    #[arg(long)]
    pub tenant: String,
    /// A name to recognise the token by in `admin-token list`, e.g. "lead scoring".
    #[arg(long)]
    pub name: Option<String>,
    /// Refuse the token after this many days (1 to 36500). Without --expires-in or
    /// --expires-at the token works until it is revoked.
    #[arg(long, value_name = "DAYS", value_parser = parse_days,
          allow_negative_numbers = true, conflicts_with = "expires_at")]
    pub expires_in: Option<i64>,
    /// Refuse the token after this time (RFC 3339, e.g. 2027-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// One admin token of a tenant.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Tenant subdomain.
    #[arg(long)]
    pub tenant: String,
    /// The token's id as `admin-token list` shows it (`adm_…`), not the token itself.
    pub id: String,
}

fn parse_days(s: &str) -> Result<i64, String> {
    let days: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("--expires-in takes a whole number of days, e.g. 90 (got {s:?})"))?;
    if days < 1 {
        return Err(format!("--expires-in must be at least 1 day (got {days})"));
    }
    if days > MAX_EXPIRES_IN_DAYS {
        return Err(format!(
            "--expires-in is at most {MAX_EXPIRES_IN_DAYS} days (got {days}); leave it out for a \
             token that works until it is revoked"
        ));
    }
    Ok(days)
}

pub async fn run(db: &DatabaseArgs, json: bool, cmd: AdminTokenCommand) -> anyhow::Result<()> {
    match cmd {
        AdminTokenCommand::Create(args) => create(db, json, args).await,
        AdminTokenCommand::List(t) => list(db, json, &t.tenant).await,
        AdminTokenCommand::Revoke(args) => revoke(db, json, args).await,
    }
}

async fn create(db: &DatabaseArgs, json: bool, args: CreateArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let name = args.name.as_deref().map(str::trim);
    if let Some(name) = name.filter(|n| n.is_empty() || n.chars().count() > MAX_NAME_LEN) {
        bail!(
            "--name must have 1 to {MAX_NAME_LEN} characters (got {} after trimming)",
            name.chars().count()
        );
    }
    let expires_at = match (args.expires_in, args.expires_at) {
        (Some(days), _) => Some(now + chrono::Duration::days(days)),
        (None, at) => at,
    };
    if let Some(at) = expires_at.filter(|at| *at <= now) {
        bail!(
            "--expires-at {} is not in the future",
            format_timestamp(&at)
        );
    }
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
    let token = generate_admin_token();
    let new = NewAdminToken {
        id: generate_admin_token_id(),
        name: name.map(str::to_owned),
        token_hash: hash_credential(&token),
        expires_at,
    };
    let created = store.create_admin_token(tenant.id, new).await;
    store.close().await;
    let created = created?;
    if json {
        let mut shown = token_json(&created);
        shown["token"] = Value::from(token);
        print_json(&shown);
        return Ok(());
    }
    println!(
        "Admin token {} for tenant {} (shown once, copy it now):\n\n  {token}\n",
        created.id, tenant.subdomain
    );
    println!("Use it as `Authorization: Bearer <token>` on /api/admin/….");
    if let Some(at) = &created.expires_at {
        println!("It expires at {}.", format_timestamp(at));
    }
    Ok(())
}

/// A token as lists show it: never the token, never its hash (the store gives neither).
fn token_json(t: &AdminToken) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "createdAt": format_timestamp(&t.created_at),
        "expiresAt": t.expires_at.as_ref().map(format_timestamp),
        "lastUsedAt": t.last_used_at.as_ref().map(format_timestamp),
        "revokedAt": t.revoked_at.as_ref().map(format_timestamp),
        "status": t.status_at(Utc::now()).as_str(),
    })
}

async fn list(db: &DatabaseArgs, json: bool, tenant: &str) -> anyhow::Result<()> {
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), tenant).await?;
    let tokens = store.list_admin_tokens(tenant.id).await;
    store.close().await;
    let tokens = tokens?;
    if json {
        print_json(&Value::Array(tokens.iter().map(token_json).collect()));
        return Ok(());
    }
    if tokens.is_empty() {
        println!(
            "Tenant {} has no admin tokens yet: `trailspark admin-token create --tenant {}` \
             makes one.",
            tenant.subdomain, tenant.subdomain
        );
        return Ok(());
    }
    // Whole seconds keep the table's columns aligned; --json has the exact times.
    let secs = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let when = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("-".to_owned(), secs);
    let now = Utc::now();
    println!(
        "{:<21} {:<24} {:<20} {:<20} {:<20} STATUS",
        "ID", "NAME", "CREATED", "EXPIRES", "LAST USED"
    );
    for t in &tokens {
        println!(
            "{:<21} {:<24} {:<20} {:<20} {:<20} {}",
            t.id.0,
            t.name.as_deref().unwrap_or("-"),
            secs(&t.created_at),
            when(&t.expires_at),
            when(&t.last_used_at),
            t.status_at(now).as_str(),
        );
    }
    Ok(())
}

async fn revoke(db: &DatabaseArgs, json: bool, args: TokenArgs) -> anyhow::Result<()> {
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
    let revoked = store
        .revoke_admin_token(tenant.id, &AdminTokenId(args.id.clone()))
        .await;
    store.close().await;
    let token = match revoked {
        Ok(token) => token,
        Err(StoreError::NotFound(_)) => bail!(
            "tenant {} has no admin token {}; `trailspark admin-token list --tenant {}` shows \
             its tokens",
            tenant.subdomain,
            args.id,
            tenant.subdomain
        ),
        Err(e) => return Err(e.into()),
    };
    if json {
        print_json(&token_json(&token));
    } else {
        println!(
            "Revoked admin token {}{}. Running servers refuse it within their key refresh \
             interval (--key-refresh-ms, 1 s by default).",
            token.id,
            token
                .name
                .as_deref()
                .map_or(String::new(), |n| format!(" ({n:?})"))
        );
    }
    Ok(())
}
