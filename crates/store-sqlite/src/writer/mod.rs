//! The single writer: every write of the store runs on one thread that owns the write
//! connection and commits whatever jobs are waiting in one transaction (group commit), so one
//! fsync acknowledges many requests. A job's caller is answered only after its commit is
//! durable: the flusher thread fsyncs the WAL behind the writer (see [`flush`]), and a
//! checkpointer thread copies the WAL into the database file (see [`Checkpoints`]).

mod checkpoint;
mod flush;
mod probe;
mod queue;
mod search;

use std::cell::RefCell;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::mpsc;
use trailspark_store::{fill_batch, StoreError, StoreResult, WriteHealth};

use crate::db::{self, sqlite_error};
use crate::SqliteOptions;
use checkpoint::{note_wal_frames, start_checkpointer, take_checkpoint_turn, Checkpoints};
use flush::{start_flusher, sync_wal, wal_path, Flushes, SyncWal};
use queue::Job;

/// How the writer runs the jobs of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// All jobs in one go, without savepoints (which copy every page they touch): the common
    /// case. A failure rolls the whole batch back, to be run again `Isolated`.
    Fast,
    /// Each job, and each item of a job, in its own savepoint, so a failure is its own.
    Isolated,
}

/// What a write runs on: the writer's connection (it derefs to it), and what the writer keeps
/// between batches for the ingest hot path (prepared statements, the product orgs it knows)
/// and for the dedupe sweeps (where the next starts, how many rows came since the last).
pub struct Ctx<'c> {
    conn: &'c Connection,
    pub(crate) ingest: RefCell<crate::ingest::State<'c>>,
    pub(crate) dedupe: crate::dedupe::Sweeps,
    /// The delivery log entries of the transaction, written just before it commits.
    pub(crate) log: RefCell<crate::deliveries::Pending>,
}

impl<'c> Ctx<'c> {
    fn new(conn: &'c Connection, options: &SqliteOptions) -> Self {
        Self {
            conn,
            ingest: RefCell::new(crate::ingest::State::new(options.org_cache_bytes)),
            dedupe: crate::dedupe::Sweeps::new(options.dedupe_window),
            log: RefCell::default(),
        }
    }

    /// The connection, for as long as the writer has it.
    pub(crate) fn connection(&self) -> &'c Connection {
        self.conn
    }

    /// A batch transaction begins.
    fn began(&self) {
        self.ingest.borrow_mut().began(self.conn);
        self.log.borrow_mut().clear();
    }

    /// What the current transaction wrote was (partly) rolled back.
    pub(crate) fn rolled_back(&self) {
        self.ingest.borrow_mut().rolled_back();
    }

    /// The batch transaction committed.
    fn committed(&self) {
        self.ingest.borrow_mut().committed();
    }
}

impl Deref for Ctx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

/// Updates (or signals, or rows) past which a batch takes no more requests. Under 64
/// connections of 100-event `/v1/batch` bodies the store peaked at 72–73 MiB unbounded, 63–64
/// MiB at 2,000 and 58–61 MiB at 1,000, committing 5 % and 20 % fewer events (3,000: 67–70
/// MiB, as many as unbounded): a larger transaction writes each page it touches once for more
/// updates.
pub(crate) const BATCH_UPDATES: usize = 2_000;

/// How often expired dedupe and replay rows are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The writer's connection settings beyond every connection's ([`db::connect`]).
fn tune(conn: &Connection, options: &SqliteOptions) -> StoreResult<()> {
    // Checkpoints are the checkpointer's (see `Checkpoints`), not a pause of the writer's
    // every 1,000 pages; durability is the flusher's fsync. Statement journals stay in memory:
    // an insert into product_orgs runs triggers (search, counts), so SQLite copies every page
    // the statement touches in case it aborts, into a temporary file once past 64 KiB, one
    // write call a page. The page cache: a batch touching more pages than it holds writes
    // them into the WAL before it commits (again if touched again), and reads back any it lacks.
    let cache_kib = (options.page_cache_bytes / 1024).max(1);
    conn.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{cache_kib}"
    ))
    .map_err(sqlite_error)
}

/// Handle to the writer thread.
pub struct Writer {
    /// Batches committed and the jobs in them.
    pub stats: std::sync::Arc<trailspark_store::CommitCounters>,
    /// The commits (and flushes) that failed and the probes, for `/readyz`.
    pub health: Arc<WriteHealth>,
    queue: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    checkpoints: Arc<Checkpoints>,
    checkpointer: Mutex<Option<JoinHandle<()>>>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer on its own connection to `path`.
    pub fn start(path: &Path, options: &SqliteOptions) -> StoreResult<Self> {
        let sync = sync_wal(wal_path(path));
        Self::start_syncing(path, options, sync)
    }

    /// Starts the writer, with `sync` as the flusher's way to make the WAL durable.
    pub(crate) fn start_syncing(
        path: &Path,
        options: &SqliteOptions,
        sync: SyncWal,
    ) -> StoreResult<Self> {
        let busy_timeout = options.busy_timeout;
        let conn = db::connect(path, busy_timeout)?;
        tune(&conn, options)?;
        conn.wal_hook(Some(note_wal_frames));
        let health = Arc::new(WriteHealth::default());
        let (flushes, flusher) = start_flusher(path, sync, Arc::clone(&health))?;
        let checkpoints = Arc::new(Checkpoints::new(options.checkpoint_frames));
        let checkpointer = start_checkpointer(path, busy_timeout, &checkpoints)?;
        let (tx, rx) = mpsc::channel(options.queue_capacity.max(1));
        let stats = Arc::new(trailspark_store::CommitCounters::default());
        let counters = Arc::clone(&stats);
        let (shared, outcomes) = (Arc::clone(&checkpoints), Arc::clone(&health));
        let options = options.clone();
        let thread = std::thread::Builder::new()
            .name("trailspark-sqlite-writer".into())
            .spawn(move || run(conn, rx, &options, &counters, &outcomes, &shared, flushes))
            .map_err(|e| StoreError::other("cannot start the SQLite writer").caused_by(e))?;
        Ok(Self {
            stats,
            health,
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            checkpoints,
            checkpointer: Mutex::new(Some(checkpointer)),
            flusher: Mutex::new(Some(flusher)),
        })
    }

    /// Stops taking writes, lets the queued ones commit, and waits for the threads to end.
    pub async fn close(&self) {
        self.queue.lock().expect("writer queue lock").take();
        let thread = self.thread.lock().expect("writer thread lock").take();
        let checkpointer = self
            .checkpointer
            .lock()
            .expect("checkpointer thread lock")
            .take();
        let flusher = self.flusher.lock().expect("flusher thread lock").take();
        let checkpoints = Arc::clone(&self.checkpoints);
        let _ = tokio::task::spawn_blocking(move || {
            // The checkpointer first: the writer's last act is a checkpoint of everything.
            checkpoints.stop();
            if let Some(checkpointer) = checkpointer {
                let _ = checkpointer.join();
            }
            if let Some(thread) = thread {
                let _ = thread.join();
            }
            // The writer is gone, and with it the flusher's queue: the last batches are
            // flushed and answered.
            if let Some(flusher) = flusher {
                let _ = flusher.join();
            }
        })
        .await;
    }
}

/// The writer thread: `limits` are the most jobs a batch takes and the bytes of product orgs it
/// keeps in memory.
fn run(
    conn: Connection,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    options: &SqliteOptions,
    counters: &trailspark_store::CommitCounters,
    health: &WriteHealth,
    checkpoints: &Checkpoints,
    flushes: Flushes,
) {
    let ctx = Ctx::new(&conn, options);
    let max_batch = options.max_batch.max(1);
    let mut batch = Vec::with_capacity(max_batch);
    let mut last_sweep = Instant::now();
    while let Some(first) = queue.blocking_recv() {
        fill_batch(
            &mut batch,
            first,
            (max_batch, BATCH_UPDATES),
            |job| job.weight(),
            || queue.try_recv().ok(),
        );
        counters.record(batch.len());
        let committed = commit_batch(&ctx, &mut batch, counters);
        // A full disk fails the commit, since SQLite writes a transaction's pages into the WAL
        // only then. (A job whose statement met it first, in a transaction that outgrew the
        // page cache, fails alone and is not counted.) A commit is not counted either: see
        // `WriteHealth` for why only the probe says that writes commit again.
        if let Err(e) = &committed {
            health.failed(e);
        }
        match committed {
            Ok(()) => {
                let committed = std::mem::replace(&mut batch, Vec::with_capacity(max_batch));
                if let Err(unsent) = flushes.send(committed) {
                    for job in unsent.0 {
                        job.finish(Err(StoreError::unavailable(
                            "the store's flusher has stopped",
                        )));
                    }
                }
            }
            Err(e) => {
                for job in batch.drain(..) {
                    job.finish(Err(e.clone()));
                }
            }
        }
        take_checkpoint_turn(&ctx, checkpoints);
        if last_sweep.elapsed() >= SWEEP_EVERY || ctx.dedupe.sweep_due() {
            last_sweep = Instant::now();
            if let Err(e) = crate::dedupe::sweep_expired(&ctx) {
                tracing::warn!(error = %e, "could not sweep expired dedupe rows");
            }
        }
    }
    drop(ctx);
    drop(flushes);
    // Leaves an empty WAL behind, so the file alone is the whole store.
    if let Err(e) = conn
        .execute_batch("PRAGMA synchronous = FULL")
        .and_then(|()| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
    {
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

/// Runs and commits a batch (without making it durable: see [`flush`]); the jobs stay in
/// `batch`, to be answered.
fn commit_batch(
    ctx: &Ctx<'_>,
    batch: &mut [Box<dyn Job>],
    counters: &trailspark_store::CommitCounters,
) -> Result<(), StoreError> {
    let size = batch.len();
    let ran = begin(ctx).and_then(|()| {
        if batch.iter_mut().all(|job| job.run(ctx, Mode::Fast)) {
            return Ok(());
        }
        // Something failed: start over with each job isolated, so only it fails.
        counters.record_split();
        ctx.execute_batch("ROLLBACK").map_err(sqlite_error)?;
        ctx.rolled_back();
        begin(ctx)?;
        for job in batch.iter_mut() {
            ctx.execute_batch("SAVEPOINT job").map_err(sqlite_error)?;
            let logged = ctx.log.borrow().mark();
            if job.run(ctx, Mode::Isolated) {
                ctx.execute_batch("RELEASE job").map_err(sqlite_error)?;
            } else {
                ctx.execute_batch("ROLLBACK TO job; RELEASE job")
                    .map_err(sqlite_error)?;
                ctx.log.borrow_mut().truncate(logged);
                ctx.rolled_back();
            }
        }
        Ok(())
    });
    let committed = ran
        .and_then(|()| ctx.log.borrow_mut().write(ctx.conn))
        .and_then(|()| search::flush(ctx.conn).map_err(sqlite_error))
        .and_then(|()| run_cached(ctx, "COMMIT"));
    match &committed {
        Ok(()) => ctx.committed(),
        Err(e) => {
            tracing::warn!(error = %e, size, "batch not committed; nothing of it is acknowledged");
            if !ctx.is_autocommit() {
                let _ = ctx.execute_batch("ROLLBACK");
            }
            ctx.rolled_back();
        }
    }
    committed
}

fn begin(ctx: &Ctx<'_>) -> StoreResult<()> {
    run_cached(ctx, "BEGIN IMMEDIATE")?;
    ctx.began();
    Ok(())
}

/// Runs a statement of every batch from the connection's statement cache: `execute_batch`
/// would parse it again each time, a few percent of the writer's work at small batches.
fn run_cached(conn: &Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(sqlite_error)
}

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
