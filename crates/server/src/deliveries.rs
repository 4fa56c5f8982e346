//! The delivery log of each key: the outcome of its newest requests, so an integrator can see
//! why their CDP's calls fail without reading server logs. Kept in memory per key (the newest
//! [`Delivery::KEPT`]) and written to the store every second and at shutdown: the hot path
//! pays a lock and a push, and the store at most [`Delivery::KEPT`] rows a key a second.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{Delivery, Store, StoreResult};

/// Deliveries noted since the last flush.
#[derive(Default)]
pub struct DeliveryLog {
    pending: Mutex<HashMap<(TenantId, ApiKeyId), VecDeque<Delivery>>>,
}

impl DeliveryLog {
    /// Notes a request's outcome.
    pub fn note(&self, tenant: TenantId, key: &ApiKeyId, delivery: Delivery) {
        let mut pending = self.pending.lock().expect("delivery log lock");
        let log = pending.entry((tenant, key.clone())).or_default();
        if log.len() == Delivery::KEPT {
            log.pop_front();
        }
        log.push_back(delivery);
    }

    /// Writes what was noted to the store. What cannot be written is dropped: the log is a
    /// help for integrators, not data anyone relies on.
    pub async fn flush(&self, store: &dyn Store) -> StoreResult<()> {
        let pending = std::mem::take(&mut *self.pending.lock().expect("delivery log lock"));
        let mut outcome = Ok(());
        for ((tenant, key), log) in pending {
            let log: Vec<Delivery> = log.into();
            if let Err(e) = store.record_deliveries(tenant, &key, &log).await {
                outcome = Err(e);
            }
        }
        outcome
    }
}
