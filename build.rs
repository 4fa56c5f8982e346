//! Records the git commit the binary is built from, for `trailspark --version`: an operator
//! reporting a problem can then say exactly which code runs, not just `0.1.0`.
//!
//! A tree with uncommitted changes is not marked `-dirty`: this script reruns only when HEAD
//! moves (so editing a file does not rebuild the binary twice), and a dirty flag read then would
//! go stale as soon as a file changed afterwards, telling a wrong story in either direction.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    // A source tarball, or a machine without git, has no commit to name.
    let commit = git(&root, &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=TRAILSPARK_COMMIT={commit}");
    // Named so that cargo does not fall back to rerunning on every change in the package.
    println!("cargo:rerun-if-changed=build.rs");
    for path in head_files(&root) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The files whose change means HEAD names another commit: HEAD (a checkout), the branch it
/// points to (a commit), and packed-refs (where that branch lives once git packs it). Asked of
/// git rather than assumed under `.git/`, so worktrees and submodules work too; only files that
/// exist are named, as cargo reruns a script every build while a named file is missing.
fn head_files(root: &Path) -> Vec<PathBuf> {
    let mut names = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    names.extend(git(root, &["symbolic-ref", "--quiet", "HEAD"]));
    names
        .iter()
        .filter_map(|name| git(root, &["rev-parse", "--git-path", name]))
        .map(|path| root.join(path))
        .filter(|path| path.exists())
        .collect()
}

/// What `git ARGS` prints in `root`, trimmed; `None` when git is missing or fails.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}
