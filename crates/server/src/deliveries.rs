//! The delivery log of each key: the outcome of its newest requests, so an integrator can see
//! why their CDP's calls fail without reading server logs. Kept in memory per key (the newest
//! [`Delivery::KEPT`]) and written to the store every second and at shutdown: the hot path
//! pays a lock and a push, and the store at most [`Delivery::KEPT`] rows a key a second.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use trailspark_core::{ApiKeyId, TenantId};
use trailspark_store::{Delivery, Store, StoreResult};

/// Writing one key's entries (boxed, so that a flush's future stays `Send`).
type Write<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<()>> + Send + 'a>>;

type Pending = HashMap<(TenantId, ApiKeyId), VecDeque<Delivery>>;

/// Deliveries noted since the last flush.
#[derive(Default)]
pub struct DeliveryLog {
    pending: Mutex<Pending>,
    /// Held by a flush from taking the pending entries until the store has them: a reader that
    /// flushes before it reads (the deliveries page) then waits for a flush already under way
    /// instead of finding nothing pending and reading the store before that flush wrote.
    flushing: tokio::sync::Mutex<()>,
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
        self.flush_to(|tenant, key, log| {
            Box::pin(async move { store.record_deliveries(tenant, &key, &log).await })
        })
        .await
    }

    async fn flush_to<'a>(
        &self,
        write: impl Fn(TenantId, ApiKeyId, Vec<Delivery>) -> Write<'a>,
    ) -> StoreResult<()> {
        let _flushing = self.flushing.lock().await;
        let pending = std::mem::take(&mut *self.pending.lock().expect("delivery log lock"));
        let mut outcome = Ok(());
        for ((tenant, key), log) in pending {
            if let Err(e) = write(tenant, key, log.into()).await {
                outcome = Err(e);
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;

    use super::*;

    fn delivery() -> Delivery {
        Delivery {
            at: Utc::now(),
            status: 415,
            subject: None,
            changed: None,
            error: Some("unsupported_media_type".into()),
            body: None,
        }
    }

    /// The background flush took the entry and is still writing it when the deliveries page
    /// flushes before reading: the page's flush returns only once that write is done.
    #[tokio::test]
    async fn a_flush_waits_for_the_one_under_way() {
        let log = Arc::new(DeliveryLog::default());
        let key = ApiKeyId("key_1".into());
        log.note(TenantId(1), &key, delivery());
        let written = Arc::new(Mutex::new(Vec::<Delivery>::new()));
        let (started, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (release, release_rx) = tokio::sync::oneshot::channel::<()>();
        let background = {
            let (log, written) = (Arc::clone(&log), Arc::clone(&written));
            let signals = Arc::new(Mutex::new(Some((started, release_rx))));
            tokio::spawn(async move {
                log.flush_to(move |_, _, entries| {
                    let (signals, written) = (Arc::clone(&signals), Arc::clone(&written));
                    Box::pin(async move {
                        let (started, release) = signals.lock().unwrap().take().unwrap();
                        started.send(()).unwrap();
                        release.await.unwrap();
                        written.lock().unwrap().extend(entries);
                        Ok(())
                    })
                })
                .await
            })
        };
        started_rx.await.unwrap();
        let page = {
            let log = Arc::clone(&log);
            tokio::spawn(async move { log.flush_to(|_, _, _| Box::pin(async { Ok(()) })).await })
        };
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !page.is_finished(),
            "the page's flush returned while the entry was still being written"
        );
        release.send(()).unwrap();
        background.await.unwrap().unwrap();
        page.await.unwrap().unwrap();
        assert_eq!(written.lock().unwrap().len(), 1);
    }
}
