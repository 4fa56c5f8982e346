//! `trailspark deliveries list|show`: a key's delivery log, as the admin API shows it.

use std::sync::Arc;

use anyhow::bail;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use trailspark_core::update::format_timestamp;
use trailspark_server::replay::Selection;
use trailspark_server::{App, DeliveryView, ServerConfig};
use trailspark_store::{Delivery, DeliveryQuery, Missing, Outcome, PageRequest, StoreError};

use super::database::{find_tenant, DatabaseArgs};
use super::key::{find_key, KeyArgs};
use super::print_json;

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// A key's delivery log, newest first: every update and every refused request, with
    /// what became of it and why a refused one was refused.
    List(ListArgs),
    /// One delivery with its payload and answer.
    Show(ShowArgs),
    /// Re-apply stored deliveries through the key's current template, each at its original
    /// time: newer data is never overwritten, and replaying twice applies once.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["ids", "refused"])))]
pub struct ReplayArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// These deliveries (ids as `deliveries list` shows them, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,…")]
    pub ids: Vec<i64>,
    /// Every refused delivery of the key (replays excepted).
    #[arg(long)]
    pub refused: bool,
    /// With --refused: only those received at or after this time (RFC 3339).
    #[arg(long, requires = "refused", value_parser = super::key::parse_time)]
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutcomeArg {
    Applied,
    Unchanged,
    Duplicate,
    Refused,
}

impl From<OutcomeArg> for Outcome {
    fn from(arg: OutcomeArg) -> Self {
        match arg {
            OutcomeArg::Applied => Self::Applied,
            OutcomeArg::Unchanged => Self::Unchanged,
            OutcomeArg::Duplicate => Self::Duplicate,
            OutcomeArg::Refused => Self::Refused,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Only entries of this outcome.
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// Only entries of this product org.
    #[arg(long, value_name = "ID")]
    pub product_org_id: Option<String>,
    /// Only entries received at or after this time (RFC 3339).
    #[arg(long, value_parser = super::key::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Most entries shown.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Tenant subdomain.
    #[arg(long)]
    pub tenant: String,
    /// The delivery's id, as `deliveries list` shows it.
    pub id: i64,
}

pub async fn run(db: &DatabaseArgs, json: bool, cmd: DeliveriesCommand) -> anyhow::Result<()> {
    let store = db.open().await?;
    let result = match cmd {
        DeliveriesCommand::List(args) => list(store.as_ref(), json, args).await,
        DeliveriesCommand::Show(args) => show(store.as_ref(), json, args).await,
        DeliveriesCommand::Replay(args) => replay(Arc::clone(&store), json, args).await,
    };
    store.close().await;
    result
}

async fn list(
    store: &dyn trailspark_store::Store,
    json: bool,
    args: ListArgs,
) -> anyhow::Result<()> {
    let tenant = find_tenant(store, &args.key.tenant).await?;
    let key = find_key(store, &tenant, &args.key.id).await?;
    let query = DeliveryQuery {
        outcome: args.outcome.map(Outcome::from),
        product_org_id: args.product_org_id,
        since: args.since,
        with_payload: false,
        page: PageRequest {
            cursor: None,
            limit: args.limit,
        },
    };
    let page = store.deliveries(tenant.id, &key.id, &query).await?;
    if json {
        let items: Vec<_> = page
            .items
            .iter()
            .map(|d| DeliveryView::of(d, false))
            .collect();
        print_json(&serde_json::json!({ "items": items }));
        return Ok(());
    }
    if page.items.is_empty() {
        println!("No deliveries of key {} match.", key.id.0);
    }
    for d in &page.items {
        println!("{}", line(d));
    }
    Ok(())
}

/// One entry on one line: id, time, outcome and status, subject, error.
fn line(d: &Delivery) -> String {
    let row = &d.row;
    let subject = row
        .product_org_id
        .as_deref()
        .or(row.lead_id.as_deref())
        .unwrap_or("-");
    let mut text = format!(
        "{}  {}  {:<9} {}  {subject}  v{}",
        d.id,
        format_timestamp(&row.received_at),
        row.outcome.as_str(),
        row.status,
        row.template_version
    );
    if let Some(code) = &row.code {
        text.push_str(&format!(
            "  {code}: {}",
            row.message.as_deref().unwrap_or_default()
        ));
    }
    text
}

async fn show(
    store: &dyn trailspark_store::Store,
    json: bool,
    args: ShowArgs,
) -> anyhow::Result<()> {
    let tenant = find_tenant(store, &args.tenant).await?;
    let delivery = match store.delivery(tenant.id, args.id).await {
        Ok(d) => d,
        Err(StoreError::NotFound(Missing::Delivery(id))) => bail!(
            "tenant {} has no delivery {id}; `trailspark deliveries list` shows a key's",
            tenant.subdomain
        ),
        Err(e) => return Err(e.into()),
    };
    let view = serde_json::to_value(DeliveryView::of(&delivery, true))?;
    if json {
        print_json(&view);
        return Ok(());
    }
    println!("{}", line(&delivery));
    println!(
        "key {}  request {}",
        delivery.key_id.0, delivery.row.request_id
    );
    println!("answer: {}", view["answer"]);
    match view.get("payload") {
        Some(payload) => println!("payload:\n{}", serde_json::to_string_pretty(payload)?),
        None => println!("payload: not kept"),
    }
    Ok(())
}

async fn replay(
    store: Arc<dyn trailspark_store::Store>,
    json: bool,
    args: ReplayArgs,
) -> anyhow::Result<()> {
    let tenant = find_tenant(store.as_ref(), &args.key.tenant).await?;
    let key = find_key(store.as_ref(), &tenant, &args.key.id).await?;
    let selection = if args.refused {
        Selection::Refused { since: args.since }
    } else {
        Selection::Ids(args.ids)
    };
    let app = App::new(store, &ServerConfig::default());
    let results = trailspark_server::replay::replay(&app, tenant.id, &key.id, selection)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.body()["message"].as_str().unwrap_or_default()))?;
    if json {
        print_json(&serde_json::json!({"replayed": results.len(), "results": results}));
        return Ok(());
    }
    if results.is_empty() {
        println!("Nothing to replay.");
    }
    for r in &results {
        let said = match r.body.get("code").and_then(|c| c.as_str()) {
            Some(code) => format!("{code}: {}", r.body["message"].as_str().unwrap_or_default()),
            None => r.body.to_string(),
        };
        println!("{}  {}  {said}", r.delivery_id, r.status);
    }
    Ok(())
}
