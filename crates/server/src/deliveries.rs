//! What a webhook request writes in its key's delivery log (SPEC §6), and the log's upkeep.
//! The store writes the entries in the transaction that applies the request; here is what
//! they say of a refusal, which payloads they keep, and the background sweep by age and count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use trailspark_core::json::Json;
use trailspark_store::{
    Delivery, IngestRequest, Intake, NewDelivery, Refusal, RequestLog, Store, Verdict,
};

use crate::error::ApiError;
use crate::keyring::IngestKey;

/// How much of the log, of product org history and of signals is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Entries older than this many days are removed.
    pub days: u32,
    /// At most this many entries per key, the oldest removed first.
    pub per_key: u32,
    /// Payloads of entries not refused kept per key and minute (refused ones always keep
    /// theirs); 0 keeps every payload.
    pub payloads_per_minute: u32,
    /// Product org history received longer ago than this is removed; `None` keeps it all.
    pub history: Option<std::time::Duration>,
    /// Signals received longer ago than this are removed; `None` keeps them all.
    pub signals: Option<std::time::Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            days: Delivery::RETENTION_DAYS,
            per_key: Delivery::PER_KEY,
            payloads_per_minute: 600,
            history: Some(std::time::Duration::from_secs(365 * 86_400)),
            signals: Some(std::time::Duration::from_secs(365 * 86_400)),
        }
    }
}

/// Which payloads of updates that were not refused are kept: the first
/// [`Retention::payloads_per_minute`] of each key in each minute, so that a busy key's log
/// shows what it receives without writing every body it is sent twice. The count is the key's
/// own (`IngestKey::payloads_kept`, one atomic word, where a lock and a map lookup cost each
/// request some 450 instructions), kept by the key ring across its reloads of the key.
pub struct PayloadBudget {
    per_minute: u32,
}

impl PayloadBudget {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute }
    }

    /// Whether `key` may keep one more payload of a request received `at` (and counts it).
    pub fn take(&self, key: &IngestKey, at: DateTime<Utc>) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        // The minute in the high half, the count in the low: Unix minutes fit 32 bits.
        let minute = at.timestamp().div_euclid(60) as u64;
        key.payloads_kept
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |spent| {
                let count = if spent >> 32 == minute {
                    spent as u32
                } else {
                    0
                };
                (count < self.per_minute).then(|| minute << 32 | u64::from(count + 1))
            })
            .is_ok()
    }
}

/// An update's payload as the log keeps it: credentials taken out (a `/v1` body carries its
/// `writeKey`), cut to [`Delivery::MAX_PAYLOAD`] bytes.
pub fn payload_text<J: Json>(value: &J) -> String {
    let kept = trailspark_core::redact::redacted_text(value, &[]);
    trailspark_store::cut(kept, Delivery::MAX_PAYLOAD)
}

/// What the log says of a refusal: the answer's status, code and message.
pub fn refusal(e: &ApiError) -> Refusal {
    let body = e.body();
    Refusal {
        status: e.status().as_u16(),
        code: e.code().to_owned(),
        message: body["message"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Entries logged since the log was last swept. The sweep runs every minute, and as soon as a
/// key's cap (`--deliveries-per-key`) of entries more was logged: between sweeps the log then
/// holds at most that many entries beyond the caps, whatever the rate (a minute's traffic
/// otherwise: 400k entries at the soak's rate).
pub struct LogVolume {
    since_sweep: AtomicU64,
    due_at: u64,
    due: Notify,
}

impl LogVolume {
    /// A sweep is due once `due_at` entries were logged since the last.
    pub fn new(due_at: u32) -> Self {
        Self {
            since_sweep: AtomicU64::new(0),
            due_at: u64::from(due_at.max(1)),
            due: Notify::new(),
        }
    }

    /// `entries` more are being logged.
    pub fn logged(&self, entries: usize) {
        let entries = entries as u64;
        let before = self.since_sweep.fetch_add(entries, Ordering::Relaxed);
        if before < self.due_at && before + entries >= self.due_at {
            // Kept as a permit when the sweeper is busy: it sweeps again once done.
            self.due.notify_one();
        }
    }

    /// A sweep begins: what is logged from now on counts toward the next.
    fn sweeping(&self) {
        self.since_sweep.store(0, Ordering::Relaxed);
    }
}

/// The log of a request with `entries`, under the id the server gave the request.
pub fn request_log(
    volume: &LogVolume,
    key: &IngestKey,
    intake: Intake,
    replay_of: Option<i64>,
    entries: Vec<NewDelivery>,
) -> RequestLog {
    volume.logged(entries.len());
    RequestLog {
        request_id: crate::http::request_id(),
        intake,
        template_version: key.template_version,
        replay_of,
        entries,
    }
}

/// Logs a request of `key` refused before any update reached the store: one entry, written
/// on its own (nothing else of the request is). A log that cannot be written does not change
/// the answer: the refusal is already what the sender gets.
pub async fn log_refused(
    store: &dyn Store,
    key: &IngestKey,
    received_at: chrono::DateTime<Utc>,
    log: RequestLog,
) {
    let request = IngestRequest {
        key_id: key.id.clone(),
        received_at,
        webhook_id: None,
        updates: Vec::new(),
        log: Some(log),
    };
    if let Err(e) = store.ingest(key.tenant, request).await {
        tracing::warn!(key_id = %key.id.0, error = %e.chain(), "could not log a refused request");
    }
}

/// The entry of a request refused as a whole by `e`, with its payload when one is kept.
pub fn refused_entry(e: &ApiError, payload: Option<String>) -> NewDelivery {
    NewDelivery {
        index: None,
        payload,
        verdict: Verdict::Refused(refusal(e)),
    }
}

/// Sweeps the log, product org history and signals by `retention` every `every` (and the log when
/// `volume` says so) until `stop`.
pub async fn sweep(
    store: Arc<dyn Store>,
    volume: Arc<LogVolume>,
    retention: Retention,
    every: Duration,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let minute = tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => true,
            () = volume.due.notified() => false,
        };
        volume.sweeping();
        let before = Utc::now() - chrono::Duration::days(i64::from(retention.days));
        match store.sweep_deliveries(before, retention.per_key).await {
            // The sweeps a busy log calls for come every few seconds: not worth a line each.
            Ok(swept) if swept.expired + swept.over_count > 0 && minute => tracing::info!(
                expired = swept.expired,
                over_count = swept.over_count,
                "delivery log swept"
            ),
            Ok(swept) => tracing::debug!(
                expired = swept.expired,
                over_count = swept.over_count,
                "delivery log swept"
            ),
            Err(e) => tracing::warn!(error = %e.chain(), "could not sweep the delivery log"),
        }
        if minute {
            sweep_by_age(store.as_ref(), &retention).await;
        }
    }
}

/// Sweeps product org history and signals by their retention, each when one is set.
async fn sweep_by_age(store: &dyn Store, retention: &Retention) {
    if let Some(before) = retention.history.map(received_before) {
        match store.sweep_history(before).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "product org history swept"),
            Err(e) => tracing::warn!(error = %e.chain(), "could not sweep product org history"),
        }
    }
    if let Some(before) = retention.signals.map(received_before) {
        match store.sweep_signals(before).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "signals swept"),
            Err(e) => tracing::warn!(error = %e.chain(), "could not sweep signals"),
        }
    }
}

/// The receive time before which what is kept for `kept` goes (the beginning of time when
/// `kept` reaches past it).
fn received_before(kept: Duration) -> chrono::DateTime<Utc> {
    let kept = chrono::Duration::from_std(kept).unwrap_or(chrono::Duration::MAX);
    Utc::now()
        .checked_sub_signed(kept)
        .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a sweep was called for (and takes the call).
    async fn due(volume: &LogVolume) -> bool {
        tokio::time::timeout(Duration::from_millis(10), volume.due.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_sweep_is_due_once_a_count_more_was_logged_since_the_last() {
        let volume = LogVolume::new(10);
        volume.logged(4);
        volume.logged(5);
        assert!(!due(&volume).await, "9 of 10");
        volume.logged(3);
        assert!(due(&volume).await, "12 of 10");
        volume.logged(20);
        assert!(!due(&volume).await, "called for once until the sweep");
        volume.sweeping();
        volume.logged(9);
        assert!(!due(&volume).await, "9 since the sweep");
        volume.logged(1);
        assert!(due(&volume).await, "10 since the sweep");
    }

    #[test]
    fn a_payload_is_kept_without_its_write_key() {
        let text = payload_text(&serde_json::json!({"writeKey": "pk_live_x", "type": "group"}));
        assert!(!text.contains("pk_live_x"), "{text}");
        assert!(text.contains("group"));
    }
}
