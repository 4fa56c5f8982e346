//! The `powerloss` VFS: SQLite's `unix` VFS underneath, with each file's writes and syncs
//! also recorded in its image, and every call on a disk whose power was cut failing.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::ffi;

use crate::image::Image;
use crate::{disk_of, forget, image_of, lock, DiskState};

/// A file handle as SQLite allocates it (`szOsFile` bytes): SQLite's header first, then the
/// `unix` VFS's own handle, and the disk image when the file is on a disk.
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    on_disk: Option<OnDisk>,
}

struct OnDisk {
    disk: Arc<DiskState>,
    image: Arc<Mutex<Image>>,
    /// The unix VFS syncs the directory too at this handle's first sync (`UNIXFILE_DIRSYNC`:
    /// a journal or WAL opened to be created); its sync is skipped here, so that is noted.
    syncs_dir: bool,
}

/// The `unix` VFS, found once (SQLite never frees a registered VFS).
struct Unix(*mut ffi::sqlite3_vfs);
// SAFETY: the pointer is to SQLite's static, immutable-after-registration `unix` VFS.
unsafe impl Send for Unix {}
// SAFETY: as above; it is only read.
unsafe impl Sync for Unix {}

static UNIX: OnceLock<Unix> = OnceLock::new();

fn unix() -> *mut ffi::sqlite3_vfs {
    UNIX.get().expect("the powerloss VFS is registered").0
}

/// Registers the VFS as the default, once.
pub(crate) fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_vfs_find only reads SQLite's list of VFSes (it initializes SQLite
        // first, which is thread-safe in the bundled, serialized build).
        let unix = unsafe { ffi::sqlite3_vfs_find(c"unix".as_ptr()) };
        assert!(!unix.is_null(), "SQLite has no unix VFS");
        UNIX.get_or_init(|| Unix(unix));
        // SAFETY: `unix` is a valid VFS; the copy keeps its helpers (xAccess, xFullPathname,
        // xRandomness...), which read only pAppData and mxPathname, copied with them.
        let mut vfs: ffi::sqlite3_vfs = unsafe { *unix };
        vfs.pNext = std::ptr::null_mut();
        vfs.zName = c"powerloss".as_ptr();
        vfs.szOsFile = c_int::try_from(std::mem::size_of::<File>()).expect("small struct");
        vfs.xOpen = Some(x_open);
        vfs.xDelete = Some(x_delete);
        // SQLite keeps the pointer for the life of the process: leaked on purpose.
        let vfs: &'static mut ffi::sqlite3_vfs = Box::leak(Box::new(vfs));
        // SAFETY: the VFS and its name are 'static; makeDflt = 1 makes it the default.
        let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 1) };
        assert_eq!(rc, ffi::SQLITE_OK, "cannot register the powerloss VFS");
    });
}

fn path_from(name: *const c_char) -> Option<PathBuf> {
    if name.is_null() {
        return None;
    }
    // SAFETY: SQLite passes a NUL-terminated file name valid for the call.
    let name = unsafe { CStr::from_ptr(name) };
    Some(PathBuf::from(name.to_str().ok()?))
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let file = file.cast::<File>();
    // SAFETY: SQLite hands over szOsFile writable bytes for the handle; a null pMethods tells
    // it there is nothing to close if the open fails.
    unsafe { (*file).base.pMethods = std::ptr::null() };
    let disk = path_from(name).and_then(|p| disk_of(&p).map(|d| (d, p)));
    if disk.as_ref().is_some_and(|(d, _)| d.is_cut()) {
        return ffi::SQLITE_CANTOPEN;
    }
    let existed = disk.as_ref().is_some_and(|(_, path)| path.exists());
    let unix = unix();
    // SAFETY: unix is the registered unix VFS; its handle gets the size it asks for, zeroed,
    // and is freed in x_close (or below when the open fails).
    let real = unsafe {
        let real = libc::calloc(1, (*unix).szOsFile as usize).cast::<ffi::sqlite3_file>();
        if real.is_null() {
            return ffi::SQLITE_NOMEM;
        }
        let rc = ((*unix).xOpen.expect("unix xOpen"))(unix, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            if let Some(close) = (*real).pMethods.as_ref().and_then(|m| m.xClose) {
                close(real);
            }
            libc::free(real.cast());
            return rc;
        }
        real
    };
    let journal =
        ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_MAIN_JOURNAL | ffi::SQLITE_OPEN_SUPER_JOURNAL;
    let on_disk = disk.map(|(disk, path)| OnDisk {
        image: image_of(&disk, &path, existed),
        disk,
        syncs_dir: flags & ffi::SQLITE_OPEN_CREATE != 0 && flags & journal != 0,
    });
    // SAFETY: the handle's memory is ours until x_close; the fields are written before
    // pMethods makes SQLite use them.
    unsafe {
        std::ptr::addr_of_mut!((*file).real).write(real);
        std::ptr::addr_of_mut!((*file).on_disk).write(on_disk);
        (*file).base.pMethods = &METHODS;
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_delete(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    if let Some(path) = path_from(name) {
        if let Some(disk) = disk_of(&path) {
            if disk.is_cut() {
                return ffi::SQLITE_IOERR_DELETE;
            }
            forget(&disk, &path);
        }
    }
    let unix = unix();
    // SAFETY: delegating with SQLite's own arguments to the unix VFS.
    unsafe { ((*unix).xDelete.expect("unix xDelete"))(unix, name, sync_dir) }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    // 2: the shared-memory methods WAL needs, without xFetch (memory-mapped reads would
    // bypass x_read, and so the cut).
    iVersion: 2,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: None,
    xUnfetch: None,
};

/// The handle behind SQLite's pointer.
///
/// # Safety
/// `file` must be a handle that x_open opened and x_close has not closed.
unsafe fn handle<'a>(file: *mut ffi::sqlite3_file) -> &'a File {
    // SAFETY: per the contract above, the handle is initialized and alive.
    unsafe { &*file.cast::<File>() }
}

/// The unix handle and its methods, for delegating.
///
/// # Safety
/// As for [`handle`].
unsafe fn real(
    file: *mut ffi::sqlite3_file,
) -> (*mut ffi::sqlite3_file, &'static ffi::sqlite3_io_methods) {
    // SAFETY: an open unix handle's pMethods points to one of its static method tables.
    unsafe {
        let real = handle(file).real;
        (real, &*(*real).pMethods)
    }
}

impl File {
    /// Whether the power of this file's disk is cut (never, off every disk).
    fn cut(&self) -> bool {
        self.on_disk.as_ref().is_some_and(|d| d.disk.is_cut())
    }
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a handle once; after this it no longer uses it, so the unix handle
    // is freed and the disk fields dropped here.
    unsafe {
        let (real, methods) = real(file);
        let rc = (methods.xClose.expect("unix xClose"))(real);
        libc::free(real.cast());
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*file.cast::<File>()).on_disk));
        (*file).pMethods = std::ptr::null();
        rc
    }
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: a live handle (SQLite's contract for every method); the arguments are SQLite's.
    unsafe {
        if handle(file).cut() {
            return ffi::SQLITE_IOERR_READ;
        }
        let (real, methods) = real(file);
        (methods.xRead.expect("unix xRead"))(real, buf, amount, offset)
    }
}

/// Runs `write` (a call that changes the file) under the image's lock, so that it either
/// precedes the cut and is recorded by `record`, or fails.
///
/// # Safety
/// As for [`handle`].
unsafe fn changing(
    file: *mut ffi::sqlite3_file,
    cut_error: c_int,
    write: impl FnOnce() -> c_int,
    record: impl FnOnce(&mut Image),
) -> c_int {
    // SAFETY: per the contract above.
    let Some(on_disk) = (unsafe { handle(file) }).on_disk.as_ref() else {
        return write();
    };
    let mut image = lock(&on_disk.image);
    if on_disk.disk.event() {
        return cut_error;
    }
    let rc = write();
    if rc == ffi::SQLITE_OK {
        record(&mut image);
    }
    rc
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: a live handle; `buf` holds `amount` bytes for the call, as SQLite promises.
    unsafe {
        let (real, methods) = real(file);
        let data = std::slice::from_raw_parts(buf.cast::<u8>(), amount as usize);
        changing(
            file,
            ffi::SQLITE_IOERR_WRITE,
            || (methods.xWrite.expect("unix xWrite"))(real, buf, amount, offset),
            |image| image.wrote(offset as u64, data),
        )
    }
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        let (real, methods) = real(file);
        changing(
            file,
            ffi::SQLITE_IOERR_TRUNCATE,
            || (methods.xTruncate.expect("unix xTruncate"))(real, size),
            |image| image.truncated(size as u64),
        )
    }
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        let (real, methods) = real(file);
        if handle(file).on_disk.is_none() {
            return (methods.xSync.expect("unix xSync"))(real, flags);
        }
        // The image is what is durable; the real fsync would only cost time (see the crate).
        let rc = changing(
            file,
            ffi::SQLITE_IOERR_FSYNC,
            || ffi::SQLITE_OK,
            Image::sync,
        );
        // The unix VFS's sync of a created journal or WAL syncs their directory too, and so
        // every name in it (after the image's lock is let go: names_synced takes them all).
        if let Some(on_disk) = handle(file).on_disk.as_ref().filter(|d| d.syncs_dir) {
            if rc == ffi::SQLITE_OK {
                crate::names_synced(&on_disk.disk);
            }
        }
        rc
    }
}

unsafe extern "C" fn x_file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    // SAFETY: a live handle; `size` is SQLite's out-parameter.
    unsafe {
        if handle(file).cut() {
            return ffi::SQLITE_IOERR_FSTAT;
        }
        let (real, methods) = real(file);
        (methods.xFileSize.expect("unix xFileSize"))(real, size)
    }
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        if handle(file).cut() {
            return ffi::SQLITE_IOERR_LOCK;
        }
        let (real, methods) = real(file);
        (methods.xLock.expect("unix xLock"))(real, level)
    }
}

// Unlocking and the calls that change nothing on disk are passed on even after the cut: they
// let the connections of the dead store close.

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        let (real, methods) = real(file);
        (methods.xUnlock.expect("unix xUnlock"))(real, level)
    }
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: a live handle; `out` is SQLite's out-parameter.
    unsafe {
        let (real, methods) = real(file);
        (methods.xCheckReservedLock.expect("unix xCheckReservedLock"))(real, out)
    }
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: a live handle; `arg` is whatever SQLite passes for `op`, handed on unchanged.
    unsafe {
        // A size hint may extend the file (with a chunk size set): a write like any other.
        if op == ffi::SQLITE_FCNTL_SIZE_HINT && handle(file).cut() {
            return ffi::SQLITE_IOERR_TRUNCATE;
        }
        let (real, methods) = real(file);
        (methods.xFileControl.expect("unix xFileControl"))(real, op, arg)
    }
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        let (real, methods) = real(file);
        (methods.xSectorSize.expect("unix xSectorSize"))(real)
    }
}

unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        let (real, methods) = real(file);
        (methods
            .xDeviceCharacteristics
            .expect("unix xDeviceCharacteristics"))(real)
    }
}

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: a live handle; `out` is SQLite's out-parameter.
    unsafe {
        if handle(file).cut() {
            return ffi::SQLITE_IOERR_SHMMAP;
        }
        let (real, methods) = real(file);
        (methods.xShmMap.expect("unix xShmMap"))(real, region, size, extend, out)
    }
}

unsafe extern "C" fn x_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        if flags & ffi::SQLITE_SHM_UNLOCK == 0 && handle(file).cut() {
            return ffi::SQLITE_IOERR_SHMLOCK;
        }
        let (real, methods) = real(file);
        (methods.xShmLock.expect("unix xShmLock"))(real, offset, n, flags)
    }
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: a live handle.
    unsafe {
        let (real, methods) = real(file);
        (methods.xShmBarrier.expect("unix xShmBarrier"))(real);
    }
}

unsafe extern "C" fn x_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: a live handle.
    unsafe {
        let (real, methods) = real(file);
        (methods.xShmUnmap.expect("unix xShmUnmap"))(real, delete)
    }
}
