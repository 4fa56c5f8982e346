//! A store written by an earlier schema opens with what it held intact: migration 5 reshapes
//! the history and dedupe tables, migration 6 gives every key its template's versions,
//! migration 9 every admin token an id, migration 10 the delivery log's rows chunks,
//! migration 11 counts the rows held and finds their possible duplicates, migration 14
//! tallies the log it finds (migration 15: tests/migration_chunks.rs).

use rusqlite::Connection;
use trailspark_core::credentials::hash_credential;
use trailspark_core::{ApiKeyId, FieldPatch, ProductOrgId, Subdomain, Update};
use trailspark_store::{IngestRequest, IngestResult, PageRequest, Store, TemplateVersion};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

const VERSION_4: [&str; 4] = [
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_leads.sql"),
    include_str!("../migrations/0003_users.sql"),
    include_str!("../migrations/0004_deliveries.sql"),
];

/// A store at the schema of `migrations` (1 onwards), as that trailspark left it.
fn store_at(path: &std::path::Path, migrations: &[&str]) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .unwrap();
    for (n, sql) in migrations.iter().enumerate() {
        conn.execute_batch(sql).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, 0)",
            (n as i64 + 1, format!("migration {}", n + 1)),
        )
        .unwrap();
    }
    conn
}

/// A version-4 store: tenant 1 with two product orgs (three versions of `ws_a`, one of
/// `ws_b`) and a dedupe row for messageId `m-1`.
fn version_4_store(path: &std::path::Path) {
    let conn = store_at(path, &VERSION_4);
    conn.execute_batch(
        r#"
        INSERT INTO tenants (id, subdomain, name, created_at, next_target_org_id)
            VALUES (1, 'default', 'Default', 0, 3);
        INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at)
            VALUES (1, 1, 'A', 0, 0), (1, 2, 'B', 0, 0);
        INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, name, fields,
                field_clock, version, created_at, updated_at)
            VALUES (1, 'ws_a', 1, 'A', '{"name":"A","planId":"enterprise","planName":null}',
                    '{"name":1000000,"planId":3000000}', 3, 1000000, 3000000),
                   (1, 'ws_b', 2, 'B', '{"name":"B"}', '{"name":1000000}', 1, 1000000, 1000000);
        INSERT INTO product_org_history (tenant_id, product_org_id, version, changes, key_id,
                event_at, received_at)
            VALUES (1, 'ws_b', 1, '[{"field":"name","old":null,"new":"B"}]', 'key_1', NULL, 1000000),
                   (1, 'ws_a', 2, '[{"field":"planId","old":null,"new":"pro"}]', 'key_1', NULL, 2000000),
                   (1, 'ws_a', 1, '[{"field":"name","old":null,"new":"A"}]', 'key_1', NULL, 1000000),
                   (1, 'ws_a', 3, '[{"field":"planId","old":"pro","new":"enterprise"}]', 'key_1', NULL, 3000000);
        "#,
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp_micros();
    conn.execute(
        "INSERT INTO processed_messages (tenant_id, key_id, message_id, outcome, processed_at)
         VALUES (1, 'key_1', 'm-1',
                 '{\"productOrgId\":\"ws_a\",\"targetOrgId\":1,\"isNewOrg\":false,\"changed\":true}', ?1)",
        [now],
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_4_store_keeps_its_history_and_dedupe_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    version_4_store(&path);
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let tenant = store
        .tenant_by_subdomain(&Subdomain::parse("default").unwrap())
        .await
        .unwrap();
    let ws_a = ProductOrgId::parse("ws_a").unwrap();

    // History, newest first, two to a page, along the links migration 5 made.
    let first = store
        .product_org_history(
            tenant.id,
            &ws_a,
            &PageRequest {
                cursor: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    let versions: Vec<i64> = first.items.iter().map(|e| e.version).collect();
    assert_eq!(versions, [3, 2]);
    let rest = store
        .product_org_history(
            tenant.id,
            &ws_a,
            &PageRequest {
                cursor: first.next_cursor.clone(),
                limit: 2,
            },
        )
        .await
        .unwrap();
    let versions: Vec<i64> = rest.items.iter().map(|e| e.version).collect();
    assert_eq!(versions, [1], "ws_b's row is not in ws_a's history");
    assert!(rest.next_cursor.is_none());
    assert_eq!(rest.items[0].changes[0].field, "name");

    // The dedupe row still answers a retry with the first outcome.
    let retry = IngestRequest {
        log: None,
        key_id: ApiKeyId("key_1".into()),
        received_at: chrono::Utc::now(),
        webhook_id: None,
        updates: vec![Update {
            product_org_id: ws_a.clone(),
            patches: vec![FieldPatch::PlanId(Some("basic".into()))],
            event_at: None,
            message_id: Some("m-1".into()),
            warnings: Vec::new(),
        }],
    };
    let IngestResult::Applied(results) = store.ingest(tenant.id, retry).await.unwrap() else {
        panic!("replayed");
    };
    let outcome = results[0].as_ref().unwrap();
    assert!(outcome.duplicate && outcome.changed && !outcome.is_new_org);
    let org = store.product_org(tenant.id, &ws_a).await.unwrap();
    assert_eq!(
        org.fields.plan_id.as_deref(),
        Some("enterprise"),
        "not applied again"
    );

    // A new update goes on from version 3, and its history links to the migrated rows.
    let update = IngestRequest {
        log: None,
        key_id: ApiKeyId("key_1".into()),
        received_at: chrono::Utc::now(),
        webhook_id: None,
        updates: vec![Update {
            product_org_id: ws_a.clone(),
            patches: vec![FieldPatch::PlanId(Some("basic".into()))],
            event_at: None,
            message_id: Some("m-2".into()),
            warnings: Vec::new(),
        }],
    };
    store.ingest(tenant.id, update).await.unwrap();
    let all = store
        .product_org_history(
            tenant.id,
            &ws_a,
            &PageRequest {
                cursor: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    let versions: Vec<i64> = all.items.iter().map(|e| e.version).collect();
    assert_eq!(versions, [4, 3, 2, 1]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_made_before_template_versions_has_its_template_as_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.db");
    let mut migrations = VERSION_4.to_vec();
    migrations.push(include_str!("../migrations/0005_append_only.sql"));
    let conn = store_at(&path, &migrations);
    conn.execute_batch(
        r#"
        INSERT INTO tenants (id, subdomain, name, created_at) VALUES (1, 'default', 'Default', 0);
        INSERT INTO api_keys (tenant_id, id, name, endpoint_type, prefix, key_hash, template,
                created_at)
            VALUES (1, 'key_old', 'old', 'product-org-updates', 'tsk_po_ab', x'00',
                    '{"productOrgId":"groupId"}', 1700000000000000);
        "#,
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
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
    store.close().await;
}

/// Migration 9: an admin token made before tokens had ids keeps working, gets one, and can be
/// revoked by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_token_made_before_ids_keeps_working_and_gets_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.db");
    let mut migrations = VERSION_4.to_vec();
    migrations.extend([
        include_str!("../migrations/0005_append_only.sql"),
        include_str!("../migrations/0006_template_versions.sql"),
        include_str!("../migrations/0007_delivery_log.sql"),
        include_str!("../migrations/0008_folded_ids.sql"),
    ]);
    let conn = store_at(&path, &migrations);
    conn.execute(
        "INSERT INTO tenants (id, subdomain, name, created_at) VALUES (1, 'default', 'Default', 0)",
        [],
    )
    .unwrap();
    for text in ["tsa_old", "tsa_older"] {
        conn.execute(
            "INSERT INTO admin_tokens (tenant_id, token_hash, created_at) VALUES (1, ?1, 1700000000000000)",
            [&hash_credential(text)[..]],
        )
        .unwrap();
    }
    drop(conn);
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
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
        (token.tenant_id.0, token.name.as_deref(), token.revoked_at),
        (1, None, None)
    );
    assert_eq!(token.created_at.timestamp(), 1_700_000_000);
    let listed = store.list_admin_tokens(token.tenant_id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_ne!(listed[0].id, listed[1].id, "each token its own id");
    let revoked = store
        .revoke_admin_token(token.tenant_id, &token.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some(), "and can be revoked by it");
    store.close().await;
}

/// Migration 10 turns each entry of the delivery log into a chunk of one: every entry reads
/// back the same, with its payload, at id × 4096 (a replay's link too), and new entries come
/// after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_log_of_rows_reads_back_from_chunks() {
    use trailspark_store::{DeliveryQuery, Intake, NewDelivery, Outcome, RequestLog, Verdict};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.db");
    let migrations = [
        VERSION_4.as_slice(),
        &[
            include_str!("../migrations/0005_append_only.sql"),
            include_str!("../migrations/0006_template_versions.sql"),
            include_str!("../migrations/0007_delivery_log.sql"),
            include_str!("../migrations/0008_folded_ids.sql"),
        ],
    ]
    .concat();
    let conn = store_at(&path, &migrations);
    conn.execute_batch(
        r#"
        INSERT INTO tenants (id, subdomain, name, created_at) VALUES (1, 'default', 'Default', 0);
        INSERT INTO api_keys (tenant_id, id, name, endpoint_type, prefix, key_hash, template,
                created_at)
            VALUES (1, 'key_1', 'k', 'product-org-updates', 'tsk_po_ab', x'00',
                    '{"productOrgId":"groupId"}', 1700000000000000);
        INSERT INTO deliveries (id, tenant_id, key_id, request_id, idx, received_at, intake,
                status, outcome, code, message, product_org_id, lead_id, target_org_id, changed,
                unchanged_reason, warnings, template_version, payload, replay_of)
            VALUES (7, 1, 'key_1', 'req-a', NULL, 1700000000000001, 'webhook', 422, 'refused',
                    'unresolved_path', 'no "groupId" in the payload', NULL, NULL, NULL, 0,
                    NULL, NULL, 1, '{"id":"ws_a"}', NULL),
                   (8, 1, 'key_1', 'req-b', 2, 1700000000000002, 'segment', 200, 'applied',
                    NULL, NULL, 'ws_a', NULL, 3, 1, NULL, '[{"code":"x"}]', 2, NULL, 7);
        "#,
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let key = ApiKeyId("key_1".into());
    let tenant = trailspark_core::TenantId(1);
    let everything = DeliveryQuery {
        page: PageRequest {
            cursor: None,
            limit: 50,
        },
        ..DeliveryQuery::default()
    };
    let all = store.deliveries(tenant, &key, &everything).await.unwrap();
    let ids: Vec<i64> = all.items.iter().map(|d| d.id).collect();
    assert_eq!(ids, [8 * 4096, 7 * 4096], "newest first");
    let refused = store.delivery(tenant, 7 * 4096).await.unwrap();
    assert_eq!(refused.key_id, key);
    let row = &refused.row;
    assert_eq!(
        (row.request_id.as_str(), row.index, row.status, row.outcome),
        ("req-a", None, 422, Outcome::Refused)
    );
    assert_eq!(row.received_at.timestamp_micros(), 1_700_000_000_000_001);
    assert_eq!(
        (row.code.as_deref(), row.message.as_deref()),
        (
            Some("unresolved_path"),
            Some(r#"no "groupId" in the payload"#)
        )
    );
    assert_eq!(row.payload.as_deref(), Some(r#"{"id":"ws_a"}"#));
    assert!(!row.changed && row.product_org_id.is_none());
    let replay = &all.items[0].row;
    assert_eq!(
        (replay.intake, replay.index, replay.replay_of),
        (Intake::Segment, Some(2), Some(7 * 4096))
    );
    assert_eq!(
        (
            replay.product_org_id.as_deref(),
            replay.target_org_id.map(|t| t.0),
            replay.changed,
            replay.warnings.as_deref(),
            replay.template_version,
            replay.payload.as_deref()
        ),
        (
            Some("ws_a"),
            Some(3),
            true,
            Some(r#"[{"code":"x"}]"#),
            2,
            None
        )
    );

    // A new entry comes after the migrated ones.
    let request = IngestRequest {
        key_id: key.clone(),
        received_at: chrono::Utc::now(),
        webhook_id: None,
        updates: Vec::new(),
        log: Some(RequestLog {
            request_id: "req-c".into(),
            intake: Intake::Webhook,
            template_version: 2,
            replay_of: None,
            entries: vec![NewDelivery {
                index: None,
                payload: Some("{}".into()),
                verdict: Verdict::Refused(trailspark_store::Refusal {
                    status: 400,
                    code: "invalid_json".into(),
                    message: "not JSON".into(),
                }),
            }],
        }),
    };
    store.ingest(tenant, request).await.unwrap();
    let all = store.deliveries(tenant, &key, &everything).await.unwrap();
    assert_eq!(all.items.len(), 3);
    assert!(all.items[0].id > 8 * 4096, "{}", all.items[0].id);
    assert_eq!(all.items[0].row.request_id, "req-c");
    store.close().await;
}

/// Migration 11 counts the rows a store held and finds their possible duplicates.
#[tokio::test]
async fn the_counts_and_duplicates_of_rows_held_before() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v10.db");
    let migrations = [
        VERSION_4.as_slice(),
        &[
            include_str!("../migrations/0005_append_only.sql"),
            include_str!("../migrations/0006_template_versions.sql"),
            include_str!("../migrations/0007_delivery_log.sql"),
            include_str!("../migrations/0008_folded_ids.sql"),
            include_str!("../migrations/0009_admin_token_revocation.sql"),
            include_str!("../migrations/0010_delivery_chunks.sql"),
        ],
    ]
    .concat();
    let conn = store_at(&path, &migrations);
    conn.execute_batch(
        r#"
        INSERT INTO tenants (id, subdomain, name, created_at) VALUES (1, 'default', 'Default', 0);
        INSERT INTO target_orgs (tenant_id, id, name, created_at, updated_at)
            VALUES (1, 1, 'A', 0, 0), (1, 2, 'B', 0, 0), (1, 3, 'C', 0, 0), (1, 4, 'D', 0, 0);
        INSERT INTO product_orgs (tenant_id, product_org_id, target_org_id, fields, field_clock,
                version, created_at, updated_at)
            VALUES (1, 'ws_a', 1, '{}', '{}', 1, 0, 0), (1, 'WS_A ', 2, '{}', '{}', 1, 0, 0),
                   (1, 'ws_b', 3, '{}', '{}', 1, 0, 0);
        INSERT INTO leads (tenant_id, lead_id, created_at, updated_at) VALUES (1, 'lead_1', 0, 0);
        "#,
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let tenant = trailspark_core::TenantId(1);
    assert_eq!(
        store.tenant_counts(tenant).await.unwrap(),
        trailspark_store::TenantCounts {
            product_orgs: 3,
            target_orgs: 4,
            leads: 1
        }
    );
    let groups = store.possible_duplicates(tenant, 10).await.unwrap();
    let ids: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.iter().map(|o| o.product_org_id.as_str()).collect())
        .collect();
    assert_eq!(ids, [["WS_A ", "ws_a"]]);
    store.close().await;
}

#[tokio::test]
async fn the_tallies_start_from_the_log_as_the_writer_would_have_counted_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let open = || async {
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        std::sync::Arc::new(store) as std::sync::Arc<dyn Store>
    };
    let store = open().await;
    let (tenant, key) = trailspark_store_contract::a_key_with_a_mixed_log(&store).await;
    let written = trailspark_store_contract::the_last_day_of(store.as_ref(), tenant, &key).await;
    assert_eq!(written.refusals.len(), 2, "{written:?}");
    drop(store);

    // The file as the trailspark before tallies left it: the same log, no tallies.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DROP TABLE key_tallies; DROP INDEX delivery_chunks_refused;
             DROP INDEX delivery_chunks_kept; ALTER TABLE delivery_chunks DROP COLUMN kept;
             DROP INDEX signals_received; DELETE FROM schema_migrations WHERE version >= 14",
        )
        .unwrap();
    let store = open().await;
    let filled = trailspark_store_contract::the_last_day_of(store.as_ref(), tenant, &key).await;
    assert_eq!(filled, written);
}
