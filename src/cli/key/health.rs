//! `trailspark key health`: a key's last 24 hours, as `GET /api/admin/api-keys/{keyId}/health`
//! shows them (the same computation, [`trailspark_store::key_health`]).

use chrono::Utc;
use trailspark_core::update::format_timestamp;
use trailspark_store::{HourBar, KeyHealth, Outcome};

use super::{find_key, KeyArgs};
use crate::cli::database::{find_tenant, DatabaseArgs};
use crate::cli::print_json;

pub async fn run(db: &DatabaseArgs, json: bool, args: KeyArgs) -> anyhow::Result<()> {
    let store = db.open().await?;
    let health = async {
        let tenant = find_tenant(store.as_ref(), &args.tenant).await?;
        let key = find_key(store.as_ref(), &tenant, &args.id).await?;
        let health = trailspark_store::key_health(store.as_ref(), &key, Utc::now()).await?;
        anyhow::Ok((key, health))
    }
    .await;
    store.close().await;
    let (key, health) = health?;
    if json {
        print_json(&serde_json::to_value(&health)?);
    } else {
        print!("{}", human(&key.id.0, &key.name, &health));
    }
    Ok(())
}

/// The health as a person reads it: figures, errors, volatile fields with their advice, and
/// the hours that had deliveries.
fn human(id: &str, name: &str, health: &KeyHealth) -> String {
    let total = |outcome| health.hours.iter().map(|h| h.of(outcome)).sum::<u64>();
    let percent = |share: f64| format!("{:.1} %", share * 100.0);
    let mut out = format!(
        "Health of key {id} ({name:?}) since {} (the last 24 hours)\n",
        format_timestamp(&health.since)
    );
    out += &format!("  updates     {}\n", health.updates);
    for (label, outcome, share) in [
        ("refused", Outcome::Refused, Some(health.refused_share)),
        (
            "unchanged",
            Outcome::Unchanged,
            Some(health.unchanged_share),
        ),
        ("duplicate", Outcome::Duplicate, None),
        ("applied", Outcome::Applied, None),
    ] {
        let share = share.map_or(String::new(), |s| format!("  ({})", percent(s)));
        out += &format!("  {label:<11} {}{share}\n", total(outcome));
    }
    if health.top_errors.is_empty() {
        out += "Top errors: none\n";
    } else {
        out += "Top errors:\n";
        for e in &health.top_errors {
            out += &format!(
                "  {:<28} {:>5}  e.g. delivery {}: {}\n",
                e.code, e.count, e.example.delivery_id, e.example.message
            );
        }
    }
    if health.volatile_fields.is_empty() {
        out += "Volatile fields: none\n";
    } else {
        out += "Volatile fields:\n";
        for v in &health.volatile_fields {
            out += &format!(
                "  {}: the only change of {} of {} updates\n    -> {}\n",
                v.field,
                percent(v.only_change_share),
                health.changing_updates,
                v.advice
            );
        }
    }
    out += &hours(&health.hours);
    out
}

/// The hours that had deliveries, one line each (`deliveries list` shows the entries).
fn hours(hours: &[HourBar]) -> String {
    let busy: Vec<&HourBar> = hours.iter().filter(|h| h.total() > 0).collect();
    if busy.is_empty() {
        return "No deliveries in the last 24 hours.\n".to_owned();
    }
    let mut out = "Per hour (UTC)        applied unchanged duplicate  refused\n".to_owned();
    for h in busy {
        out += &format!(
            "  {}  {:>7} {:>9} {:>9} {:>8}\n",
            h.hour.format("%Y-%m-%d %H:00"),
            h.applied,
            h.unchanged,
            h.duplicate,
            h.refused
        );
    }
    out
}
