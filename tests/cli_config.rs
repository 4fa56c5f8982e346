//! The config file (issue 22, item 2): `--config FILE` or `TRAILSPARK_CONFIG` sets any flag
//! that has a `TRAILSPARK_*` variable, a flag beats its variable, which beats the file, which
//! beats the default; a file that cannot be used is refused saying why; `config show` prints
//! the settings in effect without the database password; the committed example is the one
//! `config example` writes.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::BIN;
use serde_json::Value;

const PASSWORD: &str = "s3cret-Pa55";

/// `trailspark` with `env`, and none of the test runner's own `TRAILSPARK_*` settings.
fn trailspark(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("TRAILSPARK_") && !name.starts_with("TRAILSPARK_TEST_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    trailspark(dir, args, env).output().expect("run trailspark")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the file");
    path
}

/// `config show --json`: each setting's value and source, by key.
fn shown(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Vec<(String, Value, String)> {
    let mut all = vec!["--json", "config", "show"];
    all.extend_from_slice(args);
    let out = run(dir, &all, env);
    assert!(out.status.success(), "config show: {}", text(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    shown["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .map(|s| {
            let key = s["key"].as_str().unwrap().to_owned();
            (
                key,
                s["value"].clone(),
                s["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn setting<'a>(list: &'a [(String, Value, String)], key: &str) -> (&'a Value, &'a str) {
    let (_, value, source) = list.iter().find(|(k, ..)| k == key).expect(key);
    (value, source)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_flag_beats_its_variable_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "trailspark.toml",
        "listen = \"127.0.0.1:1001\"\nrate_limit_per_key = 11\nkey_refresh_ms = 111\n\
         log_format = \"json\"\npg_max_connections = 3\n",
    );
    let env = [
        ("TRAILSPARK_LISTEN", "127.0.0.1:2002"),
        ("TRAILSPARK_RATE_LIMIT_PER_KEY", "22"),
        ("TRAILSPARK_PG_MAX_CONNECTIONS", "4"),
    ];
    let args = ["--config", "trailspark.toml", "--listen", "127.0.0.1:3003"];
    let list = shown(dir.path(), &args, &env);
    let cases = [
        ("listen", Value::from("127.0.0.1:3003"), "flag"),
        ("rate_limit_per_key", Value::from(22), "env"),
        ("pg_max_connections", Value::from(4), "env"),
        ("key_refresh_ms", Value::from(111), "file"),
        ("log_format", Value::from("json"), "file"),
        ("header_timeout_ms", Value::from(10_000), "default"),
        ("public_url", Value::Null, "default"),
    ];
    for (key, value, source) in cases {
        assert_eq!(setting(&list, key), (&value, source), "{key}");
    }
    // The same without the flag and the variables: the file's values.
    let list = shown(dir.path(), &["--config", "trailspark.toml"], &[]);
    assert_eq!(
        setting(&list, "listen"),
        (&Value::from("127.0.0.1:1001"), "file")
    );
    assert_eq!(
        setting(&list, "rate_limit_per_key"),
        (&Value::from(11), "file")
    );
}

#[test]
fn trailspark_config_names_the_file_as_config_does() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.toml", "batch_max = 7\n");
    write(dir.path(), "b.toml", "batch_max = 8\n");
    let list = shown(dir.path(), &[], &[("TRAILSPARK_CONFIG", "a.toml")]);
    assert_eq!(setting(&list, "batch_max"), (&Value::from(7), "file"));
    // The flag names another file over the variable, as any flag does.
    let list = shown(
        dir.path(),
        &["--config", "b.toml"],
        &[("TRAILSPARK_CONFIG", "a.toml")],
    );
    assert_eq!(setting(&list, "batch_max"), (&Value::from(8), "file"));
    let list = shown(dir.path(), &[], &[]);
    assert_eq!(setting(&list, "batch_max"), (&Value::from(512), "default"));
}

/// A port free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts `serve` as given, waits for its "listening on" line and asks `/healthz` there.
async fn serve_answers_health(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut serve = trailspark(dir, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let listening = lines.by_ref().map_while(Result::ok).find_map(|l| {
        l.strip_prefix("trailspark listening on ")
            .map(str::to_owned)
    });
    // Read on: serve prints its setup link next, and a closed pipe would end it.
    std::thread::spawn(move || lines.for_each(drop));
    let health = match &listening {
        Some(base) => reqwest::get(format!("{base}/healthz")).await.ok(),
        None => None,
    };
    let _ = serve.kill();
    let _ = serve.wait();
    let base = listening.expect("serve printed where it listens");
    let status = health.map(|r| r.status());
    assert_eq!(status, Some(reqwest::StatusCode::OK), "/healthz on {base}");
    base
}

#[tokio::test]
async fn serve_runs_with_the_files_settings() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\nmetrics_listen = \"off\"\n\
         database_url = \"sqlite://{}\"\n",
        dir.path().join("from-file.db").display()
    );
    write(dir.path(), "trailspark.toml", &config);
    let base =
        serve_answers_health(dir.path(), &["serve", "--config", "trailspark.toml"], &[]).await;
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    assert!(
        dir.path().join("from-file.db").exists(),
        "the store the file names"
    );
    assert!(!dir.path().join("data").exists(), "not the default store");

    // Through TRAILSPARK_CONFIG, with a variable over the file's address.
    let other = free_port();
    let listen = format!("127.0.0.1:{other}");
    let env = [
        ("TRAILSPARK_CONFIG", "trailspark.toml"),
        ("TRAILSPARK_LISTEN", listen.as_str()),
    ];
    let base = serve_answers_health(dir.path(), &["serve"], &env).await;
    assert_eq!(base, format!("http://{listen}"));
}

/// Runs `serve` as given, which must refuse to start: its stderr. A `serve` that starts
/// after all is stopped (and the test fails) rather than left to run.
fn serve_refuses(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut serve = trailspark(dir, args, env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let started = std::time::Instant::now();
    while serve.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = serve.kill();
            let _ = serve.wait();
            panic!("serve {args:?} with {env:?} started instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = serve.wait_with_output().unwrap();
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{args:?} with {env:?}: {said}");
    assert!(!dir.join("data").exists(), "{args:?}: no store made");
    said
}

/// `serve --config` over a file holding `body`: why it refuses to start.
fn refused(body: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "trailspark.toml", body);
    let args = [
        "serve",
        "--config",
        "trailspark.toml",
        "--metrics-listen",
        "off",
        "--listen",
        "127.0.0.1:0",
    ];
    let said = serve_refuses(dir.path(), &args, &[]);
    assert!(said.contains("trailspark.toml"), "names the file: {said}");
    said
}

#[test]
fn an_unknown_key_is_refused_naming_it_and_the_nearest() {
    let said = refused("listen = \"127.0.0.1:0\"\nrate_limit = 5\n");
    assert!(said.contains("unknown key `rate_limit`"), "{said}");
    assert!(said.contains("did you mean `rate_limit_per_key`"), "{said}");
    let said = refused("[serve]\nlisten = \"127.0.0.1:0\"\n");
    assert!(said.contains("unknown key `serve`"), "{said}");
    // The flag's name is not the key of --database.
    let said = refused("database = \"x.db\"\n");
    assert!(said.contains("did you mean `database_url`"), "{said}");
}

#[test]
fn a_value_of_the_wrong_type_is_refused_saying_what_is_expected() {
    let cases = [
        (
            "rate_limit_per_key = \"lots\"",
            "`rate_limit_per_key` must be a whole number",
        ),
        ("listen = 8080", "`listen` must be a string"),
        ("batch_max = 1.5", "this is a float"),
        ("key_refresh_ms = [1]", "this is an array"),
        ("header_timeout_ms = 0", "0 is not in 1.."),
        ("batch_max = 100000", "100000 is not in 1..=65536"),
        ("rate_limit_per_key = -1", "`rate_limit_per_key` is refused"),
        ("log_format = \"xml\"", "[possible values: text, json]"),
        (
            "public_url = \"https://example.com/path\"",
            "`public_url` is refused",
        ),
    ];
    for (body, needed) in cases {
        let said = refused(body);
        assert!(said.contains(needed), "{body}: says {needed:?}: {said}");
    }
}

#[test]
fn a_missing_file_is_refused_naming_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let by_flag = [
        "serve",
        "--config",
        "nowhere.toml",
        "--metrics-listen",
        "off",
        "--listen",
        "127.0.0.1:0",
    ];
    let by_env = [("TRAILSPARK_CONFIG", "nowhere.toml")];
    for said in [
        serve_refuses(dir.path(), &by_flag, &[]),
        serve_refuses(
            dir.path(),
            &[
                "serve",
                "--metrics-listen",
                "off",
                "--listen",
                "127.0.0.1:0",
            ],
            &by_env,
        ),
    ] {
        let needed = "cannot read the config file nowhere.toml";
        assert!(said.contains(needed), "{said}");
    }
}

#[test]
fn the_database_password_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://app:{PASSWORD}@db.internal:5432/trailspark");
    write(
        dir.path(),
        "trailspark.toml",
        &format!("database_url = \"{url}\"\n"),
    );
    let out = run(
        dir.path(),
        &["config", "show", "--config", "trailspark.toml"],
        &[],
    );
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        said.contains("database_url = \"postgres://app:***@db.internal:5432/trailspark\"  # file"),
        "{said}"
    );
    let list = shown(
        dir.path(),
        &[],
        &[("TRAILSPARK_DATABASE_URL", url.as_str())],
    );
    assert_eq!(
        setting(&list, "database_url"),
        (
            &Value::from("postgres://app:***@db.internal:5432/trailspark"),
            "env"
        )
    );
    // Nor in the message about a file that is not TOML, which would quote its line.
    write(
        dir.path(),
        "broken.toml",
        &format!("database_url = \"{url}\nlisten = 1\n"),
    );
    let out = run(
        dir.path(),
        &["config", "show", "--config", "broken.toml"],
        &[],
    );
    assert!(!out.status.success());
    let said = text(&out.stderr);
    assert!(
        said.contains("broken.toml is not valid TOML (line 1)"),
        "{said}"
    );
    for out in [&out.stdout, &out.stderr] {
        assert!(!text(out).contains(PASSWORD), "{}", text(out));
    }
}

#[test]
fn the_committed_example_is_the_one_config_example_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["config", "example"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = text(&out.stdout);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/trailspark.example.toml");
    let committed = std::fs::read_to_string(committed).expect("docs/trailspark.example.toml");
    assert!(
        written == committed,
        "docs/trailspark.example.toml is out of date: write it again with \
         `cargo run -- config example > docs/trailspark.example.toml`"
    );
    // Every setting is in it, and each default, uncommented, is a file serve takes as is.
    let defaults: String = written
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| l.contains(" = ") && !l.starts_with(' '))
        .map(|l| format!("{l}\n"))
        .collect();
    write(dir.path(), "defaults.toml", &defaults);
    let list = shown(dir.path(), &["--config", "defaults.toml"], &[]);
    for (key, value, source) in &list {
        let listed = written.contains(&format!("\n#{key} ="));
        assert!(listed, "the example lists {key}");
        assert!(
            source == "file" || value.is_null(),
            "{key}: {value} from {source}"
        );
    }
    assert!(list.len() >= 20, "{} settings", list.len());
}
