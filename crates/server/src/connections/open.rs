//! The open connections and what is known of each: requests in flight, since when it is
//! idle, whether it was told to close to make room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The open connections, for finding the one to close when the cap is reached.
pub(super) struct OpenConnections {
    /// What the connections' times count from.
    epoch: Instant,
    next_id: AtomicU64,
    by_id: Mutex<HashMap<u64, Arc<ConnectionState>>>,
}

impl Default for OpenConnections {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            by_id: Mutex::default(),
        }
    }
}

impl OpenConnections {
    pub(super) fn insert(&self) -> Arc<ConnectionState> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnectionState {
            id,
            epoch: self.epoch,
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(self.epoch.elapsed().as_millis() as u64),
            closing: AtomicBool::new(false),
            close_wanted: Notify::new(),
        });
        self.lock().insert(id, Arc::clone(&state));
        state
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnectionState>>> {
        // A panic elsewhere cannot leave the map half-changed: keep using it.
        self.by_id
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tells the connection idle the longest to close, preferring one that never sent a
    /// request (a silent or slow client) to a kept-alive one; none when every connection has
    /// a request in flight.
    pub(super) fn close_idlest(&self) {
        let open = self.lock();
        let idlest = open
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0)
            .filter(|c| !c.closing.load(Ordering::Acquire))
            .min_by_key(|c| {
                (
                    c.served.load(Ordering::Relaxed),
                    c.idle_since_ms.load(Ordering::Relaxed),
                )
            });
        if let Some(connection) = idlest {
            connection.closing.store(true, Ordering::Release);
            connection.close_wanted.notify_one();
        }
    }
}

/// What the accept loop and a connection's requests know of the connection.
pub(super) struct ConnectionState {
    pub(super) id: u64,
    epoch: Instant,
    in_flight: AtomicUsize,
    /// Whether a request ever arrived.
    served: AtomicBool,
    /// When the last request ended, or the client first spoke, or the connection opened
    /// (milliseconds since `epoch`).
    idle_since_ms: AtomicU64,
    /// Set to make room for a new connection.
    closing: AtomicBool,
    /// Wakes the connection's watch when `closing` is set. Requests ending wake nothing (a
    /// wake-up per request would cost the hot path): the watch looks at them on its timer.
    close_wanted: Notify,
}

impl ConnectionState {
    pub(super) fn request_started(&self) {
        self.served.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn request_ended(&self) {
        // Before the count drops, so that whoever sees no request in flight sees this time.
        self.mark_idle();
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    pub(super) fn mark_idle(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.idle_since_ms.store(now, Ordering::Release);
    }

    /// Completes once no request has been in flight for `timeout`, or (when `heed_closing`)
    /// once the connection is told to close.
    pub(super) async fn quiet_for(&self, timeout: Duration, heed_closing: bool) {
        loop {
            if heed_closing && self.closing.load(Ordering::Acquire) {
                return;
            }
            let now = Instant::now();
            // With a request in flight, look again a whole timeout later: it cannot be idle
            // for that long before then.
            let deadline = if self.in_flight.load(Ordering::Acquire) > 0 {
                now.checked_add(timeout)
            } else {
                let since = Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire));
                self.epoch.checked_add(since.saturating_add(timeout))
            };
            match deadline {
                Some(deadline) if deadline <= now => return,
                Some(deadline) => tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = self.close_wanted.notified() => {}
                },
                // Further than time can count: only being told to close ends the wait.
                None => self.close_wanted.notified().await,
            }
        }
    }

    /// Completes once the connection is told to close.
    pub(super) async fn told_to_close(&self) {
        while !self.closing.load(Ordering::Acquire) {
            self.close_wanted.notified().await;
        }
    }
}
