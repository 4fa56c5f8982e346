//! The single writer: every write of the store runs on one thread that owns the write
//! connection and commits whatever jobs are waiting in one transaction (group commit), so one
//! fsync acknowledges many requests. A job's caller is answered only after the commit.

use std::path::Path;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use trailspark_store::{StoreError, StoreResult};

use crate::db::{self, sqlite_error};

/// A write waiting for the writer: run inside the batch transaction (in its own savepoint),
/// then finished with the transaction's outcome once it is over.
trait Job: Send {
    /// Runs the write; false means it failed and its savepoint must be rolled back.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller: the write's own result if the batch committed, else `error`.
    fn finish(self: Box<Self>, batch: Result<(), StoreError>);
}

struct Pending<T, F> {
    write: Option<F>,
    result: Option<StoreResult<T>>,
    answer: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let write = self.write.take().expect("a job runs once");
        let result = write(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, batch: Result<(), StoreError>) {
        let answer = match (batch, self.result) {
            (Ok(()), Some(result)) => result,
            (Err(e), _) => Err(e),
            (Ok(()), None) => Err(StoreError::Other("a write was skipped".into())),
        };
        let _ = self.answer.send(answer);
    }
}

/// How often expired dedupe and replay rows are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Handle to the writer thread.
pub struct Writer {
    queue: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer on its own connection to `path`.
    pub fn start(
        path: &Path,
        busy_timeout: Duration,
        max_batch: usize,
        queue_capacity: usize,
    ) -> StoreResult<Self> {
        let conn = db::connect(path, busy_timeout)?;
        let (tx, rx) = mpsc::channel(queue_capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("trailspark-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1)))
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self {
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `f` in the next batch transaction and returns its result once that committed.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending {
            write: Some(f),
            result: None,
            answer,
        });
        let sender = self.queue.lock().expect("writer queue lock").clone();
        let Some(sender) = sender else {
            return Err(StoreError::Unavailable("the store is shutting down".into()));
        };
        sender.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::Unavailable("too many writes are waiting for the store".into())
            }
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Unavailable("the store writer has stopped".into())
            }
        })?;
        answered
            .await
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?
    }

    /// Stops taking writes, lets the queued ones commit, and waits for the thread to end.
    pub async fn close(&self) {
        self.queue.lock().expect("writer queue lock").take();
        let thread = self.thread.lock().expect("writer thread lock").take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn run(conn: Connection, mut queue: mpsc::Receiver<Box<dyn Job>>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut last_sweep = Instant::now();
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&conn, &mut batch);
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = Instant::now();
            if let Err(e) = crate::ingest::sweep_expired(&conn) {
                tracing::warn!(error = %e, "could not sweep expired dedupe rows");
            }
        }
    }
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>) {
    let size = batch.len();
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_error) {
        tracing::warn!(error = %e, size, "could not start a write transaction");
        for job in batch.drain(..) {
            job.finish(Err(e.clone()));
        }
        return;
    }
    let mut ran = Vec::with_capacity(size);
    for mut job in batch.drain(..) {
        if let Err(e) = conn.execute_batch("SAVEPOINT job").map_err(sqlite_error) {
            job.finish(Err(e));
            continue;
        }
        let ok = job.run(conn);
        let end = if ok {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(e) = conn.execute_batch(end) {
            tracing::error!(error = %e, "could not end a job's savepoint");
        }
        ran.push(job);
    }
    let committed = conn.execute_batch("COMMIT").map_err(sqlite_error);
    if let Err(e) = &committed {
        tracing::warn!(error = %e, size, "batch commit failed; nothing of it is acknowledged");
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in ran {
        job.finish(committed.clone());
    }
}
