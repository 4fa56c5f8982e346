//! The schema stays distributable by tenant (Citus): every tenant-owned table leads its
//! primary key with tenant_id and every unique index includes it.

use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_postgres::{PostgresOptions, PostgresStore};

/// Tables that are not tenant-owned: replicated whole (reference tables) when distributed.
const GLOBAL: [&str; 3] = ["tenants", "revisions", "schema_migrations"];

#[tokio::test]
async fn every_tenant_table_is_keyed_by_tenant_first() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = PostgresStore::connect(&database.url, PostgresOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT t.relname::text, i.indisprimary,
                    (SELECT array_agg(a.attname::text ORDER BY k.ord)
                     FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum)
             FROM pg_index i
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public' AND (i.indisprimary OR i.indisunique)",
            &[],
        )
        .await
        .unwrap();
    let mut tables = std::collections::BTreeSet::new();
    for row in rows {
        let (table, primary, columns): (String, bool, Vec<String>) =
            (row.get(0), row.get(1), row.get(2));
        if GLOBAL.contains(&table.as_str()) {
            continue;
        }
        tables.insert(table.clone());
        if primary {
            assert_eq!(
                columns.first().map(String::as_str),
                Some("tenant_id"),
                "{table}: primary key {columns:?}"
            );
        } else {
            assert!(
                columns.iter().any(|c| c == "tenant_id"),
                "{table}: unique index {columns:?} lacks tenant_id"
            );
        }
    }
    let expected = [
        "admin_tokens",
        "api_keys",
        "deliveries",
        "key_tallies",
        "leads",
        "processed_messages",
        "product_org_duplicates",
        "product_org_history",
        "product_orgs",
        "sessions",
        "signals",
        "target_orgs",
        "template_versions",
        "tenant_counts",
        "users",
        "webhook_ids",
    ];
    assert_eq!(
        tables.into_iter().collect::<Vec<_>>(),
        expected,
        "every tenant table was checked"
    );
}
