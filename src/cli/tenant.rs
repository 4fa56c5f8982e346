//! `trailspark tenant …`.

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::json;
use trailspark_core::Subdomain;
use trailspark_store::StoreError;

use super::database::DatabaseArgs;
use super::print_json;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant, addressed by its subdomain.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Subdomain: 1–63 lower-case letters, digits or inner hyphens (e.g. `acme`).
    pub subdomain: String,
    /// Display name (defaults to the subdomain).
    #[arg(long)]
    pub name: Option<String>,
}

pub async fn run(db: &DatabaseArgs, json: bool, cmd: TenantCommand) -> anyhow::Result<()> {
    let TenantCommand::Create(args) = cmd;
    let subdomain = Subdomain::parse(&args.subdomain)?;
    let store = db.open().await?;
    let name = args.name.unwrap_or_else(|| subdomain.to_string());
    let tenant = match store.create_tenant(&subdomain, &name).await {
        Ok(t) => t,
        Err(StoreError::Conflict { .. }) => bail!("a tenant {subdomain:?} already exists"),
        Err(e) => return Err(e.into()),
    };
    store.close().await;
    if json {
        print_json(&json!({"id": tenant.id.0, "subdomain": tenant.subdomain}));
    } else {
        println!("Created tenant {} (id {}).", tenant.subdomain, tenant.id.0);
    }
    Ok(())
}
