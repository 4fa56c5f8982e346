//! Signals on PostgreSQL are committed in batches, as product org updates are (issue 20, item
//! 4): the requests waiting for a writer share one transaction, apply one after another as
//! they would in transactions of their own, and a request the database refuses fails alone.
//! Each test holds a lead's row from a session of its own, so that the one writer stops
//! inside a transaction while the signals after it queue up. Needs
//! TRAILSPARK_TEST_POSTGRES_URL; without it each test says it was skipped.

mod held;

use std::time::Duration;

use held::{open, outcome, send_signed, settled, signal, Held, REFUSE_LEAD_BAD};
use trailspark_store::{IngestResult, SignalRequest};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::{arrival, tenant_with_key};

/// Signals queued behind a busy writer are committed in batches of at most `max_batch`: 40
/// behind one held take 40 commits at 1, and 5 at 8. Catches a signal store that commits
/// each request in a transaction of its own, and `batcher.rs` `work`'s `batch.len() <
/// max_batch` as `<=`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_signals_are_committed_in_batches_of_at_most_max_batch() {
    for (max_batch, commits) in [(1, 41), (8, 1 + 5)] {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let held = Held::start(&database, max_batch, "").await;
        let queued: Vec<_> = (0..40)
            .map(|n| {
                let lead = format!("lead_{n}");
                held.send(&format!("req_{n}"), signal(&lead, None, None, None))
            })
            .collect();
        let (store, session, before) = held.release().await;
        assert_eq!(
            settled(&store, before, queued).await,
            (41, commits),
            "41 signal requests at max_batch {max_batch}"
        );
        assert_eq!(
            session.count("SELECT count(*) FROM signals").await,
            42,
            "every signal stored once"
        );
        assert_eq!(
            session.count("SELECT count(*) FROM deliveries").await,
            42,
            "and logged once"
        );
    }
}

/// Requests of one lead sharing a batch apply in arrival order, each seeing what the one
/// before it wrote: the lead keeps the first's email and the second's product org, its
/// signals are numbered in order, and a messageId sent twice in the batch is stored once.
/// Catches signals applied out of order or against the lead as it was before the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_of_one_lead_in_one_batch_apply_in_order() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let held = Held::start(&database, 64, "").await;
    let mut queued = Vec::new();
    let sent = [
        signal("lead_x", Some("x@example.com"), None, Some("m1")),
        signal("lead_x", None, Some("ws_1"), Some("m2")),
        signal("lead_x", None, Some("ws_1"), Some("m2")),
    ];
    for (n, s) in sent.into_iter().enumerate() {
        queued.push(held.send(&format!("req_{n}"), s));
        // In this order in the queue.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (store, session, before) = held.release().await;
    let mut outcomes = Vec::new();
    for task in queued {
        outcomes.push(outcome(task).await.expect("applied"));
    }
    assert_eq!(
        store.commit_stats().commits - before.commits,
        2,
        "the held request, then the three queued behind it in one batch"
    );
    assert_eq!(
        store.commit_stats().split - before.split,
        0,
        "the batch applied whole, not failed and run again a request at a time"
    );
    assert!(!outcomes[1].duplicate && outcomes[2].duplicate);
    assert_eq!(outcomes[1].lead_id, outcomes[2].lead_id);
    let lead = session
        .0
        .query_one(
            "SELECT email, product_org_id FROM leads WHERE lead_id = 'lead_x'",
            &[],
        )
        .await
        .expect("lead_x is stored");
    assert_eq!(
        (
            lead.get::<_, Option<String>>(0),
            lead.get::<_, Option<String>>(1)
        ),
        (Some("x@example.com".into()), Some("ws_1".into())),
        "the second signal kept the first's email and linked the org"
    );
    let signals: Vec<(i64, Option<String>)> = session
        .0
        .query(
            "SELECT seq, product_org_id FROM signals WHERE lead_id = 'lead_x' ORDER BY seq",
            &[],
        )
        .await
        .expect("lead_x's signals")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        signals,
        [(1, None), (2, Some("ws_1".into()))],
        "two signals in arrival order; the repeated messageId stored nothing"
    );
}

/// A signal the database refuses fails alone: the batch it shared is run again one request
/// per transaction, and its neighbours are applied and logged. Catches a batch whose failure
/// fails every request in it, and a request run alone without its savepoints (its signal then
/// fails the request whole instead of being reported).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_signal_fails_alone() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let held = Held::start(&database, 64, REFUSE_LEAD_BAD).await;
    let queued: Vec<_> = (0..10)
        .map(|n| {
            let lead = if n == 5 {
                "lead_bad".to_owned()
            } else {
                format!("lead_{n}")
            };
            let task = held.send(&format!("req_{n}"), signal(&lead, None, None, None));
            (lead, task)
        })
        .collect();
    let (store, session, before) = held.release().await;
    for (lead, task) in queued {
        let outcome = outcome(task).await;
        if lead == "lead_bad" {
            assert!(
                matches!(&outcome, Err(why) if why.contains("refused the statement (P0001)")),
                "the refused signal fails, saying the database refused it: {outcome:?}"
            );
        } else {
            assert!(outcome.is_ok(), "{lead} is applied: {outcome:?}");
        }
    }
    let commits = store.commit_stats().commits - before.commits;
    assert_eq!(commits, 2, "the held request, then one batch of the ten");
    assert_eq!(
        store.commit_stats().split - before.split,
        1,
        "the batch failed whole once and was run again a request at a time"
    );
    assert_eq!(
        session
            .count("SELECT count(*) FROM signals WHERE lead_id <> 'lead_bad'")
            .await,
        11,
        "the bad signal's neighbours are stored"
    );
    assert_eq!(
        session
            .count("SELECT count(*) FROM signals WHERE lead_id = 'lead_bad'")
            .await,
        0
    );
    assert_eq!(
        session
            .count("SELECT count(DISTINCT request_id) FROM deliveries")
            .await,
        12,
        "every request logged once, the refused one too"
    );
}

/// A request alone in its batch keeps each signal in its own savepoint: of its two signals,
/// the one the database refuses fails and the other is stored. Catches `signals.rs` `apply`
/// choosing its savepoints by `batch.len() != 1` (the request then failed whole).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_signal_in_a_request_alone_fails_alone() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let (store, session) = open(&database, 64).await;
    session
        .0
        .batch_execute(REFUSE_LEAD_BAD)
        .await
        .expect("trigger");
    let (tenant, key) = tenant_with_key(&store, "signal-alone").await;
    let request = SignalRequest {
        log: None,
        key_id: key,
        received_at: arrival(),
        webhook_id: None,
        signals: vec![
            signal("lead_bad", None, None, None),
            signal("lead_ok", None, None, None),
        ],
    };
    let answer = store.ingest_signals(tenant.id, request).await;
    let Ok(IngestResult::Applied(results)) = answer else {
        panic!("the request is applied, its refused signal reported: {answer:?}");
    };
    assert!(
        matches!(&results[..], [Err(why), Ok(_)] if why.contains("refused the statement")),
        "{results:?}"
    );
    assert_eq!(
        session
            .count("SELECT count(*) FROM signals WHERE lead_id = 'lead_ok'")
            .await,
        1
    );
}

/// A webhook-id sent twice in one batch is a replay the second time, as it is in turn: the
/// first request's signal is stored, the second's is not, and the store leaves the second's
/// log entries to the server (which writes them refused). Catches a batch that checks ids
/// against what was committed before it only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_id_sent_twice_in_one_batch_is_a_replay_the_second_time() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let held = Held::start(&database, 64, "").await;
    let to = (held.to.0, &held.to.1);
    let first = send_signed(
        &held.store,
        to,
        "req_a",
        Some("msg_1"),
        signal("lead_a", None, None, None),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = send_signed(
        &held.store,
        to,
        "req_b",
        Some("msg_1"),
        signal("lead_b", None, None, None),
    );
    let (store, session, before) = held.release().await;
    outcome(first).await.expect("the first is applied");
    assert!(
        matches!(again.await.expect("task"), Ok(IngestResult::Replayed)),
        "the second with the same webhook-id is a replay"
    );
    assert_eq!(
        store.commit_stats().commits - before.commits,
        2,
        "the held request, then both queued behind it in one batch"
    );
    assert_eq!(
        session
            .count("SELECT count(*) FROM signals WHERE lead_id IN ('lead_a', 'lead_b')")
            .await,
        1,
        "only the first request's signal is stored"
    );
    assert_eq!(
        session.count("SELECT count(*) FROM deliveries").await,
        3,
        "the held lead's two requests and the first: the replay's entries are the server's"
    );
}
