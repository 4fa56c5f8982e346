//! Opening connections (and the pool of read connections), running migrations, and the one
//! place where SQLite errors and values become the store's own.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use trailspark_store::StoreError;

/// The embedded migrations, applied in order; the number is the schema version.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "0001_init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "0002_leads",
        include_str!("../migrations/0002_leads.sql"),
    ),
    (
        3,
        "0003_users",
        include_str!("../migrations/0003_users.sql"),
    ),
    (
        4,
        "0004_deliveries",
        include_str!("../migrations/0004_deliveries.sql"),
    ),
    (
        5,
        "0005_append_only",
        include_str!("../migrations/0005_append_only.sql"),
    ),
    (
        6,
        "0006_template_versions",
        include_str!("../migrations/0006_template_versions.sql"),
    ),
    (
        7,
        "0007_delivery_log",
        include_str!("../migrations/0007_delivery_log.sql"),
    ),
    (
        8,
        "0008_folded_ids",
        include_str!("../migrations/0008_folded_ids.sql"),
    ),
    (
        9,
        "0009_admin_token_revocation",
        include_str!("../migrations/0009_admin_token_revocation.sql"),
    ),
    (
        10,
        "0010_delivery_chunks",
        include_str!("../migrations/0010_delivery_chunks.sql"),
    ),
    (
        11,
        "0011_tenant_counts",
        include_str!("../migrations/0011_tenant_counts.sql"),
    ),
    (
        12,
        "0012_search",
        include_str!("../migrations/0012_search.sql"),
    ),
    (
        13,
        "0013_write_probe",
        include_str!("../migrations/0013_write_probe.sql"),
    ),
    (
        14,
        "0014_key_tallies",
        include_str!("../migrations/0014_key_tallies.sql"),
    ),
    (
        15,
        "0015_chunks_to_read",
        include_str!("../migrations/0015_chunks_to_read.sql"),
    ),
    (
        16,
        "0016_signal_age",
        include_str!("../migrations/0016_signal_age.sql"),
    ),
];

/// What a migration needs of the store's code after its SQL, in the same transaction.
fn after_migration(tx: &Connection, version: i64) -> Result<(), StoreError> {
    match version {
        14 => crate::deliveries::fill_tallies(tx),
        _ => Ok(()),
    }
}

/// Opens a connection with the settings every connection of the store shares.
pub fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    conn.busy_timeout(busy_timeout).map_err(sqlite_error)?;
    // WAL lets reads run beside the writer; synchronous=FULL fsyncs the WAL at every commit,
    // which is what makes a 200 survive power loss.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(sqlite_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::other(format!(
            "the SQLite file cannot use write-ahead logging (journal mode {mode})"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(sqlite_error)?;
    Ok(conn)
}

/// Read connections, and so reads at once. Each keeps its page cache and prepared statements
/// warm; a read beyond them waits for one instead of opening a connection of its own (which
/// reads the schema and prepares every statement anew) only to drop it afterwards.
const READ_POOL_SIZE: usize = 8;

/// The store's read connections, opened as reads first need them and kept for the next.
pub struct ReadPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: tokio::sync::Semaphore,
}

impl ReadPool {
    /// A pool of read connections to the store at `path`, none open yet.
    pub fn new(path: PathBuf, busy_timeout: Duration) -> Self {
        Self {
            path,
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READ_POOL_SIZE),
        }
    }

    /// Runs `f` on a read connection, off the async threads.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the read pool's semaphore is never closed");
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let idle = pool.idle.lock().expect("read pool lock").pop();
            let conn = match idle {
                Some(conn) => conn,
                None => connect(&pool.path, pool.busy_timeout)?,
            };
            let result = f(&conn);
            let mut idle = pool.idle.lock().expect("read pool lock");
            if idle.len() < READ_POOL_SIZE {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::other("store read panicked").caused_by(e))?
    }
}

/// Brings the schema up to date; refuses a file written by a newer trailspark.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(sqlite_error)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite_error)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::other(format!(
            "the store has schema version {current}, newer than this trailspark knows ({newest}); \
             run a newer trailspark"
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.execute_batch(sql).map_err(sqlite_error)?;
        after_migration(&tx, *version)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            (version, name, micros(&Utc::now())),
        )
        .map_err(sqlite_error)?;
        tracing::info!(version, name, "applied migration");
    }
    tx.commit().map_err(sqlite_error)
}

/// Maps a driver error: contention and I/O trouble are `Unavailable` (the sender retries),
/// a uniqueness violation is `Conflict`, the rest `Other`; the driver's error is kept as the
/// cause. A query that found no row where one was expected is `Other`: a read that may find
/// nothing asks with `optional()` and says what it did not find.
pub fn sqlite_error(e: rusqlite::Error) -> StoreError {
    let error = match &e {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::ReadOnly
            | ErrorCode::CannotOpen
            | ErrorCode::OutOfMemory => StoreError::unavailable("SQLite cannot read or write"),
            ErrorCode::ConstraintViolation => StoreError::conflict("SQLite refused a duplicate"),
            _ => StoreError::other("SQLite refused the statement"),
        },
        rusqlite::Error::QueryReturnedNoRows => StoreError::other("SQLite found no row"),
        _ => StoreError::other("SQLite failed"),
    };
    error.caused_by(e)
}

/// A timestamp as stored: microseconds since the epoch.
pub fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored timestamp back as a `DateTime`.
pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A stored JSON column back as a value; corrupt JSON is a store error, not a panic.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::other("corrupt JSON in the store").caused_by(e))
}

/// A value as a JSON column.
pub fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("store rows serialize to JSON")
}

/// The plan SQLite makes for `sql` on a fresh, migrated store, one line per step (each
/// parameter bound to 1: the plans tested here do not depend on the values).
#[cfg(test)]
pub fn query_plan(sql: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = connect(&dir.path().join("plan.db"), Duration::default()).unwrap();
    migrate(&mut conn).unwrap();
    let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let params = rusqlite::params_from_iter(std::iter::repeat_n(1, explain.parameter_count()));
    let steps = explain
        .query_map(params, |r| r.get::<_, String>(3))
        .unwrap();
    steps.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}
