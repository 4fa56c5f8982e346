//! Tests of the ingest path inside the writer: its memory of product orgs, dedupe sweeps.

use std::sync::Arc;

use chrono::Duration;

use trailspark_core::FieldPatch;
use trailspark_store::Store;

use super::*;
use crate::dedupe::{sweep_expired, SWEEP_ROWS};
use crate::writer::testing::Gate;
use crate::{SqliteOptions, SqliteStore};

async fn store() -> (Arc<SqliteStore>, TenantId, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db"), SqliteOptions::default())
        .await
        .unwrap();
    let tenant = store
        .create_default_tenant_if_empty()
        .await
        .unwrap()
        .unwrap();
    (Arc::new(store), tenant.id, dir)
}

fn request(org: &str, plan: &str) -> IngestRequest {
    IngestRequest {
        log: None,
        key_id: ApiKeyId("key_test".into()),
        received_at: Utc::now(),
        webhook_id: None,
        updates: vec![Update {
            product_org_id: ProductOrgId::parse(org).unwrap(),
            patches: vec![FieldPatch::PlanId(Some(plan.into()))],
            event_at: None,
            message_id: None,
            warnings: Vec::new(),
        }],
    }
}

/// Holds the writer thread in a job of its own until the gate opens: the writes sent meanwhile
/// queue up, in order, and form the next batch. The held job's task is returned with the gate.
async fn hold_writer(store: &Arc<SqliteStore>) -> (Gate, tokio::task::JoinHandle<StoreResult<()>>) {
    let gate = Gate::default();
    let held = {
        let (store, gate) = (Arc::clone(store), gate.clone());
        tokio::spawn(async move {
            store
                .writer
                .write(move |_, _| {
                    gate.wait();
                    Ok(())
                })
                .await
        })
    };
    gate.reached().await;
    (gate, held)
}

/// The transactions the writer committed since `before`, and the writes they carried.
fn batches_since(store: &SqliteStore, before: trailspark_store::CommitStats) -> (u64, u64) {
    let after = store.writer.stats.stats();
    (
        after.commits - before.commits,
        after.requests - before.requests,
    )
}

fn applied(result: IngestResult) -> Applied {
    match result {
        IngestResult::Applied(mut results) => results.pop().unwrap().unwrap(),
        IngestResult::Replayed => panic!("replayed"),
    }
}

/// A batch that fails is run again, each job alone: what its first run left in the writer's
/// memory must not survive the rollback (the org would then be "known" but not stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_batch_leaves_nothing_in_memory() {
    let (store, tenant, _dir) = store().await;
    // Hold the writer, so that the next two jobs queue up, in this order, and form one batch.
    let (gate, held) = hold_writer(&store).await;
    let before = store.writer.stats.stats();
    let first = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.ingest(tenant, request("ws_new", "pro")).await })
    };
    store.writer.queued_reaches(1).await;
    let failing = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .writer
                .write(|_, _| Err::<(), _>(StoreError::other("refused")))
                .await
        })
    };
    store.writer.queued_reaches(2).await;
    gate.open();
    held.await.unwrap().unwrap();
    assert!(failing.await.unwrap().is_err());
    let first = applied(first.await.unwrap().unwrap());
    assert!(first.is_new_org, "the rerun found the org new, as it is");
    assert_eq!(
        batches_since(&store, before),
        (1, 2),
        "the update and the failing job were one batch"
    );
    let org = store
        .product_org(tenant, &ProductOrgId::parse("ws_new").unwrap())
        .await
        .expect("the org was stored by the rerun");
    assert_eq!(org.fields.plan_id.as_deref(), Some("pro"));
    let again = applied(
        store
            .ingest(tenant, request("ws_new", "basic"))
            .await
            .unwrap(),
    );
    assert!(!again.is_new_org && again.changed);
}

/// Another connection (a CLI command, another process) writes a product org the writer
/// holds in memory: the writer reads it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_by_another_connection_is_seen() {
    let (store, tenant, dir) = store().await;
    let a = applied(store.ingest(tenant, request("ws_a", "pro")).await.unwrap());
    let b = applied(store.ingest(tenant, request("ws_b", "pro")).await.unwrap());
    assert_ne!(a.target_org_id, b.target_org_id);
    let other = Connection::open(dir.path().join("t.db")).unwrap();
    other
        .execute(
            "UPDATE product_orgs SET target_org_id = ?1 WHERE product_org_id = 'ws_a'",
            [b.target_org_id.0],
        )
        .unwrap();
    let after = applied(
        store
            .ingest(tenant, request("ws_a", "basic"))
            .await
            .unwrap(),
    );
    assert_eq!(after.target_org_id, b.target_org_id);
}

/// Stores dedupe rows (messageId, processed at) of key `key_test` through a connection of
/// its own, as if written long ago.
fn insert_dedupe_rows(
    dir: &tempfile::TempDir,
    tenant: TenantId,
    rows: impl Iterator<Item = (String, i64)>,
) {
    let conn = Connection::open(dir.path().join("t.db")).unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    let mut insert = tx
        .prepare(
            "INSERT INTO processed_messages
                 (tenant_id, key_id, message_id, outcome, processed_at)
             VALUES (?1, 'key_test', ?2, '{}', ?3)",
        )
        .unwrap();
    for (message, at) in rows {
        insert.execute((tenant.0, message, at)).unwrap();
    }
    drop(insert);
    tx.commit().unwrap();
}

/// Expired dedupe rows go, a sweep at a time, going round the table; recent ones stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_delete_expired_dedupe_rows_only() {
    let (store, tenant, dir) = store().await;
    let old = micros(&(Utc::now() - Duration::hours(25)));
    let recent = micros(&(Utc::now() - Duration::hours(1)));
    let rows = (SWEEP_ROWS * 2 + 500) as usize;
    insert_dedupe_rows(
        &dir,
        tenant,
        (0..rows).map(|n| (format!("m{n:06}"), if n % 2 == 0 { old } else { recent })),
    );
    let count = |store: Arc<SqliteStore>| async move {
        store
            .read(|conn| {
                conn.query_row("SELECT COUNT(*) FROM processed_messages", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map_err(sqlite_error)
            })
            .await
            .unwrap()
    };
    let sweep = |store: Arc<SqliteStore>| async move {
        store
            .writer
            .write(|ctx, _| sweep_expired(ctx))
            .await
            .unwrap();
    };
    sweep(Arc::clone(&store)).await;
    let after_one = count(Arc::clone(&store)).await;
    assert_eq!(
        after_one,
        rows as i64 - SWEEP_ROWS / 2,
        "one sweep looks at {SWEEP_ROWS} rows"
    );
    for _ in 0..3 {
        sweep(Arc::clone(&store)).await;
    }
    assert_eq!(
        count(Arc::clone(&store)).await,
        rows as i64 / 2,
        "the sweeps went round: only the recent half is left"
    );
}

/// At a high rate, sweeps come by count, not only every few seconds: once half a sweep's
/// worth of messageIds was stored, the writer sweeps after that batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_new_message_ids_bring_the_next_sweep() {
    let (store, tenant, dir) = store().await;
    let half = SWEEP_ROWS as usize / 2;
    let expired = micros(&(Utc::now() - Duration::hours(25)));
    insert_dedupe_rows(
        &dir,
        tenant,
        (0..half).map(|n| (format!("a{n:06}"), expired)),
    );
    let messages = move |from: usize, count: usize| IngestRequest {
        log: None,
        key_id: ApiKeyId("key_test".into()),
        received_at: Utc::now(),
        webhook_id: None,
        updates: (from..from + count)
            .map(|n| Update {
                product_org_id: ProductOrgId::parse("ws_sweep").unwrap(),
                patches: vec![FieldPatch::UserCount(Some(n as i64))],
                event_at: None,
                message_id: Some(format!("z{n:06}")),
                warnings: Vec::new(),
            })
            .collect(),
    };
    // One job, so that no timed sweep can come between the two looks.
    let (before, after) = store
        .writer
        .write(move |ctx, mode| {
            ingest(ctx, mode, tenant, &messages(0, half - 1))?;
            let before = ctx.dedupe.sweep_due();
            ingest(ctx, mode, tenant, &messages(half - 1, 1))?;
            Ok((before, ctx.dedupe.sweep_due()))
        })
        .await
        .unwrap();
    assert!(
        !before,
        "{} new messageIds do not call for a sweep",
        half - 1
    );
    assert!(after, "{half} new messageIds call for a sweep");
    let still_due = store
        .writer
        .write(|ctx, _| Ok(ctx.dedupe.sweep_due()))
        .await
        .unwrap();
    assert!(!still_due, "the writer swept after that batch");
    let (expired, new): (i64, i64) = store
        .read(|conn| {
            conn.query_row(
                "SELECT COUNT(*) FILTER (WHERE message_id LIKE 'a%'),
                        COUNT(*) FILTER (WHERE message_id LIKE 'z%')
                 FROM processed_messages",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sqlite_error)
        })
        .await
        .unwrap();
    assert_eq!(
        (expired, new),
        (0, half as i64),
        "the expired rows went, the new stayed"
    );
}

/// Signals' messageIds count towards the next sweep as product org updates' do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_message_ids_bring_the_next_sweep_too() {
    let (store, tenant, _dir) = store().await;
    let half = SWEEP_ROWS as usize / 2;
    let signals = move |from: usize, count: usize| trailspark_store::SignalRequest {
        log: None,
        key_id: ApiKeyId("key_test".into()),
        received_at: Utc::now(),
        webhook_id: None,
        signals: (from..from + count)
            .map(|n| trailspark_core::signal::Signal {
                lead_id: trailspark_core::LeadId::parse("ada@example.com").unwrap(),
                email: Some("ada@example.com".into()),
                product_org_id: None,
                name: Some("Invited teammate".into()),
                event_at: None,
                properties: None,
                custom_fields: serde_json::Map::new(),
                message_id: Some(format!("s{n:06}")),
                warnings: Vec::new(),
            })
            .collect(),
    };
    let (before, after) = store
        .writer
        .write(move |ctx, mode| {
            crate::signals::ingest_signals(ctx, mode, tenant, &signals(0, half - 1))?;
            let before = ctx.dedupe.sweep_due();
            crate::signals::ingest_signals(ctx, mode, tenant, &signals(half - 1, 1))?;
            Ok((before, ctx.dedupe.sweep_due()))
        })
        .await
        .unwrap();
    assert!(
        !before && after,
        "the {half}th signal messageId calls for a sweep"
    );
}

/// A commit ends what the writer must forget on a rollback: the orgs a committed transaction
/// touched are no longer listed (the list would otherwise grow with every update, outside the
/// cache's byte budget, and a later rollback would forget orgs that are stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_empties_the_list_of_orgs_a_rollback_forgets() {
    let (store, tenant, _dir) = store().await;
    for n in 0..3 {
        applied(
            store
                .ingest(tenant, request(&format!("ws_{n}"), "pro"))
                .await
                .unwrap(),
        );
    }
    let touched = store
        .writer
        .write(|ctx, _| Ok(ctx.ingest.borrow().orgs.touched.len()))
        .await
        .unwrap();
    assert_eq!(touched, 0);
}

/// Requests queued behind the writer form batches of at most `BATCH_UPDATES` updates as well
/// as of `max_batch` requests: three requests of more than half that many take two commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_stops_taking_requests_at_its_updates_bound() {
    let (store, tenant, _dir) = store().await;
    let (gate, held) = hold_writer(&store).await;
    let before = store.writer.stats.stats();
    let half = crate::writer::BATCH_UPDATES / 2 + 1;
    let mut queued = Vec::new();
    for r in 0..3 {
        let mut heavy = request("ws_0", "pro");
        heavy.updates = (0..half)
            .map(|n| request(&format!("ws_{r}_{n}"), "pro").updates.remove(0))
            .collect();
        let writing = Arc::clone(&store);
        queued.push(tokio::spawn(
            async move { writing.ingest(tenant, heavy).await },
        ));
        store.writer.queued_reaches(queued.len()).await;
    }
    gate.open();
    held.await.unwrap().unwrap();
    for task in queued {
        assert!(matches!(task.await.unwrap(), Ok(IngestResult::Applied(_))));
    }
    assert_eq!(
        batches_since(&store, before),
        (2, 3),
        "three heavy requests in two batches"
    );
}
