//! Possible duplicates (SPEC §6 `similar_product_org`): product orgs whose ids are equal once
//! trimmed and case-folded ([`ProductOrgId::folded`]), such as `WS_ABC123` and `ws_abc123 `
//! sent by two sources for one workspace. Both stores find candidates with the SQL twin of the
//! fold and group them here, so which orgs form a group is decided by core's rule alone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use trailspark_core::ProductOrgId;

use crate::ProductOrg;

/// Whether `a` and `b` are two product orgs that are possibly one: distinct ids that fold alike.
pub fn is_possible_duplicate(a: &ProductOrgId, b: &ProductOrgId) -> bool {
    a != b && a.folded() == b.folded()
}

/// What a lead naming `named` (which does not exist) probably meant among `candidates`: the
/// oldest product org whose id folds like it, the first by id among equally old ones.
pub fn did_you_mean(named: &ProductOrgId, candidates: &[ProductOrg]) -> Option<ProductOrgId> {
    meant(
        named,
        candidates.iter().map(|o| (&o.product_org_id, o.created_at)),
    )
}

/// [`did_you_mean`] over product org ids with their creation times: the rule itself, which
/// the write path (a new product org's `similar_product_org` warning, a signal's) applies too.
pub fn meant<'a>(
    named: &ProductOrgId,
    candidates: impl IntoIterator<Item = (&'a ProductOrgId, DateTime<Utc>)>,
) -> Option<ProductOrgId> {
    candidates
        .into_iter()
        .filter(|(id, _)| is_possible_duplicate(named, id))
        .min_by(|a, b| (a.1, a.0.as_str()).cmp(&(b.1, b.0.as_str())))
        .map(|(id, _)| id.clone())
}

/// `orgs` grouped by folded id, in folded-id order, each group in the order given; orgs that
/// fold like no other are left out (a group is two or more).
pub fn group_by_folded(orgs: Vec<ProductOrg>) -> Vec<Vec<ProductOrg>> {
    let mut groups: BTreeMap<String, Vec<ProductOrg>> = BTreeMap::new();
    for org in orgs {
        groups
            .entry(org.product_org_id.folded())
            .or_default()
            .push(org);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use trailspark_core::{ProductOrgFields, TargetOrgId};

    use super::*;

    fn org(id: &str) -> ProductOrg {
        ProductOrg {
            product_org_id: ProductOrgId::parse(id).unwrap(),
            target_org_id: TargetOrgId(1),
            fields: ProductOrgFields::default(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn ids_that_fold_alike_group_and_lone_ids_do_not() {
        let groups = group_by_folded(vec![
            org("WS_ABC123"),
            org("b"),
            org("ws_abc123 "),
            org("A"),
            org("a"),
        ]);
        let ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(|o| o.product_org_id.as_str()).collect())
            .collect();
        assert_eq!(ids, [vec!["A", "a"], vec!["WS_ABC123", "ws_abc123 "]]);
    }

    #[test]
    fn a_lead_meant_the_oldest_org_folding_like_its_id() {
        let (mut old, new, mut tie) = (org("ws_zed"), org("WS_ZED"), org("Ws_Zed"));
        old.created_at = Utc::now() - chrono::Duration::days(1);
        tie.created_at = new.created_at;
        let named = ProductOrgId::parse(" ws_zed").unwrap();
        let meant =
            |orgs: &[ProductOrg]| did_you_mean(&named, orgs).map(|id| id.as_str().to_owned());
        assert_eq!(
            meant(&[new.clone(), old.clone(), tie.clone()]).as_deref(),
            Some("ws_zed")
        );
        assert_eq!(
            meant(&[tie.clone(), new.clone()]).as_deref(),
            Some("WS_ZED"),
            "then by id"
        );
        assert_eq!(meant(&[org("other")]), None);
        assert_eq!(
            did_you_mean(&old.product_org_id, &[old.clone()]),
            None,
            "not itself"
        );
    }

    #[test]
    fn an_id_is_no_duplicate_of_itself() {
        let id = |s: &str| ProductOrgId::parse(s).unwrap();
        assert!(is_possible_duplicate(&id("WS_1"), &id(" ws_1")));
        assert!(!is_possible_duplicate(&id("ws_1"), &id("ws_1")));
        assert!(!is_possible_duplicate(&id("ws_1"), &id("ws_2")));
    }
}
