//! Drives the real `trailspark` binary: a fresh SQLite store in a temp directory per test,
//! `serve` on a free port (read from its "listening on" line, so no sleeps), the CLI for
//! set-up, and real HTTP for everything else.
#![allow(dead_code, unused_imports)] // each test file uses a different part of the harness

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;
use trailspark_store_contract::postgres::TestDatabase;

pub mod admin;
pub mod disk;
mod held;
pub mod leads;
pub mod probe;
mod sdk_clients;
pub mod status;
pub mod web;

pub use held::HeldRequest;
pub use sdk_clients::{clients, run_client};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_trailspark");

/// A key as printed once by `trailspark key create --json`.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub api_key: String,
    pub secret: Option<String>,
    pub hmac_secret: Option<String>,
}

/// The store the HTTP tests run on: SQLite unless `TRAILSPARK_TEST_BACKEND=postgres` (then a
/// fresh database per test on `TRAILSPARK_TEST_POSTGRES_URL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend this test run uses.
pub fn backend() -> Backend {
    match std::env::var("TRAILSPARK_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TRAILSPARK_TEST_BACKEND={other}: use sqlite or postgres"),
    }
}

/// One running `trailspark serve` over its own store.
pub struct TestApp {
    pub dir: TempDir,
    /// The SQLite file (unused on PostgreSQL).
    pub db: PathBuf,
    /// What `--database` is: the SQLite path or the PostgreSQL URL.
    pub database: String,
    pub backend: Backend,
    _postgres: Option<TestDatabase>,
    pub base: String,
    pub client: reqwest::Client,
    /// Admin token of tenant `default`.
    pub admin_token: String,
    extra_args: Vec<String>,
    child: Option<Child>,
    /// What `serve` printed besides its "listening" line (metrics address, setup link).
    printed: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl TestApp {
    /// A server on a fresh store, with tenant `default` and an admin token for it.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Like [`TestApp::spawn`] with extra `serve` arguments (e.g. a low rate limit).
    pub async fn spawn_with(extra: &[&str]) -> Self {
        match backend() {
            Backend::Sqlite => Self::spawn_on(None, None, extra),
            Backend::Postgres => Self::spawn_postgres(extra).await.unwrap_or_else(|| {
                panic!("TRAILSPARK_TEST_BACKEND=postgres needs TRAILSPARK_TEST_POSTGRES_URL")
            }),
        }
    }

    /// A server on a fresh PostgreSQL database, whatever the run's backend; `None` (said
    /// loudly) when no PostgreSQL is configured.
    pub async fn spawn_postgres(extra: &[&str]) -> Option<Self> {
        let database = TestDatabase::create().await?;
        Some(Self::spawn_on(
            Some(database.url.clone()),
            Some(database),
            extra,
        ))
    }

    /// A server on `url` (a PostgreSQL database the test manages itself).
    pub fn spawn_on_url(url: &str, extra: &[&str]) -> Self {
        Self::spawn_on(Some(url.to_owned()), None, extra)
    }

    fn spawn_on(url: Option<String>, guard: Option<TestDatabase>, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("trailspark.db");
        let (backend, database) = match url {
            Some(url) => (Backend::Postgres, url),
            None => (Backend::Sqlite, db.display().to_string()),
        };
        let mut app = Self {
            dir,
            db,
            database,
            backend,
            _postgres: guard,
            base: String::new(),
            client: reqwest::Client::new(),
            admin_token: String::new(),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            printed: std::sync::Arc::default(),
        };
        app.start();
        app.admin_token = app.cli_json(&["admin-token", "create", "--tenant", "default"])["token"]
            .as_str()
            .expect("token")
            .to_owned();
        app
    }

    /// Starts `serve` on this store (again, after `stop`).
    pub fn start(&mut self) {
        let (child, base) = self.launch("serve.log");
        self.base = base;
        self.child = Some(child);
    }

    /// Starts one more `serve` process on the same store (PostgreSQL), as a second instance
    /// behind a load balancer would be; it is killed when dropped.
    pub fn another_instance(&self, name: &str) -> Instance {
        let (child, base) = self.launch(&format!("{name}.log"));
        Instance { base, child }
    }

    fn launch(&self, log_name: &str) -> (Child, String) {
        let log_path = self.dir.path().join(log_name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("log file");
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--key-refresh-ms",
                "100",
            ])
            .args(&self.extra_args)
            .env("TRAILSPARK_DATABASE_URL", &self.database)
            .env("TRAILSPARK_LOG", "info")
            .env("TRAILSPARK_METRICS_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start trailspark serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().unwrap_or_else(|| {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("serve exited before listening; log:\n{log}")
            });
            let line = line.expect("read stdout");
            match line.strip_prefix("trailspark listening on ") {
                Some(url) => break url.to_owned(),
                None => self.printed.lock().expect("printed lock").push(line),
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        let printed = std::sync::Arc::clone(&self.printed);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                printed.lock().expect("printed lock").push(line);
            }
        });
        (child, base)
    }

    /// The lines `serve` printed besides its "listening" line so far, waiting up to 5 s for one
    /// that contains `needle`.
    pub fn printed_line(&self, needle: &str) -> Option<String> {
        for _ in 0..100 {
            let found = self
                .printed
                .lock()
                .expect("printed lock")
                .iter()
                .find(|l| l.contains(needle))
                .cloned();
            if found.is_some() {
                return found;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// Sends the server SIGTERM (graceful stop) and returns once it says it is shutting
    /// down, without waiting for it to exit (see [`TestApp::wait`]).
    pub fn sigterm(&self) {
        let said = |app: &Self| {
            app.log()
                .matches("shutting down: finishing in-flight requests")
                .count()
        };
        let before = said(self);
        self.send_sigterm();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while said(self) == before {
            assert!(
                std::time::Instant::now() < deadline,
                "serve never said it was shutting down; log:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    fn send_sigterm(&self) {
        let child = self.child.as_ref().expect("server running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the server to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        child.wait().expect("wait for serve")
    }

    /// Stops the server with SIGTERM (graceful) and waits for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.wait()
    }

    /// Kills the server with SIGKILL (no chance to flush or drain) and waits for it.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("server running");
        child.kill().expect("SIGKILL");
        child.wait().expect("wait for serve");
    }

    /// Stops the server gracefully and starts it again on the same store.
    pub fn restart(&mut self) {
        let status = self.stop();
        assert!(
            status.success(),
            "serve exited with {status} on SIGTERM; log:\n{}",
            self.log()
        );
        self.start();
    }

    /// Everything the store holds, as bytes to grep: the SQLite files, or every row of every
    /// table of the PostgreSQL database as text.
    pub async fn store_contents(&self) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => ["", "-wal", "-shm"]
                .iter()
                .flat_map(|suffix| {
                    read_all(&self.db.with_file_name(format!("trailspark.db{suffix}")))
                })
                .collect(),
            Backend::Postgres => {
                let (client, connection) =
                    tokio_postgres::connect(&self.database, tokio_postgres::NoTls)
                        .await
                        .expect("connect to the test database");
                tokio::spawn(connection);
                let tables = client
                    .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", &[])
                    .await
                    .expect("list tables");
                let mut out = Vec::new();
                for table in tables {
                    let name: String = table.get(0);
                    for row in client
                        .query(&format!("SELECT t::text FROM {name} t"), &[])
                        .await
                        .expect("dump")
                    {
                        out.extend(row.get::<_, String>(0).into_bytes());
                    }
                }
                out
            }
        }
    }

    /// Runs a CLI command against this store.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("TRAILSPARK_DATABASE_URL", &self.database)
            .stdin(Stdio::null())
            .output()
            .expect("run trailspark")
    }

    /// Runs a CLI command with `--json`, asserting success, and parses its output.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "trailspark {all:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "trailspark {all:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Creates a key for tenant `default`: `args` are the options after `key create`
    /// besides `--tenant`.
    pub fn key(&self, args: &[&str]) -> Key {
        self.key_for("default", args)
    }

    /// Creates a key for `tenant`.
    pub fn key_for(&self, tenant: &str, args: &[&str]) -> Key {
        let mut all = vec!["key", "create", "--tenant", tenant];
        all.extend_from_slice(args);
        if !args.contains(&"--name") {
            all.extend_from_slice(&["--name", "test key"]);
        }
        let v = self.cli_json(&all);
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        Key {
            id: text("id").expect("id"),
            api_key: text("apiKey").expect("apiKey"),
            secret: text("secret"),
            hmac_secret: text("hmacSecret"),
        }
    }

    /// A product-org-updates key with the template in `template` (JSON).
    pub fn key_with_template(&self, template: &Value) -> Key {
        let path = self.write_file(
            &format!("template-{}.json", rand_suffix()),
            &template.to_string(),
        );
        self.key(&[
            "--type",
            "product-org-updates",
            "--template",
            path.to_str().unwrap(),
        ])
    }

    /// Writes a file in the test's directory.
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// The webhook URL of a key.
    pub fn webhook_url(&self, api_key: &str) -> String {
        format!("{}/api/product-orgs/webhook/{api_key}", self.base)
    }

    /// POSTs `body` as JSON to the product org webhook.
    /// The request is built at once, so the future borrows nothing (handy for `join_all`).
    pub fn post(
        &self,
        api_key: &str,
        body: &Value,
    ) -> impl Future<Output = (StatusCode, Value)> + 'static {
        self.send(self.client.post(self.webhook_url(api_key)).json(body))
    }

    /// POSTs `body` as JSON to the signal webhook.
    pub fn post_signal(
        &self,
        api_key: &str,
        body: &Value,
    ) -> impl Future<Output = (StatusCode, Value)> + 'static {
        let url = format!("{}/api/signals/webhook/{api_key}", self.base);
        self.send(self.client.post(url).json(body))
    }

    /// Sends a request and parses the JSON answer (Null when the body is not JSON).
    pub fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> impl Future<Output = (StatusCode, Value)> + 'static {
        async move {
            let response = request.send().await.expect("request");
            let status = response.status();
            let bytes = response.bytes().await.expect("body");
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            )
        }
    }

    /// GETs an admin API path with tenant `default`'s token.
    pub async fn admin_get(&self, path: &str) -> (StatusCode, Value) {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.admin_token),
        )
        .await
    }

    /// The admin view of one product org (the id is URL-encoded here).
    pub async fn product_org(&self, id: &str) -> (StatusCode, Value) {
        self.admin_get(&format!("/api/admin/product-orgs/{}", encode(id)))
            .await
    }
}

/// A further `serve` process on a [`TestApp`]'s store.
pub struct Instance {
    pub base: String,
    child: Child,
}

impl Instance {
    /// The webhook URL of a key on this instance.
    pub fn webhook_url(&self, api_key: &str) -> String {
        format!("{}/api/product-orgs/webhook/{api_key}", self.base)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Percent-encodes a path segment.
pub fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Reads a file's bytes (for greps of the store).
pub fn read_all(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}
