//! A test-only SQLite VFS that simulates power loss, as SQLite's own crash tests do.
//!
//! [`Disk::new`] claims a directory. Every file SQLite opens there (through the `powerloss`
//! VFS, which [`install`] makes the default) is written through to the real file at once, so
//! the process sees its own writes as it would through the page cache; beside it the disk keeps
//! the file's *durable image*: its content as of its last sync. A sync is SQLite's `xSync` on
//! any handle of the file, or an `fsync`/`fdatasync` of any descriptor of it, including one
//! that did not come from SQLite (the store's flusher syncs the WAL with a `std::fs::File` of
//! its own): both are interposed, see [`hook`].
//!
//! [`Disk::cut`] is the power failing: from that instant every read, write, sync, lock and
//! open of a file on the disk fails (`SQLITE_IOERR`, `EIO`), so nothing more reaches it.
//! [`Disk::restore`] then puts each file back to its durable image ([`Mode::LoseUnsynced`]),
//! or to its durable image plus a random part of what was written since ([`Mode::Torn`]), and
//! deletes the `-shm` files, which a reboot would not keep either.
//!
//! A created file's name is durable, as POSIX has it, only once its directory is synced: the
//! unix VFS does that at the first sync of a journal or WAL it created (`UNIXFILE_DIRSYNC`),
//! never for the main database file; the store's flusher does it at its first flush. A file
//! created whose directory was not synced since is gone after the cut, whatever was written
//! to it ([`Restored::unsynced_entries`] counts them).
//!
//! Simplifications, on purpose:
//! - Deleting a file is durable at once, as if its directory were synced with it.
//! - The real fsync is skipped for a file on a disk: its durability is the image's business,
//!   and skipping it keeps hundreds of cuts within a test's time.
//! - Only what SQLite writes through the VFS is kept apart. A file written behind SQLite's back
//!   (not done by the store) would count as durable as soon as it is written.

mod hook;
mod image;
mod vfs;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use image::Image;
pub use image::{Mode, Restored, Rng, SECTOR};

/// The name the VFS registers under.
pub const VFS_NAME: &str = "powerloss";

/// Registers the `powerloss` VFS as SQLite's default, once. Files outside every [`Disk`] pass
/// straight through to the `unix` VFS, so connections elsewhere in the process are unaffected.
pub fn install() {
    vfs::register();
}

/// The disks claimed now, and how many (so that the interposed fsync of any other file costs
/// one atomic load).
static DISKS: Mutex<Vec<Arc<DiskState>>> = Mutex::new(Vec::new());
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere in a test must not turn every later I/O call into a second panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A directory whose files lose what was not synced when [`Disk::cut`] cuts the power.
pub struct Disk {
    state: Arc<DiskState>,
}

pub(crate) struct DiskState {
    dir: PathBuf,
    cut: AtomicBool,
    /// Writes, truncations and syncs of the disk's files so far.
    events: AtomicU64,
    /// The event at which the power goes (`u64::MAX`: none planned).
    cut_at: AtomicU64,
    files: Mutex<HashMap<PathBuf, Arc<Mutex<Image>>>>,
}

impl DiskState {
    pub(crate) fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// A write, truncation or sync is about to reach the disk: whether the power is off (it
    /// fails), which it goes at the planned event, before that event.
    pub(crate) fn event(&self) -> bool {
        if self.is_cut() {
            return true;
        }
        let event = self.events.fetch_add(1, Ordering::SeqCst) + 1;
        if event >= self.cut_at.load(Ordering::SeqCst) {
            self.cut.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }
}

impl Disk {
    /// Claims `dir` (which must exist): files opened under it from now on are on this disk.
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        install();
        assert!(hook::linked(), "the fsync hook is not in this binary");
        let state = Arc::new(DiskState {
            dir: dir.canonicalize()?,
            cut: AtomicBool::new(false),
            events: AtomicU64::new(0),
            cut_at: AtomicU64::new(u64::MAX),
            files: Mutex::new(HashMap::new()),
        });
        lock(&DISKS).push(Arc::clone(&state));
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        Ok(Self { state })
    }

    /// Cuts the power: no I/O call on the disk's files succeeds from now on.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
    }

    /// Plans the cut for the `n`th write, truncation or sync from now (1: the next), as
    /// SQLite's crash tests do: it lands on the I/O calls themselves, however short the time
    /// between them.
    pub fn cut_at_event(&self, n: u64) {
        let now = self.state.events.load(Ordering::SeqCst);
        self.state
            .cut_at
            .store(now.saturating_add(n.max(1)), Ordering::SeqCst);
    }

    /// Writes, truncations and syncs so far.
    pub fn events(&self) -> u64 {
        self.state.events.load(Ordering::SeqCst)
    }

    /// Whether the power was cut.
    pub fn is_cut(&self) -> bool {
        self.state.is_cut()
    }

    /// After [`Disk::cut`]: writes each file as the power loss left it, as a new file renamed
    /// over the old one (a handle still open on the old one cannot touch the new one), deletes
    /// the files whose name was never made durable, and the `-shm` files.
    pub fn restore(&self, mode: &mut Mode) -> std::io::Result<Restored> {
        assert!(self.is_cut(), "restore() is for after cut()");
        let files: Vec<(PathBuf, Arc<Mutex<Image>>)> = lock(&self.state.files)
            .iter()
            .map(|(path, image)| (path.clone(), Arc::clone(image)))
            .collect();
        let mut restored = Restored::default();
        for (path, image) in files {
            let mut image = lock(&image);
            if !image.entry_synced {
                restored.unsynced_entries += 1;
                drop(image);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => continue,
                }
            }
            let bytes = image.after_power_loss(mode, &mut restored);
            drop(image);
            let mut temporary = path.clone().into_os_string();
            temporary.push(".restoring");
            std::fs::write(&temporary, bytes)?;
            std::fs::rename(&temporary, &path)?;
            restored.files += 1;
        }
        for entry in std::fs::read_dir(&self.state.dir)? {
            let path = entry?.path();
            if path.to_string_lossy().ends_with("-shm") {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(restored)
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        lock(&DISKS).retain(|d| !Arc::ptr_eq(d, &self.state));
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The disk that `path` is on, if any.
pub(crate) fn disk_of(path: &Path) -> Option<Arc<DiskState>> {
    if ACTIVE.load(Ordering::SeqCst) == 0 {
        return None;
    }
    lock(&DISKS)
        .iter()
        .find(|d| path.starts_with(&d.dir))
        .map(Arc::clone)
}

/// The image of `path` on `disk`, kept from its first open until it is deleted; a file that
/// exists when first opened is durable as it is (`existed`: it did before this open).
pub(crate) fn image_of(disk: &DiskState, path: &Path, existed: bool) -> Arc<Mutex<Image>> {
    let mut files = lock(&disk.files);
    let image = files.entry(path.to_path_buf()).or_insert_with(|| {
        Arc::new(Mutex::new(Image::new(
            std::fs::read(path).unwrap_or_default(),
            existed,
        )))
    });
    Arc::clone(image)
}

/// The disk's directory was synced: the name of every file created in it so far is there for
/// good.
pub(crate) fn names_synced(disk: &DiskState) {
    for image in lock(&disk.files).values() {
        lock(image).entry_synced = true;
    }
}

/// A file on `disk` was deleted: durable at once (see the crate's simplifications).
pub(crate) fn forget(disk: &DiskState, path: &Path) {
    lock(&disk.files).remove(path);
}

/// An fsync of `path`: `None` if it is on no disk (the real fsync runs), else whether it
/// succeeded. A file on a disk that SQLite never opened (the directory) syncs as a no-op.
pub(crate) fn sync_path(path: &Path) -> Option<bool> {
    let disk = disk_of(path)?;
    let image = lock(&disk.files).get(path).map(Arc::clone);
    let Some(image) = image else {
        if disk.is_cut() {
            return Some(false);
        }
        if path == disk.dir {
            names_synced(&disk);
        }
        return Some(true);
    };
    let mut image = lock(&image);
    // Under the image's lock, as every write checks it: a sync either precedes the cut whole
    // or fails.
    if disk.event() {
        return Some(false);
    }
    image.sync();
    Some(true)
}
