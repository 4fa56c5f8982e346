//! A key's tallies (the raw counts of key health, SPEC §6): its log entries by hour and
//! outcome, its refusals by code with the newest example, and the fields its applied updates
//! of existing product orgs changed; since a time, for that key of that tenant only, however
//! much of the log has been swept, and exact when writers of one key commit at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use trailspark_core::{ApiKeyId, EndpointType, FieldPatch, TenantId, Update};
use trailspark_store::{
    hour_start, IngestRequest, IngestResult, Intake, KeyActivity, NewDelivery, Outcome, Refusal,
    RequestLog, Store, TallyKind, Verdict,
};

use crate::ingest::update;
use crate::{arrival, at, new_key, tenant_with_key};

/// Sends `updates`, each with its entry, then one refused entry per `(code, message)`.
async fn send(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    updates: Vec<Update>,
    refused: &[(&str, &str)],
) {
    let mut entries: Vec<NewDelivery> = (0..updates.len())
        .map(|n| NewDelivery {
            index: None,
            payload: None,
            verdict: Verdict::Update(n),
        })
        .collect();
    entries.extend(refused.iter().map(|(code, message)| NewDelivery {
        index: None,
        payload: None,
        verdict: Verdict::Refused(Refusal {
            status: 400,
            code: (*code).into(),
            message: (*message).into(),
        }),
    }));
    let request = IngestRequest {
        key_id: key.clone(),
        received_at,
        webhook_id: None,
        updates,
        log: Some(RequestLog {
            request_id: "req_health".into(),
            intake: Intake::Webhook,
            template_version: 1,
            replay_of: None,
            entries,
        }),
    };
    let result = store.ingest(tenant, request).await.expect("ingest");
    assert!(matches!(result, IngestResult::Applied(_)), "{result:?}");
}

fn name(text: &str) -> Vec<FieldPatch> {
    vec![FieldPatch::Name(Some(text.into()))]
}

/// What the key's tallies since `since` say.
async fn activity(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> KeyActivity {
    let tallies = store
        .key_tallies(tenant, key, since, None)
        .await
        .expect("key tallies");
    KeyActivity::from_tallies(&tallies)
}

/// Entries by (hour, outcome).
fn hours_of(activity: &KeyActivity) -> BTreeMap<(DateTime<Utc>, &'static str), u64> {
    let mut hours = BTreeMap::new();
    for h in &activity.hours {
        *hours.entry((h.hour, h.outcome.as_str())).or_default() += h.count;
    }
    hours
}

/// Entries by outcome and hour, refusals by code with their newest message, and the fields
/// each of the key's own applied updates of an existing org changed since the time: not a
/// creation's, not another key's updates of the same org, not an update received before.
pub async fn key_tallies_count_the_log_of_one_key(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "health-a").await;
    let other_key = s
        .create_api_key(t.id, new_key(EndpointType::ProductOrgUpdates).0)
        .await
        .expect("create key")
        .id;
    let (other_tenant, _) = tenant_with_key(&store, "health-b").await;
    let (since, old) = (at(-3_600), at(-7_200));
    let mut expected_hours: BTreeMap<(DateTime<Utc>, &str), u64> = BTreeMap::new();
    let mut now = |outcomes: &[Outcome]| {
        let received = arrival();
        let hour = hour_start(received.timestamp().div_euclid(3_600));
        for outcome in outcomes {
            *expected_hours.entry((hour, outcome.as_str())).or_default() += 1;
        }
        received
    };

    // Before the window: the creation (version 1) and a refusal.
    send(
        s,
        t.id,
        &key,
        old,
        vec![update("ws_h", name("A"), None)],
        &[("old", "x")],
    )
    .await;
    let received = now(&[Outcome::Applied]);
    send(
        s,
        t.id,
        &key,
        received,
        vec![update("ws_h", name("B"), None)],
        &[],
    )
    .await;
    let plan = vec![
        FieldPatch::PlanName(Some("Pro".into())),
        FieldPatch::Mrr(Some(9_900)),
    ];
    let received = now(&[Outcome::Applied]);
    send(
        s,
        t.id,
        &key,
        received,
        vec![update("ws_h", plan, None)],
        &[],
    )
    .await;
    // Another key's row of the same org (version 4) is not this key's.
    let seats = vec![FieldPatch::UserCount(Some(5))];
    send(
        s,
        t.id,
        &other_key,
        arrival(),
        vec![update("ws_h", seats, None)],
        &[],
    )
    .await;
    // A replay (version 5) keeps its original receive time, before the window.
    send(
        s,
        t.id,
        &key,
        old,
        vec![update("ws_h", name("C"), Some(9_000))],
        &[],
    )
    .await;
    let mut repeated = update("ws_h", name("D"), Some(9_001));
    repeated.message_id = Some("m_once".into());
    let received = now(&[Outcome::Applied, Outcome::Refused, Outcome::Refused]);
    let refused = [("missing_product_org_id", "first"), ("invalid_json", "bad")];
    send(s, t.id, &key, received, vec![repeated.clone()], &refused).await;
    let received = now(&[
        Outcome::Duplicate,
        Outcome::Unchanged,
        Outcome::Applied,
        Outcome::Refused,
    ]);
    let same = update("ws_h", name("D"), Some(9_002));
    let created = update("ws_new", name("New"), None);
    let refused = [("missing_product_org_id", "newest")];
    send(
        s,
        t.id,
        &key,
        received,
        vec![repeated, same, created],
        &refused,
    )
    .await;

    let activity = activity(s, t.id, &key, since).await;
    assert_eq!(
        hours_of(&activity),
        expected_hours,
        "entries by hour and outcome since the time"
    );
    let outcomes = s
        .key_tallies(t.id, &key, since, Some(TallyKind::Outcome))
        .await
        .expect("outcome tallies");
    assert!(outcomes.iter().all(|t| t.kind == TallyKind::Outcome));
    assert_eq!(
        hours_of(&KeyActivity::from_tallies(&outcomes)),
        expected_hours,
        "the outcomes read alone"
    );

    let mut refusals: Vec<_> = activity
        .refusals
        .iter()
        .map(|r| (r.code.as_str(), r.count, r.example_message.as_str()))
        .collect();
    refusals.sort_unstable();
    assert_eq!(
        refusals,
        [
            ("invalid_json", 1, "bad"),
            ("missing_product_org_id", 2, "newest")
        ],
        "refusals by code, each with its newest message"
    );
    let newest = activity
        .refusals
        .iter()
        .find(|r| r.code == "missing_product_org_id")
        .unwrap();
    let entry = s.delivery(t.id, newest.example_id).await.expect("example");
    assert_eq!(
        entry.row.message.as_deref(),
        Some("newest"),
        "the example is that entry"
    );

    let mut fields: Vec<_> = activity
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.changed, f.only))
        .collect();
    fields.sort_unstable();
    assert_eq!(
        (activity.changing_updates, fields),
        (3, vec![("mrr", 1, 0), ("name", 2, 2), ("planName", 1, 0)]),
        "the key's updates of ws_h since the time, its versions 2, 3 and 6 (not ws_new's \
         creation, nor the other key's version 4, nor version 5 received before)"
    );

    let theirs = s
        .key_tallies(other_tenant.id, &key, since, None)
        .await
        .expect("another tenant's tallies");
    assert_eq!(theirs, [], "another tenant sees nothing of the key");
}

/// The outcome and refusal counts since a time, from the key's tallies.
async fn counted(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    since: DateTime<Utc>,
) -> (u64, u64, Vec<(String, u64)>) {
    let activity = activity(store, tenant, key, since).await;
    let of = |outcome| {
        activity
            .hours
            .iter()
            .filter(|h| h.outcome == outcome)
            .map(|h| h.count)
            .sum::<u64>()
    };
    let refusals = activity
        .refusals
        .iter()
        .map(|r| (r.code.clone(), r.count))
        .collect();
    (of(Outcome::Applied), of(Outcome::Refused), refusals)
}

/// The log keeps each key's newest entries; the tallies count every delivery of the hours
/// they keep, and go when the hour is wholly before the sweep's time.
pub async fn tallies_keep_counting_what_the_log_has_swept(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "tallies-swept").await;
    let early = at(-7_200);
    let orgs = |prefix: &str| {
        (0..5)
            .map(|n| update(&format!("{prefix}{n}"), name("A"), None))
            .collect::<Vec<_>>()
    };
    let refused = [("missing_product_org_id", "m"); 3];
    send(s, t.id, &key, early, orgs("early_"), &refused).await;
    send(s, t.id, &key, arrival(), orgs("now_"), &refused).await;

    s.sweep_deliveries(at(-30 * 86_400), 2)
        .await
        .expect("sweep by count");
    let query = trailspark_store::DeliveryQuery {
        page: trailspark_store::PageRequest {
            cursor: None,
            limit: 100,
        },
        ..trailspark_store::DeliveryQuery::default()
    };
    let kept = s.deliveries(t.id, &key, &query).await.expect("the log");
    assert_eq!(kept.items.len(), 2, "the log keeps the newest 2 entries");
    let since = at(-86_400);
    assert_eq!(
        counted(s, t.id, &key, since).await,
        (10, 6, vec![("missing_product_org_id".into(), 6)]),
        "every delivery is still counted"
    );

    // A time within the current hour: the early hour is wholly before it, this one is not.
    let hour_of_now = hour_start(arrival().timestamp().div_euclid(3_600));
    s.sweep_deliveries(hour_of_now + chrono::Duration::seconds(1), 2)
        .await
        .expect("sweep by age");
    assert_eq!(
        counted(s, t.id, &key, since).await,
        (5, 3, vec![("missing_product_org_id".into(), 3)]),
        "the early hour's tallies are gone, the current hour's kept"
    );
}

/// Requests of one key committed at once (separate transactions on PostgreSQL) add up to
/// exactly what was sent.
pub async fn tallies_of_requests_sent_at_once_add_up(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "tallies-at-once").await;
    let sends: Vec<_> = (0..24)
        .map(|n| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                let orgs = vec![update(&format!("ws_at_once_{n}"), name("A"), None)];
                let refused = [("invalid_json", "x")];
                send(store.as_ref(), t.id, &key, arrival(), orgs, &refused).await;
            })
        })
        .collect();
    for sent in sends {
        sent.await.expect("a send");
    }
    assert_eq!(
        counted(store.as_ref(), t.id, &key, at(-86_400)).await,
        (24, 24, vec![("invalid_json".into(), 24)])
    );
}

/// For the stores' migration tests: a key whose log holds every kind of tally (outcomes over
/// two hours, refusals of two codes, creations and changing updates).
pub async fn a_key_with_a_mixed_log(store: &Arc<dyn Store>) -> (TenantId, ApiKeyId) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(store, "tallies-mixed").await;
    let refused = [("invalid_json", "first"), ("missing_product_org_id", "m")];
    let created = vec![
        update("ws_m", name("A"), None),
        update("ws_n", name("B"), None),
    ];
    send(s, t.id, &key, at(-7_200), created, &refused).await;
    let changed = vec![
        update("ws_m", name("C"), None),
        update("ws_n", vec![FieldPatch::Mrr(Some(5))], None),
    ];
    send(
        s,
        t.id,
        &key,
        arrival(),
        changed,
        &[("invalid_json", "newest")],
    )
    .await;
    (t.id, key)
}

/// A tenant with a key whose log holds `requests` × 1,000 refusals, logged by the store's
/// writers as they come: for a count of tallies that is more than a page of anything.
pub async fn a_key_with_a_long_log(
    store: &Arc<dyn Store>,
    requests: usize,
) -> (TenantId, ApiKeyId) {
    let (t, key) = tenant_with_key(store, "tallies-long").await;
    let refused: Vec<(&str, &str)> = vec![("invalid_json", "again"); 1_000];
    for _ in 0..requests {
        send(store.as_ref(), t.id, &key, arrival(), Vec::new(), &refused).await;
    }
    (t.id, key)
}

/// What the key's tallies of the last day say.
pub async fn the_last_day_of(store: &dyn Store, tenant: TenantId, key: &ApiKeyId) -> KeyActivity {
    activity(store, tenant, key, at(-86_400)).await
}
