//! A key's activity (the raw counts of key health, SPEC §6): its log entries by hour and
//! outcome, its refusals by code with the newest example, and the fields each of its applied
//! updates of an existing product org changed; since a time, for that key of that tenant only.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use trailspark_core::{ApiKeyId, EndpointType, FieldPatch, TenantId, Update};
use trailspark_store::{
    hour_start, ChangedFields, IngestRequest, IngestResult, Intake, KeyActivity, NewDelivery,
    Outcome, Refusal, RequestLog, Store, Verdict,
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

fn sorted(changes: Vec<ChangedFields>) -> Vec<Vec<String>> {
    let mut fields: Vec<Vec<String>> = changes.into_iter().map(|c| c.fields).collect();
    fields.sort();
    fields
}

/// Entries by outcome and hour, refusals by code with their newest message, and the fields
/// each of the key's own applied updates of an existing org changed since the time: not a
/// creation's, not another key's updates of the same org, not an update received before.
pub async fn key_activity_counts_the_log_of_one_key(store: Arc<dyn Store>) {
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

    let activity = s
        .key_activity(t.id, &key, since)
        .await
        .expect("key activity");
    let hours: BTreeMap<(DateTime<Utc>, &str), u64> = activity
        .hours
        .iter()
        .map(|h| ((h.hour, h.outcome.as_str()), h.count))
        .collect();
    assert_eq!(
        hours, expected_hours,
        "entries by hour and outcome since the time"
    );
    let hours_alone: BTreeMap<(DateTime<Utc>, &str), u64> = s
        .key_hours(t.id, &key, since)
        .await
        .expect("key hours")
        .iter()
        .map(|h| ((h.hour, h.outcome.as_str()), h.count))
        .collect();
    assert_eq!(hours_alone, expected_hours, "the hours read alone");

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

    let strings = |fields: &[&str]| fields.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        sorted(activity.changes),
        [
            strings(&["name"]),
            strings(&["name"]),
            strings(&["planName", "mrr"]),
        ],
        "the key's updates of ws_h since the time, its versions 2, 3 and 6 (not ws_new's \
         creation, nor the other key's version 4, nor version 5 received before)"
    );

    let theirs = s
        .key_activity(other_tenant.id, &key, since)
        .await
        .expect("another tenant's activity");
    assert_eq!(
        theirs,
        KeyActivity::default(),
        "another tenant sees nothing of the key"
    );
    let their_hours = s.key_hours(other_tenant.id, &key, since).await;
    assert_eq!(
        their_hours.expect("another tenant's hours"),
        [],
        "nor of its hours"
    );
}
