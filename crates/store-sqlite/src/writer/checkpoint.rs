//! Checkpoints: the checkpointer thread copies the WAL into the database file beside the
//! writer, the writer copies the last few frames itself so that the WAL starts over, and the
//! WAL hook tells the writer how large the WAL is.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use trailspark_store::{StoreError, StoreResult};

use super::Ctx;
use crate::db::{self, sqlite_error};

/// The checkpointer hands the writer the last step when at most this many frames are left to
/// copy: copying them is what the writer waits for once per cycle of the WAL.
const RESIDUAL_FRAMES: i64 = 64;

/// How long the checkpointer rests after catching up with a WAL not yet large enough to start
/// over, before it copies what came meanwhile: bounds its fsyncs to a few dozen a second.
const REST: Duration = Duration::from_millis(50);

/// The checkpointer's and the writer's shared view of the WAL.
///
/// Copying the WAL into the database file (a checkpoint) writes pages all over the file and
/// fsyncs it: tens of milliseconds that the writer would otherwise spend not committing. So a
/// thread of its own copies what the writer commits, as it comes. But SQLite starts the WAL
/// over only when a transaction begins with every frame copied, which a checkpointer beside a
/// busy writer never sees: the WAL would grow for as long as writes come. So when little is
/// left to copy, the checkpointer stops and says so (`ready`), and the writer copies the rest
/// itself between two commits; its next transaction starts the WAL over.
///
/// That hand-over pauses the writer for two fsyncs, so it should come rarely: the WAL starts
/// over only once it holds `restart_frames`. But one copy of that many frames ends in one long
/// fsync of the database file, behind which the flusher's fsyncs of the WAL wait (on a store
/// of a million orgs, where every frame is another page, the p99 doubled from 64 to 256 MiB).
/// So copying starts at a quarter of that size and goes on in passes, each copying what came
/// during the last, until the WAL is large enough to start over.
pub(super) struct Checkpoints {
    state: Mutex<CheckpointState>,
    changed: Condvar,
    /// The checkpointer starts copying when the WAL holds this many frames (4 KiB pages).
    copy_frames: i64,
    /// The WAL starts over once it holds this many and all but a few are copied.
    restart_frames: i64,
    /// Past this many frames the checkpointer hands over whatever is left: the WAL's bound.
    limit_frames: i64,
}

impl Checkpoints {
    /// The WAL starts over at `restart_frames` frames (copying starts at a quarter of that);
    /// four times that is its bound.
    pub(super) fn new(restart_frames: i64) -> Self {
        let restart_frames = restart_frames.max(1);
        Self {
            state: Mutex::default(),
            changed: Condvar::new(),
            copy_frames: (restart_frames / 4).max(1),
            restart_frames,
            limit_frames: restart_frames.saturating_mul(4),
        }
    }

    /// Tells the checkpointer to stop, and a writer waiting for it not to wait.
    pub(super) fn stop(&self) {
        self.state.lock().expect("checkpoint lock").stop = true;
        self.changed.notify_all();
    }
}

#[derive(Default)]
struct CheckpointState {
    /// The writer saw the WAL reach `copy_frames`: time to copy it.
    due: bool,
    /// Frames in the WAL after the writer's last commit.
    frames: i64,
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

/// SQLite's WAL hook: notes the frames in the WAL after each commit of the writer.
pub(super) fn note_wal_frames(
    _: &rusqlite::hooks::Wal,
    frames: std::ffi::c_int,
) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(i64::from(frames)));
    Ok(())
}

/// Starts the checkpointer thread, on a connection of its own.
pub(super) fn start_checkpointer(
    path: &Path,
    busy_timeout: Duration,
    checkpoints: &Arc<Checkpoints>,
) -> StoreResult<JoinHandle<()>> {
    let conn = db::connect(path, busy_timeout)?;
    let shared = Arc::clone(checkpoints);
    std::thread::Builder::new()
        .name("trailspark-sqlite-checkpointer".into())
        .spawn(move || checkpointer(&conn, &shared))
        .map_err(|e| StoreError::other("cannot start the SQLite checkpointer").caused_by(e))
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
        let outcome = copy(conn, shared);
        state = shared.state.lock().expect("checkpoint lock");
        state.due = false;
        state.held = matches!(outcome, Ok(Copied::Held));
        match outcome {
            Ok(Copied::Ready) => state.ready = true,
            Ok(Copied::Held) => {}
            Ok(Copied::CaughtUp) => {
                // A WAL that reaches its size to start over ends the rest: the sooner the
                // writer's turn, the less the WAL outgrows it.
                let rest = Instant::now() + REST;
                while !state.stop && state.frames < shared.restart_frames && Instant::now() < rest {
                    state = shared
                        .changed
                        .wait_timeout(state, REST)
                        .expect("checkpoint lock")
                        .0;
                }
            }
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

/// What a checkpointer's run of passes left.
enum Copied {
    /// All but a few frames are copied and the WAL may start over: the writer's turn.
    Ready,
    /// The WAL started over meanwhile, or a reader's snapshot holds the copy back.
    Held,
    /// All but a few frames are copied, but the WAL is not yet large enough to start over.
    CaughtUp,
}

/// Copies the WAL into the database file in passes. Each pass copies what was there when it
/// began; what came during it is left for the next. Once a pass had little to copy, what came
/// during it is little too: the rest is the writer's, or the next run's.
fn copy(conn: &Connection, shared: &Checkpoints) -> StoreResult<Copied> {
    let mut previous: Option<(i64, i64)> = None;
    loop {
        match (passive_checkpoint(conn)?, previous) {
            ((log, _), _) if log >= shared.limit_frames => return Ok(Copied::Ready),
            // The WAL started over meanwhile.
            ((log, _), _) if log <= 0 => return Ok(Copied::Held),
            // Before the next arm: a WAL all copied that did not change since the last pass is
            // caught up, not held (held, the writer would not wait at the WAL's bound).
            ((log, copied), Some((last_log, _)))
                if copied == log && log - last_log <= RESIDUAL_FRAMES =>
            {
                return Ok(if log >= shared.restart_frames {
                    Copied::Ready
                } else {
                    Copied::CaughtUp
                });
            }
            // A reader's snapshot holds the copy back.
            (pass, last) if last == Some(pass) => return Ok(Copied::Held),
            (pass, _) => previous = Some(pass),
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
pub(super) fn take_checkpoint_turn(ctx: &Ctx<'_>, shared: &Checkpoints) {
    let frames = WAL_FRAMES.with(std::cell::Cell::get);
    {
        let mut state = shared.state.lock().expect("checkpoint lock");
        let reached_restart =
            state.frames < shared.restart_frames && frames >= shared.restart_frames;
        state.frames = frames;
        if !state.ready && (frames >= shared.copy_frames && !state.due || reached_restart) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A store's connection that wrote `commits` rows in a WAL nothing copies on its own, and a
    /// connection of the checkpointer's.
    fn wal_of(path: &Path, commits: usize) -> (Connection, Connection) {
        let writer = db::connect(path, Duration::from_secs(1)).unwrap();
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (v TEXT)")
            .unwrap();
        for n in 0..commits {
            writer
                .execute("INSERT INTO t (v) VALUES (?1)", [n.to_string()])
                .unwrap();
        }
        (writer, db::connect(path, Duration::from_secs(1)).unwrap())
    }

    /// Passes over a WAL that nothing writes to meanwhile copy it all: caught up below the
    /// size at which it starts over, the writer's turn at it; never held. Catches `copy`
    /// taking a WAL all copied and unchanged since the last pass for one a reader holds back
    /// (the writer would then not wait at the WAL's bound).
    #[test]
    fn a_wal_copied_whole_is_caught_up_or_ready_never_held() {
        let dir = tempfile::tempdir().unwrap();
        let (_writer, conn) = wal_of(&dir.path().join("c.db"), 20);
        let (log, _) = passive_checkpoint(&conn).unwrap();
        assert!(log > 0);
        let copied = copy(&conn, &Checkpoints::new(log + 1)).unwrap();
        assert!(matches!(copied, Copied::CaughtUp), "below the size");
        let copied = copy(&conn, &Checkpoints::new(log)).unwrap();
        assert!(matches!(copied, Copied::Ready), "at the size");
    }

    /// A reader's snapshot keeps the frames after it from being copied: held, not caught up.
    #[test]
    fn a_wal_a_reader_holds_back_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let (writer, conn) = wal_of(&path, 5);
        let reader = db::connect(&path, Duration::from_secs(1)).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        for n in 0..5 {
            writer
                .execute("INSERT INTO t (v) VALUES (?1)", [n.to_string()])
                .unwrap();
        }
        let copied = copy(&conn, &Checkpoints::new(1_000)).unwrap();
        assert!(matches!(copied, Copied::Held));
        reader.execute_batch("COMMIT").unwrap();
    }
}
