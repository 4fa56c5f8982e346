//! `trailspark user …`: people who sign in to the web UI.

use std::io::Read;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::json;
use trailspark_core::credentials::{hash_password, MIN_PASSWORD_LEN};
use trailspark_store::StoreError;

use super::database::{find_tenant, DatabaseArgs};
use super::print_json;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a web UI user of a tenant; the password is read from standard input.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Tenant subdomain, e.g. `default`.
    #[arg(long)]
    pub tenant: String,
    /// The user's email (trimmed and lower-cased).
    #[arg(long)]
    pub email: String,
    /// Read the password from standard input (its first line), so it never appears in the
    /// process list or shell history: `printf '%s' "$PW" | trailspark user create … --password-stdin`.
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

pub async fn run(db: &DatabaseArgs, json: bool, cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create(args) = cmd;
    let email = trailspark_core::value::email(&json!(args.email))
        .map_err(|why| anyhow::anyhow!("--email: {why}"))?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let password = input.lines().next().unwrap_or_default();
    if password.chars().count() < MIN_PASSWORD_LEN {
        bail!("the password must have at least {MIN_PASSWORD_LEN} characters");
    }
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
    let created = store
        .create_user(tenant.id, &email, &hash_password(password))
        .await;
    store.close().await;
    match created {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => {
            bail!("tenant {} already has a user {email}", tenant.subdomain)
        }
        Err(e) => return Err(e.into()),
    }
    if json {
        print_json(&json!({"tenant": tenant.subdomain, "email": email}));
    } else {
        println!(
            "Created user {email} of tenant {}; sign in at the web UI (/).",
            tenant.subdomain
        );
    }
    Ok(())
}
