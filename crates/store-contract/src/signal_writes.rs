//! Signals where the write paths' mutants lived (issue 21, cargo-mutants): the org a
//! mistyped id probably meant, and a signal's messageId remembered.

use std::sync::Arc;

use trailspark_core::signal::Signal;
use trailspark_core::{FieldPatch, LeadId, ProductOrgId, UnlinkedReason, Warning};
use trailspark_store::{IngestResult, SignalRequest, Store};

use crate::ingest::{ingest, update};
use crate::{arrival, tenant_with_key};

/// A signal naming a product org that does not exist, but whose id folds like one that does
/// (`WS_ACME` for `ws_acme`), is stored unlinked and says which org was probably meant.
/// Catches `signals.rs` `store_signal`: delete match arm `(Some(id), None)` (no lookup of the
/// org meant: the warning was lost).
pub async fn a_signal_for_a_mistyped_org_names_the_org_meant(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "meant").await;
    let create = update("ws_acme", vec![FieldPatch::Name(Some("Acme".into()))], None);
    ingest(store.as_ref(), t.id, &key, vec![create]).await;
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
pub async fn a_signal_sent_twice_is_stored_once(store: Arc<dyn Store>) {
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
