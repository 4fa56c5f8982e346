//! Making commits durable: the flusher thread fsyncs the WAL behind the writer and only then
//! answers what was committed.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use trailspark_store::{StoreError, StoreResult, WriteHealth};

use super::queue::Job;

/// How the flusher makes the WAL durable: an fdatasync of the file, or in tests one that
/// fails on purpose (the writer must then refuse what it committed, never acknowledge it).
pub(crate) type SyncWal = Box<dyn FnMut() -> std::io::Result<()> + Send>;

/// Committed batches on their way to the flusher, to be answered once they are durable.
pub(super) type Flushes = std::sync::mpsc::Sender<Vec<Box<dyn Job>>>;

/// Starts the flusher thread for the WAL of the store at `path`, which records the flushes
/// that fail in `health`; returns the way to it.
pub(super) fn start_flusher(
    path: &Path,
    sync: SyncWal,
    health: Arc<WriteHealth>,
) -> StoreResult<(Flushes, JoinHandle<()>)> {
    let (flushes, flushed) = std::sync::mpsc::channel();
    let wal = wal_path(path);
    let flusher = std::thread::Builder::new()
        .name("trailspark-sqlite-flusher".into())
        .spawn(move || flusher(&wal, &flushed, sync, &health))
        .map_err(|e| StoreError::other("cannot start the SQLite flusher").caused_by(e))?;
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
fn flusher(
    wal: &Path,
    batches: &std::sync::mpsc::Receiver<Vec<Box<dyn Job>>>,
    mut sync: SyncWal,
    health: &WriteHealth,
) {
    while let Ok(first) = batches.recv() {
        let mut ready = vec![first];
        ready.extend(batches.try_iter());
        let flushed = sync().map_err(|e| {
            StoreError::unavailable(format!("cannot flush {}", wal.display())).caused_by(e)
        });
        if let Err(e) = &flushed {
            tracing::error!(error = %e, "the WAL could not be flushed; its last batches are refused");
            health.failed(e);
        }
        for job in ready.into_iter().flatten() {
            job.finish(flushed.clone());
        }
    }
}

/// The WAL of the store at `path`.
pub(super) fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

/// Syncs the file at `wal`, kept open from one flush to the next (and opened again after a
/// failure). Each time it is opened, its directory is synced too: SQLite creates the WAL anew
/// at each start, and a new file's name survives power loss only once its directory is
/// synced (SQLite would do it at its own first sync of the WAL, which the writer leaves to
/// this flush). The store's file shares the directory, so its name is made durable too.
pub(super) fn sync_wal(wal: std::path::PathBuf) -> SyncWal {
    let mut file: Option<std::fs::File> = None;
    Box::new(move || {
        let open = match file.take() {
            Some(open) => open,
            None => {
                let open = std::fs::File::open(&wal)?;
                let dir = wal.parent().filter(|d| !d.as_os_str().is_empty());
                std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
                open
            }
        };
        open.sync_data()?;
        file = Some(open);
        Ok(())
    })
}
