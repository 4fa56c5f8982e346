//! `fsync` and `fdatasync`, interposed for the whole test process.
//!
//! The store makes its WAL durable with an fdatasync of a descriptor of its own (its flusher
//! thread), not through SQLite: a VFS alone would never see that sync, and would take every
//! commit for lost. Defined here with C linkage, these two are what the test binary's calls
//! resolve to (std's `File::sync_data`, SQLite's `unixSync`): a descriptor of a file on a
//! [`crate::Disk`] syncs its image; any other goes to the kernel as before.

use std::ffi::c_int;
use std::path::PathBuf;

/// The file behind `fd`, as the kernel names it (a file since replaced by
/// [`crate::Disk::restore`] is still on its disk, with ` (deleted)` after its name).
fn path_of(fd: c_int) -> Option<PathBuf> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let text = link.to_str()?;
    Some(PathBuf::from(
        text.strip_suffix(" (deleted)").unwrap_or(text),
    ))
}

fn sync(fd: c_int, syscall: libc::c_long) -> c_int {
    match path_of_on_disk(fd).and_then(|path| crate::sync_path(&path)) {
        Some(true) => 0,
        Some(false) => {
            // SAFETY: errno is thread-local; its location is valid for the calling thread.
            unsafe { *libc::__errno_location() = libc::EIO };
            -1
        }
        // SAFETY: the raw system call with the caller's own descriptor: what the libc
        // function this one stands in for does.
        None => unsafe { libc::syscall(syscall, fd) as c_int },
    }
}

/// Looks `fd` up only while some disk is claimed: other syncs cost one atomic load.
fn path_of_on_disk(fd: c_int) -> Option<PathBuf> {
    if crate::ACTIVE.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        return None;
    }
    path_of(fd)
}

/// Stands in for libc's `fdatasync` in the test binary.
#[no_mangle]
pub extern "C" fn fdatasync(fd: c_int) -> c_int {
    sync(fd, libc::SYS_fdatasync)
}

/// Stands in for libc's `fsync` in the test binary.
#[no_mangle]
pub extern "C" fn fsync(fd: c_int) -> c_int {
    sync(fd, libc::SYS_fsync)
}

/// Referenced from [`crate::Disk::new`], so that the linker takes this object, and with it the
/// two functions above, into every binary that uses a disk.
pub(crate) fn linked() -> bool {
    let hooks: [extern "C" fn(c_int) -> c_int; 2] = [fsync, fdatasync];
    std::hint::black_box(hooks).len() == 2
}
