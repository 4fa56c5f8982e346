//! The counts of a tenant's product orgs, target orgs and leads (the web UI's overview).

use std::sync::Arc;

use serde_json::Map;
use trailspark_core::signal::Signal;
use trailspark_core::{EndpointType, LeadId, ProductOrgId, TenantId};
use trailspark_store::{IngestResult, SignalRequest, Store, TenantCounts};

use crate::ingest::{ingest, update};
use crate::{arrival, new_key, tenant, tenant_with_key};

/// Signals from `leads` (each naming `ws_0`), stored for `tenant`.
async fn leads(store: &dyn Store, tenant: TenantId, leads: &[&str]) {
    let key = store
        .create_api_key(tenant, new_key(EndpointType::SignalStaging).0)
        .await
        .expect("signal key");
    let signals = leads
        .iter()
        .map(|lead| Signal {
            lead_id: LeadId::parse(*lead).unwrap(),
            email: None,
            product_org_id: Some(ProductOrgId::parse("ws_0").unwrap()),
            name: Some("Signed in".into()),
            event_at: None,
            properties: None,
            custom_fields: Map::new(),
            message_id: None,
            warnings: Vec::new(),
        })
        .collect();
    let request = SignalRequest {
        log: None,
        key_id: key.id,
        received_at: arrival(),
        webhook_id: None,
        signals,
    };
    let stored = store
        .ingest_signals(tenant, request)
        .await
        .expect("signals");
    assert!(matches!(stored, IngestResult::Applied(_)), "{stored:?}");
}

/// Each tenant counts its own rows only: another tenant's product orgs, target orgs and leads
/// (more of each) are not in its figures, and a tenant with nothing counts zeros.
pub async fn tenant_counts_count_only_the_tenants_rows(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let (mine, my_key) = tenant_with_key(&store, "counted").await;
    let (theirs, their_key) = tenant_with_key(&store, "others").await;
    let empty = tenant(s, "nothing").await;
    let orgs = |n: usize| {
        (0..n)
            .map(|i| update(&format!("ws_{i}"), vec![], None))
            .collect()
    };
    ingest(s, mine.id, &my_key, orgs(3)).await;
    ingest(s, theirs.id, &their_key, orgs(5)).await;
    // An update of an existing org is no new org.
    ingest(s, mine.id, &my_key, orgs(1)).await;
    leads(s, mine.id, &["lead_a", "lead_b"]).await;
    leads(s, theirs.id, &["lead_a", "lead_b", "lead_c", "lead_d"]).await;
    // A signal from a lead stored before is no new lead.
    leads(s, mine.id, &["lead_a"]).await;

    let counts = |tenant| async move { s.tenant_counts(tenant).await.expect("counts") };
    let expected = |product_orgs, target_orgs, leads| TenantCounts {
        product_orgs,
        target_orgs,
        leads,
    };
    assert_eq!(counts(mine.id).await, expected(3, 3, 2), "the tenant's own");
    assert_eq!(
        counts(theirs.id).await,
        expected(5, 5, 4),
        "the other's own"
    );
    assert_eq!(counts(empty.id).await, expected(0, 0, 0), "a new tenant");
}
