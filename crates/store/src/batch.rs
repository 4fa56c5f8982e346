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

/// Fills an empty group-commit batch: `first`, then the requests `waiting` gives (those
/// queued now; it never waits for more) until the batch holds `max_requests` of them or
/// `max_updates` updates by `weight`. The request that reaches a bound is in the batch, so a
/// lone request larger than the bound is still taken (the body limits bound it). Bounded by
/// requests alone, a batch of `/v1/batch` bodies could hold `--batch-max` × 100 updates; each
/// store sets its own bound on updates, where its memory and its rate meet.
pub fn fill_batch<J>(
    batch: &mut Vec<J>,
    first: J,
    (max_requests, max_updates): (usize, usize),
    weight: impl Fn(&J) -> usize,
    mut waiting: impl FnMut() -> Option<J>,
) {
    debug_assert!(batch.is_empty(), "a batch is filled from empty");
    let mut updates = weight(&first);
    batch.push(first);
    while batch.len() < max_requests && updates < max_updates {
        let Some(next) = waiting() else { break };
        updates = updates.saturating_add(weight(&next));
        batch.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills a batch of at most 1,000 updates from requests of `weights`: how many it took.
    fn filled(max_requests: usize, weights: &[usize]) -> usize {
        let (first, rest) = weights.split_first().expect("a first request");
        let mut waiting = rest.iter().copied();
        let mut batch = Vec::new();
        fill_batch(
            &mut batch,
            *first,
            (max_requests, 1_000),
            |w| *w,
            || waiting.next(),
        );
        batch.len()
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
