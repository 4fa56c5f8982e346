//! A database written by an earlier schema opens with what it held intact: migration 5 gives
//! every key its template's versions; migration 6 replaces the old delivery log with the
//! durable one, empty; migration 8 gives every admin token an id; migration 9 counts the rows
//! held and finds their possible duplicates; migration 13 tallies the log it finds.

use trailspark_core::credentials::hash_credential;
use trailspark_core::{ApiKeyId, Subdomain};
use trailspark_store::{DeliveryQuery, Store, TemplateVersion, TenantCounts};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_postgres::{PostgresOptions, PostgresStore};

const VERSION_4: [&str; 4] = [
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_leads.sql"),
    include_str!("../migrations/0003_users.sql"),
    include_str!("../migrations/0004_deliveries.sql"),
];

#[tokio::test]
async fn a_key_made_before_template_versions_has_its_template_as_version_1() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (
                 version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)",
        )
        .await
        .unwrap();
    for (n, sql) in VERSION_4.iter().enumerate() {
        client.batch_execute(sql).await.unwrap();
        client
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
                &[&(n as i64 + 1), &format!("migration {}", n + 1)],
            )
            .await
            .unwrap();
    }
    client
        .batch_execute(
            r#"
            INSERT INTO tenants (subdomain, name, created_at)
                VALUES ('default', 'Default', '2023-11-14T22:13:20Z');
            INSERT INTO api_keys (tenant_id, id, name, endpoint_type, prefix, key_hash, template,
                    created_at)
                SELECT id, 'key_old', 'old', 'product-org-updates', 'tsk_po_ab', '\x00',
                       '{"productOrgId":"groupId"}', '2023-11-14T22:13:20.123456Z' FROM tenants;
            INSERT INTO deliveries (tenant_id, key_id, at, status, subject, changed)
                SELECT id, 'key_old', '2023-11-14T22:13:20Z', 200, 'ws_1', true FROM tenants;
            INSERT INTO admin_tokens (tenant_id, token_hash, created_at)
                SELECT id, sha256('tsa_old'::bytea), '2023-11-14T22:13:20Z' FROM tenants;
            INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at)
                SELECT id, n, 'T', now(), now() FROM tenants, generate_series(1, 4) n;
            INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, fields,
                    field_clock, version, created_at, updated_at)
                SELECT id, o, 1, '{}', '{}', 1, now(), now()
                FROM tenants, unnest(ARRAY['ws_a', 'WS_A ', 'ws_b']) o;
            INSERT INTO leads (tenant_id, lead_id, created_at, updated_at)
                SELECT id, 'lead_1', now(), now() FROM tenants;
            "#,
        )
        .await
        .unwrap();

    let store = PostgresStore::connect(&database.url, PostgresOptions::default())
        .await
        .unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        [
            "0005_template_versions",
            "0006_delivery_log",
            "0007_folded_ids",
            "0008_admin_token_revocation",
            "0009_tenant_counts",
            "0010_search",
            "0011_changed_fields",
            "0012_write_probe",
            "0013_key_tallies",
            "0014_log_reads",
            "0015_history_age",
            "0016_signal_age"
        ]
    );
    let tenant = store
        .tenant_by_subdomain(&Subdomain::parse("default").unwrap())
        .await
        .unwrap();
    let id = ApiKeyId("key_old".into());
    let key = store.api_key(tenant.id, &id).await.unwrap();
    assert_eq!(
        (key.template.as_str(), key.template_version),
        (r#"{"productOrgId":"groupId"}"#, 1)
    );
    let versions = store.template_versions(tenant.id, &id).await.unwrap();
    assert_eq!(
        versions,
        [TemplateVersion {
            version: 1,
            template: key.template.clone(),
            created_at: key.created_at,
            created_by: "key creation".into(),
        }],
        "its one template is version 1, from when the key was made"
    );
    let next = store
        .set_template(tenant.id, &id, r#"{"productOrgId":"id"}"#, "test")
        .await
        .unwrap();
    assert_eq!(next.version, 2, "and changes go on from there");
    let log = store
        .deliveries(tenant.id, &id, &DeliveryQuery::default())
        .await
        .unwrap();
    assert!(
        log.items.is_empty(),
        "the old log's entries go with its table"
    );
    // Migration 8: an admin token made before tokens had ids keeps working and gets one.
    let token = store
        .admin_token_by_hash(&hash_credential("tsa_old"))
        .await
        .unwrap()
        .expect("the old admin token is still found");
    assert!(
        token.id.0.starts_with("adm_") && token.id.0.len() == 20,
        "{token:?}"
    );
    assert_eq!(
        (token.tenant_id, token.name.as_deref(), token.revoked_at),
        (tenant.id, None, None)
    );
    let revoked = store
        .revoke_admin_token(tenant.id, &token.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some(), "and can be revoked by it");
    // Migration 9: the counts and the possible duplicates of the rows held before.
    assert_eq!(
        store.tenant_counts(tenant.id).await.unwrap(),
        TenantCounts {
            product_orgs: 3,
            target_orgs: 4,
            leads: 1
        }
    );
    let groups = store.possible_duplicates(tenant.id, 10).await.unwrap();
    let ids: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.iter().map(|o| o.product_org_id.as_str()).collect())
        .collect();
    assert_eq!(ids, [["WS_A ", "ws_a"]]);
    store.close().await;
}

#[tokio::test]
async fn the_tallies_start_from_the_log_as_the_writers_would_have_counted_it() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let open = || async {
        let store = PostgresStore::connect(&database.url, PostgresOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn Store>
    };
    let store = open().await;
    let (tenant, key) = trailspark_store_contract::a_key_with_a_mixed_log(&store).await;
    let written = trailspark_store_contract::the_last_day_of(store.as_ref(), tenant, &key).await;
    assert_eq!(written.refusals.len(), 2, "{written:?}");
    // With it, more entries than the migration reads in a page (10,000).
    let (long_tenant, long_key) =
        trailspark_store_contract::a_key_with_a_long_log(&store, 10).await;
    let long =
        trailspark_store_contract::the_last_day_of(store.as_ref(), long_tenant, &long_key).await;
    drop(store);

    // The database as the trailspark before tallies left it: the same log, no tallies.
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "DROP TABLE key_tallies; DROP INDEX deliveries_refused, deliveries_kept;
             DROP INDEX product_org_history_age, signals_received;
             DELETE FROM schema_migrations WHERE version >= 13",
        )
        .await
        .unwrap();
    let store = PostgresStore::connect(&database.url, PostgresOptions::default())
        .await
        .unwrap();
    assert_eq!(
        store.migrate().await.unwrap(),
        [
            "0013_key_tallies",
            "0014_log_reads",
            "0015_history_age",
            "0016_signal_age"
        ]
    );
    let filled = trailspark_store_contract::the_last_day_of(&store, tenant, &key).await;
    assert_eq!(filled, written);
    let filled = trailspark_store_contract::the_last_day_of(&store, long_tenant, &long_key).await;
    assert_eq!(filled, long, "a log longer than a page is counted whole");
}
