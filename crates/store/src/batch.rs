//! How much one group-commit transaction takes: both stores fill their batches by this rule.

use crate::{IngestRequest, SignalRequest};

/// Updates (or signals) past which a batch takes no more requests. Bounded by requests alone,
/// a batch of `/v1/batch` bodies held up to `--batch-max` × 100 updates at once, and
/// PostgreSQL's pooled connections keep buffers as large as the largest statement they sent:
/// under 64 connections of 100-event bodies a PostgreSQL store peaked at 89–96 MiB, against
/// 57–58 MiB with this bound, and committed no fewer events. Batches of single events never
/// reach it.
pub const BATCH_UPDATES: usize = 1_000;

/// What a write request weighs in a batch: the updates (or signals, or rows) it carries.
pub trait Weighed {
    fn weight(&self) -> usize;
}

impl Weighed for IngestRequest {
    fn weight(&self) -> usize {
        self.updates.len()
    }
}

impl Weighed for SignalRequest {
    fn weight(&self) -> usize {
        self.signals.len()
    }
}

/// A batch being filled: it takes waiting requests until it holds `max_requests` of them or
/// [`BATCH_UPDATES`] updates. The request that reaches the bound is in the batch, so a lone
/// request larger than the bound is still taken (the body limits bound it).
#[derive(Debug)]
pub struct BatchFill {
    max_requests: usize,
    requests: usize,
    updates: usize,
}

impl BatchFill {
    /// An empty batch of at most `max_requests` requests (at least one).
    pub fn new(max_requests: usize) -> Self {
        Self {
            max_requests: max_requests.max(1),
            requests: 0,
            updates: 0,
        }
    }

    /// Counts in a request of `weight` updates; whether the batch takes another.
    pub fn take(&mut self, weight: usize) -> bool {
        self.requests += 1;
        self.updates = self.updates.saturating_add(weight);
        self.requests < self.max_requests && self.updates < BATCH_UPDATES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes requests of `weights` until the batch says no more: how many it took.
    fn filled(max_requests: usize, weights: &[usize]) -> usize {
        let mut fill = BatchFill::new(max_requests);
        let mut taken = 0;
        for &weight in weights {
            taken += 1;
            if !fill.take(weight) {
                break;
            }
        }
        taken
    }

    #[test]
    fn a_batch_stops_at_its_requests_or_its_updates() {
        assert_eq!(filled(3, &[1; 10]), 3, "requests bound single events");
        assert_eq!(
            filled(512, &[100; 20]),
            10,
            "the tenth body reaches 1,000 updates"
        );
        assert_eq!(
            filled(512, &[999, 1, 1]),
            2,
            "the request reaching the bound is in"
        );
        assert_eq!(
            filled(512, &[5_000, 1]),
            1,
            "a lone large request is taken alone"
        );
        assert_eq!(filled(0, &[1, 1]), 1, "a batch holds at least one request");
    }
}
