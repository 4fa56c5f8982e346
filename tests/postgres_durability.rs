//! PostgreSQL settings under which an update answered 200 is not yet on disk are named at
//! start-up (issue "Reliability, second round", item 1): `serve` warns, naming the setting. So
//! are those under which the store grows without bound however short its retentions
//! (autovacuum off, found by the soak of item 3).

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

/// The server's `autovacuum` setting, as `SHOW` says it.
async fn server_autovacuum(client: &tokio_postgres::Client) -> String {
    client
        .query_one("SHOW autovacuum", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn serve_warns_when_autovacuum_cannot_reach_its_tables() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    // A first start makes the tables.
    let app = TestApp::spawn_on_url(&database.url, &[]);
    let log = app.log();
    assert!(
        !log.contains("autovacuum_enabled = false"),
        "no table has it off yet:\n{log}"
    );
    // This machine's server may run with autovacuum off (CI's does): said exactly then.
    let server_off = server_autovacuum(&client).await == "off";
    assert_eq!(
        log.contains("`autovacuum = off`"),
        server_off,
        "the server's autovacuum is {}:\n{log}",
        server_autovacuum(&client).await
    );
    drop(app);

    client
        .batch_execute("ALTER TABLE deliveries SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let app = TestApp::spawn_on_url(&database.url, &[]);
    let log = app.log();
    let warning = log
        .lines()
        .find(|l| {
            l.contains("WARN") && l.contains("`autovacuum_enabled = false on table deliveries`")
        })
        .unwrap_or_else(|| panic!("no warning naming the table:\n{log}"));
    assert!(
        warning.contains("grows without bound") && warning.contains("VACUUM"),
        "says what it risks and what to do: {warning}"
    );
}
