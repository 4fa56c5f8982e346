//! How a PostgreSQL store is tuned.

use std::time::Duration;

use trailspark_core::step::DedupeWindow;

/// Tuning of a PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Most connections this process holds.
    pub max_connections: usize,
    /// How long connecting may take before the database counts as unreachable (503).
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// Transactions committing product org updates at once (group commit), each holding a
    /// connection while it runs, one at a time running its statements; as many again commit
    /// signals.
    pub writers: usize,
    /// Most requests committed in one transaction.
    pub max_batch: usize,
    /// Most requests waiting for a writer; beyond it writes are refused (503).
    pub queue_capacity: usize,
    /// How long a messageId is remembered (SPEC's 24 hours unless shortened).
    pub dedupe_window: DedupeWindow,
    /// How long a batch keeps the writers' turn at running statements before it hands the
    /// turn on (see `batcher`): a batch stopped at a row some other session holds must not
    /// stop the writes of every other org.
    pub turn_limit: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            writers: 4,
            max_batch: 512,
            queue_capacity: 16_384,
            dedupe_window: DedupeWindow::SPEC,
            turn_limit: Duration::from_millis(100),
        }
    }
}
