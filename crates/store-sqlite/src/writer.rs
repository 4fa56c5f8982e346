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

/// How the writer runs the jobs of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// All jobs in one go, without savepoints (which copy every page they touch): the common
    /// case. A failure rolls the whole batch back, to be run again `Isolated`.
    Fast,
    /// Each job, and each item of a job, in its own savepoint, so a failure is its own.
    Isolated,
}

/// A write waiting for the writer: run inside the batch transaction, perhaps twice (see
/// [`Mode`]), then finished with the transaction's outcome once it is over.
trait Job: Send {
    /// Runs the write; false means it failed.
    fn run(&mut self, conn: &Connection, mode: Mode) -> bool;
    /// Answers the caller: the write's own result if the batch committed, else `error`.
    fn finish(self: Box<Self>, batch: Result<(), StoreError>);
}

struct Pending<T, F> {
    write: F,
    result: Option<StoreResult<T>>,
    answer: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: Fn(&Connection, Mode) -> StoreResult<T> + Send,
{
    fn run(&mut self, conn: &Connection, mode: Mode) -> bool {
        let result = (self.write)(conn, mode);
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
    /// Batches committed and the jobs in them.
    pub stats: std::sync::Arc<trailspark_store::CommitCounters>,
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
        // The writer checkpoints itself (SQLite's automatic checkpoint, every 500 WAL
        // pages), between its commits: the WAL is then wholly copied and the next commit
        // starts it over from its beginning. A checkpointer beside a busy writer never catches
        // up, so the WAL never starts over: it grew by gigabytes a minute under load, and
        // growing a file costs far more than overwriting one.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 500")
            .map_err(sqlite_error)?;
        let (tx, rx) = mpsc::channel(queue_capacity.max(1));
        let stats = std::sync::Arc::new(trailspark_store::CommitCounters::default());
        let counters = std::sync::Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("trailspark-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1), &counters))
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self {
            stats,
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `f` in the next batch transaction and returns its result once that committed.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection, Mode) -> StoreResult<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending {
            write: f,
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

fn run(
    conn: Connection,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    counters: &trailspark_store::CommitCounters,
) {
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
        counters.record(batch.len());
        commit_batch(&conn, &mut batch);
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = Instant::now();
            if let Err(e) = crate::ingest::sweep_expired(&conn) {
                tracing::warn!(error = %e, "could not sweep expired dedupe rows");
            }
        }
    }
    // Leaves an empty WAL behind, so the file alone is the whole store.
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "final checkpoint did not run");
    }
    let stats = counters.stats();
    tracing::info!(
        commits = stats.commits,
        jobs = stats.requests,
        average_batch = stats.average_batch(),
        "SQLite writer stopped"
    );
}

fn commit_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>) {
    let size = batch.len();
    let ran = begin(conn).and_then(|()| {
        if batch.iter_mut().all(|job| job.run(conn, Mode::Fast)) {
            return Ok(());
        }
        // Something failed: start over with each job isolated, so only it fails.
        conn.execute_batch("ROLLBACK").map_err(sqlite_error)?;
        begin(conn)?;
        for job in batch.iter_mut() {
            conn.execute_batch("SAVEPOINT job").map_err(sqlite_error)?;
            let end = if job.run(conn, Mode::Isolated) {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            conn.execute_batch(end).map_err(sqlite_error)?;
        }
        Ok(())
    });
    let committed = ran.and_then(|()| conn.execute_batch("COMMIT").map_err(sqlite_error));
    if let Err(e) = &committed {
        tracing::warn!(error = %e, size, "batch not committed; nothing of it is acknowledged");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    for job in batch.drain(..) {
        job.finish(committed.clone());
    }
}

fn begin(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sqlite_error)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A failed job in a batch is rolled back alone: its neighbours commit and are answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_job_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        db::connect(&path, Duration::from_secs(1))
            .unwrap()
            .execute_batch("CREATE TABLE t (v TEXT)")
            .unwrap();
        let writer = Arc::new(Writer::start(&path, Duration::from_secs(1), 64, 64).unwrap());
        // Hold the writer, so that the next jobs queue up and form one batch.
        let slow = {
            let w = Arc::clone(&writer);
            tokio::spawn(async move {
                w.write(|_, _| {
                    std::thread::sleep(Duration::from_millis(200));
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let insert = |v: &'static str, fail: bool| {
            let w = Arc::clone(&writer);
            tokio::spawn(async move {
                w.write(move |conn, _| {
                    conn.execute("INSERT INTO t (v) VALUES (?1)", [v])
                        .map_err(sqlite_error)?;
                    if fail {
                        return Err(StoreError::Other("refused".into()));
                    }
                    Ok(())
                })
                .await
            })
        };
        let (good, bad, other) = (
            insert("good", false),
            insert("bad", true),
            insert("other", false),
        );
        assert!(slow.await.unwrap().is_ok());
        assert!(good.await.unwrap().is_ok());
        assert!(matches!(bad.await.unwrap(), Err(StoreError::Other(_))));
        assert!(other.await.unwrap().is_ok());
        writer.close().await;
        let conn = db::connect(&path, Duration::from_secs(1)).unwrap();
        let mut values: Vec<String> = conn
            .prepare("SELECT v FROM t")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        values.sort();
        assert_eq!(
            values,
            ["good", "other"],
            "the failed job's insert was rolled back, only it"
        );
    }
}
