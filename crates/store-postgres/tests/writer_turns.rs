//! PostgreSQL's writers take turns at running a batch's statements: one runs them while the
//! others commit, so the requests arriving meanwhile wait and go together in the next batch
//! instead of in a few-request batch of each free writer (issue 20: a statement costs
//! PostgreSQL about the same for 9 rows as for 30). Needs TRAILSPARK_TEST_POSTGRES_URL;
//! without it the test says it was skipped.

mod held;

use std::time::Duration;

use held::{settled, signal, Held};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::tenant_with_key;
use trailspark_store_postgres::PostgresOptions;

/// With four writers, one stopped inside its batch's statements (at a row another session
/// holds) and a turn limit longer than the test, the 40 requests sent next are not applied by
/// the three free writers: they wait for the turn and then commit as one batch. Catches
/// `batcher.rs` `work` taking a batch without waiting for the turn. That a batch hands the
/// turn on at the limit is `write_paths.rs`'s writers of other orgs going on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_wait_for_the_batch_running_its_statements_and_go_together() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let options = PostgresOptions {
        writers: 4,
        turn_limit: Duration::from_secs(60),
        ..PostgresOptions::default()
    };
    let (store, session) = held::open_with(&database, options).await;
    let (tenant, key) = tenant_with_key(&store, "writer-turns").await;
    let held = Held::hold(&database, store, session, (tenant.id, key)).await;

    let queued: Vec<_> = (0..40)
        .map(|n| {
            held.send(
                &format!("req_{n}"),
                signal(&format!("lead_{n}"), None, None, None),
            )
        })
        .collect();
    // Three writers are free; a batch of theirs would be committed well within this.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let others = "SELECT count(*) FROM signals WHERE lead_id <> 'lead_held'";
    assert_eq!(
        held.session.count(others).await,
        0,
        "no request is applied while another batch runs its statements"
    );

    let (store, session, before) = held.release().await;
    assert_eq!(
        settled(&store, before, queued).await,
        (41, 2),
        "the held request, then the 40 that waited in one batch"
    );
    assert_eq!(
        session.count(others).await,
        40,
        "every queued signal stored"
    );
}
