//! The configuration reference (issue 22, item 4): docs/configuration.md is what
//! `trailspark config reference` writes from the clap definitions that `--help` prints, so a
//! flag added, renamed or re-described without the file written again fails here.

mod common;

use std::path::Path;
use std::process::Command;

use common::BIN;

#[test]
fn the_committed_reference_is_the_one_config_reference_writes() {
    let out = Command::new(BIN)
        .args(["config", "reference"])
        .output()
        .expect("run trailspark config reference");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = String::from_utf8(out.stdout).expect("UTF-8");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md");
    let committed = std::fs::read_to_string(&path).expect("docs/configuration.md");
    if written != committed {
        let first = written
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| written.lines().count().min(committed.lines().count()));
        panic!(
            "docs/configuration.md differs from `trailspark config reference` (first at line \
             {}): write it again with `cargo run -- config reference > docs/configuration.md`",
            first + 1
        );
    }
}

#[test]
fn the_reference_describes_every_flag_of_serve_with_a_variable() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("run trailspark serve --help");
    let help = String::from_utf8(help.stdout).expect("UTF-8");
    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .expect("docs/configuration.md");
    // Each `[env: TRAILSPARK_…=]` of --help is a row of the reference, and the reverse.
    let variables: Vec<&str> = help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split(['=', ']']).next())
        .filter(|v| *v != "TRAILSPARK_CONFIG")
        .collect();
    assert!(variables.len() >= 20, "{variables:?}");
    for variable in &variables {
        assert!(
            reference.contains(&format!("| `{variable}` |")),
            "{variable} has no row in docs/configuration.md"
        );
    }
    let rows = reference.lines().filter(|l| l.starts_with("| [`")).count();
    assert_eq!(rows, variables.len(), "a row for each variable of --help");
}
