//! Search of the lists, whichever way a store answers it: narrowed by an index to the rows
//! that may hold the term, or walked in key order.

use std::sync::Arc;

use serde_json::Map;
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, EndpointType, FieldPatch, LeadId, TenantId};
use trailspark_store::{IngestResult, PageRequest, SearchQuery, SignalRequest, Store};

use crate::ingest::{ingest, update};
use crate::{arrival, new_key, tenant_with_key};

/// Rows that hold every term below, more than a store narrows a search to (the SQLite store
/// reads at most 1,000 candidates of its trigram index, then walks instead; a test of its own
/// checks that this stays more): with them in, every search of this case takes the walk.
pub const COMMON_ROWS: usize = 1_050;

/// Text holding every term of [`TERMS`]; the common rows begin with `zz`, and sort last.
const EVERY_TERM: &str = "zz 50% a_b élan Élan ELAN oldname newname acme say \"hi\" ws_e";

/// Terms with LIKE's wildcards, FTS5's quotes, non-ASCII case (SQLite's LIKE folds ASCII only,
/// PostgreSQL's ILIKE folds more: each store keeps its own), a renamed org's old and new names,
/// and terms too short for trigrams.
const TERMS: [&str; 12] = [
    "acme", "50%", "a_b", "élan", "ÉLAN", "oldname", "newname", "\"hi\"", "ws_e", "%", "_", "é",
];

/// Product orgs (each creates its target org, named as it is) and leads with their emails.
const ORGS: [(&str, &str); 9] = [
    ("ws_acme1", "Acme Rockets"),
    ("ws_acme2", "ACME labs"),
    ("ws_pct", "50% off"),
    ("ws_und", "a_b corp"),
    ("ws_x", "aXb corp"),
    ("ws_e1", "Élan Vital"),
    ("ws_e2", "élan vital"),
    ("ws_q", "say \"hi\" ltd"),
    ("ws_ren", "Oldname Inc"),
];
const LEADS: [(&str, &str); 6] = [
    ("u_acme", "Boss@ACME.example"),
    ("u_pct", "50%off@example.com"),
    ("u_und", "a_b@example.com"),
    ("u_x", "aXb@example.com"),
    ("u_e", "Élan@example.com"),
    ("u_mv", "oldname@example.com"),
];

/// One list searched for a term, two items a page: the rows found (ids; target orgs by name,
/// their ids being the store's) and the cursors handed out.
type Walk = (Vec<String>, Vec<String>);

/// Up to `pages` pages of list 0 (product orgs), 1 (target orgs) or 2 (leads) for `term`.
async fn walk(store: &dyn Store, tenant: TenantId, list: usize, term: &str, pages: usize) -> Walk {
    let (mut keys, mut cursors) = (Vec::new(), Vec::new());
    let mut cursor = None;
    for _ in 0..pages {
        let query = SearchQuery {
            search: Some(term.to_owned()),
            page: PageRequest { cursor, limit: 2 },
        };
        let (page_keys, next) = match list {
            0 => {
                let p = store.list_product_orgs(tenant, &query).await.unwrap();
                let keys = p.items.iter().map(|o| o.product_org_id.as_str().to_owned());
                (keys.collect::<Vec<_>>(), p.next_cursor)
            }
            1 => {
                let p = store.list_target_orgs(tenant, &query).await.unwrap();
                (
                    p.items.iter().map(|t| t.name.clone()).collect(),
                    p.next_cursor,
                )
            }
            _ => {
                let p = store.list_leads(tenant, &query).await.unwrap();
                let keys = p.items.iter().map(|l| l.lead_id.as_str().to_owned());
                (keys.collect(), p.next_cursor)
            }
        };
        keys.extend(page_keys);
        match next {
            Some(next) => {
                cursors.push(next.clone());
                cursor = Some(next);
            }
            None => break,
        }
    }
    (keys, cursors)
}

async fn send_signals(store: &dyn Store, tenant: TenantId, key: &ApiKeyId, leads: Vec<Signal>) {
    let request = SignalRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        signals: leads,
    };
    let applied = store.ingest_signals(tenant, request).await.unwrap();
    assert!(
        matches!(applied, IngestResult::Applied(_)),
        "signals stored"
    );
}

fn lead(id: &str, email: &str) -> Signal {
    Signal {
        lead_id: LeadId::parse(id).unwrap(),
        email: Some(email.to_owned()),
        product_org_id: None,
        name: Some("Signed in".into()),
        event_at: None,
        properties: None,
        custom_fields: Map::new(),
        message_id: None,
        warnings: Vec::new(),
    }
}

fn named(id: &str, name: &str) -> trailspark_core::Update {
    update(id, vec![FieldPatch::Name(Some(name.to_owned()))], None)
}

/// The three lists for every term, every page.
async fn all_searches(store: &dyn Store, tenant: TenantId, pages: usize) -> Vec<Walk> {
    let mut out = Vec::new();
    for term in TERMS {
        for list in 0..3 {
            out.push(walk(store, tenant, list, term, pages).await);
        }
    }
    out
}

/// A search gives the same pages and cursors whether the store narrows it to a few candidate
/// rows or walks the list: in the store's own case folding (`É` is not `é` to SQLite), with
/// `%` and `_` literal, and with the name or email a row has now, not one it had before.
pub async fn search_is_the_same_narrowed_or_walked(store: Arc<dyn Store>) {
    let (t, org_key) = tenant_with_key(&store, "searches").await;
    let s = store.as_ref();
    let lead_key = s
        .create_api_key(t.id, new_key(EndpointType::SignalStaging).0)
        .await
        .unwrap()
        .id;
    let orgs = ORGS.iter().map(|(id, name)| named(id, name)).collect();
    ingest(s, t.id, &org_key, orgs).await;
    ingest(s, t.id, &org_key, vec![named("ws_ren", "Newname Inc")]).await;
    let leads = LEADS.iter().map(|(id, email)| lead(id, email)).collect();
    send_signals(s, t.id, &lead_key, leads).await;
    send_signals(
        s,
        t.id,
        &lead_key,
        vec![lead("u_mv", "newname@example.com")],
    )
    .await;

    let few = all_searches(s, t.id, 20).await;
    let find = |term: &str, list: usize| {
        let i = TERMS.iter().position(|t| *t == term).unwrap();
        few[i * 3 + list].0.clone()
    };
    assert_eq!(
        find("acme", 0),
        ["ws_acme1", "ws_acme2"],
        "ASCII case folds"
    );
    assert_eq!(find("a_b", 0), ["ws_und"], "`_` is literal");
    assert_eq!(find("50%", 2), ["u_pct"], "`%` is literal");
    assert_eq!(find("\"hi\"", 0), ["ws_q"], "quotes are literal");
    assert_eq!(
        find("oldname", 0),
        Vec::<String>::new(),
        "a renamed org's old name"
    );
    assert_eq!(find("newname", 0), ["ws_ren"], "a renamed org's new name");
    assert_eq!(
        find("oldname", 2),
        Vec::<String>::new(),
        "a lead's old email"
    );
    assert_eq!(find("newname", 2), ["u_mv"], "a lead's new email");
    assert!(
        find("élan", 0).contains(&"ws_e2".to_owned()),
        "non-ASCII, same case"
    );

    // Rows that hold every term, sorting after all of the above: each search now matches more
    // rows than a store narrows to, and its first pages must be the ones it gave before.
    let common = (0..COMMON_ROWS)
        .map(|n| named(&format!("zz_{n:05}"), &format!("{EVERY_TERM} {n:05}")))
        .collect();
    ingest(s, t.id, &org_key, common).await;
    let common = (0..COMMON_ROWS)
        .map(|n| lead(&format!("zz_{n:05}"), &format!("{EVERY_TERM} {n:05}")))
        .collect();
    send_signals(s, t.id, &lead_key, common).await;

    let searches = TERMS
        .iter()
        .flat_map(|term| (0..3).map(move |list| (*term, list)));
    for (before, (term, list)) in few.iter().zip(searches) {
        let pages = before.1.len() + 1;
        let (keys, cursors) = walk(s, t.id, list, term, pages).await;
        let others: Vec<_> = keys[before.0.len()..].to_vec();
        assert_eq!(
            (&keys[..before.0.len()], &cursors[..before.1.len()]),
            (&before.0[..], &before.1[..]),
            "search {term:?} in list {list} (0 product orgs, 1 target orgs, 2 leads): \
             narrowed and walked differ"
        );
        assert!(
            others.iter().all(|k| k.starts_with("zz")),
            "search {term:?} in list {list}: walked found {others:?} besides the common rows"
        );
    }
}
