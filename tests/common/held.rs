//! A request held in flight on purpose: its head is sent and the server has asked for its
//! body (`100 Continue`), so the handler is running, and it stays so until the test sends the
//! body. What a server does with requests in flight (at SIGTERM, say) is then no matter of
//! timing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::TestApp;

/// Longest wait for the server's answers: far more than they take.
const DEADLINE: Duration = Duration::from_secs(30);

/// A POST whose handler is running and waiting for its body.
pub struct HeldRequest {
    stream: TcpStream,
    body: Vec<u8>,
}

impl HeldRequest {
    /// Sends the head of a JSON POST of `body` to `path` with `Expect: 100-continue`, and
    /// returns once the server asked for the body.
    pub async fn start(app: &TestApp, path: &str, body: &Value) -> Self {
        let address = app.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let body = body.to_string().into_bytes();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: trailspark\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("send head");
        let mut interim = Vec::new();
        while !interim.ends_with(b"\r\n\r\n") {
            let mut byte = [0; 1];
            let read = tokio::time::timeout(DEADLINE, stream.read(&mut byte))
                .await
                .expect("the server asks for the body in time")
                .expect("read");
            assert_eq!(read, 1, "the server closed the connection: {interim:?}");
            interim.push(byte[0]);
        }
        let interim = String::from_utf8_lossy(&interim);
        assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
        Self { stream, body }
    }

    /// Sends the body and returns the answer; `None` when the connection ended without one.
    pub async fn finish(mut self) -> Option<(StatusCode, Value)> {
        self.stream.write_all(&self.body).await.ok()?;
        let mut answer = Vec::new();
        tokio::time::timeout(DEADLINE, self.stream.read_to_end(&mut answer))
            .await
            .expect("the server answers in time")
            .ok()?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        Some((
            StatusCode::from_u16(status).ok()?,
            serde_json::from_str(body).unwrap_or(Value::Null),
        ))
    }
}
