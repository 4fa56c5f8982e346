//! The write-ahead log stays bounded under sustained writes: the checkpointer copies it while
//! the writer goes on and hands the writer the last frames, so the log starts over instead of
//! growing for as long as writes keep coming.

use std::sync::Arc;

use trailspark_core::{FieldPatch, ProductOrgId, Update};
use trailspark_store::{IngestRequest, IngestResult, Store};
use trailspark_store_contract::{at, tenant_with_key};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

const WRITERS: usize = 32;
const UPDATES_EACH: usize = 250;
/// A small checkpoint size (1 MiB), so that 8,000 updates go through many cycles of the WAL.
const CHECKPOINT_FRAMES: i64 = 256;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(
            &path,
            SqliteOptions {
                checkpoint_frames: CHECKPOINT_FRAMES,
                ..SqliteOptions::default()
            },
        )
        .await
        .unwrap(),
    );
    let (tenant, key) = tenant_with_key(&store, "wal").await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                for n in 0..UPDATES_EACH {
                    let request = IngestRequest {
                        log: None,
                        key_id: key.clone(),
                        received_at: at(1_000),
                        webhook_id: None,
                        updates: vec![Update {
                            product_org_id: ProductOrgId::parse(format!("ws_{writer}_{n}"))
                                .unwrap(),
                            patches: vec![FieldPatch::Name(Some(format!("Workspace {n}")))],
                            event_at: None,
                            message_id: Some(format!("m-{writer}-{n}")),
                            warnings: Vec::new(),
                        }],
                    };
                    let result = store.ingest(tenant.id, request).await.unwrap();
                    assert!(matches!(result, IngestResult::Applied(_)));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let wal = std::fs::metadata(dir.path().join("wal.db-wal"))
        .unwrap()
        .len();
    let database = std::fs::metadata(&path).unwrap().len();
    // 8,000 new orgs, each a product org, a target org, a history row and a dedupe row: some
    // tens of MiB of pages written to the log in all (the old code, whose log never started
    // over, left 174 MB). A log that starts over stays within its bound: four times the
    // checkpoint size, 4 MiB here, and the batches committed while the writer reaches it.
    assert!(
        wal <= (CHECKPOINT_FRAMES * 4 * 4_096) as u64 + (2 << 20),
        "the WAL grew to {wal} bytes (database file: {database} bytes)"
    );
    assert!(
        database > 2 << 20,
        "the updates were copied into the database file ({database} bytes)"
    );
    store.close().await;
    let wal = std::fs::metadata(dir.path().join("wal.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "closing leaves an empty WAL");
}
