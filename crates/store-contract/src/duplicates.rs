//! Possible duplicates (product orgs whose ids fold alike) and leads not linked to a target
//! org, with why and what they probably meant. The stores find these in SQL
//! (`FOLDED_ID_SQL`); these cases hold that SQL to core's `ProductOrgId::folded`.

use std::sync::Arc;

use serde_json::Map;
use trailspark_core::signal::Signal;
use trailspark_core::{EndpointType, LeadId, TenantId, UnlinkedReason};
use trailspark_store::{
    IngestResult, PageRequest, ProductOrg, SearchQuery, SignalRequest, Store, UnlinkedLead,
};

use crate::ingest::{id, ingest, update};
use crate::{arrival, new_key, tenant_with_key};

fn ids(orgs: &[ProductOrg]) -> Vec<&str> {
    orgs.iter().map(|o| o.product_org_id.as_str()).collect()
}

async fn create(
    store: &dyn Store,
    tenant: TenantId,
    key: &trailspark_core::ApiKeyId,
    orgs: &[&str],
) {
    let updates = orgs.iter().map(|o| update(o, vec![], None)).collect();
    ingest(store, tenant, key, updates).await;
}

/// Pairs of ids that fold alike, each id created by a request of its own, all at once: every
/// pair is found, however the store spreads the requests over its writers.
pub async fn possible_duplicates_made_at_once_are_found(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "dupes-at-once").await;
    let pairs = 40;
    let mut requests = tokio::task::JoinSet::new();
    for org in (0..pairs).flat_map(|i| [format!("ws_{i}"), format!("WS_{i}")]) {
        let (store, key, tenant) = (store.clone(), key.clone(), t.id);
        requests.spawn(async move { create(store.as_ref(), tenant, &key, &[org.as_str()]).await });
    }
    requests.join_all().await;
    let groups = store.possible_duplicates(t.id, 100).await.unwrap();
    assert_eq!(groups.len(), pairs, "{groups:?}");
}

/// Ids equal once trimmed of surrounding whitespace and ASCII case-folded are grouped; inner
/// spaces, other ids, other tenants and non-ASCII case are not (both stores fold as core does).
pub async fn possible_duplicates_fold_space_and_ascii_case(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "dupes").await;
    let s = store.as_ref();
    create(
        s,
        t.id,
        &key,
        &[
            "WS_ABC123",
            "ws_abc123 ",
            "\tWs_Abc123\r\n",
            "ws_abc1234",
            "ws abc123",
            "ÉCOLE",
            "École",
            "école",
            "lone",
            "B",
            "b",
        ],
    )
    .await;
    // A later request's new org joins the group of one stored before.
    create(s, t.id, &key, &["LONE"]).await;
    let (other, other_key) = tenant_with_key(&store, "dupes-other").await;
    create(s, other.id, &other_key, &["ws_abc123", "c", "C"]).await;

    let groups = s.possible_duplicates(t.id, 50).await.unwrap();
    let found: Vec<Vec<&str>> = groups.iter().map(|g| ids(g)).collect();
    assert_eq!(
        found,
        [
            vec!["B", "b"],
            vec!["LONE", "lone"],
            vec!["\tWs_Abc123\r\n", "WS_ABC123", "ws_abc123 "],
            vec!["ÉCOLE", "École"],
        ],
        "groups in folded-id order, each by id; `ws abc123`, `ws_abc1234`, `école` and the \
         other tenant's orgs are no one's duplicates"
    );
    let first = s.possible_duplicates(t.id, 1).await.unwrap();
    assert_eq!(
        first.iter().map(|g| ids(g)).collect::<Vec<_>>(),
        [vec!["B", "b"]],
        "limit counts groups, not orgs"
    );
    assert!(s.possible_duplicates(other.id, 50).await.unwrap().len() == 1);

    let like = s
        .product_orgs_folding_like(t.id, &[id("ws_abc123"), id("école"), id("nothing")])
        .await
        .unwrap();
    assert_eq!(
        ids(&like),
        ["\tWs_Abc123\r\n", "WS_ABC123", "ws_abc123 ", "école"],
        "every org folding like one of the ids (themselves included), by id; `ÉCOLE` folds \
         to `École`, not `école`"
    );
    let moved = s
        .move_product_org(t.id, &id("ws_abc123 "), like[1].target_org_id)
        .await
        .unwrap();
    assert_eq!(moved.target_org_id, like[1].target_org_id);
    let after = s.possible_duplicates(t.id, 50).await.unwrap();
    assert_eq!(
        after.len(),
        4,
        "a move puts duplicates under one target org; they stay possible duplicates"
    );
}

fn signal(lead: &str, email: &str, product_org: Option<&str>) -> Signal {
    Signal {
        lead_id: LeadId::parse(lead).unwrap(),
        email: Some(email.into()),
        product_org_id: product_org.map(id),
        name: Some("login".into()),
        event_at: None,
        properties: None,
        custom_fields: Map::new(),
        message_id: None,
        warnings: Vec::new(),
    }
}

fn query(search: Option<&str>, cursor: Option<String>, limit: u32) -> SearchQuery {
    SearchQuery {
        search: search.map(str::to_owned),
        page: PageRequest { cursor, limit },
    }
}

fn rows(page: &[UnlinkedLead]) -> Vec<(&str, UnlinkedReason, Option<&str>)> {
    page.iter()
        .map(|u| {
            (
                u.lead.lead_id.as_str(),
                u.reason(),
                u.did_you_mean.as_ref().map(|p| p.as_str()),
            )
        })
        .collect()
}

/// Leads without a target org are listed with why (no product org named, or the one named does
/// not exist) and, for one named in another case or with spaces, the oldest existing org whose
/// id folds like it;
/// they are searched and paged as every list is, and leave the list once linked.
pub async fn unlinked_leads_say_why(store: Arc<dyn Store>) {
    let (t, key) = tenant_with_key(&store, "unlinked").await;
    let s = store.as_ref();
    create(s, t.id, &key, &["ws_abc123", "ws_zed"]).await;
    // Newer than `ws_zed` and first by id: a lead naming ` ws_zed` meant the older one, as the
    // signal's own `similar_product_org` warning says.
    create(s, t.id, &key, &["WS_ZED"]).await;
    let signals = s
        .create_api_key(t.id, new_key(EndpointType::SignalStaging).0)
        .await
        .unwrap()
        .id;
    let request = SignalRequest {
        log: None,
        key_id: signals.clone(),
        received_at: arrival(),
        webhook_id: None,
        signals: vec![
            signal("u_linked", "lin@example.com", Some("ws_abc123")),
            signal("u_upper", "up@example.com", Some("WS_ABC123")),
            signal("u_none", "none@other.org", None),
            signal("u_unknown", "unk@example.com", Some("ws_nowhere")),
            signal("u_spaced", "sp@example.com", Some(" ws_zed")),
        ],
    };
    let IngestResult::Applied(results) = s.ingest_signals(t.id, request).await.unwrap() else {
        panic!("not a replay")
    };
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let (other, _) = tenant_with_key(&store, "unlinked-other").await;

    let all = s
        .unlinked_leads(t.id, &query(None, None, 50))
        .await
        .unwrap();
    assert_eq!(
        rows(&all.items),
        [
            ("u_none", UnlinkedReason::NoProductOrgId, None),
            (
                "u_spaced",
                UnlinkedReason::ProductOrgNotFound,
                Some("ws_zed")
            ),
            ("u_unknown", UnlinkedReason::ProductOrgNotFound, None),
            (
                "u_upper",
                UnlinkedReason::ProductOrgNotFound,
                Some("ws_abc123")
            ),
        ],
        "by lead id; the linked lead is left out"
    );
    assert!(all.items.iter().all(|u| u.lead.target_org_id.is_none()));
    assert_eq!(
        all.items[3]
            .lead
            .product_org_id
            .as_ref()
            .map(|p| p.as_str()),
        Some("WS_ABC123"),
        "the lead keeps the id its signal named"
    );

    let first = s
        .unlinked_leads(t.id, &query(Some("EXAMPLE.com"), None, 2))
        .await
        .unwrap();
    let rest = s
        .unlinked_leads(
            t.id,
            &query(Some("EXAMPLE.com"), first.next_cursor.clone(), 2),
        )
        .await
        .unwrap();
    let paged: Vec<&str> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|u| u.lead.lead_id.as_str())
        .collect();
    assert_eq!(
        paged,
        ["u_spaced", "u_unknown", "u_upper"],
        "searched by email, case-insensitive, two a page"
    );
    assert!(rest.next_cursor.is_none());
    assert!(s
        .unlinked_leads(other.id, &query(None, None, 50))
        .await
        .unwrap()
        .items
        .is_empty());

    create(s, t.id, &key, &["WS_ABC123"]).await;
    let after = s
        .unlinked_leads(t.id, &query(None, None, 50))
        .await
        .unwrap();
    let left: Vec<&str> = after
        .items
        .iter()
        .map(|u| u.lead.lead_id.as_str())
        .collect();
    assert_eq!(
        left,
        ["u_none", "u_spaced", "u_unknown"],
        "the product org it named now exists: the lead is linked"
    );
}
