//! `trailspark key template show|set`: a key's payload template and its versions.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::json;
use trailspark_core::update::format_timestamp;
use trailspark_server::keys::{change_template, BY_CLI};
use trailspark_server::template_test::{self, DEFAULT_LIMIT, MAX_LIMIT};
use trailspark_server::ApiError;

use super::{
    find_key, invalid_template, said, stored_template, template_source, KeyArgs, PresetArg,
};
use crate::cli::database::{find_tenant, DatabaseArgs};
use crate::cli::print_json;

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Show a key's current template, or an earlier version of it, with when and by whom it
    /// was set.
    // `--version` here is the template's; trailspark's own stays on `trailspark --version`.
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
    /// Give a key a new template: its next version. The key and its URL stay the same; running
    /// servers extract requests with it within a few seconds. An invalid template is refused
    /// with every reason, and nothing changes.
    Set(SetArgs),
    /// Run a candidate template over the key's recent deliveries (those that kept their
    /// payload) and show what it would fix and what it would break; nothing is stored.
    Test(TestArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mapping").required(true).args(["preset", "template"])))]
pub struct TestArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Test a ready-made payload template.
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// Test the payload template (JSON) in FILE.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// How many of the newest deliveries to test.
    #[arg(long, default_value_t = DEFAULT_LIMIT,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LIMIT)))]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Show this version (1 is the template the key was created with) instead of the current.
    #[arg(long, value_name = "N")]
    pub version: Option<i64>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mapping").required(true).args(["preset", "template"])))]
pub struct SetArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Use a ready-made payload template.
    #[arg(long, value_enum)]
    pub preset: Option<PresetArg>,
    /// Read the payload template (JSON, see the README) from FILE.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
}

pub async fn run(db: &DatabaseArgs, json: bool, cmd: TemplateCommand) -> anyhow::Result<()> {
    match cmd {
        TemplateCommand::Show(args) => show(db, json, args).await,
        TemplateCommand::Set(args) => set(db, json, args).await,
        TemplateCommand::Test(args) => test(db, json, args).await,
    }
}

async fn show(db: &DatabaseArgs, json: bool, args: ShowArgs) -> anyhow::Result<()> {
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.key.tenant).await?;
    let found = match find_key(store.as_ref(), &tenant, &args.key.id).await {
        Ok(key) => store
            .template_versions(tenant.id, &key.id)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(e),
    };
    store.close().await;
    let versions = found?;
    let current = versions.first().map_or(0, |v| v.version);
    let wanted = args.version.unwrap_or(current);
    let Some(version) = versions.iter().find(|v| v.version == wanted) else {
        bail!(
            "key {} has template versions 1 to {current}, not {wanted}",
            args.key.id
        );
    };
    let template = stored_template(&version.template)?;
    if json {
        print_json(&json!({
            "templateVersion": version.version,
            "template": template,
            "createdAt": format_timestamp(&version.created_at),
            "createdBy": version.created_by,
        }));
        return Ok(());
    }
    let which = if version.version == current {
        "current"
    } else {
        "earlier"
    };
    println!(
        "Template version {} of key {} ({which}), set {} by {}:",
        version.version,
        args.key.id,
        format_timestamp(&version.created_at),
        version.created_by
    );
    println!("{}", serde_json::to_string_pretty(&template)?);
    Ok(())
}

async fn set(db: &DatabaseArgs, json: bool, args: SetArgs) -> anyhow::Result<()> {
    let file = args.template.as_deref();
    let source = template_source(args.preset, file)?;
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.key.tenant).await?;
    let changed = match find_key(store.as_ref(), &tenant, &args.key.id).await {
        Ok(key) => change_template(store.as_ref(), tenant.id, &key.id, &source, BY_CLI)
            .await
            .map_err(|e| match e {
                ApiError::InvalidTemplate(reasons) => invalid_template(file, &reasons),
                other => said(other),
            }),
        Err(e) => Err(e),
    };
    store.close().await;
    let version = changed?;
    if json {
        print_json(&json!({"templateVersion": version.version}));
    } else {
        println!(
            "Key {} now uses template version {}. Running servers extract with it within a few \
             seconds; `trailspark key template show --tenant {} {} --version {}` shows the one \
             before.",
            args.key.id,
            version.version,
            tenant.subdomain,
            args.key.id,
            version.version - 1
        );
    }
    Ok(())
}

async fn test(db: &DatabaseArgs, json: bool, args: TestArgs) -> anyhow::Result<()> {
    let file = args.template.as_deref();
    let source = template_source(args.preset, file)?;
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.key.tenant).await?;
    let tested = match find_key(store.as_ref(), &tenant, &args.key.id).await {
        Ok(key) => match source.compile(key.endpoint_type) {
            Ok(candidate) => template_test::test(store.as_ref(), key, &candidate, args.limit)
                .await
                .map_err(said),
            Err(e) => Err(invalid_template(file, &e)),
        },
        Err(e) => Err(e),
    };
    store.close().await;
    let tested = tested?;
    if json {
        print_json(&serde_json::to_value(&tested)?);
        return Ok(());
    }
    let s = &tested.summary;
    println!(
        "Tested {} deliveries: {} now applied, {} still refused, {} newly refused, {} with \
         other fields, {} the same.",
        tested.tested,
        s.now_applied,
        s.still_refused,
        s.newly_refused,
        s.extraction_changed,
        s.same
    );
    for r in &tested.results {
        let code = |v: &template_test::Verdict| {
            v.code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        };
        println!(
            "{}  {}{} -> {}{}",
            r.delivery_id,
            r.before.outcome,
            code(&r.before),
            r.after.outcome,
            code(&r.after)
        );
    }
    Ok(())
}
