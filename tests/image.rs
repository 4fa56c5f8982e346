//! The container image (issue 22, item 1): `scripts/image` builds it, and it runs as its
//! README says: the quickstart's key and test payload through the container, the product org
//! read back after the container is replaced by a new one on the same volume and after a
//! backup is restored into a new volume, a clean stop on SIGTERM, the health check, a non-root
//! owner of the store; and once on the machine's PostgreSQL with `TRAILSPARK_DATABASE_URL`.
//!
//! Needs podman (`bash .ci/image` installs and configures it); without it the tests print
//! SKIPPED, unless `TRAILSPARK_REQUIRE_PODMAN=1`, as CI sets.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trailspark_store_contract::postgres::TestDatabase;

const IMAGE: &str = "trailspark:latest";

/// podman as this machine (and CI's) needs it run: neither crun's cgroup mode nor raising
/// rlimits is allowed here.
fn podman(args: &[&str]) -> Output {
    Command::new("podman")
        .arg("--cgroup-manager=cgroupfs")
        .args(args)
        .output()
        .expect("run podman")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs podman and returns its stdout, failing the test with its stderr otherwise.
fn podman_ok(args: &[&str]) -> String {
    let out = podman(args);
    assert!(
        out.status.success(),
        "podman {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout).trim().to_owned()
}

/// Whether to run: podman is here, or it is required and its absence fails the test.
fn podman_available() -> bool {
    let here = Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        assert!(
            std::env::var("TRAILSPARK_REQUIRE_PODMAN").as_deref() != Ok("1"),
            "TRAILSPARK_REQUIRE_PODMAN=1 but podman is not installed (bash .ci/image installs it)"
        );
        println!("SKIPPED: podman is not installed (bash .ci/image installs it)");
    }
    here
}

/// Builds the image once per test run, with `scripts/image` as a person would.
fn build_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let started = Instant::now();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("bash")
            .arg(root.join("scripts/image"))
            .env("PODMAN", "podman --cgroup-manager=cgroupfs")
            .output()
            .expect("run scripts/image");
        assert!(
            out.status.success(),
            "scripts/image failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let said = text(&out.stdout);
        let last = said.lines().last().unwrap_or_default();
        println!("{last} (scripts/image took {:?})", started.elapsed());
        assert!(last.starts_with("built trailspark:latest"), "{said}");
    });
}

/// Containers and volumes removed when the test ends, passed or not.
struct Cleanup {
    containers: Vec<String>,
    volumes: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in &self.containers {
            // --volumes: also the anonymous volume a container without -v gets for /data.
            let _ = podman(&["rm", "--force", "--volumes", "--time", "0", name]);
        }
        for name in &self.volumes {
            let _ = podman(&["volume", "rm", "--force", name]);
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Waits for `base`/healthz to answer 200, with the container's log when it never does.
async fn wait_healthy(client: &reqwest::Client, base: &str, container: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        if Instant::now() > deadline {
            let logs = podman(&["logs", container]);
            panic!(
                "{container} never became healthy:\n{}{}",
                text(&logs.stdout),
                text(&logs.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `trailspark ARGS --json` inside the running container, its JSON answer.
fn exec_json(container: &str, args: &[&str]) -> Value {
    let mut all = vec!["exec", container, "trailspark"];
    all.extend_from_slice(args);
    all.push("--json");
    serde_json::from_str(&podman_ok(&all)).expect("JSON from the CLI")
}

/// The README quickstart through the container: a `hightouch` key made with the CLI inside
/// it, the CDP guide's test payload, an admin token. Returns the token.
async fn quickstart(client: &reqwest::Client, base: &str, container: &str) -> String {
    let key = exec_json(
        container,
        &[
            "key",
            "create",
            "--tenant",
            "default",
            "--type",
            "product-org-updates",
            "--name",
            "Quickstart",
            "--preset",
            "hightouch",
        ],
    );
    let api_key = key["apiKey"].as_str().expect("apiKey");
    let response = client
        .post(format!("{base}/api/product-orgs/webhook/{api_key}"))
        .json(&json!({
            "workspace_id": "test_ws_001",
            "workspace_name": "Test Workspace",
            "plan_id": "pro",
            "plan_name": "Pro",
            "user_count": 10,
            "mrr": 9900,
            "trial_status": "active"
        }))
        .send()
        .await
        .expect("the seed's request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["productOrgId"], "test_ws_001", "{body}");
    assert_eq!(body["isNewOrg"], true, "{body}");
    let token = exec_json(container, &["admin-token", "create", "--tenant", "default"]);
    token["token"].as_str().expect("token").to_owned()
}

/// The quickstart's product org, read through the admin API.
async fn read_org(client: &reqwest::Client, base: &str, token: &str) -> Value {
    let response = client
        .get(format!("{base}/api/admin/product-orgs/test_ws_001"))
        .bearer_auth(token)
        .send()
        .await
        .expect("read the org");
    assert_eq!(response.status(), 200);
    let org: Value = response.json().await.expect("JSON");
    assert_eq!(org["name"], "Test Workspace", "{org}");
    assert_eq!(org["planName"], "Pro", "{org}");
    assert_eq!(org["userCount"], 10, "{org}");
    assert_eq!(org["mrr"], 9900, "{org}");
    org
}

/// Starts the image on `volume` with its port published on loopback; returns its base URL.
fn run_on_volume(name: &str, volume: &str) -> String {
    let port = free_port();
    podman_ok(&[
        "run",
        "--runtime",
        "runc",
        "--detach",
        "--name",
        name,
        "--volume",
        &format!("{volume}:/data"),
        "--publish",
        &format!("127.0.0.1:{port}:8080"),
        IMAGE,
    ]);
    format!("http://127.0.0.1:{port}")
}

/// Stops the container as an orchestrator does (SIGTERM, then SIGKILL after 20 s) and checks
/// that it left on its own, promptly, with status 0.
fn stop_cleanly(name: &str) {
    let started = Instant::now();
    podman_ok(&["stop", "--time", "20", name]);
    let took = started.elapsed();
    let code = podman_ok(&["inspect", "--format", "{{.State.ExitCode}}", name]);
    assert_eq!(code, "0", "exit status after SIGTERM");
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    let logs = podman(&["logs", name]);
    assert!(
        !text(&logs.stderr).contains("panicked"),
        "{}",
        text(&logs.stderr)
    );
}

#[tokio::test]
async fn the_image_keeps_the_quickstart_org_across_a_new_container_on_its_volume() {
    if !podman_available() {
        return;
    }
    build_image();
    let id = format!("trailspark-test-{}", std::process::id());
    let (first, second, volume) = (format!("{id}-a"), format!("{id}-b"), format!("{id}-data"));
    let (third, restored) = (format!("{id}-c"), format!("{id}-restored"));
    let _cleanup = Cleanup {
        containers: vec![first.clone(), second.clone(), third.clone()],
        volumes: vec![volume.clone(), restored.clone()],
    };
    let client = reqwest::Client::new();

    let base = run_on_volume(&first, &volume);
    wait_healthy(&client, &base, &first).await;
    assert_eq!(
        podman_ok(&["inspect", "--format", "{{.Config.User}}", &first]),
        "10001:10001"
    );
    let token = quickstart(&client, &base, &first).await;
    read_org(&client, &base, &token).await;
    let backup = exec_json(&first, &["backup", "--to", "/data/backup.db"]);
    assert!(backup["bytes"].as_u64() > Some(0), "{backup}");
    podman_ok(&["healthcheck", "run", &first]);
    stop_cleanly(&first);

    // A new container, same volume: the store (and the token kept in it) outlives the first.
    let base = run_on_volume(&second, &volume);
    wait_healthy(&client, &base, &second).await;
    read_org(&client, &base, &token).await;
    stop_cleanly(&second);

    let mount = podman_ok(&["volume", "inspect", "--format", "{{.Mountpoint}}", &volume]);
    let store = Path::new(&mount).join("trailspark.db");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&store).expect("store"));
    assert_eq!(owner, 10001, "the store is written by the image's user");

    // The operator guide's restore: the backup put in a volume's place, owned by 10001.
    podman_ok(&["volume", "create", &restored]);
    let into = podman_ok(&[
        "volume",
        "inspect",
        "--format",
        "{{.Mountpoint}}",
        &restored,
    ]);
    let copy = Path::new(&into).join("trailspark.db");
    std::fs::copy(Path::new(&mount).join("backup.db"), &copy).expect("copy the backup");
    // A new volume that is not empty is not given the image's /data owner: its folder too.
    for path in [Path::new(&into), copy.as_path()] {
        std::os::unix::fs::chown(path, Some(10001), Some(10001)).expect("chown");
    }
    let base = run_on_volume(&third, &restored);
    wait_healthy(&client, &base, &third).await;
    read_org(&client, &base, &token).await;
}

#[tokio::test]
async fn the_image_runs_on_postgresql_named_by_trailspark_database_url() {
    if !podman_available() {
        return;
    }
    let Some(database) = TestDatabase::create().await else {
        println!("SKIPPED: TRAILSPARK_TEST_POSTGRES_URL is not set (the PostgreSQL half)");
        return;
    };
    build_image();
    let name = format!("trailspark-test-{}-pg", std::process::id());
    let _cleanup = Cleanup {
        containers: vec![name.clone()],
        volumes: vec![],
    };
    let client = reqwest::Client::new();
    // The host's network, so that 127.0.0.1:5432 is the machine's PostgreSQL; a port of its
    // own for the service, since the host's 8080 and 9464 may be taken.
    let port = free_port();
    podman_ok(&[
        "run",
        "--runtime",
        "runc",
        "--detach",
        "--name",
        &name,
        "--network",
        "host",
        "--env",
        &format!("TRAILSPARK_DATABASE_URL={}", database.url),
        "--env",
        &format!("TRAILSPARK_LISTEN=127.0.0.1:{port}"),
        "--env",
        "TRAILSPARK_METRICS_LISTEN=off",
        IMAGE,
    ]);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base, &name).await;
    let token = quickstart(&client, &base, &name).await;
    read_org(&client, &base, &token).await;
    // The health check follows TRAILSPARK_LISTEN to the service's own port.
    podman_ok(&["healthcheck", "run", &name]);
    stop_cleanly(&name);

    let (db, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    let row = db
        .query_one(
            "SELECT name FROM product_orgs WHERE product_org_id = 'test_ws_001'",
            &[],
        )
        .await
        .expect("the org is in PostgreSQL");
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some("Test Workspace")
    );
    drop(db);
}
