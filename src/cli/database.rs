//! `--database`: which store a command opens.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use trailspark_core::Subdomain;
use trailspark_store::{Store, StoreError, Tenant};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

/// Store options shared by every command.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// The store: a SQLite file (`sqlite://PATH` or a plain path) or `postgres://…`.
    #[arg(
        long,
        global = true,
        env = "TRAILSPARK_DATABASE_URL",
        default_value = "./data/trailspark.db"
    )]
    pub database: String,
    /// How long a SQLite write waits for a lock held by another process before the request
    /// is answered 503 (milliseconds).
    #[arg(
        long,
        global = true,
        env = "TRAILSPARK_SQLITE_BUSY_TIMEOUT_MS",
        default_value_t = 5000
    )]
    pub sqlite_busy_timeout_ms: u64,
}

impl DatabaseArgs {
    /// Opens the store, creating and migrating it if needed.
    pub async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        let url = self.database.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            bail!("PostgreSQL stores are not supported by this build yet; use a SQLite file path");
        }
        let path = PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url));
        if path.as_os_str().is_empty() {
            bail!("--database is empty: give a SQLite file path such as ./data/trailspark.db");
        }
        let options = SqliteOptions {
            busy_timeout: Duration::from_millis(self.sqlite_busy_timeout_ms),
            ..SqliteOptions::default()
        };
        let store = SqliteStore::open(&path, options)
            .await
            .with_context(|| format!("cannot open the SQLite store at {}", path.display()))?;
        Ok(Arc::new(store))
    }
}

/// Finds a tenant by subdomain, with an error that says how to create one.
pub async fn find_tenant(store: &dyn Store, subdomain: &str) -> anyhow::Result<Tenant> {
    let parsed = Subdomain::parse(subdomain)?;
    match store.tenant_by_subdomain(&parsed).await {
        Ok(t) => Ok(t),
        Err(StoreError::NotFound) => bail!(
            "there is no tenant {subdomain:?}; create it with `trailspark tenant create {subdomain}`"
        ),
        Err(e) => Err(e.into()),
    }
}
