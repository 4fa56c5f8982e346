//! Group commit on PostgreSQL: write requests of one kind (product org updates, signals) wait
//! in one queue; a few workers each take whatever is waiting and apply it in one transaction,
//! so a batch of hundreds costs one commit (and, for product org updates, about ten round
//! trips). Every request is answered only after its batch committed.
//!
//! One worker at a time takes a batch and runs its statements. It hands that turn on before
//! its COMMIT, so the next batch runs while the last one's commit waits for the disk, or after
//! [`crate::PostgresOptions::turn_limit`], so that a batch waiting for a row another session
//! holds does not hold up the writes of every other org. Workers that each took a batch as
//! soon as they were free took a few requests each, and a statement costs PostgreSQL about
//! the same for 9 rows as for 30: under single events from 64 connections, 4 free workers
//! committed 9 requests a batch at 120 µs of PostgreSQL's CPU a request (9.2k requests/s),
//! taking turns 32 a batch at 74 µs (10.3k/s), on two cores shared with the server and the
//! load.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Pool, Transaction};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use trailspark_core::step::DedupeWindow;
use trailspark_core::TenantId;
use trailspark_store::{
    fill_batch, CommitCounters, IngestResult, StoreError, StoreResult, Weighed, WriteHealth,
};

use crate::db::{pg_error, pool_error};

/// Updates (or signals) past which a batch takes no more requests. PostgreSQL's pooled
/// connections keep buffers as large as the largest statement they sent: under 64 connections
/// of 100-event `/v1/batch` bodies the store peaked at 89–96 MiB unbounded, 70 MiB at 2,000
/// and 57–58 MiB at 1,000, which also committed the most events (12–14k a second).
pub const BATCH_UPDATES: usize = 1_000;

/// One request waiting for a batch: a request `R` whose updates each come out as a `T`.
pub(crate) struct Job<R, T> {
    pub(crate) tenant: TenantId,
    pub(crate) request: R,
    answer: oneshot::Sender<StoreResult<IngestResult<T>>>,
}

/// What the batch's outcome future is (boxed, so that the workers' tasks are `Send`).
pub(crate) type Applying<'a, T> =
    Pin<Box<dyn Future<Output = StoreResult<Vec<IngestResult<T>>>> + Send + 'a>>;

/// Applies a batch of jobs in a transaction: the result of each, in order. Called with one
/// job alone when the batch it was in failed, so that only the job at fault fails.
pub(crate) type Apply<R, T> =
    for<'a> fn(&'a Transaction<'a>, DedupeWindow, &'a [Job<R, T>]) -> Applying<'a, T>;

/// The queue of one kind of write request and the workers that commit them in batches.
pub(crate) struct Batcher<R, T> {
    queue: Mutex<Option<mpsc::Sender<Job<R, T>>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl<R: Weighed + Send + Sync + 'static, T: Send + 'static> Batcher<R, T> {
    /// Starts `options.writers` workers, each committing up to `options.max_batch` requests
    /// at a time with `apply`, counting its commits in `stats` and recording the transactions
    /// that fail in `health`; at most `options.queue_capacity` requests wait (beyond, 503).
    pub(crate) fn start(
        apply: Apply<R, T>,
        pool: &Pool,
        health: &Arc<WriteHealth>,
        stats: &Arc<CommitCounters>,
        options: &crate::PostgresOptions,
    ) -> Self {
        let (tx, rx) = mpsc::channel(options.queue_capacity.max(1));
        let (max_batch, window) = (options.max_batch.max(1), options.dedupe_window);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let turns = Arc::new(Semaphore::new(1));
        let workers = (0..options.writers.max(1))
            .map(|_| {
                let (pool, rx, stats) = (pool.clone(), Arc::clone(&rx), Arc::clone(stats));
                let turns = Arc::clone(&turns);
                let health = Arc::clone(health);
                let writer = Writer {
                    apply,
                    pool,
                    health,
                    window,
                    turn_limit: options.turn_limit,
                };
                tokio::spawn(work(writer, rx, turns, max_batch, stats))
            })
            .collect();
        Self {
            queue: Mutex::new(Some(tx)),
            workers: Mutex::new(workers),
        }
    }

    /// Applies `request` in the next batch and returns its outcome once that committed.
    pub(crate) async fn ingest(
        &self,
        tenant: TenantId,
        request: R,
    ) -> StoreResult<IngestResult<T>> {
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

    /// Stops taking requests and waits until the queued ones are committed and answered.
    pub(crate) async fn close(&self) {
        self.queue.lock().expect("batch queue lock").take();
        let workers = std::mem::take(&mut *self.workers.lock().expect("batch workers lock"));
        for worker in workers {
            let _ = worker.await;
        }
    }
}

/// What a worker commits with.
struct Writer<R, T> {
    apply: Apply<R, T>,
    pool: Pool,
    health: Arc<WriteHealth>,
    window: DedupeWindow,
    turn_limit: std::time::Duration,
}

async fn work<R: Weighed + Send + Sync, T: Send>(
    writer: Writer<R, T>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Job<R, T>>>>,
    turns: Arc<Semaphore>,
    max_batch: usize,
    stats: Arc<CommitCounters>,
) {
    loop {
        // One batch at a time runs its statements; the others commit (see the module's doc).
        let Ok(turn) = Arc::clone(&turns).acquire_owned().await else {
            return;
        };
        let batch = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut batch = Vec::new();
            fill_batch(
                &mut batch,
                first,
                (max_batch, BATCH_UPDATES),
                |job| job.request.weight(),
                || queue.try_recv().ok(),
            );
            batch
        };
        stats.record(batch.len());
        writer.commit(batch, &stats, turn).await;
    }
}

impl<R: Send + Sync, T: Send> Writer<R, T> {
    /// Commits a batch and answers its jobs. A batch that fails for another reason than an
    /// unavailable database is run again one job per transaction, so only the job at fault
    /// fails.
    async fn commit(
        &self,
        batch: Vec<Job<R, T>>,
        stats: &CommitCounters,
        turn: OwnedSemaphorePermit,
    ) {
        match self.in_transaction(&batch, Some(turn)).await {
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
                stats.record_split();
                for job in batch {
                    let alone = std::slice::from_ref(&job);
                    let result = self
                        .in_transaction(alone, None)
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

    /// Applies `batch` in one transaction and records in `health` that it failed, if it did
    /// once a connection was there (none free in time is this process being busy, not the
    /// database failing to write). `turn`, the batch's turn at running statements, goes before
    /// the commit or once the batch had it for the turn limit.
    async fn in_transaction(
        &self,
        batch: &[Job<R, T>],
        mut turn: Option<OwnedSemaphorePermit>,
    ) -> StoreResult<Vec<IngestResult<T>>> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let applied = async {
            let tx = client.transaction().await.map_err(pg_error)?;
            let results = {
                let mut apply = (self.apply)(&tx, self.window, batch);
                tokio::select! {
                    results = &mut apply => results,
                    () = tokio::time::sleep(self.turn_limit), if turn.is_some() => {
                        turn = None;
                        apply.await
                    }
                }?
            };
            drop(turn);
            tx.commit().await.map_err(pg_error)?;
            Ok(results)
        }
        .await;
        if let Err(e) = &applied {
            self.health.failed(e);
        }
        applied
    }
}
