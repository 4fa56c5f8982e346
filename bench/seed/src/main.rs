//! `trailspark-bench-seed STORE ORGS LEADS`: creates tenant `default` in STORE (a SQLite file,
//! or a `postgres://` URL, migrated first) if the store is empty, with ORGS product orgs
//! (`ws_1` …, Segment-like fields) and LEADS leads (`lead_1` …, one signal each, spread over
//! the orgs), written through the Store trait in large requests, and prints how long that took.
//!
//! The orgs hold what the benchmark load (`bench/segment_group.lua`) sends, with an older
//! event time: name, plan and MRR equal, 1 or 2 employees. So an update of the load changes a
//! value about half of the time on a seeded store, as on one it filled itself; otherwise the
//! first update of each org would be a change and a large store would be measured doing more
//! work per update than a small one.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::json;
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, FieldPatch, LeadId, ProductOrgId, TenantId, Update};
use trailspark_store::{IngestRequest, SignalRequest, Store};
use trailspark_store_postgres::{PostgresOptions, PostgresStore};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

const CHUNK: usize = 2_000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, path, orgs, leads] = args.as_slice() else {
        eprintln!("usage: trailspark-bench-seed STORE ORGS LEADS");
        std::process::exit(2);
    };
    let (orgs, leads): (usize, usize) =
        (orgs.parse().expect("ORGS"), leads.parse().expect("LEADS"));
    let store = open(path).await;
    let store = store.as_ref();
    let tenant = match store
        .create_default_tenant_if_empty()
        .await
        .expect("tenant")
    {
        Some(t) => t,
        None => store
            .tenant_by_subdomain(&trailspark_core::Subdomain::parse("default").unwrap())
            .await
            .expect("tenant default"),
    };
    let started = Instant::now();
    seed_orgs(store, tenant.id, orgs).await;
    println!(
        "{orgs} product orgs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    seed_leads(store, tenant.id, leads, orgs).await;
    println!("{leads} leads in {:.1} s", started.elapsed().as_secs_f64());
    store.close().await;
}

/// The store `path` names: PostgreSQL for a `postgres://` URL (migrated here, as `serve`
/// would), else a SQLite file.
async fn open(path: &str) -> Arc<dyn Store> {
    if path.starts_with("postgres://") || path.starts_with("postgresql://") {
        let store = PostgresStore::connect(path, PostgresOptions::default())
            .await
            .expect("connect to PostgreSQL");
        store.migrate().await.expect("migrate");
        Arc::new(store)
    } else {
        let store = SqliteStore::open(path.as_ref(), SqliteOptions::default())
            .await
            .expect("open store");
        Arc::new(store)
    }
}

fn key() -> ApiKeyId {
    ApiKeyId("key_seed".into())
}

/// Product orgs `ws_1` … `ws_{orgs}`.
async fn seed_orgs(store: &dyn Store, tenant: TenantId, orgs: usize) {
    // Before the load's events (2026-01-15), which therefore win.
    let seeded_at = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .expect("seed time")
        .with_timezone(&Utc);
    for chunk in (1..=orgs).collect::<Vec<_>>().chunks(CHUNK) {
        let updates = chunk
            .iter()
            .map(|i| Update {
                product_org_id: ProductOrgId::parse(format!("ws_{i}")).unwrap(),
                patches: vec![
                    FieldPatch::Name(Some("Workspace".into())),
                    FieldPatch::PlanId(Some("pro".into())),
                    FieldPatch::PlanName(Some("Pro Annual".into())),
                    FieldPatch::UserCount(Some(1 + (*i % 2) as i64)),
                    FieldPatch::Mrr(Some(49_900)),
                    FieldPatch::TrialStatus(Some("converted".into())),
                    FieldPatch::FeatureFlags(json!({"sso_enabled": true}).as_object().cloned()),
                ],
                event_at: Some(seeded_at),
                message_id: None,
                warnings: Vec::new(),
            })
            .collect();
        let request = IngestRequest {
            log: None,
            key_id: key(),
            received_at: Utc::now(),
            webhook_id: None,
            updates,
        };
        store.ingest(tenant, request).await.expect("ingest");
    }
}

/// Leads `lead_1` … `lead_{leads}`, one signal each, spread over the `orgs` product orgs.
async fn seed_leads(store: &dyn Store, tenant: TenantId, leads: usize, orgs: usize) {
    for chunk in (1..=leads).collect::<Vec<_>>().chunks(CHUNK) {
        let signals = chunk
            .iter()
            .map(|i| Signal {
                lead_id: LeadId::parse(format!("lead_{i}")).unwrap(),
                email: Some(format!("lead{i}@example.com")),
                product_org_id: (orgs > 0)
                    .then(|| ProductOrgId::parse(format!("ws_{}", i % orgs + 1)).unwrap()),
                name: Some("Signed in".into()),
                event_at: None,
                properties: json!({"plan": "pro"}).as_object().cloned(),
                custom_fields: Default::default(),
                message_id: None,
                warnings: Vec::new(),
            })
            .collect();
        let request = SignalRequest {
            log: None,
            key_id: key(),
            received_at: Utc::now(),
            webhook_id: None,
            signals,
        };
        store
            .ingest_signals(tenant, request)
            .await
            .expect("signals");
    }
}
