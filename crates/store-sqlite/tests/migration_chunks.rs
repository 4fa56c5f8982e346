//! Migration 15 marks each chunk of the delivery log with the payloads it keeps, and indexes
//! the chunks holding refusals or payloads: a store written before it reads the same.

use rusqlite::Connection;
use trailspark_core::ApiKeyId;
use trailspark_store::{PageRequest, Store};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

/// What each key's log reads when it looks for its refusals, and for its kept payloads.
async fn refusals_and_payloads(store: &dyn Store, path: &std::path::Path) -> Vec<Vec<String>> {
    let keys: Vec<(i64, String)> = Connection::open(path)
        .unwrap()
        .prepare("SELECT DISTINCT tenant_id, key_id FROM delivery_chunks ORDER BY 1, 2")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut reads = Vec::new();
    for (tenant, key) in keys {
        for (outcome, with_payload) in [
            (Some(trailspark_store::Outcome::Refused), false),
            (None, true),
        ] {
            let query = trailspark_store::DeliveryQuery {
                outcome,
                with_payload,
                page: PageRequest {
                    cursor: None,
                    limit: 1_000,
                },
                ..Default::default()
            };
            let page = store
                .deliveries(
                    trailspark_core::TenantId(tenant),
                    &ApiKeyId(key.clone()),
                    &query,
                )
                .await
                .unwrap();
            reads.push(
                page.items
                    .iter()
                    .map(|d| format!("{} {:?}", d.id, d.row.payload))
                    .collect(),
            );
        }
    }
    reads
}

/// Migration 15 marks each chunk of the log with the payloads it keeps, as the writer would
/// have: a read of kept payloads finds the same entries before and after.
#[tokio::test]
async fn the_chunks_holding_payloads_are_marked_as_the_writer_would_have() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let open = || async {
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn Store>
    };
    let store = open().await;
    trailspark_store_contract::delivery_log_filters_and_pages(store.clone()).await;
    let written = refusals_and_payloads(store.as_ref(), &path).await;
    assert!(
        written
            .iter()
            .any(|read| read.iter().any(|d| d.contains("Some("))),
        "{written:?}"
    );
    drop(store);

    // The file as the trailspark before migration 15 left it: no marks, no indexes (and none of
    // the later migrations).
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DROP INDEX delivery_chunks_refused; DROP INDEX delivery_chunks_kept;
             ALTER TABLE delivery_chunks DROP COLUMN kept; DROP INDEX signals_received;
             DELETE FROM schema_migrations WHERE version >= 15",
        )
        .unwrap();
    let store = open().await;
    assert_eq!(refusals_and_payloads(store.as_ref(), &path).await, written);
}
