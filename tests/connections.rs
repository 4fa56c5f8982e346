//! Connection limits: a socket that sends nothing, a keep-alive connection left idle and an
//! HTTP/2 connection with no request are closed, so they cannot hold the service's file
//! descriptors; when connections run out, the one idle the longest makes room, so `/healthz`
//! still answers; and none of these timers cuts a request in flight (a slow upload, a long
//! request). Real sockets against the real binary; each timer is set short by its flag.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{backend, Backend, HeldRequest, TestApp, BIN};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for something the server does on a timer set well below it.
const DEADLINE: Duration = Duration::from_secs(10);

fn address(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(address(base)).await.expect("connect")
}

/// Whether the server closes `stream` within `within` (whatever it sends before is read and
/// dropped: an HTTP/2 server's SETTINGS and GOAWAY, say).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut sink = vec![0; 4096];
    let closed = async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                return;
            }
        }
    };
    tokio::time::timeout(within, closed).await.is_ok()
}

/// Sends `GET /healthz` on a kept-alive connection and reads its whole answer.
async fn healthz_on(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: trailspark\r\n\r\n")
        .await
        .expect("send");
    let mut answer = Vec::new();
    let mut byte = [0; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(DEADLINE, stream.read(&mut byte))
            .await
            .expect("an answer in time")
            .expect("read");
        assert_eq!(n, 1, "the connection closed mid-answer: {answer:?}");
        answer.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&answer).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .expect("a content-length")
        .trim()
        .parse()
        .expect("a number");
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.expect("the body");
    format!("{head}{}", String::from_utf8_lossy(&body))
}

async fn healthz_answers(base: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .expect("client");
    match client.get(format!("{base}/healthz")).send().await {
        Ok(response) => response.status() == StatusCode::OK,
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_first_byte_timeout() {
    let app = TestApp::spawn_with(&["--first-byte-timeout-ms", "300"]).await;
    let mut silent = connect(&app.base).await;
    assert!(
        closed_within(&mut silent, DEADLINE).await,
        "a socket that never sent a byte is still open after {DEADLINE:?}"
    );
    assert!(healthz_answers(&app.base).await);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The header timeout is long, so that it is not what closes the connection.
    let app =
        TestApp::spawn_with(&["--idle-timeout-ms", "500", "--header-timeout-ms", "60000"]).await;
    let mut stream = connect(&app.base).await;
    let opened = Instant::now();
    // Requests closer together than the idle timeout keep the connection, past that timeout
    // counted from the connection's start: idle is counted from the last answer.
    while opened.elapsed() < Duration::from_millis(1200) {
        let answer = healthz_on(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let idle = Instant::now();
    assert!(
        closed_within(&mut stream, DEADLINE).await,
        "an idle keep-alive connection is still open after {DEADLINE:?}"
    );
    assert!(
        idle.elapsed() >= Duration::from_millis(250),
        "closed {:?} after the last answer: before the idle timeout",
        idle.elapsed()
    );
}

#[tokio::test]
async fn an_h2c_connection_without_requests_is_closed_after_the_idle_timeout() {
    let app =
        TestApp::spawn_with(&["--idle-timeout-ms", "500", "--header-timeout-ms", "60000"]).await;
    let mut stream = connect(&app.base).await;
    // The prior-knowledge preface and an empty SETTINGS frame, then nothing.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("send the preface");
    assert!(
        closed_within(&mut stream, DEADLINE).await,
        "an HTTP/2 connection with no request is still open after {DEADLINE:?}"
    );
}

#[tokio::test]
async fn a_full_server_closes_a_silent_connection_to_answer_a_new_one() {
    // Timers far beyond the test: only the connection cap can make room.
    let app = TestApp::spawn_with(&[
        "--max-connections",
        "5",
        "--first-byte-timeout-ms",
        "60000",
        "--idle-timeout-ms",
        "60000",
    ])
    .await;
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(connect(&app.base).await);
    }
    assert!(
        healthz_answers(&app.base).await,
        "/healthz does not answer with the server full of silent connections"
    );
    let mut closed = 0;
    for stream in &mut silent {
        closed += usize::from(closed_within(stream, Duration::from_millis(100)).await);
    }
    assert!(
        closed >= 6,
        "{closed} of 10 silent connections closed; over a cap of 5, at least 6 must be"
    );
}

#[tokio::test]
async fn a_slow_upload_is_not_cut_by_the_connection_timers() {
    let app =
        TestApp::spawn_with(&["--first-byte-timeout-ms", "300", "--idle-timeout-ms", "300"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let body = json!({"type": "group", "groupId": "ws_slow", "traits": {"employees": 5}})
        .to_string()
        .into_bytes();
    let mut stream = connect(&app.base).await;
    let head = format!(
        "POST /api/product-orgs/webhook/{} HTTP/1.1\r\nHost: trailspark\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        key.api_key,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    // Ten pieces 150 ms apart: the body takes five times the idle timeout.
    for piece in body.chunks(body.len().div_ceil(10)) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        stream
            .write_all(piece)
            .await
            .expect("the connection is open");
    }
    let mut answer = vec![0; 4096];
    let n = tokio::time::timeout(DEADLINE, stream.read(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the upload was cut or refused: {answer:?}"
    );
}

#[tokio::test]
async fn a_long_request_is_not_cut_by_the_idle_timer() {
    let app = TestApp::spawn_with(&["--idle-timeout-ms", "300"]).await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "flat"]);
    let path = format!("/api/product-orgs/webhook/{}", key.api_key);
    let body = json!({"workspace_id": "ws_long", "user_count": 3});
    let held = HeldRequest::start(&app, &path, &body).await;
    // The handler runs, no byte moves: to the connection this is a long request.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answer = held.finish().await;
    assert!(
        matches!(answer, Some((StatusCode::OK, _))),
        "a request in flight was cut: {answer:?}\n{}",
        app.log()
    );
}

/// `serve` started under an open-file limit, as `ulimit -n` in its shell would.
struct LimitedServer {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
    _postgres: Option<trailspark_store_contract::postgres::TestDatabase>,
}

impl LimitedServer {
    async fn start(open_files: u32, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, postgres) = match backend() {
            Backend::Sqlite => (dir.path().join("trailspark.db").display().to_string(), None),
            Backend::Postgres => {
                let db = trailspark_store_contract::postgres::TestDatabase::create()
                    .await
                    .expect("TRAILSPARK_TEST_BACKEND=postgres needs a PostgreSQL URL");
                (db.url.clone(), Some(db))
            }
        };
        let mut child = Command::new("sh")
            .args([
                "-c",
                &format!("ulimit -n {open_files} && exec \"$0\" \"$@\""),
            ])
            .args([
                BIN,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "off",
            ])
            .args(extra)
            .env("TRAILSPARK_DATABASE_URL", &database)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut lines = std::io::BufRead::lines(stdout).map_while(Result::ok);
        let base = lines
            .find_map(|l| {
                l.strip_prefix("trailspark listening on ")
                    .map(str::to_owned)
            })
            .expect("serve exited before listening");
        // Keep reading, so that the server never writes to a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            base,
            _dir: dir,
            _postgres: postgres,
        }
    }
}

impl Drop for LimitedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn silent_connections_beyond_the_open_file_limit_never_starve_health_checks() {
    // The first-byte timer far beyond the test: only closing idle connections makes room.
    let server = LimitedServer::start(200, &["--first-byte-timeout-ms", "60000"]).await;
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(connect(&server.base).await);
    }
    assert!(
        healthz_answers(&server.base).await,
        "/healthz does not answer once silent connections passed the open-file limit"
    );
}
