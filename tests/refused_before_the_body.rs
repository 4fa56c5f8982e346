//! Issue 18 (Info): `/v1/batch` and `/login` read the whole body before checking what the
//! headers already settle, so a sender with a bad key, or a client over its sign-in limit,
//! still made the server take (and wait for) its body. Each request here declares a large
//! body, sends only its first bytes, and waits for the answer: it must come without the rest.
//! The server would otherwise wait for the body until its request timeout, set far past
//! [`ANSWER_DEADLINE`] here.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::web::create_user;
use common::TestApp;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// Longest wait for an answer that needs no body: far more than it takes (on a busy machine
/// too), far less than the request timeout of [`spawn`].
const ANSWER_DEADLINE: Duration = Duration::from_secs(45);

/// A server that waits ten minutes for a request's body before it answers 408.
async fn spawn() -> TestApp {
    TestApp::spawn_with(&["--request-timeout-ms", "600000"]).await
}
/// What each request declares: under every route's size limit (500 KiB for /v1), so that no
/// size check answers for the key or the form.
const DECLARED: usize = 400 * 1024;

/// The answer to a request whose head declares [`DECLARED`] bytes of body and that sends only
/// `first` of them, from the client address `from`: its status and JSON body (`Null` when the
/// body is not JSON).
async fn answer_without_the_body(
    app: &TestApp,
    from: IpAddr,
    head: &str,
    first: &[u8],
) -> (u16, Value) {
    let server: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket.connect(server).await.expect("connect");
    let request = format!("{head}Host: trailspark\r\nContent-Length: {DECLARED}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    let mut answer = Vec::new();
    let read = async {
        loop {
            if let Some(at) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&answer[..at]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if answer.len() >= at + 4 + length {
                    return at;
                }
            }
            let mut chunk = [0; 4096];
            let n = stream.read(&mut chunk).await.expect("read the answer");
            assert!(n > 0, "the server closed the connection without an answer");
            answer.extend_from_slice(&chunk[..n]);
        }
    };
    let at = tokio::time::timeout(ANSWER_DEADLINE, read)
        .await
        .unwrap_or_else(|_| {
            panic!("no answer in {ANSWER_DEADLINE:?}: the server waits for the rest of the body")
        });
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_slice(&answer[at + 4..]).unwrap_or(Value::Null);
    (status, body)
}

fn basic(username: &str, password: &str) -> String {
    format!(
        "Authorization: Basic {}\r\n",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

/// The first bytes of a JSON batch, cut short.
fn first_bytes() -> Vec<u8> {
    let event = json!({"type": "group", "groupId": "ws_slow", "traits": {"name": "Slow"}});
    format!("{{\"batch\":[{event},").into_bytes()
}

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn a_segment_key_in_the_header_is_checked_before_the_body() {
    let app = spawn().await;
    let json = "Content-Type: application/json\r\n";
    for path in ["/v1/batch", "/v1/group"] {
        let head = format!(
            "POST {path} HTTP/1.1\r\n{json}{}",
            basic("tsk_po_unknown", "")
        );
        let (status, body) = answer_without_the_body(&app, LOCALHOST, &head, &first_bytes()).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["code"], json!("invalid_api_key"), "{path}: {body}");
    }

    // A known key's own header checks come first too: its secret, as the Basic password.
    let key = app.key(&[
        "--type",
        "product-org-updates",
        "--preset",
        "segment",
        "--secret",
    ]);
    let head = format!(
        "POST /v1/batch HTTP/1.1\r\n{json}{}",
        basic(&key.api_key, "not the secret")
    );
    let (status, body) = answer_without_the_body(&app, LOCALHOST, &head, &first_bytes()).await;
    assert_eq!(
        (status, &body["code"]),
        (401, &json!("invalid_api_secret")),
        "{body}"
    );
}

#[tokio::test]
async fn a_sign_in_over_its_client_limit_or_of_the_wrong_type_is_refused_before_the_form() {
    let app = spawn().await;
    create_user(&app, "default", "ana@example.com");
    let guesser = IpAddr::V4(Ipv4Addr::new(127, 0, 7, 7));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(guesser)
        .build()
        .unwrap();
    let csrf = "guessers-own-csrf";
    // More wrong guesses than the client's limit, at once (each costs a password check): the
    // limit answers some of them instead of the password check.
    let guesses = (0..25).map(|n| {
        client
            .post(format!("{}/login", app.base))
            .header("Cookie", format!("ts_login={csrf}"))
            .form(&[
                ("csrf", csrf),
                ("tenant", "default"),
                ("email", &format!("guess-{n}@example.com")),
                ("password", "wrong password"),
            ])
            .send()
    });
    let statuses: Vec<_> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)) && statuses.contains(&429),
        "{statuses:?}"
    );

    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    let cookie = format!("Cookie: ts_login={csrf}\r\n");
    let first =
        format!("csrf={csrf}&tenant=default&email=ana%40example.com&password=").into_bytes();
    let head = format!("POST /login HTTP/1.1\r\n{form}{cookie}");
    let (status, _) = answer_without_the_body(&app, guesser, &head, &first).await;
    assert_eq!(
        status, 429,
        "a client over its limit is refused before its form"
    );

    // From a client that has not failed: the content type and the sign-in page's cookie are
    // known from the head too.
    let user = IpAddr::V4(Ipv4Addr::new(127, 0, 7, 8));
    let head = format!("POST /login HTTP/1.1\r\nContent-Type: application/json\r\n{cookie}");
    let (status, _) = answer_without_the_body(&app, user, &head, b"{\"csrf\":").await;
    assert_eq!(
        status, 415,
        "a form of another type is refused before it is read"
    );
    let head = format!("POST /login HTTP/1.1\r\n{form}");
    let (status, _) = answer_without_the_body(&app, user, &head, &first).await;
    assert_eq!(status, 403, "a form without the sign-in page's cookie");
}
