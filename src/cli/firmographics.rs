//! `trailspark firmographics import`: a CRM export (CSV or JSON lines) into target orgs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use trailspark_core::{firmographics, ProductOrgId, TargetOrgId};
use trailspark_store::{FirmographicsKey, FirmographicsRow};

use super::database::{find_tenant, DatabaseArgs};
use super::print_json;

#[derive(Debug, Subcommand)]
pub enum FirmographicsCommand {
    /// Import CRM fields for target orgs from a CSV file or JSON lines. Each row names its
    /// target org by a `targetOrgId` or `productOrgId` column/key; its other columns/keys
    /// replace that target org's firmographics. Each row applies whole or is refused with the
    /// reason; refused rows do not stop the others.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Tenant subdomain.
    #[arg(long)]
    pub tenant: String,
    /// The file: `.csv` (header row first) or `.jsonl`/`.ndjson` (one JSON object per line).
    pub file: PathBuf,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

/// One row of the file: its line number and the row, or why it cannot be one.
type ParsedRow = (u64, Result<FirmographicsRow, String>);

pub async fn run(db: &DatabaseArgs, json: bool, cmd: FirmographicsCommand) -> anyhow::Result<()> {
    let FirmographicsCommand::Import(args) = cmd;
    let format = match args.format.or_else(|| format_of(&args.file)) {
        Some(format) => format,
        None => bail!(
            "cannot tell the format of {} from its extension; pass --format csv or --format jsonl",
            args.file.display()
        ),
    };
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let parsed = match format {
        Format::Csv => parse_csv(&text)?,
        Format::Jsonl => parse_jsonl(&text),
    };
    let store = db.open().await?;
    let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
    let (lines, rows): (Vec<u64>, Vec<FirmographicsRow>) = parsed
        .iter()
        .filter_map(|(line, row)| row.as_ref().ok().map(|r| (*line, r.clone())))
        .unzip();
    let mut outcomes: Vec<(u64, Result<TargetOrgId, String>)> = lines
        .into_iter()
        .zip(store.import_firmographics(tenant.id, rows).await?)
        .collect();
    store.close().await;
    outcomes.extend(
        parsed
            .into_iter()
            .filter_map(|(line, row)| row.err().map(|why| (line, Err(why)))),
    );
    outcomes.sort_by_key(|(line, _)| *line);

    let applied = outcomes.iter().filter(|(_, r)| r.is_ok()).count();
    let refused: Vec<(u64, &String)> = outcomes
        .iter()
        .filter_map(|(line, r)| r.as_ref().err().map(|why| (*line, why)))
        .collect();
    if json {
        let refused: Vec<Value> = refused
            .iter()
            .map(|(line, why)| json!({"line": line, "reason": why}))
            .collect();
        print_json(&json!({"applied": applied, "refused": refused}));
    } else {
        println!(
            "Applied {applied} row(s) to tenant {}; refused {}.",
            tenant.subdomain,
            refused.len()
        );
        for (line, why) in &refused {
            println!("  line {line}: {why}");
        }
    }
    if !refused.is_empty() {
        bail!(
            "{} of {} row(s) were refused; fix them and import those rows again",
            refused.len(),
            outcomes.len()
        );
    }
    Ok(())
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "csv" => Some(Format::Csv),
        "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
        _ => None,
    }
}

/// Which target org a row is for: `targetOrgId` when given, else `productOrgId`.
fn row(mut fields: Map<String, Value>) -> Result<FirmographicsRow, String> {
    let target = fields.remove("targetOrgId");
    let product_org = fields.remove("productOrgId");
    let key = match (target, product_org) {
        (Some(Value::Number(n)), _) => match n.as_i64() {
            Some(id) => FirmographicsKey::TargetOrg(TargetOrgId(id)),
            None => return Err(format!("targetOrgId {n} is not a whole number")),
        },
        (Some(other), _) if !other.is_null() => {
            return Err(format!("targetOrgId must be a whole number, got {other}"))
        }
        (_, Some(Value::String(id))) => FirmographicsKey::ProductOrg(
            ProductOrgId::parse(id).map_err(|e| format!("productOrgId {e}"))?,
        ),
        (_, Some(Value::Number(n))) => FirmographicsKey::ProductOrg(
            ProductOrgId::parse(n.to_string()).map_err(|e| format!("productOrgId {e}"))?,
        ),
        _ => return Err("the row has neither a targetOrgId nor a productOrgId".into()),
    };
    let fields = firmographics::parse(Value::Object(fields))?;
    Ok(FirmographicsRow { key, fields })
}

fn parse_csv(text: &str) -> anyhow::Result<Vec<ParsedRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .context("the CSV file has no header row")?
        .clone();
    if !headers
        .iter()
        .any(|h| h == "productOrgId" || h == "targetOrgId")
    {
        bail!(
            "the CSV header has neither a productOrgId nor a targetOrgId column (got: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let (line, parsed) = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let fields = headers
                    .iter()
                    .zip(record.iter())
                    .filter(|(_, cell)| !cell.trim().is_empty())
                    .map(|(name, cell)| (name.to_owned(), csv_value(cell.trim(), name)))
                    .collect();
                (line, row(fields))
            }
            Err(e) => (
                e.position().map_or(0, |p| p.line()),
                Err(format!("not a valid CSV row: {e}")),
            ),
        };
        rows.push((line, parsed));
    }
    Ok(rows)
}

/// A CSV cell as JSON: numbers become numbers (so `employees` stays a count), the rest text.
/// Ids stay text, so that `productOrgId` `007` is not read as 7.
fn csv_value(cell: &str, column: &str) -> Value {
    if column == "productOrgId" {
        return Value::String(cell.to_owned());
    }
    if let Ok(n) = cell.parse::<i64>() {
        return json!(n);
    }
    match cell.parse::<f64>() {
        Ok(f) if f.is_finite() => json!(f),
        _ => Value::String(cell.to_owned()),
    }
}

fn parse_jsonl(text: &str) -> Vec<ParsedRow> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let parsed = match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(fields)) => row(fields),
                Ok(other) => Err(format!("expected a JSON object, got {other}")),
                Err(e) => Err(format!("not valid JSON: {e}")),
            };
            (i as u64 + 1, parsed)
        })
        .collect()
}
