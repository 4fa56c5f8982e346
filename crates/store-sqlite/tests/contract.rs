//! The Store contract, run against a fresh SQLite file per case.

use std::sync::Arc;

use trailspark_store::Store;
use trailspark_store_contract::store_contract_tests;
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

async fn open() -> Option<(Arc<dyn Store>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("contract.db"), SqliteOptions::default())
        .await
        .expect("open store");
    Some((Arc::new(store), dir))
}

store_contract_tests!(open());
