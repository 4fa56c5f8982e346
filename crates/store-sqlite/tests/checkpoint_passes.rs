//! The checkpointer copies the WAL in passes before it is large enough to start over. Apart
//! from `wal.rs`, whose bound on the WAL needs the checkpointer to keep up: cargo runs the
//! tests of one file at once, and this one's writes would compete with it for the cores.

use std::sync::Arc;

use trailspark_core::{FieldPatch, ProductOrgId, Update};
use trailspark_store::{IngestRequest, Store};
use trailspark_store_contract::{at, tenant_with_key};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

/// The checkpointer starts copying the WAL at a quarter of its checkpoint size and goes on in
/// passes, so that no copy is one long fsync of the whole; the WAL still starts over only at
/// the full size. Catches copying that starts only once the WAL is large enough to start over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copying_starts_before_the_wal_is_large_enough_to_start_over() {
    // Starts over at 4,096 frames (16 MiB); copying starts at 1,024 (4 MiB).
    const RESTART_FRAMES: i64 = 4_096;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    let options = SqliteOptions {
        checkpoint_frames: RESTART_FRAMES,
        ..SqliteOptions::default()
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, options).await.unwrap());
    let (tenant, key) = tenant_with_key(&store, "copy").await;
    let size = |file: &str| std::fs::metadata(dir.path().join(file)).map_or(0, |m| m.len());
    let before = size("copy.db");
    // Writes until the WAL holds about half of the size at which it starts over.
    let mut sent = 0;
    while size("copy.db-wal") < (RESTART_FRAMES * 4_096 / 2) as u64 {
        assert!(
            sent < 40_000,
            "the WAL stayed at {} bytes",
            size("copy.db-wal")
        );
        let requests: Vec<_> = (sent..sent + 64)
            .map(|n| {
                let (store, key) = (Arc::clone(&store), key.clone());
                tokio::spawn(async move {
                    let request = IngestRequest {
                        log: None,
                        key_id: key,
                        received_at: at(1_000),
                        webhook_id: None,
                        updates: vec![Update {
                            product_org_id: ProductOrgId::parse(format!("ws_{n}")).unwrap(),
                            patches: vec![FieldPatch::Name(Some(format!("Workspace {n}")))],
                            event_at: None,
                            message_id: Some(format!("m-{n}")),
                            warnings: Vec::new(),
                        }],
                    };
                    store.ingest(tenant.id, request).await.unwrap()
                })
            })
            .collect();
        for request in requests {
            request.await.unwrap();
        }
        sent += 64;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size("copy.db") < before + (1 << 20) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        size("copy.db") >= before + (1 << 20),
        "nothing copied into the database file ({} bytes, {before} before) with {} bytes of WAL",
        size("copy.db"),
        size("copy.db-wal")
    );
    store.close().await;
}
