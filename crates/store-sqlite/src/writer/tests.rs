//! Tests of the single writer: batches, and what a failure in one does to the others.

use std::sync::Arc;

use super::testing::Gate;
use super::*;

/// The answers of spawned writes, in the order they were spawned.
async fn answers_of(jobs: Vec<tokio::task::JoinHandle<StoreResult<()>>>) -> Vec<StoreResult<()>> {
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        answers.push(job.await.expect("write task"));
    }
    answers
}

/// A store's schema, which the writer's commit needs (it moves the rows staged for search),
/// and a table `t` for the tests' own writes.
fn store_with_table_t(path: &Path) {
    let mut conn = db::connect(path, Duration::from_secs(1)).unwrap();
    db::migrate(&mut conn).unwrap();
    conn.execute_batch("CREATE TABLE t (v TEXT)").unwrap();
}

/// Batches and a queue of 64 jobs, a checkpoint every 1,000 frames.
fn small_options() -> crate::SqliteOptions {
    crate::SqliteOptions {
        busy_timeout: Duration::from_secs(1),
        max_batch: 64,
        queue_capacity: 64,
        checkpoint_frames: 1_000,
        ..crate::SqliteOptions::default()
    }
}

/// A failed job in a batch is rolled back alone: its neighbours commit and are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    store_with_table_t(&path);
    let writer = Arc::new(Writer::start(&path, &small_options()).unwrap());
    // Hold the writer, so that the next jobs queue up, in order, and form one batch.
    let gate = Gate::default();
    let held = {
        let (w, gate) = (Arc::clone(&writer), gate.clone());
        tokio::spawn(async move {
            w.write(move |_, _| {
                gate.wait();
                Ok(())
            })
            .await
        })
    };
    gate.reached().await;
    let before = writer.stats.stats();
    let mut jobs = Vec::new();
    for (v, fail) in [("good", false), ("bad", true), ("other", false)] {
        let w = Arc::clone(&writer);
        jobs.push(tokio::spawn(async move {
            w.write(move |conn, _| {
                conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
                    .map_err(sqlite_error)?;
                if fail {
                    return Err(StoreError::other("refused"));
                }
                Ok(())
            })
            .await
        }));
        writer.queued_reaches(jobs.len()).await;
    }
    gate.open();
    assert!(held.await.unwrap().is_ok());
    let answers: Vec<_> = answers_of(jobs).await;
    assert!(answers[0].is_ok(), "good: {:?}", answers[0]);
    assert!(
        matches!(answers[1], Err(StoreError::Other { .. })),
        "bad: {:?}",
        answers[1]
    );
    assert!(answers[2].is_ok(), "other: {:?}", answers[2]);
    let after = writer.stats.stats();
    assert_eq!(
        (
            after.commits - before.commits,
            after.requests - before.requests
        ),
        (1, 3),
        "the three jobs were one batch"
    );
    assert_eq!(
        after.split - before.split,
        1,
        "which failed whole once and was run again a job at a time"
    );
    writer.close().await;
    let conn = db::connect(&path, Duration::from_secs(1)).unwrap();
    let mut values: Vec<String> = conn
        .prepare("SELECT v FROM t")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    values.sort();
    assert_eq!(
        values,
        ["good", "other"],
        "the failed job's insert was rolled back, only it"
    );
}

/// A batch whose COMMIT fails is rolled back, not left open: a deferred foreign key is checked
/// only at COMMIT, and SQLite keeps the transaction open when it fails there. Left open, every
/// later batch's BEGIN would fail and the store would take no write until a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_commit_fails_is_rolled_back_and_the_next_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    store_with_table_t(&path);
    db::connect(&path, Duration::from_secs(1))
        .unwrap()
        .execute_batch(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
        )
        .unwrap();
    let writer = Writer::start(&path, &small_options()).unwrap();
    let orphan = writer
        .write(|conn, _| {
            conn.execute("INSERT INTO child (parent) VALUES (1)", [])
                .map(drop)
                .map_err(sqlite_error)
        })
        .await;
    assert!(
        orphan.is_err(),
        "a batch whose COMMIT failed is not acknowledged: {orphan:?}"
    );
    let next = writer
        .write(|conn, _| {
            conn.execute("INSERT INTO t (v) VALUES ('next')", [])
                .map(drop)
                .map_err(sqlite_error)
        })
        .await;
    assert!(next.is_ok(), "the next batch commits: {next:?}");
    writer.close().await;
    let conn = db::connect(&path, Duration::from_secs(1)).unwrap();
    let counts: (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM child), (SELECT count(*) FROM t)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        counts,
        (0, 1),
        "the failed batch left nothing, the next is stored"
    );
}

/// A commit is answered only once the WAL is durable: when the sync fails, the jobs of the
/// batch are refused as unavailable (503, so senders retry), never acknowledged, and the
/// store's write health says so (`/readyz`) until a probe commits; once syncs work again, so
/// do writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_is_unavailable_never_ok() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    store_with_table_t(&path);
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sync: SyncWal = {
        let failing = Arc::clone(&failing);
        Box::new(move || {
            if failing.load(std::sync::atomic::Ordering::SeqCst) {
                Err(std::io::Error::other("the disk refused the sync"))
            } else {
                Ok(())
            }
        })
    };
    let writer = Writer::start_syncing(&path, &small_options(), sync).unwrap();
    let insert = |v: &'static str| {
        writer.write(move |conn, _| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
                .map(drop)
                .map_err(sqlite_error)
        })
    };
    match insert("unsynced").await {
        Err(e @ StoreError::Unavailable { .. }) => {
            assert!(e.chain().contains("the disk refused the sync"), "{e:?}");
        }
        other => panic!("a write whose flush failed was answered {other:?}"),
    }
    let failure = writer
        .health
        .failure()
        .expect("a failed flush is a failed write");
    assert!(
        failure.cause.contains("the disk refused the sync"),
        "{failure:?}"
    );
    failing.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(
        insert("synced").await.is_ok(),
        "the next write, flushed, is acknowledged"
    );
    assert!(
        writer.health.failure().is_some(),
        "only a probe ends a failure"
    );
    writer.probe().await.expect("the probe commits");
    assert_eq!(
        writer.health.failure(),
        None,
        "and writes are healthy again"
    );
    writer.close().await;
}

/// The delivery log entries of a batch are written as one chunk per key when it commits; a
/// job that fails takes its own entries with it, and its neighbours' stay, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_logs_nothing_and_its_neighbours_log_one_chunk() {
    use trailspark_core::{ApiKeyId, TenantId};
    use trailspark_store::{DeliveryRow, Intake, Outcome, Store};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    // The store's own schema, with the log's tables.
    crate::SqliteStore::open(&path, crate::SqliteOptions::default())
        .await
        .unwrap()
        .close()
        .await;
    let writer = Arc::new(Writer::start(&path, &small_options()).unwrap());
    let gate = Gate::default();
    let held = {
        let (w, gate) = (Arc::clone(&writer), gate.clone());
        tokio::spawn(async move {
            w.write(move |_, _| {
                gate.wait();
                Ok(())
            })
            .await
        })
    };
    gate.reached().await;
    let row = |request: &str| DeliveryRow {
        request_id: request.into(),
        index: None,
        received_at: chrono::Utc::now(),
        intake: Intake::Webhook,
        status: 200,
        outcome: Outcome::Applied,
        code: None,
        message: None,
        product_org_id: Some(format!("org-of-{request}")),
        lead_id: None,
        target_org_id: None,
        changed: true,
        unchanged_reason: None,
        warnings: None,
        template_version: 1,
        payload: Some(format!("payload of {request}")),
        replay_of: None,
        changed_fields: Vec::new(),
    };
    let mut jobs = Vec::new();
    for (request, fail) in [("good", false), ("bad", true), ("other", false)] {
        let w = Arc::clone(&writer);
        let rows = vec![row(request)];
        jobs.push(tokio::spawn(async move {
            w.write(move |ctx, _| {
                ctx.log
                    .borrow_mut()
                    .push(TenantId(1), &ApiKeyId("k".into()), rows.clone());
                if fail {
                    return Err(StoreError::other("refused"));
                }
                Ok(())
            })
            .await
        }));
        writer.queued_reaches(jobs.len()).await;
    }
    gate.open();
    assert!(held.await.unwrap().is_ok());
    let answers = answers_of(jobs).await;
    assert!(answers[0].is_ok() && answers[1].is_err() && answers[2].is_ok());
    writer.close().await;
    let conn = db::connect(&path, Duration::from_secs(1)).unwrap();
    let chunks: Vec<(i64, String)> = conn
        .prepare("SELECT live, entries FROM delivery_chunks")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(chunks.len(), 1, "one chunk for the key: {chunks:?}");
    let (live, entries) = &chunks[0];
    assert_eq!(*live, 2);
    let requests: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(entries)
        .unwrap()
        .iter()
        .map(|e| e[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(requests, ["good", "other"]);
    let payloads: Vec<String> = conn
        .prepare("SELECT payload FROM delivery_payloads ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(payloads, ["payload of good", "payload of other"]);
}

/// The writer's connection keeps the page cache it was given, and its statement journals in
/// memory (not in a temporary file, one write call a page).
#[tokio::test]
async fn the_writer_keeps_its_page_cache_and_its_statement_journals_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    store_with_table_t(&path);
    let options = crate::SqliteOptions {
        page_cache_bytes: 3 << 20,
        ..small_options()
    };
    let writer = Writer::start(&path, &options).unwrap();
    let (cache_size, temp_store) = writer
        .write(|ctx, _| {
            let pragma = |name: &str| {
                ctx.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
                    .map_err(sqlite_error)
            };
            Ok((pragma("cache_size")?, pragma("temp_store")?))
        })
        .await
        .unwrap();
    assert_eq!(cache_size, -3072, "3 MiB, in KiB");
    assert_eq!(temp_store, 2, "MEMORY");
}
