//! What the SQLite writer spends per update, with and without the delivery log, at a fixed
//! batch size: run it under valgrind's callgrind (see bench/log-cost), which counts the
//! instructions; the same requests in the same batches make the two runs compare exactly.
//!
//!   writer_cost log|nolog|new BATCH ROUNDS
//!
//! Each round sends one request of BATCH updates (one commit, as the writer makes of BATCH
//! single-update requests arriving together): group updates over 1,000 product orgs, half of
//! them changing a value, each with a messageId, as bench/ingest sends them. `new`: with the
//! log, each update creating a product org of its own (what a new org costs: its target org,
//! counts, search rows).

use std::sync::Arc;

use trailspark_core::{FieldPatch, ProductOrgId, Update};
use trailspark_store::{IngestRequest, Intake, NewDelivery, RequestLog, Store, Verdict};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (log, new, batch, rounds) = match args.as_slice() {
        [_, mode, batch, rounds] => (
            mode != "nolog",
            mode == "new",
            batch.parse::<usize>().expect("BATCH"),
            rounds.parse::<usize>().expect("ROUNDS"),
        ),
        _ => panic!("usage: writer_cost log|nolog|new BATCH ROUNDS"),
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("cost.db"), SqliteOptions::default())
            .await
            .expect("open"),
    );
    let (tenant, key) = trailspark_store_contract::tenant_with_key(&store, "cost").await;
    let mut sent = 0_usize;
    for _ in 0..rounds {
        let mut updates = Vec::with_capacity(batch);
        let mut entries = Vec::with_capacity(batch);
        for n in 0..batch {
            sent += 1;
            let org = if new { sent } else { sent * 7919 % 1000 };
            updates.push(Update {
                product_org_id: ProductOrgId::parse(format!("ws_{org}")).expect("id"),
                patches: vec![
                    FieldPatch::Name(Some("Workspace".into())),
                    FieldPatch::UserCount(Some((sent % 2) as i64 + 1)),
                ],
                event_at: None,
                message_id: Some(format!("cost-{sent}")),
                warnings: Vec::new(),
            });
            entries.push(NewDelivery {
                index: Some(n as u32),
                // As serve's payload budget keeps them: a few per second per key.
                payload: sent
                    .is_multiple_of(100)
                    .then(|| format!(r#"{{"type":"group","groupId":"ws_{org}","traits":{{}}}}"#)),
                verdict: Verdict::Update(n),
            });
        }
        let request = IngestRequest {
            key_id: key.clone(),
            received_at: chrono::Utc::now(),
            webhook_id: None,
            updates,
            log: log.then(|| RequestLog {
                request_id: format!("req-{sent:012}"),
                intake: Intake::Webhook,
                template_version: 1,
                replay_of: None,
                entries,
            }),
        };
        store.ingest(tenant.id, request).await.expect("ingest");
    }
    store.close().await;
}
