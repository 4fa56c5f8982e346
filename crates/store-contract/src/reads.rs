//! Lists, search and history pages.

use std::sync::Arc;

use trailspark_core::{ApiKeyId, FieldPatch, ProductOrgId, TenantId};
use trailspark_store::{cursor, PageRequest, SearchQuery, Store, StoreError};

use crate::ingest::{ingest, update};
use crate::tenant_with_key;

/// Product orgs come ordered by id, a page at a time, and search matches id or name in any
/// case.
pub async fn list_pages_and_search(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "lists").await;
    let names = [
        ("ws_e", "Echo"),
        ("ws_a", "Alpha Corp"),
        ("ws_c", "Charlie"),
        ("ws_b", "Bravo"),
        ("ws_d", "alphabet"),
    ];
    let updates = names
        .iter()
        .map(|(id, name)| update(id, vec![FieldPatch::Name(Some((*name).into()))], None))
        .collect();
    ingest(store.as_ref(), t.id, &key, updates).await;

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let query = SearchQuery {
            search: None,
            page: PageRequest { cursor, limit: 2 },
        };
        let page = store.list_product_orgs(t.id, &query).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(
            page.items
                .iter()
                .map(|o| o.product_org_id.as_str().to_owned()),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["ws_a", "ws_b", "ws_c", "ws_d", "ws_e"],
        "every org once, in id order"
    );

    let query = SearchQuery {
        search: Some("ALPHA".into()),
        page: PageRequest {
            cursor: None,
            limit: 50,
        },
    };
    let found = store.list_product_orgs(t.id, &query).await.unwrap();
    let ids: Vec<_> = found
        .items
        .iter()
        .map(|o| o.product_org_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["ws_a", "ws_d"],
        "search is case-insensitive on the name"
    );
    let query = SearchQuery {
        search: Some("_c".into()),
        page: PageRequest {
            cursor: None,
            limit: 50,
        },
    };
    let found = store.list_product_orgs(t.id, &query).await.unwrap();
    assert_eq!(found.items.len(), 1, "`_` is matched literally");

    let bad = SearchQuery {
        search: None,
        page: PageRequest {
            cursor: Some("%%%".into()),
            limit: 2,
        },
    };
    let err = store.list_product_orgs(t.id, &bad).await;
    assert!(
        matches!(err, Err(StoreError::InvalidCursor)),
        "{:?}",
        err.map(|p| p.items.len())
    );
}

/// History comes newest first, a page at a time, down to version 1.
pub async fn history_pages(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "history").await;
    let updates = (1..=5)
        .map(|n| update("ws_h", vec![FieldPatch::UserCount(Some(n))], None))
        .collect();
    ingest(store.as_ref(), t.id, &key, updates).await;
    let id = ProductOrgId::parse("ws_h").unwrap();
    let mut versions = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .product_org_history(t.id, &id, &PageRequest { cursor, limit: 2 })
            .await
            .unwrap();
        versions.extend(page.items.iter().map(|e| e.version));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(versions, [5, 4, 3, 2, 1]);
}

/// One tenant's history of `ws_same`, walked a page of one entry at a time: the entries and
/// every cursor handed out on the way.
async fn walk_history(store: &dyn Store, tenant: TenantId) -> (Vec<(ApiKeyId, i64)>, Vec<String>) {
    let id = ProductOrgId::parse("ws_same").unwrap();
    let (mut entries, mut cursors) = (Vec::new(), Vec::new());
    let mut cursor = None;
    loop {
        let page = store
            .product_org_history(tenant, &id, &PageRequest { cursor, limit: 1 })
            .await
            .unwrap();
        for entry in page.items {
            let count = entry.changes[0].new.as_i64().expect("a userCount change");
            entries.push((entry.key_id, count));
        }
        match page.next_cursor {
            Some(next) => {
                cursors.push(next.clone());
                cursor = Some(next);
            }
            None => return (entries, cursors),
        }
    }
}

/// The same product org id in two tenants has two histories, and each tenant's pages show
/// only its own, whatever cursor it sends: one handed out to the other tenant, or forged
/// (cursors are plain base64url of a sort key, easy to write by hand).
pub async fn history_stays_in_its_tenant(store: Arc<dyn Store>) {
    let (a, key_a) = tenant_with_key(&store, "history-a").await;
    let (b, key_b) = tenant_with_key(&store, "history-b").await;
    let s = store.as_ref();
    // Interleaved, so that each tenant's entries sit between the other's.
    for n in 1..=4 {
        let mine = update("ws_same", vec![FieldPatch::UserCount(Some(n))], None);
        ingest(s, a.id, &key_a, vec![mine]).await;
        let theirs = update("ws_same", vec![FieldPatch::UserCount(Some(100 + n))], None);
        ingest(s, b.id, &key_b, vec![theirs]).await;
    }
    let (entries_a, cursors_a) = walk_history(s, a.id).await;
    let (entries_b, cursors_b) = walk_history(s, b.id).await;
    let own = |key: &ApiKeyId, first: i64| -> Vec<(ApiKeyId, i64)> {
        (first..first + 4).rev().map(|n| (key.clone(), n)).collect()
    };
    assert_eq!(entries_a, own(&key_a, 1), "tenant a's history pages");
    assert_eq!(entries_b, own(&key_b, 101), "tenant b's history pages");

    let forged: Vec<String> = (0..=40).map(|n| cursor::encode(&n.to_string())).collect();
    let id = ProductOrgId::parse("ws_same").unwrap();
    for (tenant, key, theirs) in [(a.id, &key_a, &cursors_b), (b.id, &key_b, &cursors_a)] {
        for sent in theirs.iter().chain(&forged) {
            let request = PageRequest {
                cursor: Some(sent.clone()),
                limit: 10,
            };
            match s.product_org_history(tenant, &id, &request).await {
                Ok(page) => {
                    for entry in page.items {
                        assert_eq!(
                            &entry.key_id, key,
                            "tenant {tenant:?} sent cursor {sent:?} and read another tenant's \
                             history entry {entry:?}"
                        );
                    }
                }
                Err(StoreError::InvalidCursor) => {}
                Err(e) => panic!("tenant {tenant:?}, cursor {sent:?}: {e}"),
            }
        }
    }
}
