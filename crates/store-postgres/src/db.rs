//! Pool, migrations and the one place where PostgreSQL errors become the store's own.

use chrono::Utc;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Timeouts};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Config, NoTls};
use trailspark_store::{StoreError, StoreResult};

use crate::PostgresOptions;

/// The embedded migrations, applied in order; names match the SQLite store's.
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
        "0005_template_versions",
        include_str!("../migrations/0005_template_versions.sql"),
    ),
    (
        6,
        "0006_delivery_log",
        include_str!("../migrations/0006_delivery_log.sql"),
    ),
    (
        7,
        "0007_folded_ids",
        include_str!("../migrations/0007_folded_ids.sql"),
    ),
    (
        8,
        "0008_admin_token_revocation",
        include_str!("../migrations/0008_admin_token_revocation.sql"),
    ),
    (
        9,
        "0009_tenant_counts",
        include_str!("../migrations/0009_tenant_counts.sql"),
    ),
    (
        10,
        "0010_search",
        include_str!("../migrations/0010_search.sql"),
    ),
    (
        11,
        "0011_changed_fields",
        include_str!("../migrations/0011_changed_fields.sql"),
    ),
    (
        12,
        "0012_write_probe",
        include_str!("../migrations/0012_write_probe.sql"),
    ),
    (
        13,
        "0013_key_tallies",
        include_str!("../migrations/0013_key_tallies.sql"),
    ),
    (
        14,
        "0014_log_reads",
        include_str!("../migrations/0014_log_reads.sql"),
    ),
    (
        15,
        "0015_history_age",
        include_str!("../migrations/0015_history_age.sql"),
    ),
    (
        16,
        "0016_signal_age",
        include_str!("../migrations/0016_signal_age.sql"),
    ),
];

/// What a migration needs of the store's code after its SQL, in the same transaction.
async fn after_migration(
    tx: &deadpool_postgres::Transaction<'_>,
    version: i64,
) -> Result<(), StoreError> {
    match version {
        13 => crate::tallies::fill(tx).await,
        _ => Ok(()),
    }
}

/// Any fixed number: the advisory lock under which instances migrate one at a time.
const MIGRATION_LOCK: i64 = 0x7472_6169_6c73;

/// Builds the pool for `url` (connections are made lazily, so this does not connect).
pub fn pool(url: &str, options: &PostgresOptions) -> Result<Pool, StoreError> {
    let mut config: Config = url
        .parse()
        .map_err(|e| StoreError::other("the PostgreSQL URL is not valid").caused_by(e))?;
    config.connect_timeout(options.connect_timeout);
    if config.get_application_name().is_none() {
        config.application_name("trailspark");
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(options.max_connections)
        .timeouts(Timeouts {
            wait: Some(options.acquire_timeout),
            create: Some(options.connect_timeout),
            recycle: Some(options.connect_timeout),
        })
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::other("cannot build the PostgreSQL pool").caused_by(e))
}

/// Brings the schema up to date, one instance at a time (advisory lock), refusing a
/// database written by a newer trailspark.
pub async fn migrate(pool: &Pool) -> Result<Vec<&'static str>, StoreError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_error)?;
    let result = apply_migrations(&mut client).await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let applied = result?;
    unlock.map_err(pg_error)?;
    Ok(applied)
}

async fn apply_migrations(
    client: &mut deadpool_postgres::Object,
) -> Result<Vec<&'static str>, StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .await
        .map_err(pg_error)?;
    let current: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::other(format!(
            "the database has schema version {current}, newer than this trailspark knows ({newest}); run a newer trailspark"
        )));
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = client.transaction().await.map_err(pg_error)?;
        tx.batch_execute(sql).await.map_err(pg_error)?;
        after_migration(&tx, *version).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[version, name, &Utc::now()],
        )
        .await
        .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        tracing::info!(version, name, "applied migration");
        applied.push(*name);
    }
    Ok(applied)
}

/// The statement for `sql`, prepared once per connection and then reused: a statement sent
/// as text would cost a second round trip (prepare, then execute) every time.
pub async fn prepared(
    c: &impl deadpool_postgres::GenericClient,
    sql: &str,
) -> Result<tokio_postgres::Statement, StoreError> {
    c.prepare_cached(sql).await.map_err(pg_error)
}

/// Takes the transaction-scoped advisory lock `key` unless another session holds it; whether
/// it did. Each instance sweeps on its own clock, and two deletes of the same rows in
/// different orders could deadlock each other: one sweeps at a time, the others skip a turn.
pub async fn try_sweep_lock(
    c: &impl deadpool_postgres::GenericClient,
    key: i64,
) -> Result<bool, StoreError> {
    let row = c
        .query_one(
            &prepared(c, "SELECT pg_try_advisory_xact_lock($1)").await?,
            &[&key],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.get(0))
}

/// What keeps autovacuum from trailspark's tables, each said as its setting: `autovacuum =
/// off` or `track_counts = off` for the server, `autovacuum_enabled = false` for a table (named).
/// The sweeps delete rows all day (remembered messageIds, the delivery log, history and signals
/// past their retention) and every update leaves a dead row version: without vacuum none of
/// that space is used again, and the database grows under steady traffic with its rows flat.
pub async fn unvacuumed(c: &impl deadpool_postgres::GenericClient) -> StoreResult<Vec<String>> {
    let row = c
        .query_one(
            "SELECT current_setting('autovacuum'), current_setting('track_counts'),
                 ARRAY(SELECT c.relname::text FROM pg_class c, unnest(c.reloptions) o
                       WHERE c.relnamespace = current_schema()::regnamespace
                         AND split_part(o, '=', 1) = 'autovacuum_enabled'
                         AND lower(split_part(o, '=', 2)) IN ('false', 'off', 'f', 'no', 'n', '0')
                       ORDER BY 1)",
            &[],
        )
        .await
        .map_err(pg_error)?;
    let mut off = Vec::new();
    for (setting, value) in [
        ("autovacuum", row.get::<_, String>(0)),
        ("track_counts", row.get(1)),
    ] {
        if value == "off" {
            off.push(format!("{setting} = off"));
        }
    }
    let tables: Vec<String> = row.get(2);
    off.extend(
        tables
            .iter()
            .map(|t| format!("autovacuum_enabled = false on table {t}")),
    );
    Ok(off)
}

/// Maps a driver error: lost connections, shutdowns, contention and exhausted resources are
/// `Unavailable` (the sender retries), a uniqueness violation is `Conflict`, the rest `Other`;
/// the driver's error (with PostgreSQL's own message) is kept as the cause.
pub fn pg_error(e: tokio_postgres::Error) -> StoreError {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection itself failed (refused, reset, closed).
        return StoreError::unavailable("no connection to PostgreSQL").caused_by(e);
    };
    let code = code.code().to_owned();
    let error = if code == SqlState::UNIQUE_VIOLATION.code() {
        StoreError::conflict(format!("PostgreSQL refused a duplicate ({code})"))
    } else if matches!(&code[..2], "08" | "40" | "53" | "57" | "58") {
        // 08 connection, 40 rollback (serialisation, deadlock), 53 resources, 57 operator
        // intervention (shutdown), 58 system error.
        StoreError::unavailable(format!("PostgreSQL cannot serve the request now ({code})"))
    } else {
        StoreError::other(format!("PostgreSQL refused the statement ({code})"))
    };
    error.caused_by(e)
}

/// A pool that cannot hand out a connection means the database cannot be reached in time.
pub fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => pg_error(e),
        other => StoreError::unavailable("no PostgreSQL connection free in time").caused_by(other),
    }
}

/// The settings of trailspark's sessions under which PostgreSQL answers a commit before it is
/// on disk, each with its value: `fsync = off` (nothing is flushed; a power loss can lose
/// acknowledged updates and corrupt the cluster) and `synchronous_commit = off` (a commit is
/// answered before its WAL is flushed; a power loss loses the last acknowledged updates).
/// Read per session, so a value set for the server, the database, the role or in the URL's
/// `options` is what counts.
pub async fn unsafe_settings(
    c: &impl deadpool_postgres::GenericClient,
) -> StoreResult<Vec<(&'static str, String)>> {
    let row = c
        .query_one(
            "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
            &[],
        )
        .await
        .map_err(pg_error)?;
    let (fsync, synchronous_commit): (String, String) = (row.get(0), row.get(1));
    let mut unsafe_ones = Vec::new();
    if fsync == "off" {
        unsafe_ones.push(("fsync", fsync));
    }
    if synchronous_commit == "off" {
        unsafe_ones.push(("synchronous_commit", synchronous_commit));
    }
    Ok(unsafe_ones)
}
