//! Product org updates on PostgreSQL, committed in batches by a [`Batcher`]: each batch in
//! one transaction with one multi-row statement per table (arrays through `unnest`), so a
//! batch of hundreds costs about ten round trips and one commit.
//!
//! [`apply`] holds the semantics of a batch; [`load`] and [`write`] its multi-row statements.

mod apply;
mod load;
mod write;

use deadpool_postgres::Transaction;
use trailspark_core::step::{Applied, DedupeWindow};
use trailspark_store::IngestRequest;

use crate::batcher::{self, Applying, Batcher};

/// A request of product org updates waiting for its batch.
pub(crate) type Job = batcher::Job<IngestRequest, Applied>;

/// The queue of product org updates.
pub(crate) type Updates = Batcher<IngestRequest, Applied>;

/// What [`Batcher::start`] commits product org updates with.
pub(crate) const APPLY: batcher::Apply<IngestRequest, Applied> = apply_batch;

fn apply_batch<'a>(
    tx: &'a Transaction<'a>,
    window: DedupeWindow,
    batch: &'a [Job],
) -> Applying<'a, Applied> {
    Box::pin(apply::apply(tx, window, batch))
}
