//! The rows the triggers of migration 0012 stage in `search_pending`, moved into the trigram
//! tables of the lists' search just before the writer commits: one statement per table, so
//! FTS5 writes one segment per commit rather than one per new org, lead or name (it writes
//! what it holds to disk at every statement's savepoint; see the migration).

use rusqlite::Connection;

/// Moves the staged rows into the trigram tables, in the transaction about to commit.
pub fn flush(conn: &Connection) -> rusqlite::Result<()> {
    let staged: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM search_pending)")?
        .query_row([], |r| r.get(0))?;
    if !staged {
        return Ok(());
    }
    for sql in [
        "INSERT INTO product_orgs_search (tenant_id, product_org_id, name)
         SELECT tenant_id, id, text FROM search_pending WHERE list = 1",
        "INSERT INTO target_orgs_search (tenant_id, id, name)
         SELECT tenant_id, id, text FROM search_pending WHERE list = 2",
        "INSERT INTO leads_search (tenant_id, lead_id, email)
         SELECT tenant_id, id, text FROM search_pending WHERE list = 3",
        "DELETE FROM search_pending",
    ] {
        conn.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}
