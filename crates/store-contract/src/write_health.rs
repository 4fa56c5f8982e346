//! The write health `/readyz` reads: a backend records the writes that fail, and its write
//! probe commits through the same path and alone ends a failure. (A store that really cannot
//! write is tested over HTTP, on a full disk: `tests/disk_full.rs`.)

use std::sync::Arc;

use trailspark_core::FieldPatch;
use trailspark_store::{Store, StoreError};

use crate::ingest::{ingest, update};
use crate::tenant_with_key;

/// The probe commits on a store that can write and ends a failure recorded before it; an
/// update that commits does not (it may fit in space the store already holds), and a refused
/// request records none.
pub async fn the_write_probe_commits_and_alone_ends_a_write_failure(store: Arc<dyn Store>) {
    let health = store
        .write_health()
        .expect("the store records the outcome of its writes");
    assert_eq!(health.failure(), None, "a new store's writes commit");
    let (tenant, key) = tenant_with_key(&store, "writes").await;

    health.failed(&StoreError::unavailable(
        "the disk is full (as the contract says)",
    ));
    let name = FieldPatch::Name(Some("Probe".into()));
    ingest(
        store.as_ref(),
        tenant.id,
        &key,
        vec![update("ws_1", vec![name], None)],
    )
    .await;
    assert!(
        health.failure().is_some(),
        "an update alone does not end it"
    );
    store
        .probe_write()
        .await
        .expect("the probe commits on a store that can write");
    assert_eq!(health.failure(), None, "a committed probe ends it");
    store.probe_write().await.expect("and commits again");
    assert_eq!(health.failure(), None);

    let taken = store.create_tenant(&tenant.subdomain, "Taken").await;
    assert!(
        matches!(taken, Err(StoreError::Conflict { .. })),
        "{taken:?}"
    );
    assert_eq!(
        health.failure(),
        None,
        "a refused write is the request's fault, not the store's"
    );
}
