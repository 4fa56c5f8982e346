//! What an operator installing trailspark reaches for first (issue 22, item 3): `--version`
//! naming the commit, shell completions and man pages written from the clap definitions,
//! `serve --log-format json|text`, and a systemd unit whose settings `serve` really has.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{TestApp, BIN};
use serde_json::Value;

fn trailspark(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run trailspark")
}

/// stdout of a command that must succeed.
fn stdout_of(args: &[&str]) -> String {
    let out = trailspark(args);
    assert!(
        out.status.success(),
        "trailspark {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The commit this checkout is at, in full; `None` outside a git checkout (a source tarball).
fn head_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

#[test]
fn version_names_the_package_version_and_the_commit() {
    let version = env!("CARGO_PKG_VERSION");
    for flag in ["--version", "-V"] {
        let printed = stdout_of(&[flag]);
        let commit = printed
            .trim()
            .strip_prefix(&format!("trailspark {version} (commit "))
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{flag}: not `trailspark {version} (commit …)`: {printed}"));
        match head_commit() {
            Some(head) => assert!(
                commit.len() >= 7 && head.starts_with(commit),
                "{flag} names commit {commit:?}, but the checkout is at {head}"
            ),
            None => assert_eq!(commit, "unknown", "{flag} outside a git checkout"),
        }
    }
}

#[test]
fn bash_completion_is_valid_and_completes_commands_flags_and_values() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("trailspark.bash");
    std::fs::write(&file, &script).expect("write the script");
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "bash -n refuses the script: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // What a user pressing Tab gets: bash calls the function with the words so far.
    let complete = |words: &[&str]| -> String {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let line = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _trailspark trailspark '{}' '{}'; \
             echo \"${{COMPREPLY[*]}}\"",
            file.display(),
            quoted.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len().saturating_sub(2)],
        );
        let out = Command::new("bash").arg("-c").arg(line).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(complete(&["trailspark", "se"]), "serve");
    assert_eq!(complete(&["trailspark", "ke"]), "key");
    assert_eq!(
        complete(&["trailspark", "serve", "--log-f"]),
        "--log-format"
    );
    assert_eq!(
        complete(&["trailspark", "serve", "--log-format", ""]),
        "text json"
    );
    assert_eq!(complete(&["trailspark", "completions", "f"]), "fish");
}

#[test]
fn zsh_and_fish_completions_name_the_commands_and_flags() {
    for (shell, opening) in [
        ("zsh", "#compdef trailspark"),
        ("fish", "complete -c trailspark"),
    ] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains(opening), "a {shell} script: {script:.200}");
        for word in [
            "serve",
            "key",
            "admin-token",
            "log-format",
            "completions",
            "man",
        ] {
            assert!(script.contains(word), "{shell} completion names {word}");
        }
    }
    let out = trailspark(&["completions", "tcsh"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("tcsh") && stderr.contains("bash, elvish, fish, powershell, zsh"),
        "{stderr}"
    );
}

#[test]
fn man_pages_are_roff_written_from_the_clap_definitions() {
    let top = stdout_of(&["man"]);
    assert!(top.starts_with('.'), "a roff page: {top:.200}");
    assert!(
        top.lines().any(|l| l.starts_with(".TH trailspark 1 ")),
        "{top:.300}"
    );
    for name in [
        r"trailspark\-serve(1)",
        r"trailspark\-key(1)",
        r"\-\-database",
    ] {
        assert!(top.contains(name), "trailspark(1) names {name}");
    }
    let serve = stdout_of(&["man", "serve"]);
    assert!(
        serve
            .lines()
            .any(|l| l.starts_with(".TH trailspark-serve 1 ")),
        "{serve:.300}"
    );
    for text in [
        r"\fBtrailspark serve\fR",
        r"\-\-log\-format",
        "TRAILSPARK_LOG_FORMAT",
    ] {
        assert!(serve.contains(text), "trailspark-serve(1) has {text}");
    }
    assert!(stdout_of(&["man", "key", "create"]).contains(r"\-\-hmac\-secret"));

    let out = trailspark(&["man", "nosuch"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("\"nosuch\"") && stderr.contains("serve, tenant, key"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let dir_arg = dir.path().to_str().unwrap();
    stdout_of(&["man", "--out-dir", dir_arg]);
    for page in [
        "trailspark.1",
        "trailspark-serve.1",
        "trailspark-key-template-set.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("--out-dir wrote {page}: {e}"));
        assert!(text.contains(".TH "), "{page} is a roff page");
    }
    assert!(
        !dir.path().join("trailspark-help.1").exists(),
        "clap's help command is no page of its own"
    );
}

#[test]
fn help_explains_the_new_commands_and_options() {
    let top = stdout_of(&["--help"]);
    for text in [
        "completions",
        "shell completion script",
        "man ",
        "man page",
        "--version",
    ] {
        assert!(top.contains(text), "--help has {text:?}:\n{top}");
    }
    let serve = stdout_of(&["serve", "--help"]);
    for text in [
        "--log-format",
        "json",
        "text",
        "TRAILSPARK_LOG_FORMAT",
        "terminal",
    ] {
        assert!(serve.contains(text), "serve --help has {text:?}");
    }
    let man = stdout_of(&["man", "--help"]);
    assert!(
        man.contains("--out-dir") && man.contains("key create"),
        "{man}"
    );
}

/// Runs `serve` with `args` and `env`, which must refuse them at once: a `serve` that took them
/// would run on until the deadline, so it gets a store and ports of its own, and is killed then.
fn serve_refusing(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "off"])
        .arg("--database")
        .arg(dir.path().join("trailspark.db"))
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run trailspark serve");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("poll serve").is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().expect("kill serve");
            let out = child.wait_with_output().expect("serve's output");
            panic!(
                "serve {args:?} {env:?} started instead of refusing: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("serve's output")
}

#[test]
fn an_unknown_log_format_is_refused_naming_the_accepted_ones() {
    let flag = serve_refusing(&["--log-format", "xml"], &[]);
    let env = serve_refusing(&[], &[("TRAILSPARK_LOG_FORMAT", "yaml")]);
    for (out, value) in [(flag, "xml"), (env, "yaml")] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '--log-format"))
                && stderr.contains("[possible values: text, json]"),
            "{value}: {stderr}"
        );
    }
}

/// The log lines `serve` wrote from start to a graceful stop, with `extra` arguments.
async fn serve_log(extra: &[&str]) -> String {
    let mut app = TestApp::spawn_with(extra).await;
    assert!(app.stop().success(), "serve stopped cleanly");
    let log = app.log();
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes in a log that is not a terminal:\n{log}"
    );
    log
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_per_line() {
    let log = serve_log(&["--log-format", "json"]).await;
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    let limits = lines
        .iter()
        .find(|l| l["fields"]["message"] == "connection limits")
        .unwrap_or_else(|| panic!("no connection limits line:\n{log}"));
    assert_eq!(limits["level"], "INFO");
    assert_eq!(limits["target"], "trailspark_server::connections");
    assert!(limits["fields"]["max_connections"].is_u64(), "{limits}");
    assert!(limits["timestamp"].is_string(), "{limits}");
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "shutting down: finishing in-flight requests"),
        "{log}"
    );
}

#[tokio::test]
async fn log_format_text_is_the_default_and_is_not_json() {
    for extra in [&["--log-format", "text"][..], &[]] {
        let log = serve_log(extra).await;
        let limits = log
            .lines()
            .find(|l| l.contains("connection limits"))
            .unwrap_or_else(|| panic!("{extra:?}: no connection limits line:\n{log}"));
        assert!(
            limits.contains(" INFO trailspark_server::connections: connection limits"),
            "{extra:?}: {limits}"
        );
        assert!(
            log.lines()
                .all(|l| serde_json::from_str::<Value>(l).is_err()),
            "{extra:?}: a JSON line in a text log:\n{log}"
        );
    }
}

/// Every `TRAILSPARK_*` variable the systemd docs set is one `serve` reads.
#[test]
fn the_systemd_docs_name_only_settings_serve_has() {
    let help = stdout_of(&["serve", "--help"]);
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut named = 0;
    for file in ["systemd.md", "trailspark.service"] {
        let text = std::fs::read_to_string(docs.join(file)).expect("read the docs");
        for (at, _) in text.match_indices("TRAILSPARK_") {
            let name: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if name == "TRAILSPARK_" {
                continue; // `TRAILSPARK_*`: the family, not one variable.
            }
            let known = help.contains(&format!("[env: {name}=")) || name == "TRAILSPARK_LOG";
            assert!(known, "{file} names {name}, which serve does not read");
            named += 1;
        }
    }
    assert!(
        named >= 4,
        "the docs set the store, address, URL and log format"
    );
    let unit = std::fs::read_to_string(docs.join("trailspark.service")).unwrap();
    assert!(unit.contains("\nExecStart=/usr/local/bin/trailspark serve\n"));
}

/// `trailspark healthcheck` (the image's HEALTHCHECK, which has no curl) exits 0 only when the
/// URL answers 200, and says why otherwise.
#[tokio::test]
async fn healthcheck_exits_0_on_a_200_and_1_with_the_reason_otherwise() {
    let app = TestApp::spawn().await;
    let healthy = trailspark(&["healthcheck", "--url", &format!("{}/healthz", app.base)]);
    assert!(
        healthy.status.success(),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    assert!(String::from_utf8_lossy(&healthy.stdout).contains("answered 200"));

    let missing = trailspark(&[
        "healthcheck",
        "--url",
        &format!("{}/no-such-page", app.base),
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("answered 404, not 200"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = trailspark(&[
        "healthcheck",
        "--url",
        &format!("http://127.0.0.1:{port}/healthz"),
        "--timeout-ms",
        "500",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("cannot connect"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
