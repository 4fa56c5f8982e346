//! Nothing acknowledged is lost: senders drive the webhook from several connections and
//! remember every update answered 200; the server is then killed (SIGKILL, mid-load) or
//! stopped (SIGTERM, which drains), restarted on the same store, and every acknowledged update
//! must be there. Runs on the backend of the run (SQLite, or PostgreSQL with
//! TRAILSPARK_TEST_BACKEND=postgres). Prints the counts.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{HeldRequest, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::watch;

const SENDERS: usize = 16;
const ORGS_PER_SENDER: usize = 40;

/// What the senders saw: per product org, the highest value answered 200, and how many 200s.
struct Acknowledged {
    values: HashMap<String, i64>,
    count: usize,
}

/// Starts the senders; each writes its own orgs, one request at a time, with rising values,
/// until `stop` says so or the server goes away.
fn senders(
    app: &TestApp,
    api_key: &str,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<Acknowledged>> {
    (0..SENDERS)
        .map(|sender| {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let url = app.webhook_url(api_key);
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut acked = Acknowledged {
                    values: HashMap::new(),
                    count: 0,
                };
                let mut n: i64 = 0;
                while !*stop.borrow() {
                    n += 1;
                    let id = format!("ws_{sender}_{}", n % ORGS_PER_SENDER as i64);
                    let body = json!({"type": "group", "groupId": id, "messageId": format!("m_{sender}_{n}"),
                                      "traits": {"employees": n}});
                    match client.post(&url).json(&body).send().await {
                        Ok(response) if response.status() == StatusCode::OK => {
                            acked.values.insert(id, n);
                            acked.count += 1;
                        }
                        // Refused (503 while shutting down) or cut off: not acknowledged.
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect()
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<Acknowledged>>) -> Acknowledged {
    let mut all = Acknowledged {
        values: HashMap::new(),
        count: 0,
    };
    for task in tasks {
        let acked = task.await.unwrap();
        all.count += acked.count;
        all.values.extend(acked.values);
    }
    all
}

/// Every acknowledged org is stored with at least its acknowledged value (a later update may
/// have been applied without its answer arriving).
async fn check(app: &TestApp, acked: &Acknowledged, case: &str) {
    assert!(
        acked.count > 100,
        "{case}: the load ran ({} acknowledged)",
        acked.count
    );
    let mut found = 0;
    for (id, value) in &acked.values {
        let (status, org) = app.product_org(id).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{case}: {id} acknowledged but missing"
        );
        let stored = org["userCount"].as_i64().unwrap();
        assert!(
            stored >= *value,
            "{case}: {id} acknowledged with {value}, stored {stored}"
        );
        found += 1;
    }
    eprintln!(
        "{case} ({:?}): {} updates acknowledged over {} product orgs; all {found} orgs found after restart with at least their acknowledged value",
        app.backend,
        acked.count,
        acked.values.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_updates_survive_sigkill() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (_stop, running) = watch::channel(false);
    let tasks = senders(&app, &key.api_key, running);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.kill();
    let acked = collect(tasks).await;
    app.start();
    check(&app, &acked, "SIGKILL mid-load").await;
}

/// SIGTERM mid-load: besides the senders' requests, a few are held in flight (their bodies
/// sent only after the signal), so the drain has something to drain whatever the timing:
/// each must be answered 200 and found after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_loses_nothing() {
    let mut app = TestApp::spawn().await;
    let key = app.key(&["--type", "product-org-updates", "--preset", "segment"]);
    let (_stop, running) = watch::channel(false);
    let tasks = senders(&app, &key.api_key, running);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let path = format!("/api/product-orgs/webhook/{}", key.api_key);
    let mut held = Vec::new();
    for n in 0..4_i64 {
        let id = format!("ws_held_{n}");
        let body = json!({"type": "group", "groupId": id, "messageId": format!("held_{n}"),
                          "traits": {"employees": n}});
        held.push((id, n, HeldRequest::start(&app, &path, &body).await));
    }
    tokio::task::block_in_place(|| app.sigterm());
    let mut drained = HashMap::new();
    for (id, n, request) in held {
        let answer = request.finish().await;
        assert!(
            matches!(answer, Some((StatusCode::OK, _))),
            "{id} was in flight at SIGTERM: it must be answered 200, not {answer:?}"
        );
        drained.insert(id, n);
    }
    let status = tokio::task::block_in_place(|| app.wait());
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM: {status}\n{}",
        app.log()
    );
    let mut acked = collect(tasks).await;
    acked.count += drained.len();
    acked.values.extend(drained);
    app.start();
    check(&app, &acked, "SIGTERM mid-load").await;
}
