//! The Store contract, run against a fresh PostgreSQL database per case. Needs
//! TRAILSPARK_TEST_POSTGRES_URL; without it each case says it was skipped.

use std::sync::Arc;

use trailspark_store::Store;
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::store_contract_tests;
use trailspark_store_postgres::{PostgresOptions, PostgresStore};

async fn open() -> Option<(Arc<dyn Store>, TestDatabase)> {
    let database = TestDatabase::create().await?;
    let store = PostgresStore::connect(&database.url, PostgresOptions::default())
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Some((Arc::new(store), database))
}

store_contract_tests!(open());
