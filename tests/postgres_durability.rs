//! PostgreSQL settings under which an update answered 200 is not yet on disk are named at
//! start-up (issue "Reliability, second round", item 1): `serve` warns, naming the setting.

mod common;

use common::TestApp;
use trailspark_store_contract::postgres::TestDatabase;

/// The database's URL with `options` setting `setting` for every session trailspark opens.
fn with_session_setting(url: &str, setting: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}options=-c%20{setting}")
}

#[tokio::test]
async fn serve_warns_when_postgres_acknowledges_commits_before_they_are_on_disk() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let url = with_session_setting(&database.url, "synchronous_commit%3Doff");
    // Written before the server says it listens, which spawning waits for.
    let app = TestApp::spawn_on_url(&url, &[]);
    let log = app.log();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("`synchronous_commit = off`"))
        .unwrap_or_else(|| panic!("no warning naming the setting:\n{log}"));
    assert!(
        warning.contains("power loss") && warning.contains("synchronous_commit = on"),
        "says what it risks and what to set: {warning}"
    );
    drop(app);

    let Some(safe) = TestDatabase::create().await else {
        return;
    };
    let app = TestApp::spawn_on_url(&safe.url, &[]);
    let log = app.log();
    assert!(
        log.contains("listening") || log.contains("connection limits"),
        "the server started:\n{log}"
    );
    assert!(
        !log.contains("power loss"),
        "no warning with PostgreSQL's defaults:\n{log}"
    );
}
