//! `--database`: which store a command opens.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use trailspark_core::step::DedupeWindow;
use trailspark_core::Subdomain;
use trailspark_store::{Store, StoreError, Tenant};
use trailspark_store_postgres::{PostgresOptions, PostgresStore};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

/// The store when none is named: `serve`'s in the folder it runs in.
const DEFAULT_DATABASE: &str = "./data/trailspark.db";

/// Store options shared by every command.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The store: a SQLite file (`sqlite://PATH` or a plain path), or `postgres://…` for a
    /// PostgreSQL database shared by several instances. A SQLite file's folder is created
    /// when missing. Default: ./data/trailspark.db, which only `serve` creates (the other
    /// commands use it once it exists, and say where they looked when it does not).
    #[arg(
        long,
        global = true,
        env = "TRAILSPARK_DATABASE_URL",
        value_name = "URL"
    )]
    pub database: Option<String>,
    /// How long a SQLite write waits for a lock held by another process before the request
    /// is answered 503 (milliseconds).
    #[arg(
        long,
        global = true,
        env = "TRAILSPARK_SQLITE_BUSY_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub sqlite_busy_timeout_ms: u64,
    /// Most PostgreSQL connections this process opens.
    #[arg(
        long,
        global = true,
        env = "TRAILSPARK_PG_MAX_CONNECTIONS",
        default_value_t = 16
    )]
    pub pg_max_connections: usize,
    /// How long connecting to PostgreSQL may take before the store counts as unreachable
    /// (milliseconds; requests meanwhile are answered 503).
    #[arg(
        long,
        global = true,
        env = "TRAILSPARK_PG_CONNECT_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub pg_connect_timeout_ms: u64,
    /// How long a request waits for a free PostgreSQL connection before it is answered 503
    /// (milliseconds).
    #[arg(
        long,
        global = true,
        env = "TRAILSPARK_PG_ACQUIRE_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub pg_acquire_timeout_ms: u64,
    /// Most write requests committed together in one transaction (group commit). Requests
    /// never wait for a batch to fill: a batch is whatever is waiting when the last commit
    /// ends. A batch also takes no more requests once it holds 2,000 updates or signals (1,000
    /// on PostgreSQL).
    #[arg(long, global = true, env = "TRAILSPARK_BATCH_MAX", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub batch_max: u32,
    /// Most write requests waiting for the store; beyond it requests are answered 503 with
    /// Retry-After instead of piling up in memory (on PostgreSQL, this many requests of
    /// product org updates and as many of signals).
    #[arg(long, global = true, env = "TRAILSPARK_WRITE_QUEUE", default_value_t = 16_384,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub write_queue: u32,
    /// Size (MiB) of SQLite's write-ahead log at which it starts over. Its pages are copied
    /// into the database file from a quarter of this size on, in passes as it grows; at four
    /// times this size writes wait for the copy. Larger means fewer pauses of the writer as the
    /// log starts over (two fsyncs each, what the slowest requests wait for under load), for
    /// more disk and a longer recovery after a crash.
    #[arg(long, global = true, env = "TRAILSPARK_SQLITE_CHECKPOINT_MIB", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=4_096))]
    pub sqlite_checkpoint_mib: u32,
    /// Memory (MiB) for the pages of the SQLite file its writer keeps (SQLite's page cache). A
    /// batch of writes touching more pages than this writes some into the write-ahead log
    /// before it commits, and a page not kept is read from the file again: more helps batches
    /// of updates spread over many orgs.
    #[arg(long, global = true, env = "TRAILSPARK_SQLITE_PAGE_CACHE_MIB", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub sqlite_page_cache_mib: u32,
    /// Memory (MiB) for the product orgs SQLite's writer keeps as it last wrote them, so that
    /// an update of one of them reads nothing from the file. About 1 KiB an org with a dozen
    /// fields: the default holds some 8,000 (all of a smaller store; at a million orgs
    /// updated at random, a cache of any size hits rarely and the file's own pages serve).
    #[arg(long, global = true, env = "TRAILSPARK_SQLITE_ORG_CACHE_MIB", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(0..=65_536))]
    pub sqlite_org_cache_mib: u32,
    /// Transactions committing product org updates at once on PostgreSQL, and as many again
    /// committing signals (each holds one of the --pg-max-connections while it commits). One
    /// at a time runs its statements, for up to 100 ms, while the others wait for their
    /// commits: what arrives meanwhile goes in one batch.
    #[arg(long, global = true, env = "TRAILSPARK_PG_WRITERS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub pg_writers: u32,
    /// How long a messageId is remembered, as a duration ("24h", "30m"): an update or signal
    /// repeating a messageId its key sent within it is not applied again (SPEC: 24 hours).
    /// Each remembered messageId is a row, so a store taking 1,000 updates a second holds 86
    /// million of them at 24h; shorten it when senders retry within less.
    #[arg(long, global = true, env = "TRAILSPARK_DEDUPE_WINDOW", default_value = "24h",
          value_parser = super::duration::parse_positive)]
    pub dedupe_window: Duration,
}

/// Says, loudly, when PostgreSQL would answer a commit before it is on disk: trailspark
/// answers 200 only for a committed update, and that promise then does not hold across a power
/// loss. A warning, not a refusal: such settings are a fair choice for a throwaway test server.
async fn warn_unless_durable(store: &PostgresStore) {
    match store.unsafe_settings().await {
        Ok(settings) => {
            for (setting, value) in settings {
                tracing::warn!(
                    "PostgreSQL runs trailspark's sessions with `{setting} = {value}`: a commit \
                     is acknowledged before it is on disk, so a power loss can lose updates \
                     already answered 200. Set `{setting} = on` (postgresql.conf, ALTER DATABASE \
                     or ALTER ROLE, and not in the URL's options) for a store you keep."
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read PostgreSQL's durability settings"),
    }
}

/// Says when autovacuum cannot reach trailspark's tables: the store then grows without
/// bound under steady traffic however short its retentions, a slow failure worth a line at
/// every start.
async fn warn_unless_vacuumed(store: &PostgresStore) {
    match store.unvacuumed().await {
        Ok(off) => {
            for setting in off {
                tracing::warn!(
                    "PostgreSQL runs with `{setting}`: the rows trailspark removes (remembered \
                     messageIds, the delivery log, history and signals past their retention) \
                     and the old versions of updated rows are never vacuumed, so the database \
                     grows without bound under steady traffic. Turn autovacuum on, or VACUUM \
                     the database regularly."
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read PostgreSQL's autovacuum settings"),
    }
}

impl DatabaseArgs {
    /// Opens the store, migrating it if needed; a store named with `--database` (or
    /// `TRAILSPARK_DATABASE_URL`) is created if it does not exist, the default one only by
    /// `serve` ([`DatabaseArgs::create_or_open`]).
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        self.refuse_a_new_default_store()?;
        self.create_or_open().await
    }

    /// Opens the store, creating (SQLite) and migrating it if needed: `serve`'s first start.
    pub async fn create_or_open(&self) -> anyhow::Result<Arc<dyn Store>> {
        match self.backend()? {
            Backend::Postgres(url) => {
                let store = self.connect_postgres(&url).await?;
                store.migrate().await.with_context(|| {
                    format!("cannot migrate the PostgreSQL store at {}", redact(&url))
                })?;
                warn_unless_durable(&store).await;
                warn_unless_vacuumed(&store).await;
                Ok(Arc::new(store))
            }
            Backend::Sqlite(path) => {
                let options = SqliteOptions {
                    busy_timeout: Duration::from_millis(self.sqlite_busy_timeout_ms),
                    max_batch: self.batch_max as usize,
                    queue_capacity: self.write_queue as usize,
                    // 4 KiB pages.
                    checkpoint_frames: i64::from(self.sqlite_checkpoint_mib) * 256,
                    page_cache_bytes: (self.sqlite_page_cache_mib as usize) << 20,
                    org_cache_bytes: (self.sqlite_org_cache_mib as usize) << 20,
                    dedupe_window: self.dedupe_window(),
                };
                let store = SqliteStore::open(&path, options).await.with_context(|| {
                    format!("cannot open the SQLite store at {}", path.display())
                })?;
                Ok(Arc::new(store))
            }
        }
    }

    /// Copies a SQLite store to `to` while it may be in use (`trailspark backup`).
    pub async fn backup(&self, to: &std::path::Path) -> anyhow::Result<()> {
        match self.backend()? {
            Backend::Postgres(_) => bail!(
                "trailspark backup copies SQLite stores; back up PostgreSQL with pg_dump \
                 (e.g. `pg_dump --format=custom --file trailspark.dump \"$TRAILSPARK_DATABASE_URL\"`)"
            ),
            Backend::Sqlite(path) => {
                self.refuse_a_new_default_store()?;
                let options = SqliteOptions {
                    busy_timeout: Duration::from_millis(self.sqlite_busy_timeout_ms),
                    ..SqliteOptions::default()
                };
                let store = SqliteStore::open(&path, options).await.with_context(|| {
                    format!("cannot open the SQLite store at {}", path.display())
                })?;
                let done = store.backup(to).await;
                store.close().await;
                done.with_context(|| format!("cannot back up to {}", to.display()))
            }
        }
    }

    /// Applies pending migrations and says which (`trailspark migrate`).
    pub async fn migrate(&self) -> anyhow::Result<Vec<&'static str>> {
        match self.backend()? {
            Backend::Postgres(url) => {
                let store = self.connect_postgres(&url).await?;
                let applied = store.migrate().await.with_context(|| {
                    format!("cannot migrate the PostgreSQL store at {}", redact(&url))
                })?;
                store.close().await;
                Ok(applied)
            }
            // SQLite migrates whenever it is opened.
            Backend::Sqlite(_) => {
                self.open().await?.close().await;
                Ok(Vec::new())
            }
        }
    }

    /// A command run in another folder than `serve`'s would otherwise make a second, empty
    /// store there, and keys made in it are unknown to the running server (401).
    fn refuse_a_new_default_store(&self) -> anyhow::Result<()> {
        if self.database.is_some() {
            return Ok(());
        }
        let Backend::Sqlite(path) = self.backend()? else {
            return Ok(());
        };
        if path.exists() {
            return Ok(());
        }
        let looked = std::path::absolute(&path).unwrap_or(path);
        bail!(
            "there is no trailspark store at {} (the default, {DEFAULT_DATABASE} in the current \
             folder), and only `trailspark serve` creates one there. Point this command at the \
             store `serve` uses: run it in the folder `serve` runs in, or give --database PATH \
             (or a postgres:// URL), or set TRAILSPARK_DATABASE_URL. To start a new store \
             here, run `trailspark serve` here first.",
            looked.display()
        )
    }

    fn dedupe_window(&self) -> DedupeWindow {
        chrono::Duration::from_std(self.dedupe_window)
            .ok()
            .and_then(DedupeWindow::new)
            .unwrap_or_default()
    }

    fn backend(&self) -> anyhow::Result<Backend> {
        let url = self.database.as_deref().unwrap_or(DEFAULT_DATABASE).trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_owned()));
        }
        let path = PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url));
        if path.as_os_str().is_empty() {
            bail!("--database is empty: give a SQLite file path such as ./data/trailspark.db or a postgres:// URL");
        }
        Ok(Backend::Sqlite(path))
    }

    async fn connect_postgres(&self, url: &str) -> anyhow::Result<PostgresStore> {
        let options = PostgresOptions {
            max_connections: self.pg_max_connections.max(1),
            connect_timeout: Duration::from_millis(self.pg_connect_timeout_ms),
            acquire_timeout: Duration::from_millis(self.pg_acquire_timeout_ms),
            writers: self.pg_writers as usize,
            max_batch: self.batch_max as usize,
            queue_capacity: self.write_queue as usize,
            dedupe_window: self.dedupe_window(),
            ..PostgresOptions::default()
        };
        PostgresStore::connect(url, options).await.map_err(|e| {
            let text = e.to_string();
            let hint = if text.contains("28P01")
                || text.contains("28000")
                || text.contains("password")
            {
                "the user or password was refused; check the URL's credentials"
            } else if text.contains("3D000") {
                "the database does not exist; create it (e.g. `createdb trailspark`) or fix the URL"
            } else {
                "is PostgreSQL running and reachable at that host and port?"
            };
            anyhow::anyhow!(
                "cannot connect to PostgreSQL at {}: {text} ({hint})",
                redact(url)
            )
        })
    }
}

enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    super::config::redact_url(url)
}

/// Finds a tenant by subdomain, with an error that says how to create one.
pub async fn find_tenant(store: &dyn Store, subdomain: &str) -> anyhow::Result<Tenant> {
    let parsed = Subdomain::parse(subdomain)?;
    match store.tenant_by_subdomain(&parsed).await {
        Ok(t) => Ok(t),
        Err(StoreError::NotFound(_)) => bail!(
            "there is no tenant {subdomain:?}; create it with `trailspark tenant create {subdomain}`"
        ),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/ts"),
            "postgres://app:***@db:5432/ts"
        );
        assert_eq!(redact("postgres://app@db/ts"), "postgres://app@db/ts");
        assert_eq!(redact("postgres://db/ts"), "postgres://db/ts");
    }
}
