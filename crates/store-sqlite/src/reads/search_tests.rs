//! The plans of a search: the trigram index is asked by MATCH (not read whole), and the list
//! then reads its candidates by key, in key order (no sort, no walk of the tenant).

use rusqlite::Connection;

use super::{product_orgs_sql, SearchIndex, SearchedList, MAX_CANDIDATES};
use crate::db::{connect, migrate};

fn store() -> (Connection, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = connect(
        &dir.path().join("store.db"),
        std::time::Duration::from_secs(5),
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    (conn, dir)
}

/// The plan's lines (`EXPLAIN QUERY PLAN`'s detail column), with the parameters bound.
fn plan(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt.query_map(params, |r| r.get::<_, String>(3)).unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn each_index_is_asked_by_match() {
    let (conn, _dir) = store();
    for (index, table) in [
        (SearchIndex::ProductOrgs, "product_orgs_search"),
        (SearchIndex::TargetOrgs, "target_orgs_search"),
        (SearchIndex::Leads, "leads_search"),
    ] {
        let lines = plan(&conn, index.candidates_sql(), ("\"ws_1\"", 1, 1_000));
        // FTS5 names its plan `M` for a MATCH on the table (its full scan has none).
        let scan = format!("SCAN {table} VIRTUAL TABLE INDEX 0:M");
        assert!(
            lines.iter().any(|l| l.starts_with(&scan)),
            "{index:?}: {lines:?}"
        );
    }
}

#[test]
fn the_candidates_are_read_by_key_in_key_order() {
    let (conn, _dir) = store();
    let sql = product_orgs_sql();
    let list = SearchedList {
        sql: &sql,
        index: SearchIndex::ProductOrgs,
        key: "product_org_id",
    };
    let narrowed = list.narrowed_sql();
    let params = (1, None::<String>, "%ws%", 21, "[\"ws_1\",\"ws_2\"]");
    let lines = plan(&conn, &narrowed, params);
    assert!(
        lines.iter().any(
            |l| l == "SEARCH product_orgs USING PRIMARY KEY (tenant_id=? AND product_org_id=?)"
        ),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("TEMP B-TREE")),
        "no sort: {lines:?}"
    );
}

/// The contract's search case fills a list past the cap to reach the walk; a larger cap would
/// leave that way untested.
#[test]
fn the_contract_fills_past_the_cap() {
    let cap = usize::try_from(MAX_CANDIDATES).unwrap();
    assert!(cap < trailspark_store_contract::COMMON_ROWS);
}
