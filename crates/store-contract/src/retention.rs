//! The sweeps by age: product org history and signals.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, FieldPatch, LeadId, ProductOrgId, TenantId};
use trailspark_store::{IngestResult, PageRequest, SignalRequest, Store};

use crate::ingest::{ingest, ingest_at, update};
use crate::{at, tenant_with_key};

/// Every version of `org`'s history, newest first, a page of two at a time.
async fn versions(store: &dyn Store, tenant: TenantId, org: &str) -> Vec<i64> {
    let id = ProductOrgId::parse(org).unwrap();
    let (mut versions, mut cursor) = (Vec::new(), None);
    loop {
        let page = store
            .product_org_history(tenant, &id, &PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        versions.extend(page.items.iter().map(|e| e.version));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return versions,
        }
    }
}

/// History received before the retention goes; what came since stays, read as before. An
/// org whose every change went keeps its values, reads an empty history, and starts a new one
/// with its next change.
pub async fn history_is_swept_by_age(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "history-sweep").await;
    let s = store.as_ref();
    let old = at(-10 * 86_400);
    let count = |org: &str, n| update(org, vec![FieldPatch::UserCount(Some(n))], None);
    for n in 1..=3 {
        let received = old + chrono::Duration::seconds(n);
        ingest_at(s, t.id, &key, received, vec![count("ws_old", n)]).await;
        ingest_at(s, t.id, &key, received, vec![count("ws_mixed", n)]).await;
    }
    for n in 4..=5 {
        ingest(s, t.id, &key, vec![count("ws_mixed", n)]).await;
    }

    let swept = s.sweep_history(at(-7 * 86_400)).await.unwrap();
    assert_eq!(swept, 6, "the three old changes of each org");
    assert_eq!(versions(s, t.id, "ws_mixed").await, [5, 4]);
    assert_eq!(versions(s, t.id, "ws_old").await, Vec::<i64>::new());
    let org = s
        .product_org(t.id, &ProductOrgId::parse("ws_old").unwrap())
        .await
        .unwrap();
    assert_eq!(org.fields.user_count, Some(3), "values are not history");
    assert_eq!(s.sweep_history(at(-7 * 86_400)).await.unwrap(), 0);

    ingest(s, t.id, &key, vec![count("ws_old", 9)]).await;
    assert_eq!(versions(s, t.id, "ws_old").await, [4]);
}

/// A sweep removes all the history past the retention, however many jobs it takes (each store
/// removes 10,000 rows at a time).
pub async fn history_sweeps_past_one_job(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "history-sweep-big").await;
    let s = store.as_ref();
    let old = at(-10 * 86_400);
    for request in 0..11_i64 {
        let updates = (0..1_000)
            .map(|n| {
                update(
                    "ws_busy",
                    vec![FieldPatch::UserCount(Some(request * 1_000 + n))],
                    None,
                )
            })
            .collect();
        ingest_at(
            s,
            t.id,
            &key,
            old + chrono::Duration::seconds(request),
            updates,
        )
        .await;
    }
    ingest(
        s,
        t.id,
        &key,
        vec![update(
            "ws_busy",
            vec![FieldPatch::UserCount(Some(-1))],
            None,
        )],
    )
    .await;
    assert_eq!(s.sweep_history(at(-7 * 86_400)).await.unwrap(), 11_000);
    assert_eq!(versions(s, t.id, "ws_busy").await, [11_001]);
}

/// Stores one signal per name in `names` for `lead`, naming product org `ws_sig`, each
/// received at `received` (one request per signal, as senders send them).
async fn signals_at(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    lead: &str,
    received: DateTime<Utc>,
    names: &[&str],
) {
    let signals: Vec<Signal> = names
        .iter()
        .map(|name| Signal {
            lead_id: LeadId::parse(lead).expect("lead id"),
            email: None,
            product_org_id: Some(ProductOrgId::parse("ws_sig").expect("id")),
            name: Some((*name).into()),
            event_at: None,
            properties: None,
            custom_fields: serde_json::Map::new(),
            message_id: None,
            warnings: Vec::new(),
        })
        .collect();
    let request = SignalRequest {
        log: None,
        key_id: key.clone(),
        received_at: received,
        webhook_id: None,
        signals,
    };
    let answer = store
        .ingest_signals(tenant, request)
        .await
        .expect("signals");
    let IngestResult::Applied(results) = answer else {
        panic!("not a replay")
    };
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

/// The names of `lead`'s newest signals (up to 100), newest first.
async fn signal_names(store: &dyn Store, tenant: TenantId, lead: &str) -> Vec<String> {
    let lead = LeadId::parse(lead).expect("lead id");
    let context = store.evaluation_context(tenant, &lead, 100).await.unwrap();
    context
        .signals
        .into_iter()
        .map(|s| s.name.unwrap_or_default())
        .collect()
}

/// Signals received before the retention go; those since stay. A lead whose every signal
/// went stays, with the product org and target org its signals linked it to.
pub async fn signals_are_swept_by_age(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "signal-sweep").await;
    let s = store.as_ref();
    let create = update("ws_sig", vec![FieldPatch::Name(Some("Sig".into()))], None);
    ingest(s, t.id, &key, vec![create]).await;
    let old = at(-10 * 86_400);
    for n in 1..=3 {
        let received = old + chrono::Duration::seconds(n);
        let name = format!("old_{n}");
        signals_at(s, t.id, &key, "lead_old", received, &[&name]).await;
        signals_at(s, t.id, &key, "lead_mixed", received, &[&name]).await;
    }
    signals_at(s, t.id, &key, "lead_mixed", at(0), &["new_1", "new_2"]).await;
    let lead_old = LeadId::parse("lead_old").unwrap();
    let before = s.lead(t.id, &lead_old).await.unwrap();

    let swept = s.sweep_signals(at(-7 * 86_400)).await.unwrap();
    assert_eq!(swept, 6, "the three old signals of each lead");
    assert_eq!(
        signal_names(s, t.id, "lead_mixed").await,
        ["new_2", "new_1"]
    );
    assert_eq!(
        signal_names(s, t.id, "lead_old").await,
        Vec::<String>::new()
    );
    assert_eq!(
        s.lead(t.id, &lead_old).await.unwrap(),
        before,
        "the lead and its link are not signals"
    );
    assert_eq!(s.sweep_signals(at(-7 * 86_400)).await.unwrap(), 0);

    signals_at(s, t.id, &key, "lead_old", at(0), &["again"]).await;
    assert_eq!(signal_names(s, t.id, "lead_old").await, ["again"]);
}

/// A sweep removes all the signals past the retention, however many jobs it takes (SQLite
/// removes 1,000 signals at a time, PostgreSQL 10,000).
pub async fn signals_sweep_past_one_job(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "signal-sweep-big").await;
    let s = store.as_ref();
    let old = at(-10 * 86_400);
    let names: Vec<String> = (0..1_000).map(|n| format!("s{n}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for request in 0..11_i64 {
        let lead = format!("lead_{}", request % 3);
        let received = old + chrono::Duration::seconds(request);
        signals_at(s, t.id, &key, &lead, received, &names).await;
    }
    signals_at(s, t.id, &key, "lead_0", at(0), &["kept"]).await;
    assert_eq!(s.sweep_signals(at(-7 * 86_400)).await.unwrap(), 11_000);
    assert_eq!(signal_names(s, t.id, "lead_0").await, ["kept"]);
    assert_eq!(signal_names(s, t.id, "lead_1").await, Vec::<String>::new());
}
