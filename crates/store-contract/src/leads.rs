//! Signals, lead linking, target orgs, firmographics and the evaluation context.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use trailspark_core::signal::Signal;
use trailspark_core::{
    ApiKeyId, EndpointType, FieldPatch, LeadId, ProductOrgId, TargetOrgId, TenantId,
};
use trailspark_store::{
    FirmographicsKey, FirmographicsRow, IngestResult, Missing, PageRequest, SearchQuery,
    SignalApplied, SignalRequest, Store, StoreError,
};

use crate::ingest::{ingest, update};
use crate::{arrival, at, new_key, tenant_with_key};

fn signal(lead: &str, product_org: Option<&str>, event: Option<i64>) -> Signal {
    Signal {
        lead_id: LeadId::parse(lead).unwrap(),
        email: None,
        product_org_id: product_org.map(|id| ProductOrgId::parse(id).unwrap()),
        name: Some(format!("event at {event:?}")),
        event_at: event.map(at),
        properties: None,
        custom_fields: Map::new(),
        message_id: None,
        warnings: Vec::new(),
    }
}

async fn send(store: &dyn Store, tenant: TenantId, key: &ApiKeyId, s: Signal) -> SignalApplied {
    let request = SignalRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        signals: vec![s],
    };
    match store
        .ingest_signals(tenant, request)
        .await
        .expect("ingest signals")
    {
        IngestResult::Applied(mut results) => results.pop().unwrap().expect("signal stored"),
        IngestResult::Replayed => panic!("not a replay"),
    }
}

async fn signal_key(store: &dyn Store, tenant: TenantId) -> ApiKeyId {
    store
        .create_api_key(tenant, new_key(EndpointType::SignalStaging).0)
        .await
        .unwrap()
        .id
}

fn lead_id(text: &str) -> LeadId {
    LeadId::parse(text).unwrap()
}

/// A signal for an existing org links at once; one for an unknown org links when the org is
/// created; a case-mismatched id never links; the latest link wins.
pub async fn signals_link_leads(store: Arc<dyn Store>) {
    let (t, org_key) = tenant_with_key(&store, "links").await;
    let s = store.as_ref();
    let key = signal_key(s, t.id).await;
    let org = ingest(s, t.id, &org_key, vec![update("ws_a", vec![], None)])
        .await
        .remove(0);

    let now = send(s, t.id, &key, signal("lead_now", Some("ws_a"), None)).await;
    assert!(now.linked, "existing org links at once: {now:?}");
    assert_eq!(now.target_org_id, Some(org.target_org_id));

    let pending = send(s, t.id, &key, signal("lead_later", Some("ws_b"), None)).await;
    assert!(
        !pending.linked && pending.target_org_id.is_none(),
        "unknown org is pending: {pending:?}"
    );
    let case = send(s, t.id, &key, signal("lead_case", Some("WS_B"), None)).await;
    assert!(!case.linked);
    let created = ingest(s, t.id, &org_key, vec![update("ws_b", vec![], None)])
        .await
        .remove(0);
    let later = s.lead(t.id, &lead_id("lead_later")).await.unwrap();
    assert_eq!(
        later.target_org_id,
        Some(created.target_org_id),
        "linked when the org was created"
    );
    let case = s.lead(t.id, &lead_id("lead_case")).await.unwrap();
    assert_eq!(case.target_org_id, None, "ids match case-sensitively");

    let moved = send(s, t.id, &key, signal("lead_now", Some("ws_b"), None)).await;
    assert_eq!(
        moved.target_org_id,
        Some(created.target_org_id),
        "the latest link wins"
    );
    let kept = send(s, t.id, &key, signal("lead_now", None, None)).await;
    assert_eq!(
        kept.target_org_id,
        Some(created.target_org_id),
        "a signal without an org keeps the link"
    );
}

/// The context holds the lead, its signals newest first (bounded), its org's firmographics
/// and every product org of that org; a lead without an org gets none.
pub async fn evaluation_context(store: Arc<dyn Store>) {
    let (t, org_key) = tenant_with_key(&store, "context").await;
    let s = store.as_ref();
    let key = signal_key(s, t.id).await;
    let orgs = ingest(
        s,
        t.id,
        &org_key,
        vec![
            update("ws_2", vec![FieldPatch::PlanName(Some("Pro".into()))], None),
            update("ws_1", vec![FieldPatch::UserCount(Some(3))], None),
        ],
    )
    .await;
    s.move_product_org(
        t.id,
        &ProductOrgId::parse("ws_1").unwrap(),
        orgs[0].target_org_id,
    )
    .await
    .unwrap();
    for event in [20, 10, 30] {
        send(s, t.id, &key, signal("ada", Some("ws_2"), Some(event))).await;
    }
    let firmographics: Map<String, Value> = json!({"domain": "acme.com", "employees": 500})
        .as_object()
        .cloned()
        .unwrap();
    s.set_firmographics(t.id, orgs[0].target_org_id, firmographics.clone())
        .await
        .unwrap();

    let context = s
        .evaluation_context(t.id, &lead_id("ada"), 2)
        .await
        .unwrap();
    assert_eq!(context.lead.target_org_id, Some(orgs[0].target_org_id));
    let times: Vec<_> = context
        .signals
        .iter()
        .map(|s| s.event_at.unwrap())
        .collect();
    assert_eq!(times, [at(30), at(20)], "newest first, at most 2");
    assert_eq!(context.firmographics, Some(firmographics));
    let ids: Vec<_> = context
        .product_orgs
        .iter()
        .map(|o| o.product_org_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["ws_1", "ws_2"],
        "both product orgs of the target org, by id"
    );

    send(s, t.id, &key, signal("bo", None, None)).await;
    let alone = s
        .evaluation_context(t.id, &lead_id("bo"), 50)
        .await
        .unwrap();
    assert!(alone.product_orgs.is_empty() && alone.firmographics.is_none());
    let missing = s.evaluation_context(t.id, &lead_id("nobody"), 50).await;
    assert!(
        matches!(&missing, Err(StoreError::NotFound(Missing::Lead(l))) if l.as_str() == "nobody"),
        "the error names the lead: {:?}",
        missing.map(|c| c.lead)
    );
    let (other, _) = tenant_with_key(&store, "context-other").await;
    assert!(
        matches!(
            s.lead(other.id, &lead_id("ada")).await,
            Err(StoreError::NotFound(Missing::Lead(_)))
        ),
        "tenant-scoped"
    );
}

/// Target orgs list, show their product orgs and leads, take firmographics, and a product org
/// moves between them with its leads.
pub async fn target_orgs_and_moves(store: Arc<dyn Store>) {
    let (t, org_key) = tenant_with_key(&store, "targets").await;
    let s = store.as_ref();
    let key = signal_key(s, t.id).await;
    let orgs = ingest(
        s,
        t.id,
        &org_key,
        vec![
            update("ws_x", vec![FieldPatch::Name(Some("Acme EU".into()))], None),
            update("ws_y", vec![FieldPatch::Name(Some("Acme US".into()))], None),
        ],
    )
    .await;
    send(s, t.id, &key, signal("lee", Some("ws_y"), None)).await;
    let page = s
        .list_target_orgs(
            t.id,
            &SearchQuery {
                search: Some("acme".into()),
                page: PageRequest {
                    cursor: None,
                    limit: 1,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].name, "Acme EU",
        "named after the first product org, ordered by id"
    );
    let next = page.next_cursor.expect("a second page");
    let rest = s
        .list_target_orgs(
            t.id,
            &SearchQuery {
                search: Some("acme".into()),
                page: PageRequest {
                    cursor: Some(next),
                    limit: 1,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items[0].name, "Acme US");

    let ws_y = ProductOrgId::parse("ws_y").unwrap();
    let moved = s
        .move_product_org(t.id, &ws_y, orgs[0].target_org_id)
        .await
        .unwrap();
    assert_eq!(moved.target_org_id, orgs[0].target_org_id);
    let after = ingest(
        s,
        t.id,
        &org_key,
        vec![update(
            "ws_y",
            vec![FieldPatch::PlanId(Some("pro".into()))],
            None,
        )],
    )
    .await;
    assert_eq!(
        after[0].target_org_id, orgs[0].target_org_id,
        "an update after a move answers with the new target org"
    );
    let detail = s.target_org(t.id, orgs[0].target_org_id).await.unwrap();
    assert_eq!(detail.org.product_org_count, 2);
    assert_eq!(detail.product_orgs.len(), 2);
    let leads: Vec<_> = detail.leads.iter().map(|l| l.lead_id.as_str()).collect();
    assert_eq!(leads, ["lee"], "the lead moved with its product org");
    assert_eq!(detail.lead_count, 1);

    let nowhere = s.move_product_org(t.id, &ws_y, TargetOrgId(9_999)).await;
    assert!(
        matches!(
            nowhere,
            Err(StoreError::NotFound(Missing::TargetOrg(TargetOrgId(9_999))))
        ),
        "the error names the target org, which is what is missing: {nowhere:?}"
    );
    let unknown = s
        .set_firmographics(t.id, TargetOrgId(9_999), Map::new())
        .await;
    assert!(matches!(
        unknown,
        Err(StoreError::NotFound(Missing::TargetOrg(TargetOrgId(9_999))))
    ));
    let (other, _) = tenant_with_key(&store, "targets-other").await;
    assert!(matches!(
        s.target_org(other.id, orgs[0].target_org_id).await,
        Err(StoreError::NotFound(Missing::TargetOrg(_)))
    ));
}

/// Each import row applies whole or is refused with its reason; refusals touch nothing.
pub async fn firmographics_import(store: Arc<dyn Store>) {
    let (t, org_key) = tenant_with_key(&store, "imports").await;
    let s = store.as_ref();
    let orgs = ingest(s, t.id, &org_key, vec![update("ws_i", vec![], None)]).await;
    let fields = |v: Value| v.as_object().cloned().unwrap();
    let results = s
        .import_firmographics(
            t.id,
            vec![
                FirmographicsRow {
                    key: FirmographicsKey::ProductOrg(ProductOrgId::parse("ws_i").unwrap()),
                    fields: fields(json!({"industry": "SaaS"})),
                },
                FirmographicsRow {
                    key: FirmographicsKey::ProductOrg(ProductOrgId::parse("ws_none").unwrap()),
                    fields: fields(json!({"industry": "x"})),
                },
                FirmographicsRow {
                    key: FirmographicsKey::TargetOrg(TargetOrgId(4_242)),
                    fields: fields(json!({"industry": "y"})),
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(results[0], Ok(orgs[0].target_org_id));
    assert!(
        results[1]
            .as_ref()
            .is_err_and(|why| why.contains("ws_none")),
        "{:?}",
        results[1]
    );
    assert!(
        results[2].as_ref().is_err_and(|why| why.contains("4242")),
        "{:?}",
        results[2]
    );
    let detail = s.target_org(t.id, orgs[0].target_org_id).await.unwrap();
    assert_eq!(
        detail.org.firmographics,
        Some(fields(json!({"industry": "SaaS"})))
    );
}

/// Leads list by id, a page at a time; search matches id or email.
pub async fn leads_list(store: Arc<dyn Store>) {
    let (t, _) = tenant_with_key(&store, "leadlist").await;
    let s = store.as_ref();
    let key = signal_key(s, t.id).await;
    for (id, email) in [
        ("u_2", "bo@example.com"),
        ("u_1", "ada@example.com"),
        ("u_3", "cy@other.org"),
    ] {
        let mut signal = signal(id, None, None);
        signal.email = Some(email.into());
        send(s, t.id, &key, signal).await;
    }
    let first = s
        .list_leads(
            t.id,
            &SearchQuery {
                search: None,
                page: PageRequest {
                    cursor: None,
                    limit: 2,
                },
            },
        )
        .await
        .unwrap();
    let ids: Vec<_> = first.items.iter().map(|l| l.lead_id.as_str()).collect();
    assert_eq!(ids, ["u_1", "u_2"]);
    let rest = s
        .list_leads(
            t.id,
            &SearchQuery {
                search: None,
                page: PageRequest {
                    cursor: first.next_cursor,
                    limit: 2,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
    let found = s
        .list_leads(
            t.id,
            &SearchQuery {
                search: Some("EXAMPLE".into()),
                page: PageRequest {
                    cursor: None,
                    limit: 50,
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 2);
    assert_eq!(found.items[0].email.as_deref(), Some("ada@example.com"));
}
