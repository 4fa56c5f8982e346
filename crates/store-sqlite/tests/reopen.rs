//! The writer keeps the product orgs it knows in memory, so a rule can hold in that copy and
//! not in the file. Reopening the store drops the copy: what the rules decide afterwards comes
//! from the file alone.

use std::path::Path;
use std::sync::Arc;

use trailspark_core::{ApiKeyId, FieldPatch, ProductOrgId, TenantId, Update};
use trailspark_store::{IngestRequest, IngestResult, Store};
use trailspark_store_contract::{at, tenant_with_key};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

async fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(path, SqliteOptions::default())
            .await
            .expect("open store"),
    )
}

/// Sets the plan of `ws_c` with event time `event` (seconds), received soon after.
async fn plan(store: &dyn Store, tenant: TenantId, key: &ApiKeyId, name: &str, event: i64) {
    let request = IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at: at(1_000 + event),
        webhook_id: None,
        updates: vec![Update {
            product_org_id: ProductOrgId::parse("ws_c").unwrap(),
            patches: vec![FieldPatch::PlanId(Some(name.into()))],
            event_at: Some(at(event)),
            message_id: None,
            warnings: Vec::new(),
        }],
    };
    let result = store.ingest(tenant, request).await.expect("ingest");
    assert!(matches!(result, IngestResult::Applied(_)), "{result:?}");
}

/// An update with the same value and a newer eventTimestamp writes only the field clock; that
/// write must reach the file, or an older update arriving after a restart wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_only_write_reaches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    let store = open(&path).await;
    let (tenant, key) = tenant_with_key(&store, "reopen").await;
    plan(store.as_ref(), tenant.id, &key, "pro", 20).await;
    plan(store.as_ref(), tenant.id, &key, "pro", 40).await;
    store.close().await;
    drop(store);

    let store = open(&path).await;
    plan(store.as_ref(), tenant.id, &key, "basic", 30).await;
    let org = store
        .product_org(tenant.id, &ProductOrgId::parse("ws_c").unwrap())
        .await
        .unwrap();
    assert_eq!(
        org.fields.plan_id.as_deref(),
        Some("pro"),
        "after a reopen, the update at 30 s lost to the unchanged one at 40 s"
    );
    store.close().await;
}
