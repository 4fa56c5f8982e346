//! How much one group-commit transaction takes: both stores fill their batches by this rule.

use crate::{IngestRequest, SignalRequest};

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
/// `max_updates` updates. The request that reaches a bound is in the batch, so a lone request
/// larger than the bound is still taken (the body limits bound it). Bounded by requests alone,
/// a batch of `/v1/batch` bodies held up to `--batch-max` × 100 updates at once; each store
/// sets its own bound on updates, where its memory and its rate meet.
#[derive(Debug)]
pub struct BatchFill {
    max_requests: usize,
    max_updates: usize,
    requests: usize,
    updates: usize,
}

impl BatchFill {
    /// An empty batch of at most `max_requests` requests and `max_updates` updates (at least
    /// one request).
    pub fn new(max_requests: usize, max_updates: usize) -> Self {
        Self {
            max_requests: max_requests.max(1),
            max_updates,
            requests: 0,
            updates: 0,
        }
    }

    /// Counts in a request of `weight` updates; whether the batch takes another.
    pub fn take(&mut self, weight: usize) -> bool {
        self.requests += 1;
        self.updates = self.updates.saturating_add(weight);
        self.requests < self.max_requests && self.updates < self.max_updates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes requests of `weights` until a batch of 1,000 updates says no more: how many it
    /// took.
    fn filled(max_requests: usize, weights: &[usize]) -> usize {
        let mut fill = BatchFill::new(max_requests, 1_000);
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
