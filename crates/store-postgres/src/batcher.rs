//! Group commit on PostgreSQL: product org updates wait in one queue; a few workers each take
//! whatever is waiting and apply it in one transaction with one multi-row statement per table
//! (arrays through `unnest`), so a batch of hundreds costs about ten round trips and one
//! commit. Every request is answered only after its batch committed.
//!
//! [`apply`] holds the semantics of a batch; [`load`] and [`write`] its multi-row statements.

mod apply;
mod load;
mod write;

use std::sync::{Arc, Mutex};

use deadpool_postgres::Pool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use trailspark_core::step::DedupeWindow;
use trailspark_core::TenantId;
use trailspark_store::{
    CommitCounters, CommitStats, IngestRequest, IngestResult, StoreError, StoreResult, WriteHealth,
};

use crate::db::{pg_error, pool_error};
use apply::apply;

/// One request waiting for a batch.
struct Job {
    tenant: TenantId,
    request: IngestRequest,
    answer: oneshot::Sender<StoreResult<IngestResult>>,
}

/// The queue of product org updates and the workers that commit them in batches.
pub struct Batcher {
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stats: Arc<CommitCounters>,
}

impl Batcher {
    /// Starts `options.writers` workers, each committing up to `options.max_batch` requests
    /// at a time and recording the transactions that fail in `health`; at most
    /// `options.queue_capacity` requests wait (beyond, 503).
    pub fn start(pool: Pool, health: Arc<WriteHealth>, options: &crate::PostgresOptions) -> Self {
        let (tx, rx) = mpsc::channel(options.queue_capacity.max(1));
        let (max_batch, window) = (options.max_batch.max(1), options.dedupe_window);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let stats = Arc::new(CommitCounters::default());
        let workers = (0..options.writers.max(1))
            .map(|_| {
                let (pool, rx, stats) = (pool.clone(), Arc::clone(&rx), Arc::clone(&stats));
                let health = Arc::clone(&health);
                tokio::spawn(work(pool, health, rx, (max_batch, window), stats))
            })
            .collect();
        Self {
            queue: Mutex::new(Some(tx)),
            workers: Mutex::new(workers),
            stats,
        }
    }

    /// Applies `request` in the next batch and returns its outcome once that committed.
    pub async fn ingest(
        &self,
        tenant: TenantId,
        request: IngestRequest,
    ) -> StoreResult<IngestResult> {
        let (answer, answered) = oneshot::channel();
        let sender = self.queue.lock().expect("batch queue lock").clone();
        let Some(sender) = sender else {
            return Err(StoreError::unavailable("the store is shutting down"));
        };
        let job = Job {
            tenant,
            request,
            answer,
        };
        sender.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::unavailable("too many writes are waiting for the store")
            }
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::unavailable("the store is shutting down")
            }
        })?;
        answered
            .await
            .map_err(|_| StoreError::unavailable("the store is shutting down"))?
    }

    /// Batches committed so far.
    pub fn stats(&self) -> CommitStats {
        self.stats.stats()
    }

    /// Stops taking requests and waits until the queued ones are committed and answered.
    pub async fn close(&self) {
        self.queue.lock().expect("batch queue lock").take();
        let workers = std::mem::take(&mut *self.workers.lock().expect("batch workers lock"));
        for worker in workers {
            let _ = worker.await;
        }
        let stats = self.stats.stats();
        tracing::info!(
            commits = stats.commits,
            jobs = stats.requests,
            average_batch = stats.average_batch(),
            "PostgreSQL writers stopped"
        );
    }
}

async fn work(
    pool: Pool,
    health: Arc<WriteHealth>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    (max_batch, window): (usize, DedupeWindow),
    stats: Arc<CommitCounters>,
) {
    loop {
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        stats.record(batch.len());
        commit(&pool, &health, window, batch).await;
    }
}

/// Commits a batch and answers its jobs. A batch that fails for another reason than an
/// unavailable database is run again one job per transaction, so only the job at fault fails.
async fn commit(pool: &Pool, health: &WriteHealth, window: DedupeWindow, batch: Vec<Job>) {
    let outcome = in_transaction(pool, health, window, &batch).await;
    match outcome {
        Ok(results) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.answer.send(Ok(result));
            }
        }
        Err(e) if batch.len() == 1 || matches!(e, StoreError::Unavailable { .. }) => {
            if !matches!(e, StoreError::Unavailable { .. }) {
                tracing::error!(error = %e, "update not applied");
            }
            for job in batch {
                let _ = job.answer.send(Err(e.clone()));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = batch.len(), "batch failed; applying its requests one by one");
            for job in batch {
                let alone = std::slice::from_ref(&job);
                let result = in_transaction(pool, health, window, alone)
                    .await
                    .map(|mut r| r.remove(0));
                if let Err(e) = &result {
                    tracing::error!(error = %e, "update not applied");
                }
                let _ = job.answer.send(result);
            }
        }
    }
}

/// Applies `batch` in one transaction and records in `health` that it failed, if it did once
/// a connection was there (none free in time is this process being busy, not the database
/// failing to write).
async fn in_transaction(
    pool: &Pool,
    health: &WriteHealth,
    window: DedupeWindow,
    batch: &[Job],
) -> StoreResult<Vec<IngestResult>> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let applied = async {
        let tx = client.transaction().await.map_err(pg_error)?;
        let results = apply(&tx, window, batch).await?;
        tx.commit().await.map_err(pg_error)?;
        Ok(results)
    }
    .await;
    if let Err(e) = &applied {
        health.failed(e);
    }
    applied
}
