//! The PostgreSQL writers as cargo-mutants found them untested (issue 21, item 5): which
//! writers wait for which (the advisory locks), how queued updates form batches, and what
//! closing waits for. Each test holds a row lock from a session of its own, so that a store
//! write stops inside its transaction, holding what it holds, until the test lets it go.
//! Needs TRAILSPARK_TEST_POSTGRES_URL; without it each test says it was skipped.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, FieldPatch, LeadId, ProductOrgId, TenantId, Update};
use trailspark_store::{IngestRequest, IngestResult, SignalRequest, Store, StoreResult};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::{arrival, at, tenant_with_key};
use trailspark_store_postgres::{PostgresOptions, PostgresStore};

/// Longer than any write here takes unless it waits for a lock nobody will release.
const DEADLINE: Duration = Duration::from_secs(10);

async fn open(database: &TestDatabase, options: PostgresOptions) -> Arc<dyn Store> {
    let store = PostgresStore::connect(&database.url, options)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Arc::new(store)
}

type Answer = StoreResult<IngestResult>;

/// Sets `org`'s user count to `n`, in a task of its own.
fn update(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    key: &ApiKeyId,
    org: &str,
    n: i64,
) -> JoinHandle<Answer> {
    update_at(store, tenant, key, org, n, arrival())
}

/// [`update`], received at `received_at`.
fn update_at(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    key: &ApiKeyId,
    org: &str,
    n: i64,
    received_at: chrono::DateTime<chrono::Utc>,
) -> JoinHandle<Answer> {
    ingest(store, tenant, key, received_at, vec![user_count(org, n)])
}

/// An update setting `org`'s user count to `n`.
fn user_count(org: &str, n: i64) -> Update {
    Update {
        product_org_id: ProductOrgId::parse(org).expect("org id"),
        patches: vec![FieldPatch::UserCount(Some(n))],
        event_at: None,
        message_id: None,
        warnings: Vec::new(),
    }
}

/// Stores `updates` in one request, in a task of its own.
fn ingest(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: chrono::DateTime<chrono::Utc>,
    updates: Vec<Update>,
) -> JoinHandle<Answer> {
    let (store, key) = (Arc::clone(store), key.clone());
    tokio::spawn(async move {
        let request = IngestRequest {
            key_id: key,
            received_at,
            webhook_id: None,
            updates,
            log: None,
        };
        store.ingest(tenant, request).await
    })
}

/// Stores a signal of `lead`, in a task of its own.
fn signal(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    key: &ApiKeyId,
    lead: &str,
) -> JoinHandle<bool> {
    signal_at(store, tenant, key, lead, arrival())
}

/// [`signal`], received at `received_at`.
fn signal_at(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    key: &ApiKeyId,
    lead: &str,
    received_at: chrono::DateTime<chrono::Utc>,
) -> JoinHandle<bool> {
    let (store, key) = (Arc::clone(store), key.clone());
    let lead = LeadId::parse(lead).expect("lead id");
    tokio::spawn(async move {
        let request = SignalRequest {
            log: None,
            key_id: key,
            received_at,
            webhook_id: None,
            signals: vec![Signal {
                lead_id: lead,
                email: None,
                product_org_id: None,
                name: Some("signed_up".into()),
                event_at: None,
                properties: None,
                custom_fields: serde_json::Map::new(),
                message_id: None,
                warnings: Vec::new(),
            }],
        };
        matches!(store.ingest_signals(tenant, request).await, Ok(IngestResult::Applied(r)) if r.iter().all(Result::is_ok))
    })
}

async fn applied(task: JoinHandle<Answer>) {
    let answer = task.await.expect("write task");
    assert!(
        matches!(&answer, Ok(IngestResult::Applied(r)) if r.iter().all(Result::is_ok)),
        "{answer:?}"
    );
}

/// A session of the test's own holding a row lock in an open transaction.
struct RowLock(tokio_postgres::Client);

impl RowLock {
    /// Locks the rows `select` (a `SELECT … FOR UPDATE`) finds, until [`RowLock::release`].
    async fn hold(database: &TestDatabase, select: &str) -> Self {
        let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
            .await
            .expect("connect the locking session");
        tokio::spawn(connection);
        client.batch_execute("BEGIN").await.expect("begin");
        let rows = client.query(select, &[]).await.expect("lock rows");
        assert_eq!(rows.len(), 1, "{select} locks one row");
        Self(client)
    }

    /// Returns once some session waits for a lock (the store's write, stopped at the row).
    async fn waited_for(&self) {
        let started = std::time::Instant::now();
        loop {
            let waiting: i64 = self
                .0
                .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
                .await
                .expect("pg_locks")
                .get(0);
            if waiting > 0 {
                return;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no write ever waited for the row"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn release(self) {
        self.0.batch_execute("COMMIT").await.expect("commit");
    }
}

/// A writer of one product org holds it against the writers of every id that folds alike
/// (`WS_A` for `ws_a`), and of no other. Catches `dedupe.rs` `product_org_lock` returning one
/// name for every org (`String::new()`, `"xyzzy"`): every writer then waited for every other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_one_org_wait_for_ids_that_fold_alike_and_for_no_other() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let options = PostgresOptions {
        writers: 3,
        ..PostgresOptions::default()
    };
    let store = open(&database, options).await;
    let (tenant, key) = tenant_with_key(&store, "locks").await;
    applied(update(&store, tenant.id, &key, "ws_a", 1)).await;

    let lock = RowLock::hold(
        &database,
        "SELECT 1 FROM product_orgs WHERE product_org_id = 'ws_a' FOR UPDATE",
    )
    .await;
    let held = update(&store, tenant.id, &key, "ws_a", 2);
    lock.waited_for().await;
    let other = update(&store, tenant.id, &key, "ws_b", 1);
    let other = tokio::time::timeout(DEADLINE, other).await;
    assert!(
        other.is_ok(),
        "the writer of ws_b waited for the writer of ws_a"
    );
    let alike = update(&store, tenant.id, &key, "WS_A", 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !alike.is_finished(),
        "the writer of WS_A went on while ws_a was being written"
    );
    lock.release().await;
    applied(held).await;
    applied(alike).await;
}

/// A writer's reads run under its locks, though the locks and the reads go out in one round
/// trip: a second store (one connection, its statements prepared by an update of `ws_b`)
/// setting `ws_a`'s user count back to 1 while the first store's writer sets it to 2 (stopped
/// at the row a session holds) reads `ws_a` once that writer committed, so its later update
/// wins. Catches `ingest/apply.rs` `lock_and_load` polling the reads before the lock: the
/// later writer then reads 1, finds its update changes nothing and moves only the clock,
/// leaving 2 (a change of a value read stale is refused by the history's key and applied
/// again alone, so only a clock-only write shows it). The lock statement prepared before the
/// others matters on a connection's first batch only, where the order is a race; not caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_reads_an_org_only_under_its_lock() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let first = open(&database, PostgresOptions::default()).await;
    let (tenant, key) = tenant_with_key(&first, "read-under-lock").await;
    applied(update(&first, tenant.id, &key, "ws_a", 1)).await;

    let lock = RowLock::hold(
        &database,
        "SELECT 1 FROM product_orgs WHERE product_org_id = 'ws_a' FOR UPDATE",
    )
    .await;
    let held = update(&first, tenant.id, &key, "ws_a", 2);
    lock.waited_for().await;
    let one_connection = PostgresOptions {
        max_connections: 1,
        ..PostgresOptions::default()
    };
    let second = open(&database, one_connection).await;
    applied(update(&second, tenant.id, &key, "ws_b", 1)).await;
    let later = update(&second, tenant.id, &key, "ws_a", 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!later.is_finished(), "the second store's writer waited");
    lock.release().await;
    applied(held).await;
    applied(later).await;
    let id = ProductOrgId::parse("ws_a").expect("org id");
    let org = second.product_org(tenant.id, &id).await.expect("ws_a");
    assert_eq!(org.fields.user_count, Some(1), "the later update wins");
}

/// A writer of one lead holds no other lead's writer. Catches `dedupe.rs` `lead_lock` returning
/// one name for every lead (`String::new()`, `"xyzzy"`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_of_one_lead_holds_no_other_lead() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = open(&database, PostgresOptions::default()).await;
    let (tenant, key) = tenant_with_key(&store, "lead-locks").await;
    assert!(signal(&store, tenant.id, &key, "lead_1").await.unwrap());

    let lock = RowLock::hold(
        &database,
        "SELECT 1 FROM leads WHERE lead_id = 'lead_1' FOR UPDATE",
    )
    .await;
    let held = signal(&store, tenant.id, &key, "lead_1");
    lock.waited_for().await;
    let other = tokio::time::timeout(DEADLINE, signal(&store, tenant.id, &key, "lead_2")).await;
    assert!(
        matches!(other, Ok(Ok(true))),
        "the writer of lead_2 waited for the writer of lead_1: {other:?}"
    );
    lock.release().await;
    assert!(held.await.unwrap());
}

/// Updates queued behind a busy writer are committed in batches of at most `max_batch`
/// requests and `BATCH_UPDATES` updates: 40 queued behind one held update take 40 commits at
/// 1, and 5 at 8; three requests of more than half `BATCH_UPDATES` updates each take two at
/// 512. Catches `ingest/mod.rs` `work`'s `batch.len() < max_batch` as `<=`, `>` or `==`,
/// `Batcher::stats` returning nothing, and a batch that weighs every request as one update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_updates_are_committed_in_bounded_batches() {
    let heavy = trailspark_store_postgres::BATCH_UPDATES / 2 + 1;
    for (max_batch, requests, each, commits) in
        [(1, 40, 1, 41), (8, 40, 1, 1 + 5), (512, 3, heavy, 1 + 2)]
    {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let options = PostgresOptions {
            writers: 1,
            max_batch,
            ..PostgresOptions::default()
        };
        let store = open(&database, options).await;
        let (tenant, key) = tenant_with_key(&store, "batches").await;
        applied(update(&store, tenant.id, &key, "ws_held", 0)).await;

        let lock = RowLock::hold(
            &database,
            "SELECT 1 FROM product_orgs WHERE product_org_id = 'ws_held' FOR UPDATE",
        )
        .await;
        let before = store.commit_stats();
        let held = update(&store, tenant.id, &key, "ws_held", 1);
        lock.waited_for().await;
        let queued: Vec<_> = (0..requests)
            .map(|r| {
                let updates = (0..each).map(|n| user_count(&format!("ws_{r}_{n}"), 1));
                ingest(&store, tenant.id, &key, arrival(), updates.collect())
            })
            .collect();
        // The one writer is held: the requests wait in its queue, in memory, within moments.
        tokio::time::sleep(Duration::from_millis(500)).await;
        lock.release().await;
        applied(held).await;
        for task in queued {
            applied(task).await;
        }
        let after = store.commit_stats();
        assert_eq!(
            (
                after.requests - before.requests,
                after.commits - before.commits
            ),
            (requests as u64 + 1, commits),
            "{requests} requests of {each} updates behind one, at max_batch {max_batch}"
        );
    }
}

/// Closing waits until the queued updates are committed and answered: none is lost or refused
/// for the close. Catches `ingest/mod.rs` `Batcher::close` → `()` (the pool closed under the
/// queued updates).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_commits_the_queued_updates_first() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let options = PostgresOptions {
        writers: 1,
        ..PostgresOptions::default()
    };
    let store = open(&database, options).await;
    let (tenant, key) = tenant_with_key(&store, "closing").await;
    applied(update(&store, tenant.id, &key, "ws_held", 0)).await;

    let lock = RowLock::hold(
        &database,
        "SELECT 1 FROM product_orgs WHERE product_org_id = 'ws_held' FOR UPDATE",
    )
    .await;
    let held = update(&store, tenant.id, &key, "ws_held", 1);
    lock.waited_for().await;
    let queued: Vec<_> = (0..10)
        .map(|n| update(&store, tenant.id, &key, &format!("ws_{n}"), n))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let closing = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.close().await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!closing.is_finished(), "close returned with updates queued");
    lock.release().await;
    closing.await.unwrap();
    applied(held).await;
    for task in queued {
        applied(task).await;
    }
    let store = open(&database, PostgresOptions::default()).await;
    for n in 0..10 {
        let org = store
            .product_org(tenant.id, &ProductOrgId::parse(format!("ws_{n}")).unwrap())
            .await
            .unwrap_or_else(|e| panic!("ws_{n} is stored: {e}"));
        assert_eq!(org.fields.user_count, Some(n));
    }
}

/// A sweep of history, held up inside its transaction, holds no sweep of signals: each kind
/// takes a lock of its own (one instance sweeps each kind at a time, the others skip a turn).
/// Catches `retention.rs` `Aged::lock` returning one key for both (0, 1, -1): the signal
/// sweep then skipped its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_sweep_holds_no_signal_sweep() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = open(&database, PostgresOptions::default()).await;
    let (tenant, key) = tenant_with_key(&store, "sweep-locks").await;
    let old = at(-10 * 86_400);
    applied(update_at(&store, tenant.id, &key, "ws_old", 1, old)).await;
    assert!(signal_at(&store, tenant.id, &key, "lead_old", old)
        .await
        .unwrap());

    let lock = RowLock::hold(
        &database,
        "SELECT 1 FROM product_org_history WHERE product_org_id = 'ws_old' FOR UPDATE",
    )
    .await;
    let history = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.sweep_history(at(-7 * 86_400)).await })
    };
    lock.waited_for().await;
    let signals = tokio::time::timeout(DEADLINE, store.sweep_signals(at(-7 * 86_400))).await;
    assert!(
        matches!(signals, Ok(Ok(1))),
        "the old signal is swept while history is: {signals:?}"
    );
    lock.release().await;
    assert_eq!(history.await.unwrap().unwrap(), 1);
}
