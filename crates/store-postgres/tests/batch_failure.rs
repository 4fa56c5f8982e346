//! A request the database refuses fails alone: the batch it shared with others is run again
//! one request per transaction, and its neighbours are applied, answered and logged. Needs
//! TRAILSPARK_TEST_POSTGRES_URL; without it the test says it was skipped.

use std::sync::Arc;

use trailspark_core::{FieldPatch, ProductOrgId, Update};
use trailspark_store::{
    DeliveryQuery, IngestRequest, IngestResult, Intake, NewDelivery, Outcome, PageRequest,
    RequestLog, StoreError, Verdict,
};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::{at, tenant_with_key};
use trailspark_store_postgres::PostgresOptions;

mod held;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_fails_alone() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    // One writer, so the concurrent requests below queue up and share batches.
    let (store, session) = held::open(&database, PostgresOptions::default().max_batch).await;
    // The database itself refuses one org, as it would a row breaking some constraint.
    session
        .0
        .batch_execute(
            "CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.product_org_id = 'ws_bad' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER refuse_bad BEFORE INSERT ON product_orgs
                 FOR EACH ROW EXECUTE FUNCTION refuse_bad();",
        )
        .await
        .expect("trigger");

    let (tenant, key) = tenant_with_key(&store, "failing").await;
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let (store, key) = (Arc::clone(&store), key.clone());
            let id = if n == 20 {
                "ws_bad".to_owned()
            } else {
                format!("ws_{n}")
            };
            tokio::spawn(async move {
                let request = IngestRequest {
                    key_id: key,
                    received_at: at(1_000),
                    webhook_id: None,
                    updates: vec![Update {
                        product_org_id: ProductOrgId::parse(id.clone()).unwrap(),
                        patches: vec![FieldPatch::UserCount(Some(n))],
                        event_at: None,
                        message_id: None,
                        warnings: Vec::new(),
                    }],
                    log: Some(RequestLog {
                        request_id: format!("req_{n}"),
                        intake: Intake::Webhook,
                        template_version: 1,
                        replay_of: None,
                        entries: vec![NewDelivery {
                            index: None,
                            payload: None,
                            verdict: Verdict::Update(0),
                        }],
                    }),
                };
                (id, store.ingest(tenant.id, request).await)
            })
        })
        .collect();
    for task in tasks {
        let (id, result) = task.await.unwrap();
        if id == "ws_bad" {
            assert!(
                matches!(&result, Err(e @ StoreError::Other { .. }) if e.chain().contains("refused by the test")),
                "the refused request fails with the database's reason: {result:?}"
            );
            continue;
        }
        assert!(
            matches!(result, Ok(IngestResult::Applied(_))),
            "{id} is applied: {result:?}"
        );
        let org = store
            .product_org(tenant.id, &ProductOrgId::parse(id.clone()).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{id} is stored: {e}"));
        assert!(org.fields.user_count.is_some());
    }
    assert!(matches!(
        store
            .product_org(tenant.id, &ProductOrgId::parse("ws_bad").unwrap())
            .await,
        Err(StoreError::NotFound(_))
    ));
    // The log is written with the updates: once for each request applied, whether in the
    // failed batch's retry or not, and never for the refused one.
    let query = DeliveryQuery {
        page: PageRequest {
            cursor: None,
            limit: 100,
        },
        ..DeliveryQuery::default()
    };
    let log = store.deliveries(tenant.id, &key, &query).await.unwrap();
    let mut logged: Vec<_> = log
        .items
        .iter()
        .map(|d| (d.row.request_id.as_str(), d.row.outcome.as_str()))
        .collect();
    logged.sort_unstable();
    logged.dedup();
    assert_eq!(
        (log.items.len(), logged.len()),
        (39, 39),
        "one entry per applied request: {logged:?}"
    );
    assert!(logged
        .iter()
        .all(|(id, outcome)| *id != "req_20" && *outcome == Outcome::Applied.as_str()));
    store.close().await;
}
