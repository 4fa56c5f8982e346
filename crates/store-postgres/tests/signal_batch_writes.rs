//! Signals on PostgreSQL are written in set-based statements, a batch at a time (issue 20,
//! item 4): a request of several signals in a batch applies them as it would one after
//! another. Holds the signal writer as `signal_batches.rs` does. Needs
//! TRAILSPARK_TEST_POSTGRES_URL; without it the test says it was skipped.

mod held;

use std::sync::Arc;

use held::{open, outcome, request_of, signal, Held};
use trailspark_core::{FieldPatch, ProductOrgId, Update, Warning};
use trailspark_store::{IngestRequest, IngestResult, SignalApplied};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::{arrival, at, tenant_with_key};

/// A request of several signals in a batch writes them set-based as one after another would:
/// a stored lead's signals go on from its last `seq`, a signal naming no product org links
/// the lead to its stored one (and its target org), one naming an org not stored that folds
/// like a stored one says which was meant, a messageId repeated in the request is a
/// duplicate, and the lead keeps its creation time. Catches the batch's writes failing (and
/// being run again a request at a time), numbering from 1, a stored lead's product org or its
/// target not read, the lookup of the org meant missing, in-batch dedupe missing, and a
/// stored lead's `created_at` overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_several_signals_in_a_batch_applies_them_in_turn() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let (store, session) = open(&database, 64).await;
    let (tenant, key) = tenant_with_key(&store, "several").await;
    let tenant = tenant.id;
    let org = IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        updates: vec![Update {
            product_org_id: ProductOrgId::parse("ws_known").expect("id"),
            patches: vec![FieldPatch::Name(Some("Known".into()))],
            event_at: None,
            message_id: None,
            warnings: Vec::new(),
        }],
    };
    let Ok(IngestResult::Applied(made)) = store.ingest(tenant, org).await else {
        panic!("ws_known is stored");
    };
    let target = made[0].as_ref().expect("ws_known").target_org_id;
    let linked = signal("lead_s", Some("s@example.com"), Some("ws_known"), None);
    let stored = store
        .ingest_signals(tenant, request_of(&key, vec![linked]))
        .await;
    assert!(
        matches!(&stored, Ok(IngestResult::Applied(r)) if r[0].as_ref().is_ok_and(|a| a.linked)),
        "lead_s is stored, linked to ws_known: {stored:?}"
    );
    let created: chrono::DateTime<chrono::Utc> = session
        .0
        .query_one("SELECT created_at FROM leads WHERE lead_id = 'lead_s'", &[])
        .await
        .expect("lead_s")
        .get(0);
    let held = Held::hold(&database, store, session, (tenant, key.clone())).await;

    let several = request_of(
        &key,
        vec![
            signal("lead_s", None, None, Some("m1")),
            signal("lead_s", None, Some("WS_KNOWN"), Some("m2")),
            signal("lead_s", None, Some("WS_KNOWN"), Some("m2")),
        ],
    );
    let store = Arc::clone(&held.store);
    let queued = tokio::spawn(async move { store.ingest_signals(tenant, several).await });
    let other = held.send("req_other", signal("lead_other", None, None, None));
    let (store, session, before) = held.release().await;
    let Ok(IngestResult::Applied(outcomes)) = queued.await.expect("task") else {
        panic!("the request is applied");
    };
    outcome(other).await.expect("its neighbour too");
    let after = store.commit_stats();
    assert_eq!(
        (after.commits - before.commits, after.split - before.split),
        (2, 0),
        "the held request, then one batch of the two behind it, applied whole"
    );
    let outcomes: Vec<SignalApplied> = outcomes.into_iter().map(|o| o.expect("applied")).collect();
    assert!(outcomes[0].linked, "{:?}", outcomes[0]);
    assert_eq!(outcomes[0].target_org_id, Some(target));
    assert!(
        !outcomes[1].linked && !outcomes[1].duplicate,
        "{:?}",
        outcomes[1]
    );
    assert!(
        outcomes[1].warnings.iter().any(
            |w| matches!(w, Warning::SimilarProductOrg { existing, .. } if existing == "ws_known")
        ),
        "the org meant is named: {:?}",
        outcomes[1]
    );
    assert!(outcomes[2].duplicate, "{:?}", outcomes[2]);
    let seqs: Vec<(i64, Option<String>)> = session
        .0
        .query(
            "SELECT seq, product_org_id FROM signals WHERE lead_id = 'lead_s' ORDER BY seq",
            &[],
        )
        .await
        .expect("lead_s's signals")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        seqs,
        [
            (1, Some("ws_known".into())),
            (2, None),
            (3, Some("WS_KNOWN".into()))
        ]
    );
    let lead = session
        .0
        .query_one(
            "SELECT email, product_org_id, created_at FROM leads WHERE lead_id = 'lead_s'",
            &[],
        )
        .await
        .expect("lead_s");
    assert_eq!(
        (
            lead.get::<_, Option<String>>(0),
            lead.get::<_, Option<String>>(1),
            lead.get::<_, chrono::DateTime<chrono::Utc>>(2)
        ),
        (
            Some("s@example.com".into()),
            Some("WS_KNOWN".into()),
            created
        )
    );
}

/// A lead first seen in a batch, through two requests of it, is created when the first of
/// them was received and updated when the last was. Catches a new lead taking its creation
/// time from the batch's last signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_lead_of_two_requests_in_a_batch_is_created_at_the_first() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let held = Held::start(&database, 64, "").await;
    let (tenant, key) = (held.to.0, held.to.1.clone());
    let (first, last) = (at(2_000), at(3_000));
    let send_at = |received_at, message: &str| {
        let mut request = request_of(&key, vec![signal("lead_new", None, None, Some(message))]);
        request.received_at = received_at;
        let store = Arc::clone(&held.store);
        tokio::spawn(async move { store.ingest_signals(tenant, request).await })
    };
    let earlier = send_at(first, "m_first");
    // Queued in the order sent: the second request goes behind the first.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let later = send_at(last, "m_last");
    let (store, session, before) = held.release().await;
    for task in [earlier, later] {
        let applied = task.await.expect("task");
        assert!(
            matches!(&applied, Ok(IngestResult::Applied(r)) if r[0].is_ok()),
            "{applied:?}"
        );
    }
    let after = store.commit_stats();
    assert_eq!(
        (after.commits - before.commits, after.split - before.split),
        (2, 0),
        "the held request, then one batch of the two behind it, applied whole"
    );
    let lead = session
        .0
        .query_one(
            "SELECT created_at, updated_at FROM leads WHERE lead_id = 'lead_new'",
            &[],
        )
        .await
        .expect("lead_new");
    let times: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        (lead.get(0), lead.get(1));
    assert_eq!(times, (first, last));
}
