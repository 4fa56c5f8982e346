//! Per-field clocks (SPEC §2): the time that last wrote each field decides whether a value
//! may overwrite it, so the store must keep those times, not only the values.

use std::sync::Arc;

use trailspark_core::FieldPatch;
use trailspark_store::Store;

use crate::at;
use crate::ingest::{id, ingest_at, one, page, update};
use crate::tenant_with_key;

fn plan(name: &str) -> FieldPatch {
    FieldPatch::PlanId(Some(name.into()))
}

/// An update with the same values but a newer eventTimestamp changes nothing (`changed:false`,
/// no history, `updatedAt` kept), yet its time is kept: an older update arriving after it
/// still loses. Checked again after a move, which a store holding product orgs in memory
/// answers by reading the org back: what decides is what the store holds, not a writer's copy.
pub async fn a_newer_unchanged_update_still_outranks_older_ones(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "clocks").await;
    let s = store.as_ref();
    for org in ["ws_kept", "ws_moved"] {
        let first = one(s, t.id, &key, update(org, vec![plan("pro")], Some(20))).await;
        assert!(first.is_new_org, "{org}: {first:?}");
        let before = s.product_org(t.id, &id(org)).await.unwrap();
        let same = one(s, t.id, &key, update(org, vec![plan("pro")], Some(40))).await;
        assert!(
            !same.changed,
            "{org}: the same value with a newer eventTimestamp changes nothing: {same:?}"
        );
        let after = s.product_org(t.id, &id(org)).await.unwrap();
        assert_eq!(
            after.updated_at, before.updated_at,
            "{org}: an unchanged update leaves updatedAt"
        );
    }
    let kept = s.product_org(t.id, &id("ws_kept")).await.unwrap();
    s.move_product_org(t.id, &id("ws_moved"), kept.target_org_id)
        .await
        .expect("move");
    for org in ["ws_kept", "ws_moved"] {
        let older = one(s, t.id, &key, update(org, vec![plan("basic")], Some(30))).await;
        let stored = s.product_org(t.id, &id(org)).await.unwrap();
        assert_eq!(
            stored.fields.plan_id.as_deref(),
            Some("pro"),
            "{org}: an update at 30 s arriving after the unchanged one at 40 s must lose to it \
             (answered {older:?})"
        );
        assert!(!older.changed, "{org}: the older update changed nothing");
        let history = s.product_org_history(t.id, &id(org), &page(10)).await;
        assert_eq!(
            history.unwrap().items.len(),
            1,
            "{org}: neither the unchanged nor the older update wrote history"
        );
    }
}

/// One request of [`updates_without_event_time_take_their_arrival`].
struct Step {
    /// Receive time, seconds after the fixed instant.
    received: i64,
    event: Option<i64>,
    plan: &'static str,
    /// A field no earlier update wrote, sent along.
    other: Option<FieldPatch>,
    /// The plan stored afterwards.
    stored: &'static str,
}

/// An update without eventTimestamp counts as its receive time, field by field: a later
/// arrival overwrites an earlier one, an event older than that arrival loses to it, and an
/// arrival older than a stored event time loses to that.
pub async fn updates_without_event_time_take_their_arrival(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "arrivals").await;
    let s = store.as_ref();
    let step = |received, event, plan, other, stored| Step {
        received,
        event,
        plan,
        other,
        stored,
    };
    let steps = [
        step(10, None, "a", None, "a"),
        step(20, None, "b", None, "b"),
        step(30, Some(15), "c", Some(FieldPatch::Mrr(Some(100))), "b"),
        step(40, Some(60), "d", None, "d"),
        step(50, None, "e", Some(FieldPatch::UserCount(Some(7))), "d"),
        step(70, None, "f", None, "f"),
    ];
    for Step {
        received,
        event,
        plan: value,
        other,
        stored: expected,
    } in steps
    {
        let took_other = other.is_some();
        let patches = std::iter::once(plan(value)).chain(other).collect();
        let mut results = ingest_at(
            s,
            t.id,
            &key,
            at(received),
            vec![update("ws_t", patches, event)],
        )
        .await;
        let applied = results.pop().unwrap();
        let stored = s.product_org(t.id, &id("ws_t")).await.unwrap();
        assert_eq!(
            stored.fields.plan_id.as_deref(),
            Some(expected),
            "plan {value:?} received at {received} s with event time {event:?}: {applied:?}"
        );
        assert_eq!(
            applied.changed,
            expected == value || took_other,
            "changed, for plan {value:?} received at {received} s"
        );
    }
    let stored = s.product_org(t.id, &id("ws_t")).await.unwrap();
    assert_eq!(
        (stored.fields.mrr, stored.fields.user_count),
        (Some(100), Some(7)),
        "fields no update had written took the losing updates' values"
    );
}
