//! The delivery log (SPEC §6): written with the updates it describes, read per key with
//! filters and pages, one entry by id within its tenant, swept by age and count.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, EndpointType, FieldPatch, LeadId, ProductOrgId, TenantId};
use trailspark_store::{
    Delivery, DeliveryQuery, IngestRequest, IngestResult, Intake, Missing, NewDelivery, Outcome,
    PageRequest, Refusal, RequestLog, SignalRequest, Store, StoreError, Verdict,
};

use crate::ingest::update;
use crate::{arrival, new_key, tenant_with_key};

mod sweep;
pub use sweep::{delivery_log_sweep, delivery_log_sweep_leaves_refusals_and_payloads_findable};

fn refusal(code: &str) -> Verdict {
    Verdict::Refused(Refusal {
        status: 400,
        code: code.into(),
        message: format!("refused: {code}"),
    })
}

fn entry(index: Option<u32>, payload: Option<&str>, verdict: Verdict) -> NewDelivery {
    NewDelivery {
        index,
        payload: payload.map(str::to_owned),
        verdict,
    }
}

fn log(request_id: &str, entries: Vec<NewDelivery>) -> RequestLog {
    RequestLog {
        request_id: request_id.into(),
        intake: Intake::Webhook,
        template_version: 2,
        replay_of: None,
        entries,
    }
}

/// Sends `updates` with `log`, received at `received_at`.
async fn send(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    received_at: DateTime<Utc>,
    updates: Vec<trailspark_core::Update>,
    log: RequestLog,
) {
    let request = IngestRequest {
        key_id: key.clone(),
        received_at,
        webhook_id: None,
        updates,
        log: Some(log),
    };
    let result = store.ingest(tenant, request).await.expect("ingest");
    assert!(matches!(result, IngestResult::Applied(_)), "{result:?}");
}

async fn all(store: &dyn Store, tenant: TenantId, key: &ApiKeyId) -> Vec<Delivery> {
    let query = DeliveryQuery {
        page: PageRequest {
            cursor: None,
            limit: 1_000,
        },
        ..DeliveryQuery::default()
    };
    store
        .deliveries(tenant, key, &query)
        .await
        .expect("deliveries")
        .items
}

/// Each update of a request gets its entry with the store's outcome, and an element refused
/// before the store its own; newest first, every column as written, one by id in its tenant.
pub async fn delivery_log_rides_ingest(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "log-ingest").await;
    let (other, other_key) = tenant_with_key(&store, "log-ingest-b").await;
    let name = |n: &str| vec![FieldPatch::Name(Some(n.into()))];
    let with_id = |mut u: trailspark_core::Update, id: &str| {
        u.message_id = Some(id.into());
        u
    };
    let at = arrival();
    send(
        s,
        t.id,
        &key,
        at,
        vec![
            with_id(update("ws_log", name("Acme"), None), "m1"),
            update("ws_log", name("Acme"), None),
            with_id(update("ws_log", name("Other"), None), "m1"),
        ],
        log(
            "req_a",
            vec![
                entry(Some(0), None, Verdict::Update(0)),
                entry(Some(1), None, Verdict::Update(1)),
                entry(Some(2), Some(r#"{"id":"x"}"#), Verdict::Update(2)),
                entry(
                    Some(3),
                    Some(r#"{"nope":1}"#),
                    refusal("missing_product_org_id"),
                ),
            ],
        ),
    )
    .await;
    // A request refused before its updates were read: no update, one entry.
    send(
        s,
        t.id,
        &key,
        arrival(),
        vec![],
        log("req_b", vec![entry(None, None, refusal("invalid_json"))]),
    )
    .await;
    send(
        s,
        other.id,
        &other_key,
        arrival(),
        vec![update("ws_log", name("B"), None)],
        log("req_c", vec![entry(None, None, Verdict::Update(0))]),
    )
    .await;

    let entries = all(s, t.id, &key).await;
    let seen: Vec<_> = entries
        .iter()
        .map(|d| {
            (
                d.row.request_id.as_str(),
                d.row.index,
                d.row.outcome,
                d.row.changed,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("req_b", None, Outcome::Refused, false),
            ("req_a", Some(3), Outcome::Refused, false),
            ("req_a", Some(2), Outcome::Duplicate, false),
            ("req_a", Some(1), Outcome::Unchanged, false),
            ("req_a", Some(0), Outcome::Applied, true),
        ],
        "one entry per update and per refusal, newest first, each with the store's outcome"
    );
    let applied = &entries[4];
    assert_eq!(applied.key_id, key);
    assert_eq!(applied.row.product_org_id.as_deref(), Some("ws_log"));
    assert!(applied.row.target_org_id.is_some());
    assert_eq!(applied.row.received_at, at, "microseconds kept");
    assert_eq!((applied.row.status, applied.row.template_version), (200, 2));
    assert_eq!(applied.row.intake, Intake::Webhook);
    let refused = &entries[1];
    assert_eq!(refused.row.status, 400);
    assert_eq!(refused.row.code.as_deref(), Some("missing_product_org_id"));
    assert_eq!(
        refused.row.message.as_deref(),
        Some("refused: missing_product_org_id")
    );
    assert_eq!(refused.row.payload.as_deref(), Some(r#"{"nope":1}"#));
    assert_eq!(entries[2].row.payload.as_deref(), Some(r#"{"id":"x"}"#));

    assert_eq!(s.delivery(t.id, refused.id).await.unwrap(), *refused);
    let theirs = all(s, other.id, &other_key).await;
    assert_eq!(theirs.len(), 1, "another tenant's key has its own log");
    let unset = (
        &theirs[0].row.code,
        &theirs[0].row.message,
        &theirs[0].row.payload,
    );
    assert_eq!(
        unset,
        (&None, &None, &None),
        "written after a refusal, none of its columns"
    );
    assert!(
        matches!(
            s.delivery(t.id, theirs[0].id).await,
            Err(StoreError::NotFound(Missing::Delivery(id))) if id == theirs[0].id
        ),
        "one tenant cannot read another's delivery by id"
    );
    assert!(all(s, t.id, &other_key).await.is_empty(), "nor list it");
}

/// A request refused as a replayed webhook-id writes no entries of its own (the server logs
/// the refusal), and signals are logged with their lead.
pub async fn delivery_log_of_signals_and_replays(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "log-signals").await;
    let request = |id: &str| IngestRequest {
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: Some("wh_1".into()),
        updates: vec![update("ws_r", vec![], None)],
        log: Some(log(id, vec![entry(None, None, Verdict::Update(0))])),
    };
    s.ingest(t.id, request("req_1")).await.unwrap();
    assert_eq!(
        s.ingest(t.id, request("req_2")).await.unwrap(),
        IngestResult::Replayed
    );
    let entries = all(s, t.id, &key).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].row.request_id, "req_1");

    let (signal_key, _) = new_key(EndpointType::SignalStaging);
    let signal_key = s.create_api_key(t.id, signal_key).await.unwrap().id;
    let signal = Signal {
        lead_id: LeadId::parse("lead_1").unwrap(),
        email: None,
        product_org_id: Some(ProductOrgId::parse("ws_r").unwrap()),
        name: Some("signup".into()),
        event_at: None,
        properties: None,
        custom_fields: serde_json::Map::new(),
        message_id: None,
        warnings: Vec::new(),
    };
    let request = SignalRequest {
        key_id: signal_key.clone(),
        received_at: arrival(),
        webhook_id: None,
        signals: vec![signal],
        log: Some(log("req_s", vec![entry(None, None, Verdict::Update(0))])),
    };
    s.ingest_signals(t.id, request).await.unwrap();
    let entries = all(s, t.id, &signal_key).await;
    assert_eq!(entries.len(), 1);
    let row = &entries[0].row;
    assert_eq!((row.outcome, row.changed), (Outcome::Applied, true));
    assert_eq!(row.lead_id.as_deref(), Some("lead_1"));
    assert_eq!(row.product_org_id, None);
    assert!(row.target_org_id.is_some(), "linked through ws_r");
}

/// The request ids of every page of `query`, two entries a page.
async fn every_page(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    mut query: DeliveryQuery,
) -> Vec<String> {
    let mut ids = Vec::new();
    query.page.limit = 2;
    loop {
        let page = store.deliveries(tenant, key, &query).await.unwrap();
        ids.extend(page.items.iter().map(|d| d.row.request_id.clone()));
        match page.next_cursor {
            Some(cursor) => query.page.cursor = Some(cursor),
            None => return ids,
        }
    }
}

/// Filters combine; pages go back in time without overlap.
pub async fn delivery_log_filters_and_pages(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "log-filters").await;
    let start = arrival();
    for n in 0..12_i64 {
        let at = start + Duration::seconds(n);
        let (updates, verdict, payload) = if n % 3 == 0 {
            (vec![], refusal("missing_product_org_id"), Some("{}"))
        } else {
            (
                vec![update(
                    &format!("ws_f{}", n % 2),
                    vec![FieldPatch::Name(Some(format!("n{n}")))],
                    None,
                )],
                Verdict::Update(0),
                None,
            )
        };
        send(
            s,
            t.id,
            &key,
            at,
            updates,
            log(&format!("req_{n}"), vec![entry(None, payload, verdict)]),
        )
        .await;
    }
    let query = |q| every_page(s, t.id, &key, q);
    let refused = query(DeliveryQuery {
        outcome: Some(Outcome::Refused),
        ..DeliveryQuery::default()
    })
    .await;
    assert_eq!(refused, ["req_9", "req_6", "req_3", "req_0"]);
    let of_org = query(DeliveryQuery {
        product_org_id: Some("ws_f1".into()),
        since: Some(start + Duration::seconds(5)),
        ..DeliveryQuery::default()
    })
    .await;
    assert_eq!(of_org, ["req_11", "req_7", "req_5"]);
    let with_payload = query(DeliveryQuery {
        with_payload: true,
        since: Some(start + Duration::seconds(4)),
        ..DeliveryQuery::default()
    })
    .await;
    assert_eq!(with_payload, ["req_9", "req_6"]);
    assert_eq!(
        query(DeliveryQuery::default()).await.len(),
        12,
        "every page, no overlap"
    );
}

/// A replay (SPEC §6) is a request received at the refused delivery's own time, logged with
/// `replayOf`: an older value never overwrites what a later request wrote, a field nobody
/// wrote since is filled, and the same messageId replayed twice applies once.
pub async fn delivery_log_replays_apply_at_their_original_time(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (t, key) = tenant_with_key(&store, "log-replay").await;
    let refused_at = arrival();
    let payload = r#"{"workspace":"ws_rp","name":"Older","planId":"pro"}"#;
    send(
        s,
        t.id,
        &key,
        refused_at,
        vec![],
        log(
            "req_refused",
            vec![entry(
                None,
                Some(payload),
                refusal("missing_product_org_id"),
            )],
        ),
    )
    .await;
    let refused = all(s, t.id, &key).await.remove(0);
    assert_eq!(refused.row.outcome, Outcome::Refused);
    // After the refusal, a later request sets the name.
    send(
        s,
        t.id,
        &key,
        arrival(),
        vec![update(
            "ws_rp",
            vec![FieldPatch::Name(Some("Newer".into()))],
            None,
        )],
        log("req_later", vec![entry(None, None, Verdict::Update(0))]),
    )
    .await;

    let replay = |request_id: &str| {
        let mut u = update(
            "ws_rp",
            vec![
                FieldPatch::Name(Some("Older".into())),
                FieldPatch::PlanId(Some("pro".into())),
            ],
            None,
        );
        u.message_id = Some("m_replayed".into());
        let mut log = log(request_id, vec![entry(None, None, Verdict::Update(0))]);
        log.replay_of = Some(refused.id);
        IngestRequest {
            key_id: key.clone(),
            received_at: refused.row.received_at,
            webhook_id: None,
            updates: vec![u],
            log: Some(log),
        }
    };
    let first = s.ingest(t.id, replay("req_replay_1")).await.unwrap();
    let IngestResult::Applied(results) = first else {
        panic!("{first:?}")
    };
    let applied = results[0].as_ref().expect("replay applied");
    assert!(applied.changed, "the plan nobody wrote since is filled");
    let org = s
        .product_org(t.id, &crate::ingest::id("ws_rp"))
        .await
        .unwrap();
    assert_eq!(
        org.fields.name.as_deref(),
        Some("Newer"),
        "the replayed name is older than the later request's"
    );
    assert_eq!(org.fields.plan_id.as_deref(), Some("pro"));

    s.ingest(t.id, replay("req_replay_2")).await.unwrap();
    let entries = all(s, t.id, &key).await;
    let seen: Vec<_> = entries
        .iter()
        .map(|d| (d.row.request_id.as_str(), d.row.outcome, d.row.replay_of))
        .collect();
    assert_eq!(
        seen,
        [
            ("req_replay_2", Outcome::Duplicate, Some(refused.id)),
            ("req_replay_1", Outcome::Applied, Some(refused.id)),
            ("req_later", Outcome::Applied, None),
            ("req_refused", Outcome::Refused, None),
        ],
        "each replay logged with the delivery it replays; the second is a duplicate"
    );
    assert_eq!(
        entries[1].row.received_at, refused.row.received_at,
        "a replay keeps the original receive time"
    );
}
