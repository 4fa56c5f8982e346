//! The sweep of product org history by age.

use std::sync::Arc;

use trailspark_core::{FieldPatch, ProductOrgId, TenantId};
use trailspark_store::{PageRequest, Store};

use crate::ingest::{ingest, ingest_at, update};
use crate::{at, tenant_with_key};

/// Every version of `org`'s history, newest first, a page of two at a time.
async fn versions(store: &dyn Store, tenant: TenantId, org: &str) -> Vec<i64> {
    let id = ProductOrgId::parse(org).unwrap();
    let (mut versions, mut cursor) = (Vec::new(), None);
    loop {
        let page = store
            .product_org_history(tenant, &id, &PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        versions.extend(page.items.iter().map(|e| e.version));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return versions,
        }
    }
}

/// History received before the retention goes; what came since stays, read as before. An
/// org whose every change went keeps its values, reads an empty history, and starts a new one
/// with its next change.
pub async fn history_is_swept_by_age(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "history-sweep").await;
    let s = store.as_ref();
    let old = at(-10 * 86_400);
    let count = |org: &str, n| update(org, vec![FieldPatch::UserCount(Some(n))], None);
    for n in 1..=3 {
        let received = old + chrono::Duration::seconds(n);
        ingest_at(s, t.id, &key, received, vec![count("ws_old", n)]).await;
        ingest_at(s, t.id, &key, received, vec![count("ws_mixed", n)]).await;
    }
    for n in 4..=5 {
        ingest(s, t.id, &key, vec![count("ws_mixed", n)]).await;
    }

    let swept = s.sweep_history(at(-7 * 86_400)).await.unwrap();
    assert_eq!(swept, 6, "the three old changes of each org");
    assert_eq!(versions(s, t.id, "ws_mixed").await, [5, 4]);
    assert_eq!(versions(s, t.id, "ws_old").await, Vec::<i64>::new());
    let org = s
        .product_org(t.id, &ProductOrgId::parse("ws_old").unwrap())
        .await
        .unwrap();
    assert_eq!(org.fields.user_count, Some(3), "values are not history");
    assert_eq!(s.sweep_history(at(-7 * 86_400)).await.unwrap(), 0);

    ingest(s, t.id, &key, vec![count("ws_old", 9)]).await;
    assert_eq!(versions(s, t.id, "ws_old").await, [4]);
}

/// A sweep removes all the history past the retention, however many jobs it takes (each store
/// removes 10,000 rows at a time).
pub async fn history_sweeps_past_one_job(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "history-sweep-big").await;
    let s = store.as_ref();
    let old = at(-10 * 86_400);
    for request in 0..11_i64 {
        let updates = (0..1_000)
            .map(|n| {
                update(
                    "ws_busy",
                    vec![FieldPatch::UserCount(Some(request * 1_000 + n))],
                    None,
                )
            })
            .collect();
        ingest_at(
            s,
            t.id,
            &key,
            old + chrono::Duration::seconds(request),
            updates,
        )
        .await;
    }
    ingest(
        s,
        t.id,
        &key,
        vec![update(
            "ws_busy",
            vec![FieldPatch::UserCount(Some(-1))],
            None,
        )],
    )
    .await;
    assert_eq!(s.sweep_history(at(-7 * 86_400)).await.unwrap(), 11_000);
    assert_eq!(versions(s, t.id, "ws_busy").await, [11_001]);
}
