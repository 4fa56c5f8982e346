//! The SQLite store's write paths where the contract suite leaves a mutant alive (issue 21,
//! cargo-mutants over the stores' write paths): each test names the mutant it catches. Those
//! that hold for both stores are contract cases (`signal_writes`).

use std::sync::Arc;

use trailspark_core::{ApiKeyId, FieldPatch, ProductOrgId, TargetOrgId, TenantId, Update};
use trailspark_store::{
    DeliveryQuery, IngestRequest, IngestResult, Intake, NewDelivery, PageRequest, Refusal,
    RequestLog, Store, StoreError, StoreResult, Verdict,
};
use trailspark_store_contract::{arrival, at, tenant_with_key};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

async fn open() -> (Arc<dyn Store>, tempfile::TempDir) {
    open_with(SqliteOptions::default()).await
}

async fn open_with(options: SqliteOptions) -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("write_paths.db"), options)
        .await
        .expect("open store");
    (Arc::new(store), dir)
}

/// An update the store cannot apply (here: of a tenant that does not exist, so no target org
/// id can be taken for its new org) is refused alone, its request answered update by update,
/// also when the request shares its batch with another write that fails: the writer then runs
/// the batch again, each job alone, and each update must still have its own savepoint.
/// Catches `dedupe.rs` `each_in_savepoint`: `mode == Mode::Fast` → `!=` (no savepoints in
/// the isolated run: the failed update failed its whole request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_update_is_refused_alone_in_a_batch_with_a_failed_write() {
    let (store, _dir) = open().await;
    let (t, key) = tenant_with_key(&store, "isolated").await;
    let created = ingest(store.as_ref(), t.id, &key, "ws_i").await;
    let IngestResult::Applied(created) = created.expect("ingest") else {
        panic!("not a replay")
    };
    assert!(created[0].is_ok(), "{created:?}");
    // Many writes at once, so that they queue behind each other and share batches: moves to a
    // target org that does not exist (each fails its job) between requests whose update fails.
    let mut requests = Vec::new();
    let mut moves = Vec::new();
    for n in 0..40_i64 {
        let (store, key) = (Arc::clone(&store), key.clone());
        if n % 2 == 0 {
            moves.push(tokio::spawn(async move {
                let id = ProductOrgId::parse("ws_i").expect("id");
                store
                    .move_product_org(t.id, &id, TargetOrgId(1_000_000 + n))
                    .await
            }));
        } else {
            requests.push(tokio::spawn(async move {
                ingest(
                    store.as_ref(),
                    TenantId(1_000_000 + n),
                    &key,
                    &format!("ws_{n}"),
                )
                .await
            }));
        }
    }
    for moved in moves {
        let moved = moved.await.expect("move task");
        assert!(
            matches!(moved, Err(StoreError::NotFound(_))),
            "a move to a target org that does not exist fails: {moved:?}"
        );
    }
    for request in requests {
        let answer = request.await.expect("ingest task");
        assert!(
            matches!(&answer, Ok(IngestResult::Applied(results)) if results.len() == 1 && results[0].is_err()),
            "the update is refused alone, its request answered: {answer:?}"
        );
    }
    let stats = store.commit_stats();
    assert!(
        stats.requests > stats.commits,
        "the writes shared batches, which this test is about: {stats:?}"
    );
}

/// `max_batch` is the most requests one transaction takes: with 1, each request commits alone
/// however many wait; with more, the same load shares transactions (so the first half is no
/// accident of a load that never queued). Catches `writer/mod.rs` `run`: `batch.len() <
/// max_batch` → `<=` (a batch took one request more than its limit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_takes_at_most_max_batch_requests() {
    for (max_batch, shared) in [(1, false), (8, true)] {
        let (store, _dir) = open_with(SqliteOptions {
            max_batch,
            ..SqliteOptions::default()
        })
        .await;
        let (t, key) = tenant_with_key(&store, "batches").await;
        let before = store.commit_stats();
        let requests: Vec<_> = (0..40)
            .map(|n| {
                let (store, key) = (Arc::clone(&store), key.clone());
                tokio::spawn(
                    async move { ingest(store.as_ref(), t.id, &key, &format!("ws_{n}")).await },
                )
            })
            .collect();
        for request in requests {
            request.await.expect("task").expect("ingest");
        }
        let after = store.commit_stats();
        let (commits, sent) = (
            after.commits - before.commits,
            after.requests - before.requests,
        );
        assert_eq!(sent, 40, "every request was counted");
        assert_eq!(
            commits < sent,
            shared,
            "max_batch {max_batch}: {sent} requests in {commits} transactions"
        );
    }
}

/// Another process writing the same file (a second instance, a CLI command) changes a product
/// org this writer holds in memory right after its own last write: the writer's next update of
/// that org starts from the stored org, not from its memory. Catches `ingest/mod.rs`
/// `State::began`: `version != self.data_version` → `==` (memory kept when the file changed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_after_another_process_wrote_the_org_starts_from_the_stored_org() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    let first: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&path, SqliteOptions::default())
            .await
            .expect("open store"),
    );
    let (t, key) = tenant_with_key(&first, "two-writers").await;
    let second = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("open the same file again");
    let plan = |plan: &str, event: i64| Update {
        product_org_id: ProductOrgId::parse("ws_shared").expect("id"),
        patches: vec![FieldPatch::PlanId(Some(plan.into()))],
        event_at: Some(at(event)),
        message_id: None,
        warnings: Vec::new(),
    };
    let mrr = Update {
        patches: vec![FieldPatch::Mrr(Some(5))],
        ..plan("unused", 30)
    };
    for (store, update) in [
        (first.as_ref(), plan("pro", 10)),
        (&second as &dyn Store, plan("basic", 20)),
        (first.as_ref(), mrr),
    ] {
        let answer = send(store, t.id, &key, update).await;
        assert!(
            matches!(&answer, Ok(IngestResult::Applied(r)) if r.iter().all(Result::is_ok)),
            "{answer:?}"
        );
    }
    second.close().await;
    let org = first
        .product_org(t.id, &ProductOrgId::parse("ws_shared").expect("id"))
        .await
        .expect("org");
    assert_eq!(
        org.fields.plan_id.as_deref(),
        Some("basic"),
        "the other process's newer plan is kept"
    );
    assert_eq!(org.fields.mrr, Some(5));
}

/// Closing the store lets what was sent commit and leaves an empty WAL, so that the file
/// alone is the whole store (to copy, back up or move once the service stopped), and it takes
/// no write after. Catches `writer/mod.rs` `Writer::close` → `()` (the writer went on, its
/// last checkpoint never ran).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_leaves_the_whole_store_in_its_file() {
    let (store, dir) = open().await;
    let (t, key) = tenant_with_key(&store, "closing").await;
    for n in 0..20 {
        ingest(store.as_ref(), t.id, &key, &format!("ws_{n}"))
            .await
            .expect("ingest");
    }
    store.close().await;
    let wal = dir.path().join("write_paths.db-wal");
    let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(left, 0, "the WAL is empty once the store is closed");
    let after = ingest(store.as_ref(), t.id, &key, "ws_late").await;
    assert!(after.is_err(), "a closed store takes no write: {after:?}");
}

/// A sweep of the delivery log removes the entries received before its cut, and keeps those
/// received at the cut itself, also in the chunks of the log it sweeps (requests sent at once
/// share a chunk, so older entries and entries at the cut lie in the same ones). Catches
/// `deliveries/sweep.rs` `sweep`: `e.at < before` → `<=` (entries at the cut went too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_sweep_keeps_the_entries_received_at_its_cut() {
    let (store, _dir) = open().await;
    let (t, key) = tenant_with_key(&store, "log-cut").await;
    let cut = arrival() - chrono::Duration::days(10);
    let sent: Vec<_> = (0..20)
        .flat_map(|n| {
            [
                (format!("older_{n}"), cut - chrono::Duration::seconds(1)),
                (format!("at_cut_{n}"), cut),
            ]
        })
        .map(|(request_id, received_at)| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                let request = IngestRequest {
                    key_id: key,
                    received_at,
                    webhook_id: None,
                    updates: vec![],
                    log: Some(RequestLog {
                        request_id,
                        intake: Intake::Webhook,
                        template_version: 1,
                        replay_of: None,
                        entries: vec![NewDelivery {
                            index: None,
                            payload: None,
                            verdict: Verdict::Refused(Refusal {
                                status: 400,
                                code: "x".into(),
                                message: "refused".into(),
                            }),
                        }],
                    }),
                };
                store.ingest(t.id, request).await
            })
        })
        .collect();
    for request in sent {
        request.await.expect("task").expect("ingest");
    }
    let swept = store.sweep_deliveries(cut, 1_000).await.expect("sweep");
    assert_eq!(swept.expired, 20, "{swept:?}");
    let query = DeliveryQuery {
        page: PageRequest {
            cursor: None,
            limit: 100,
        },
        ..DeliveryQuery::default()
    };
    let mut kept: Vec<String> = store
        .deliveries(t.id, &key, &query)
        .await
        .expect("deliveries")
        .items
        .into_iter()
        .map(|d| d.row.request_id)
        .collect();
    kept.sort();
    let mut at_cut: Vec<String> = (0..20).map(|n| format!("at_cut_{n}")).collect();
    at_cut.sort();
    assert_eq!(kept, at_cut, "only the entries before the cut went");
}

/// The payloads a request's log kept go with their entries when the sweep removes them: what
/// the retention promises is gone from the file, not only from the reads. Catches
/// `deliveries/sweep.rs` `drop_chunk` deleting the payloads of too few ids (those of all but
/// a chunk's first entry stayed in the file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swept_entries_leave_no_payload_in_the_file() {
    let (store, dir) = open().await;
    let (t, key) = tenant_with_key(&store, "log-payloads").await;
    let old = arrival() - chrono::Duration::days(10);
    store
        .ingest(t.id, refused_with_payloads(&key, "old", old, 3))
        .await
        .expect("ingest");
    store
        .ingest(t.id, refused_with_payloads(&key, "new", arrival(), 2))
        .await
        .expect("ingest");
    assert_eq!(payloads(&dir), 5, "each entry kept its payload");
    let swept = store
        .sweep_deliveries(old + chrono::Duration::days(1), 1_000)
        .await
        .expect("sweep");
    assert_eq!(swept.expired, 3, "{swept:?}");
    assert_eq!(
        payloads(&dir),
        2,
        "the swept entries' payloads are gone, the others stay"
    );
}

/// A key far over its count loses whole chunks of its oldest entries (dropped without being
/// read) and the oldest part of the chunk where the count is reached: the count, the entries
/// and the payloads left are the newest. Catches `deliveries/sweep.rs` `rewrite`:
/// `chunk_id * CHUNK + place` → `-` (the payloads of the chunk's swept entries stayed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_its_count_keeps_its_newest_entries_and_their_payloads() {
    let (store, dir) = open().await;
    let (t, key) = tenant_with_key(&store, "log-count").await;
    // Two whole chunks (4,096 entries each) and some: the count is reached in the third.
    let logged = 2 * 4_096 + 10;
    store
        .ingest(t.id, refused_with_payloads(&key, "many", arrival(), logged))
        .await
        .expect("ingest");
    let swept = store
        .sweep_deliveries(arrival() - chrono::Duration::days(7), 4)
        .await
        .expect("sweep");
    assert_eq!(swept.over_count, u64::from(logged) - 4, "{swept:?}");
    assert_eq!(payloads(&dir), 4, "only the kept entries' payloads stay");
    let query = DeliveryQuery {
        page: PageRequest {
            cursor: None,
            limit: 100,
        },
        ..DeliveryQuery::default()
    };
    let kept: Vec<(Option<u32>, Option<String>)> = store
        .deliveries(t.id, &key, &query)
        .await
        .expect("deliveries")
        .items
        .into_iter()
        .map(|d| (d.row.index, d.row.payload))
        .collect();
    let newest: Vec<(Option<u32>, Option<String>)> = (logged - 4..logged)
        .rev()
        .map(|n| (Some(n), Some(payload(n))))
        .collect();
    assert_eq!(kept, newest);
}

/// A request of `key` received `at` whose `entries` entries were all refused, each keeping
/// its payload.
fn refused_with_payloads(
    key: &ApiKeyId,
    request_id: &str,
    at: chrono::DateTime<chrono::Utc>,
    entries: u32,
) -> IngestRequest {
    let entries = (0..entries)
        .map(|n| NewDelivery {
            index: Some(n),
            payload: Some(payload(n)),
            verdict: Verdict::Refused(Refusal {
                status: 400,
                code: "x".into(),
                message: "refused".into(),
            }),
        })
        .collect();
    IngestRequest {
        key_id: key.clone(),
        received_at: at,
        webhook_id: None,
        updates: vec![],
        log: Some(RequestLog {
            request_id: request_id.into(),
            intake: Intake::Webhook,
            template_version: 1,
            replay_of: None,
            entries,
        }),
    }
}

fn payload(n: u32) -> String {
    format!("{{\"email\":\"person{n}@example.com\"}}")
}

/// The payloads in the store's file.
fn payloads(dir: &tempfile::TempDir) -> i64 {
    let file = rusqlite::Connection::open(dir.path().join("write_paths.db")).expect("open");
    file.query_row("SELECT count(*) FROM delivery_payloads", [], |r| r.get(0))
        .expect("count payloads")
}

/// Sends one update of `org` (its name) in a request of its own.
async fn ingest(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    org: &str,
) -> StoreResult<IngestResult> {
    let update = Update {
        product_org_id: ProductOrgId::parse(org).expect("id"),
        patches: vec![FieldPatch::Name(Some(org.into()))],
        event_at: None,
        message_id: None,
        warnings: Vec::new(),
    };
    send(store, tenant, key, update).await
}

/// Sends `update` in a request of its own.
async fn send(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    update: Update,
) -> StoreResult<IngestResult> {
    let request = IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        updates: vec![update],
    };
    store.ingest(tenant, request).await
}
