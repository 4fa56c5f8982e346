//! The single writer: every write of the store runs on one thread that owns the write
//! connection and commits whatever jobs are waiting in one transaction (group commit), so one
//! fsync acknowledges many requests. A job's caller is answered only after its commit is
//! durable: the flusher thread fsyncs the WAL behind the writer (see [`flusher`]), and a
//! checkpointer thread copies the WAL into the database file (see [`Checkpoints`]).

use std::cell::RefCell;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
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

/// What a write runs on: the writer's connection (it derefs to it), and what the writer keeps
/// between batches for the ingest hot path (prepared statements, the product orgs it knows).
pub struct Ctx<'c> {
    conn: &'c Connection,
    pub(crate) ingest: RefCell<crate::ingest::State<'c>>,
}

impl<'c> Ctx<'c> {
    fn new(conn: &'c Connection) -> Self {
        Self {
            conn,
            ingest: RefCell::new(crate::ingest::State::default()),
        }
    }

    /// The connection, for as long as the writer has it.
    pub(crate) fn connection(&self) -> &'c Connection {
        self.conn
    }

    /// A batch transaction begins.
    fn began(&self) {
        self.ingest.borrow_mut().began(self.conn);
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

/// A write waiting for the writer: run inside the batch transaction, perhaps twice (see
/// [`Mode`]), then finished with the transaction's outcome once it is over.
trait Job: Send {
    /// Runs the write; false means it failed.
    fn run(&mut self, ctx: &Ctx<'_>, mode: Mode) -> bool;
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
    F: Fn(&Ctx<'_>, Mode) -> StoreResult<T> + Send,
{
    fn run(&mut self, ctx: &Ctx<'_>, mode: Mode) -> bool {
        let result = (self.write)(ctx, mode);
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
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The checkpointer hands the writer the last step when at most this many frames are left to
/// copy: copying them is what the writer waits for once per cycle of the WAL.
const RESIDUAL_FRAMES: i64 = 64;

/// Handle to the writer thread.
pub struct Writer {
    /// Batches committed and the jobs in them.
    pub stats: std::sync::Arc<trailspark_store::CommitCounters>,
    queue: Mutex<Option<mpsc::Sender<Box<dyn Job>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    checkpoints: Arc<Checkpoints>,
    checkpointer: Mutex<Option<JoinHandle<()>>>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

/// The checkpointer's and the writer's shared view of the WAL.
///
/// Copying the WAL into the database file (a checkpoint) writes pages all over the file and
/// fsyncs it: tens of milliseconds that the writer would otherwise spend not committing. So a
/// thread of its own copies what the writer commits, as it comes. But SQLite starts the WAL
/// over only when a transaction begins with every frame copied, which a checkpointer beside a
/// busy writer never sees: the WAL would grow for as long as writes come. So when little is
/// left to copy, the checkpointer stops and says so (`ready`), and the writer copies the rest
/// itself between two commits; its next transaction starts the WAL over.
struct Checkpoints {
    state: Mutex<CheckpointState>,
    changed: Condvar,
    /// The checkpointer starts copying when the WAL holds this many frames (4 KiB pages): a
    /// page written many times in between is copied once, so the larger, the fewer writes.
    from_frames: i64,
    /// Past this many frames the checkpointer hands over whatever is left: the WAL's bound.
    limit_frames: i64,
}

impl Checkpoints {
    /// Copying starts at `from_frames` frames in the WAL; four times that is the WAL's bound.
    fn new(from_frames: i64) -> Self {
        Self {
            state: Mutex::default(),
            changed: Condvar::new(),
            from_frames: from_frames.max(1),
            limit_frames: from_frames.max(1).saturating_mul(4),
        }
    }

    /// Tells the checkpointer to stop, and a writer waiting for it not to wait.
    fn stop(&self) {
        self.state.lock().expect("checkpoint lock").stop = true;
        self.changed.notify_all();
    }
}

#[derive(Default)]
struct CheckpointState {
    /// The writer saw the WAL reach `from_frames`: time to copy it.
    due: bool,
    /// The checkpointer copied all but a few frames and waits for the writer to copy those.
    ready: bool,
    /// The last pass could not copy everything: a reader's snapshot still needs old frames.
    held: bool,
    stop: bool,
}

thread_local! {
    /// Frames in the WAL after the writer's last commit, as SQLite's WAL hook tells it (the
    /// hook is a plain function: the writer's thread is where its state can live).
    static WAL_FRAMES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

fn note_wal_frames(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(i64::from(frames)));
    Ok(())
}

/// How the flusher makes the WAL durable: an fdatasync of the file, or in tests one that
/// fails on purpose (the writer must then refuse what it committed, never acknowledge it).
pub(crate) type SyncWal = Box<dyn FnMut() -> std::io::Result<()> + Send>;

impl Writer {
    /// Starts the writer on its own connection to `path`.
    pub fn start(
        path: &Path,
        busy_timeout: Duration,
        max_batch: usize,
        queue_capacity: usize,
        checkpoint_frames: i64,
    ) -> StoreResult<Self> {
        let sync = sync_wal(wal_path(path));
        Self::start_syncing(
            path,
            busy_timeout,
            max_batch,
            queue_capacity,
            checkpoint_frames,
            sync,
        )
    }

    /// Starts the writer, with `sync` as the flusher's way to make the WAL durable.
    pub(crate) fn start_syncing(
        path: &Path,
        busy_timeout: Duration,
        max_batch: usize,
        queue_capacity: usize,
        checkpoint_frames: i64,
        sync: SyncWal,
    ) -> StoreResult<Self> {
        let conn = db::connect(path, busy_timeout)?;
        // Checkpoints are the checkpointer's (see `Checkpoints`), not a pause of the writer's
        // every 1,000 pages.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = OFF")
            .map_err(sqlite_error)?;
        conn.wal_hook(Some(note_wal_frames));
        let (flushes, flusher) = start_flusher(path, sync)?;
        let checkpoints = Arc::new(Checkpoints::new(checkpoint_frames));
        let checkpointer = start_checkpointer(path, busy_timeout, &checkpoints)?;
        let (tx, rx) = mpsc::channel(queue_capacity.max(1));
        let stats = Arc::new(trailspark_store::CommitCounters::default());
        let counters = Arc::clone(&stats);
        let shared = Arc::clone(&checkpoints);
        let thread = std::thread::Builder::new()
            .name("trailspark-sqlite-writer".into())
            .spawn(move || run(conn, rx, max_batch.max(1), &counters, &shared, flushes))
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Self {
            stats,
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            checkpoints,
            checkpointer: Mutex::new(Some(checkpointer)),
            flusher: Mutex::new(Some(flusher)),
        })
    }

    /// Runs `f` in the next batch transaction and returns its result once that committed.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Ctx<'_>, Mode) -> StoreResult<T> + Send + 'static,
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

/// Starts the checkpointer thread, on a connection of its own.
fn start_checkpointer(
    path: &Path,
    busy_timeout: Duration,
    checkpoints: &Arc<Checkpoints>,
) -> StoreResult<JoinHandle<()>> {
    let conn = db::connect(path, busy_timeout)?;
    let shared = Arc::clone(checkpoints);
    std::thread::Builder::new()
        .name("trailspark-sqlite-checkpointer".into())
        .spawn(move || checkpointer(&conn, &shared))
        .map_err(|e| StoreError::Other(format!("cannot start the SQLite checkpointer: {e}")))
}

/// The checkpointer thread: once the WAL is large enough, copies it into the database file
/// while the writer goes on, and hands the writer the last few frames.
fn checkpointer(conn: &Connection, shared: &Checkpoints) {
    let mut state = shared.state.lock().expect("checkpoint lock");
    loop {
        if state.stop {
            return;
        }
        if state.ready {
            // The writer's turn. If it does not take it (no more commits), copy the rest here.
            let (next, waited) = shared
                .changed
                .wait_timeout(state, Duration::from_millis(50))
                .expect("checkpoint lock");
            state = next;
            if !waited.timed_out() || !state.ready {
                continue;
            }
            state.ready = false;
        } else if !state.due {
            state = shared.changed.wait(state).expect("checkpoint lock");
            continue;
        }
        drop(state);
        // Each pass copies what was there when it began; what came during it is left for the
        // next. Once a pass had little to copy, what came during it is little too: the rest is
        // the writer's.
        let mut previous: Option<(i64, i64)> = None;
        let outcome = loop {
            match (passive_checkpoint(conn), previous) {
                (Err(e), _) => break Err(e),
                (Ok((log, _)), _) if log >= shared.limit_frames => break Ok(true),
                // The WAL started over meanwhile, or a reader's snapshot holds the copy back.
                (Ok((log, copied)), last) if log <= 0 || last == Some((log, copied)) => {
                    break Ok(false)
                }
                (Ok((log, copied)), Some((last_log, _)))
                    if copied == log && log - last_log <= RESIDUAL_FRAMES =>
                {
                    break Ok(true)
                }
                (Ok(pass), _) => previous = Some(pass),
            }
        };
        state = shared.state.lock().expect("checkpoint lock");
        state.due = false;
        state.held = matches!(outcome, Ok(false));
        match outcome {
            Ok(true) => state.ready = true,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "checkpoint failed; trying again");
                state = shared
                    .changed
                    .wait_timeout(state, Duration::from_millis(100))
                    .expect("checkpoint lock")
                    .0;
            }
        }
    }
}

/// One passive checkpoint (never waits for readers or the writer): the frames in the WAL and
/// how many of them are now copied.
fn passive_checkpoint(conn: &Connection) -> StoreResult<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
    .map_err(sqlite_error)
}

/// After a commit: if the checkpointer left the last frames of the WAL to the writer, copy
/// them, so that the next transaction starts the WAL over.
fn take_checkpoint_turn(ctx: &Ctx<'_>, shared: &Checkpoints) {
    let frames = WAL_FRAMES.with(std::cell::Cell::get);
    {
        let mut state = shared.state.lock().expect("checkpoint lock");
        if !state.ready && frames >= shared.from_frames && !state.due {
            state.due = true;
            shared.changed.notify_all();
        }
        // At the WAL's bound the writer waits for the checkpointer's pass (backpressure),
        // unless a reader holds the copy back: waiting would not help then.
        if !state.ready && frames >= shared.limit_frames && !state.held {
            let deadline = Instant::now() + Duration::from_secs(1);
            while !state.ready && !state.held && !state.stop && Instant::now() < deadline {
                state = shared
                    .changed
                    .wait_timeout(state, Duration::from_millis(10))
                    .expect("checkpoint lock")
                    .0;
            }
        }
        if !state.ready {
            return;
        }
    }
    // The writer commits without syncing, but a checkpoint that lets the WAL start over must
    // sync both files (its next transaction overwrites what the database file now holds).
    let turn = ctx
        .execute_batch("PRAGMA synchronous = FULL")
        .map_err(sqlite_error)
        .and_then(|()| passive_checkpoint(ctx));
    if let Err(e) = turn {
        tracing::warn!(error = %e, "the writer's checkpoint failed");
    }
    if let Err(e) = ctx.execute_batch("PRAGMA synchronous = OFF") {
        tracing::warn!(error = %e, "the writer's commits sync again at every commit");
    }
    shared.state.lock().expect("checkpoint lock").ready = false;
    shared.changed.notify_all();
}

/// Committed batches on their way to the flusher, to be answered once they are durable.
type Flushes = std::sync::mpsc::Sender<Vec<Box<dyn Job>>>;

/// Starts the flusher thread for the WAL of the store at `path`; returns the way to it.
fn start_flusher(path: &Path, sync: SyncWal) -> StoreResult<(Flushes, JoinHandle<()>)> {
    let (flushes, flushed) = std::sync::mpsc::channel();
    let wal = wal_path(path);
    let flusher = std::thread::Builder::new()
        .name("trailspark-sqlite-flusher".into())
        .spawn(move || flusher(&wal, &flushed, sync))
        .map_err(|e| StoreError::Other(format!("cannot start the SQLite flusher: {e}")))?;
    Ok((flushes, flusher))
}

/// The flusher thread: makes the WAL durable (fdatasync) and only then answers the batches
/// committed before, as many as are waiting at once. The writer commits without syncing and
/// goes on with the next batch meanwhile: one batch's flush overlaps the next one's work.
///
/// A batch committed but not yet flushed is visible to readers, and lost only with the
/// machine itself (a crash of the process leaves it in the page cache); it is answered only
/// once it survives that too. Nothing older is at risk: SQLite checks every WAL frame's
/// checksum on recovery and stops at the first that fails, so a torn tail loses only itself.
fn flusher(wal: &Path, batches: &std::sync::mpsc::Receiver<Vec<Box<dyn Job>>>, mut sync: SyncWal) {
    while let Ok(first) = batches.recv() {
        let mut ready = vec![first];
        ready.extend(batches.try_iter());
        let flushed = sync()
            .map_err(|e| StoreError::Unavailable(format!("cannot flush {}: {e}", wal.display())));
        if let Err(e) = &flushed {
            tracing::error!(error = %e, "the WAL could not be flushed; its last batches are refused");
        }
        for job in ready.into_iter().flatten() {
            job.finish(flushed.clone());
        }
    }
}

/// The WAL of the store at `path`.
fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

/// Syncs the file at `wal`, kept open from one flush to the next (and opened again after a
/// failure).
fn sync_wal(wal: std::path::PathBuf) -> SyncWal {
    let mut file: Option<std::fs::File> = None;
    Box::new(move || {
        let open = match file.take() {
            Some(open) => open,
            None => std::fs::File::open(&wal)?,
        };
        open.sync_data()?;
        file = Some(open);
        Ok(())
    })
}

fn run(
    conn: Connection,
    mut queue: mpsc::Receiver<Box<dyn Job>>,
    max_batch: usize,
    counters: &trailspark_store::CommitCounters,
    checkpoints: &Checkpoints,
    flushes: Flushes,
) {
    let ctx = Ctx::new(&conn);
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
        match commit_batch(&ctx, &mut batch) {
            Ok(()) => {
                let committed = std::mem::replace(&mut batch, Vec::with_capacity(max_batch));
                if let Err(unsent) = flushes.send(committed) {
                    for job in unsent.0 {
                        job.finish(Err(StoreError::Unavailable(
                            "the store's flusher has stopped".into(),
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
        if last_sweep.elapsed() >= SWEEP_EVERY || ctx.ingest.borrow().sweep_due() {
            last_sweep = Instant::now();
            if let Err(e) = crate::ingest::sweep_expired(&ctx) {
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

/// Runs and commits a batch (without making it durable: see [`flusher`]); the jobs stay in
/// `batch`, to be answered.
fn commit_batch(ctx: &Ctx<'_>, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    let size = batch.len();
    let ran = begin(ctx).and_then(|()| {
        if batch.iter_mut().all(|job| job.run(ctx, Mode::Fast)) {
            return Ok(());
        }
        // Something failed: start over with each job isolated, so only it fails.
        ctx.execute_batch("ROLLBACK").map_err(sqlite_error)?;
        ctx.rolled_back();
        begin(ctx)?;
        for job in batch.iter_mut() {
            ctx.execute_batch("SAVEPOINT job").map_err(sqlite_error)?;
            if job.run(ctx, Mode::Isolated) {
                ctx.execute_batch("RELEASE job").map_err(sqlite_error)?;
            } else {
                ctx.execute_batch("ROLLBACK TO job; RELEASE job")
                    .map_err(sqlite_error)?;
                ctx.rolled_back();
            }
        }
        Ok(())
    });
    let committed = ran.and_then(|()| run_cached(ctx, "COMMIT"));
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
