//! The delivery log's sweep by age and count, and what it leaves findable.

use std::sync::Arc;

use chrono::Duration;
use trailspark_core::{EndpointType, FieldPatch};
use trailspark_store::{DeliveryQuery, Outcome, PageRequest, Store, Verdict};

use super::{all, entry, log, refusal, send};
use crate::ingest::update;
use crate::{arrival, new_key, tenant_with_key};

/// A sweep removes entries older than the retention, then each key's beyond its count,
/// oldest first; what it keeps is untouched.
pub async fn delivery_log_sweep(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "log-sweep").await;
    let (_, other_key) = {
        let (k, _) = new_key(EndpointType::ProductOrgUpdates);
        let record = s.create_api_key(t.id, k).await.unwrap();
        (t.id, record.id)
    };
    let now = arrival();
    let old = now - Duration::days(10);
    for n in 0..3 {
        send(
            s,
            t.id,
            &key,
            old + Duration::seconds(n),
            vec![],
            log(&format!("old_{n}"), vec![entry(None, None, refusal("x"))]),
        )
        .await;
    }
    for n in 0..5 {
        send(
            s,
            t.id,
            &key,
            now + Duration::seconds(n),
            vec![],
            log(&format!("new_{n}"), vec![entry(None, None, refusal("x"))]),
        )
        .await;
    }
    for n in 0..3 {
        send(
            s,
            t.id,
            &other_key,
            now + Duration::seconds(n),
            vec![],
            log(&format!("other_{n}"), vec![entry(None, None, refusal("x"))]),
        )
        .await;
    }
    let swept = s
        .sweep_deliveries(now - Duration::days(7), 3)
        .await
        .unwrap();
    assert!(swept.expired >= 3, "{swept:?}");
    assert!(swept.over_count >= 2, "{swept:?}");
    let kept: Vec<_> = all(s, t.id, &key)
        .await
        .into_iter()
        .map(|d| d.row.request_id)
        .collect();
    assert_eq!(kept, ["new_4", "new_3", "new_2"], "the newest 3 of the key");
    assert_eq!(
        all(s, t.id, &other_key).await.len(),
        3,
        "a key within its count keeps all"
    );
}

/// What a sweep leaves of a request's entries is still found by the reads that look for
/// refusals or for kept payloads (the SQLite store reads those from an index of what each
/// chunk of the log holds, which the sweep must keep true).
pub async fn delivery_log_sweep_leaves_refusals_and_payloads_findable(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "log-sweep-kept").await;
    let now = arrival();
    let updates = vec![
        update("ws_k0", vec![FieldPatch::Name(Some("a".into()))], None),
        update("ws_k1", vec![FieldPatch::Name(Some("b".into()))], None),
    ];
    let entries = vec![
        entry(Some(0), Some(r#"{"i":0}"#), refusal("x")),
        entry(Some(1), Some(r#"{"i":1}"#), Verdict::Update(0)),
        entry(Some(2), Some(r#"{"i":2}"#), refusal("y")),
        entry(Some(3), None, Verdict::Update(1)),
    ];
    send(s, t.id, &key, now, updates, log("req_k", entries)).await;
    let swept = s
        .sweep_deliveries(now - Duration::days(7), 3)
        .await
        .unwrap();
    assert_eq!(swept.over_count, 1, "{swept:?}");
    let key = &key;
    let find = |outcome, with_payload| async move {
        let query = DeliveryQuery {
            outcome,
            with_payload,
            page: PageRequest {
                cursor: None,
                limit: 100,
            },
            ..DeliveryQuery::default()
        };
        let page = s.deliveries(t.id, key, &query).await.unwrap();
        page.items
            .iter()
            .map(|d| (d.row.index, d.row.payload.clone()))
            .collect::<Vec<_>>()
    };
    let two = (Some(2), Some(r#"{"i":2}"#.to_owned()));
    let one = (Some(1), Some(r#"{"i":1}"#.to_owned()));
    assert_eq!(
        find(Some(Outcome::Refused), false).await,
        std::slice::from_ref(&two)
    );
    assert_eq!(find(None, true).await, [two, one]);
}
