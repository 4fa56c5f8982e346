//! The PostgreSQL store's write paths where the contract suite leaves a mutant alive (issue
//! 21, cargo-mutants over the stores' write paths): each test names the mutant it catches.
//! Needs TRAILSPARK_TEST_POSTGRES_URL; without it each test says it was skipped.

use std::sync::Arc;

use trailspark_core::signal::Signal;
use trailspark_core::{
    ApiKeyId, FieldPatch, LeadId, ProductOrgId, TenantId, UnlinkedReason, Update, Warning,
};
use trailspark_store::{IngestRequest, IngestResult, SignalRequest, Store, StoreResult};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::{arrival, tenant_with_key};
use trailspark_store_postgres::{PostgresOptions, PostgresStore};

async fn open() -> Option<(Arc<dyn Store>, TestDatabase)> {
    let database = TestDatabase::create().await?;
    let store = PostgresStore::connect(&database.url, PostgresOptions::default())
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Some((Arc::new(store), database))
}

/// A signal naming a product org that does not exist, but whose id folds like one that does
/// (`WS_ACME` for `ws_acme`), is stored unlinked and says which org was probably meant.
/// Catches `signals.rs` `store_signal`: delete match arm `(Some(id), None)` (no lookup of the
/// org meant: the warning was lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_for_a_mistyped_org_names_the_org_meant() {
    let Some((store, _database)) = open().await else {
        return;
    };
    let (t, key) = tenant_with_key(&store, "meant").await;
    let created = ingest(store.as_ref(), t.id, &key, "ws_acme")
        .await
        .expect("ingest");
    assert!(
        matches!(&created, IngestResult::Applied(r) if r.iter().all(Result::is_ok)),
        "{created:?}"
    );
    let signal = Signal {
        lead_id: LeadId::parse("lead_1").expect("lead id"),
        email: None,
        product_org_id: Some(ProductOrgId::parse("WS_ACME").expect("id")),
        name: Some("signed_up".into()),
        event_at: None,
        properties: None,
        custom_fields: serde_json::Map::new(),
        message_id: None,
        warnings: Vec::new(),
    };
    let request = SignalRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        signals: vec![signal],
    };
    let answer = store.ingest_signals(t.id, request).await.expect("signals");
    let IngestResult::Applied(mut results) = answer else {
        panic!("not a replay")
    };
    let applied = results.remove(0).expect("signal stored");
    assert!(!applied.linked, "an id differing in case never links");
    assert_eq!(
        applied.unlinked_reason,
        Some(UnlinkedReason::ProductOrgNotFound)
    );
    assert!(
        applied.warnings.iter().any(
            |w| matches!(w, Warning::SimilarProductOrg { existing, .. } if existing == "ws_acme")
        ),
        "the org meant is named: {:?}",
        applied.warnings
    );
}

/// A signal's messageId sent again by the same key within the dedupe window is answered with
/// the first outcome, marked a duplicate, and changes nothing of the lead. Catches
/// `dedupe.rs` `remember` → `Ok(())` (tried by hand: cargo-mutants spells that mutant
/// `StoreResult::new(())`, which does not compile, so it never ran it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_sent_twice_is_stored_once() {
    let Some((store, _database)) = open().await else {
        return;
    };
    let (t, key) = tenant_with_key(&store, "signal-twice").await;
    let send = |email: &str| SignalRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        signals: vec![Signal {
            lead_id: LeadId::parse("lead_twice").expect("lead id"),
            email: Some(email.into()),
            product_org_id: None,
            name: Some("signed_up".into()),
            event_at: None,
            properties: None,
            custom_fields: serde_json::Map::new(),
            message_id: Some("msg-signal-1".into()),
            warnings: Vec::new(),
        }],
    };
    let mut answers = Vec::new();
    for email in ["first@example.com", "retry@example.com"] {
        let answer = store
            .ingest_signals(t.id, send(email))
            .await
            .expect("signals");
        let IngestResult::Applied(mut results) = answer else {
            panic!("not a replay")
        };
        answers.push(results.remove(0).expect("signal answered"));
    }
    assert!(!answers[0].duplicate, "the first is new: {:?}", answers[0]);
    assert!(
        answers[1].duplicate,
        "the retry is a duplicate: {:?}",
        answers[1]
    );
    let lead = store
        .lead(t.id, &LeadId::parse("lead_twice").expect("lead id"))
        .await
        .expect("lead");
    assert_eq!(
        lead.email.as_deref(),
        Some("first@example.com"),
        "the duplicate changed nothing"
    );
}

/// Sends one update of `org` (its name) in a request of its own.
async fn ingest(
    store: &dyn Store,
    tenant: TenantId,
    key: &ApiKeyId,
    org: &str,
) -> StoreResult<IngestResult> {
    let request = IngestRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        updates: vec![Update {
            product_org_id: ProductOrgId::parse(org).expect("id"),
            patches: vec![FieldPatch::Name(Some(org.into()))],
            event_at: None,
            message_id: None,
            warnings: Vec::new(),
        }],
    };
    store.ingest(tenant, request).await
}
