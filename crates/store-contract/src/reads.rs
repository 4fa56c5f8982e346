//! Lists, search and history pages.

use std::sync::Arc;

use trailspark_core::{FieldPatch, ProductOrgId};
use trailspark_store::{PageRequest, SearchQuery, Store, StoreError};

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
