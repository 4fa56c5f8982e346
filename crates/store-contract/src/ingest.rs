//! Applying updates: upsert, `isNewOrg` once, per-field last-writer-wins, dedupe, replay,
//! tenant isolation.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use trailspark_core::{ApiKeyId, FieldPatch, ProductOrgId, TenantId, Update};
use trailspark_store::{Applied, IngestRequest, IngestResult, Missing, Store, StoreError};

use crate::{arrival, at, tenant_with_key};

/// A product org id, for tests.
pub fn id(text: &str) -> ProductOrgId {
    ProductOrgId::parse(text).unwrap()
}

/// An update of `org` with `patches`, at event time `event` (seconds after a fixed instant).
pub fn update(org: &str, patches: Vec<FieldPatch>, event: Option<i64>) -> Update {
    Update {
        product_org_id: id(org),
        patches,
        event_at: event.map(at),
        message_id: None,
        warnings: Vec::new(),
    }
}

/// Sends one request, received now (see [`arrival`]), and returns its results, panicking on a
/// store error or a replay.
pub async fn ingest(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    updates: Vec<Update>,
) -> Vec<Applied> {
    ingest_at(store, tenant, key, arrival(), updates).await
}

/// Sends one request received at `received_at`, and returns its results, panicking on a store
/// error or a replay.
pub async fn ingest_at(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    updates: Vec<Update>,
) -> Vec<Applied> {
    let request = IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at,
        webhook_id: None,
        updates,
    };
    match store.ingest(tenant, request).await.expect("ingest") {
        IngestResult::Applied(results) => results
            .into_iter()
            .map(|r| r.expect("update applied"))
            .collect(),
        IngestResult::Replayed => panic!("not a replay"),
    }
}

/// Sends one update in a request of its own and returns its result.
pub async fn one(store: &dyn Store, tenant: TenantId, key: &ApiKeyId, u: Update) -> Applied {
    ingest(store, tenant, key, vec![u]).await.pop().unwrap()
}

/// The first update creates the org and its target org; the same values again change nothing
/// and write no history; a new value changes and writes history.
pub async fn creates_then_updates(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "upsert").await;
    let s = store.as_ref();
    let first = one(
        s,
        t.id,
        &key,
        update(
            "ws_1",
            vec![
                FieldPatch::Name(Some("Acme".into())),
                FieldPatch::UserCount(Some(5)),
            ],
            None,
        ),
    )
    .await;
    assert!(first.is_new_org && first.changed, "first update: {first:?}");
    let created = s.product_org(t.id, &id("ws_1")).await.unwrap();
    let same = one(
        s,
        t.id,
        &key,
        update("ws_1", vec![FieldPatch::UserCount(Some(5))], None),
    )
    .await;
    assert!(
        !same.is_new_org && !same.changed,
        "same value again: {same:?}"
    );
    assert_eq!(same.target_org_id, first.target_org_id);
    let org = s.product_org(t.id, &id("ws_1")).await.unwrap();
    assert_eq!(org.fields.user_count, Some(5));
    assert_eq!(org.fields.name.as_deref(), Some("Acme"));
    assert_eq!(org.target_org_id, first.target_org_id);
    assert_eq!(
        org.updated_at, created.updated_at,
        "an unchanged update, though received later, leaves updatedAt"
    );
    let history = s
        .product_org_history(t.id, &id("ws_1"), &page(10))
        .await
        .unwrap();
    assert_eq!(
        history.items.len(),
        1,
        "an unchanged update writes no history"
    );

    let changed = one(
        s,
        t.id,
        &key,
        update(
            "ws_1",
            vec![FieldPatch::UserCount(Some(6)), FieldPatch::Mrr(None)],
            None,
        ),
    )
    .await;
    assert!(changed.changed && !changed.is_new_org);
    let org = s.product_org(t.id, &id("ws_1")).await.unwrap();
    assert!(
        org.updated_at > created.updated_at,
        "a change moves updatedAt to its receive time"
    );
    let history = s
        .product_org_history(t.id, &id("ws_1"), &page(10))
        .await
        .unwrap();
    assert_eq!(history.items.len(), 2);
    let newest = &history.items[0];
    assert_eq!(newest.version, 2, "newest first");
    assert_eq!(newest.key_id, key);
    assert_eq!(
        newest.changes.len(),
        1,
        "clearing an unset mrr is no change: {:?}",
        newest.changes
    );
    assert_eq!(newest.changes[0].field, "userCount");
    assert_eq!(
        (newest.changes[0].old.clone(), newest.changes[0].new.clone()),
        (5.into(), 6.into())
    );
    let missing = s.product_org(t.id, &id("ws_2")).await;
    assert!(
        matches!(&missing, Err(StoreError::NotFound(Missing::ProductOrg(m))) if m.as_str() == "ws_2"),
        "the error names the product org: {missing:?}"
    );
}

/// Several updates of one new id in one request: applied in order, `isNewOrg` on the first.
pub async fn is_new_org_once_in_one_request(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "batch").await;
    let results = ingest(
        store.as_ref(),
        t.id,
        &key,
        (1..=3)
            .map(|n| update("ws_b", vec![FieldPatch::UserCount(Some(n))], None))
            .collect(),
    )
    .await;
    let new: Vec<bool> = results.iter().map(|r| r.is_new_org).collect();
    assert_eq!(new, [true, false, false]);
    assert!(results
        .iter()
        .all(|r| r.target_org_id == results[0].target_org_id));
    let org = store.product_org(t.id, &id("ws_b")).await.unwrap();
    assert_eq!(org.fields.user_count, Some(3), "applied in order");
}

/// An older event loses field by field; a field it alone writes still takes its value.
pub async fn per_field_last_writer_wins(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "lww").await;
    let s = store.as_ref();
    one(
        s,
        t.id,
        &key,
        update(
            "ws_l",
            vec![FieldPatch::PlanId(Some("pro".into()))],
            Some(20),
        ),
    )
    .await;
    let late = one(
        s,
        t.id,
        &key,
        update(
            "ws_l",
            vec![
                FieldPatch::PlanId(Some("basic".into())),
                FieldPatch::Mrr(Some(100)),
            ],
            Some(10),
        ),
    )
    .await;
    assert!(late.changed, "mrr was taken");
    let org = s.product_org(t.id, &id("ws_l")).await.unwrap();
    assert_eq!(
        org.fields.plan_id.as_deref(),
        Some("pro"),
        "the older plan lost"
    );
    assert_eq!(org.fields.mrr, Some(100));
    one(
        s,
        t.id,
        &key,
        update("ws_l", vec![FieldPatch::PlanId(None)], Some(30)),
    )
    .await;
    one(
        s,
        t.id,
        &key,
        update(
            "ws_l",
            vec![FieldPatch::PlanId(Some("old".into()))],
            Some(25),
        ),
    )
    .await;
    let org = s.product_org(t.id, &id("ws_l")).await.unwrap();
    assert_eq!(
        org.fields.plan_id, None,
        "a newer clear is not undone by an older value"
    );
}

/// A repeated messageId of one key repeats the first outcome and applies nothing; another
/// key's same messageId is its own message.
pub async fn message_id_dedupe(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "dedupe").await;
    let s = store.as_ref();
    let mut first = update("ws_m", vec![FieldPatch::UserCount(Some(1))], None);
    first.message_id = Some("msg-1".into());
    let applied = one(s, t.id, &key, first.clone()).await;
    assert!(applied.is_new_org && !applied.duplicate);
    let mut retry = first.clone();
    retry.patches = vec![FieldPatch::UserCount(Some(2))];
    let repeated = one(s, t.id, &key, retry.clone()).await;
    assert!(repeated.duplicate, "the retry is a duplicate");
    assert!(
        repeated.is_new_org && repeated.changed,
        "it repeats the first outcome"
    );
    let org = s.product_org(t.id, &id("ws_m")).await.unwrap();
    assert_eq!(
        org.fields.user_count,
        Some(1),
        "the duplicate applied nothing"
    );

    let (other_key, _) = crate::new_key(trailspark_core::EndpointType::ProductOrgUpdates);
    let other_key = s.create_api_key(t.id, other_key).await.unwrap().id;
    let other = one(s, t.id, &other_key, retry.clone()).await;
    assert!(
        !other.duplicate && other.changed,
        "another key's message is its own"
    );

    // A day and an hour after the first, the same messageId is new again.
    let mut late = retry;
    late.patches = vec![FieldPatch::UserCount(Some(3))];
    let request = IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at: at(1_000 + 25 * 3_600),
        webhook_id: None,
        updates: vec![late],
    };
    let IngestResult::Applied(mut results) = s.ingest(t.id, request).await.unwrap() else {
        panic!("not a replay");
    };
    let late = results.pop().unwrap().unwrap();
    assert!(
        !late.duplicate && late.changed,
        "a messageId is remembered for 24 hours only"
    );
    let org = s.product_org(t.id, &id("ws_m")).await.unwrap();
    assert_eq!(org.fields.user_count, Some(3));
    let again = IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at: at(1_000 + 25 * 3_600 + 1),
        webhook_id: None,
        updates: vec![{
            let mut u = update("ws_m", vec![FieldPatch::UserCount(Some(4))], None);
            u.message_id = Some("msg-1".into());
            u
        }],
    };
    let IngestResult::Applied(mut results) = s.ingest(t.id, again).await.unwrap() else {
        panic!("not a replay");
    };
    assert!(
        results.pop().unwrap().unwrap().duplicate,
        "and from its new first outcome on, remembered again"
    );
}

/// A Standard Webhooks id is accepted once per key.
pub async fn webhook_id_replay(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "replay").await;
    let request = |webhook_id: &str| IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at: chrono::Utc::now(),
        webhook_id: Some(webhook_id.into()),
        updates: vec![update("ws_r", vec![], None)],
    };
    let first = store.ingest(t.id, request("msg_1")).await.unwrap();
    assert!(matches!(first, IngestResult::Applied(_)), "{first:?}");
    let again = store.ingest(t.id, request("msg_1")).await.unwrap();
    assert_eq!(again, IngestResult::Replayed);
    let other = store.ingest(t.id, request("msg_2")).await.unwrap();
    assert!(matches!(other, IngestResult::Applied(_)), "{other:?}");
}

/// The same product org id in two tenants is two product orgs; neither sees the other's.
pub async fn tenants_stay_apart(store: Arc<dyn Store>) {
    let (a, key_a) = tenant_with_key(&store, "apart-a").await;
    let (b, key_b) = tenant_with_key(&store, "apart-b").await;
    let s = store.as_ref();
    let in_a = one(
        s,
        a.id,
        &key_a,
        update("ws_same", vec![FieldPatch::Mrr(Some(1))], None),
    )
    .await;
    let in_b = one(
        s,
        b.id,
        &key_b,
        update("ws_same", vec![FieldPatch::Mrr(Some(2))], None),
    )
    .await;
    assert!(in_a.is_new_org && in_b.is_new_org, "new in each tenant");
    assert_eq!(
        s.product_org(a.id, &id("ws_same"))
            .await
            .unwrap()
            .fields
            .mrr,
        Some(1)
    );
    assert_eq!(
        s.product_org(b.id, &id("ws_same"))
            .await
            .unwrap()
            .fields
            .mrr,
        Some(2)
    );
    let (c, _) = tenant_with_key(&store, "apart-c").await;
    assert!(matches!(
        s.product_org(c.id, &id("ws_same")).await,
        Err(StoreError::NotFound(Missing::ProductOrg(_)))
    ));
    let history = s.product_org_history(c.id, &id("ws_same"), &page(10)).await;
    assert!(
        matches!(&history, Err(StoreError::NotFound(Missing::ProductOrg(m))) if m.as_str() == "ws_same"),
        "{:?}",
        history.map(|p| p.items)
    );
}

/// Many concurrent first updates of one id: one target org, exactly one `isNewOrg`.
pub async fn concurrent_first_updates(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "race").await;
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                one(
                    store.as_ref(),
                    t.id,
                    &key,
                    update("ws_race", vec![FieldPatch::UserCount(Some(n))], None),
                )
                .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    assert_eq!(
        results.iter().filter(|r| r.is_new_org).count(),
        1,
        "exactly one isNewOrg"
    );
    assert!(
        results
            .iter()
            .all(|r| r.target_org_id == results[0].target_org_id),
        "one target org"
    );
}

/// Concurrent requests land in shared batches (group commit) and keep one-at-a-time
/// semantics there: last-writer-wins by event time whatever the arrival order, one history
/// version per change and no gaps, one application of a messageId sent many times at once,
/// and each new org `isNewOrg` exactly once.
pub async fn semantics_hold_inside_batches(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "batches").await;
    let mut tasks = Vec::new();
    for n in 0..30_i64 {
        let (store, key) = (Arc::clone(&store), key.clone());
        tasks.push(tokio::spawn(async move {
            let s = store.as_ref();
            // Event times in reverse to the spawn order: arrival order does not decide.
            let ordered = update(
                "ws_lww",
                vec![FieldPatch::UserCount(Some(n))],
                Some(100 - n),
            );
            let mut retried = update("ws_dup", vec![FieldPatch::UserCount(Some(n))], None);
            retried.message_id = Some("the-same-message".into());
            let fresh = update(&format!("ws_new_{n}"), vec![FieldPatch::Mrr(Some(n))], None);
            let ordered = one(s, t.id, &key, ordered).await;
            let retried = one(s, t.id, &key, retried).await;
            let fresh = one(s, t.id, &key, fresh).await;
            (ordered, retried, fresh)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    let s = store.as_ref();

    let ordered: Vec<&Applied> = results.iter().map(|r| &r.0).collect();
    assert_eq!(ordered.iter().filter(|r| r.is_new_org).count(), 1);
    let org = s.product_org(t.id, &id("ws_lww")).await.unwrap();
    assert_eq!(org.fields.user_count, Some(0), "the latest event time wins");
    let changes = ordered.iter().filter(|r| r.changed).count();
    let history = s
        .product_org_history(t.id, &id("ws_lww"), &page(100))
        .await
        .unwrap();
    let mut versions: Vec<i64> = history.items.iter().map(|h| h.version).collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=i64::try_from(changes).unwrap()).collect::<Vec<_>>(),
        "one history version per change, none missing"
    );

    let retried: Vec<&Applied> = results.iter().map(|r| &r.1).collect();
    let firsts: Vec<&&Applied> = retried.iter().filter(|r| !r.duplicate).collect();
    assert_eq!(firsts.len(), 1, "the messageId is applied once");
    let first = *firsts[0];
    assert!(first.is_new_org);
    assert!(
        retried.iter().all(|r| Applied {
            duplicate: false,
            ..(*r).clone()
        } == *first),
        "every retry repeats the first outcome"
    );
    let dup = s
        .product_org_history(t.id, &id("ws_dup"), &page(100))
        .await
        .unwrap();
    assert_eq!(dup.items.len(), 1, "applied once");

    assert!(results.iter().all(|r| r.2.is_new_org && r.2.changed));
    let mut targets: Vec<i64> = results.iter().map(|r| r.2.target_org_id.0).collect();
    targets.sort_unstable();
    targets.dedup();
    assert_eq!(targets.len(), 30, "each new org has its own target org");
}

/// The first page of at most `limit` items.
pub fn page(limit: u32) -> trailspark_store::PageRequest {
    trailspark_store::PageRequest {
        cursor: None,
        limit,
    }
}
