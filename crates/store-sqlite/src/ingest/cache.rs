//! The product orgs the writer keeps in memory between transactions, as their rows have
//! them, so that an update of a known org reads nothing.

use indexmap::IndexMap;
use trailspark_core::step::OrgState;
use trailspark_core::{ProductOrgId, TargetOrgId, TenantId};
use trailspark_store::StoreResult;

use crate::db::from_json;

/// What holding one org costs beyond its id's and JSON's bytes: its entry (with its hash) and
/// its index slot in the map (each up to twice as many as the entries when just grown) and the
/// allocator's share of its three allocations.
const PER_ORG: usize = 2 * (std::mem::size_of::<((TenantId, ProductOrgId), Stored)>() + 8)
    + 2 * (std::mem::size_of::<usize>() + 1)
    + 3 * 16;

/// The stored state of one product org, as its row has it: what the writer keeps in memory
/// (the JSON is small; the parsed fields are several times larger).
pub(super) struct Stored {
    pub(super) target_org_id: TargetOrgId,
    pub(super) fields: Box<str>,
    pub(super) clock: Box<str>,
    pub(super) version: i64,
    /// Id of its newest history row.
    pub(super) history_head: Option<i64>,
}

impl Stored {
    /// The org as the write step takes it.
    pub(super) fn state(&self) -> StoreResult<OrgState> {
        Ok(OrgState {
            target_org_id: self.target_org_id,
            fields: from_json(&self.fields)?,
            clock: from_json(&self.clock)?,
            version: self.version,
            similar: None,
        })
    }
}

/// The product orgs the writer knows, as committed (or as written by the transaction under
/// way, whose `touched` ones are forgotten if it rolls back). Bounded by bytes, not by count,
/// so that memory is set by configuration whatever the orgs hold: past its budget a random
/// org makes room (at 1M orgs updated at random a cache of any affordable size hits rarely,
/// and one of 10k orgs of a few fields, as bench/context's, fits whole in the default).
pub(super) struct OrgCache {
    /// An index map, so that a random org is one index away (a hash map's would be found by
    /// walking its buckets from the start, past those earlier evictions emptied).
    orgs: IndexMap<(TenantId, ProductOrgId), Stored>,
    pub(super) touched: Vec<(TenantId, ProductOrgId)>,
    /// What the orgs held cost ([`OrgCache::cost`]), and the most they may.
    bytes: usize,
    budget: usize,
    /// xorshift state, for picking what to evict.
    seed: u64,
}

impl OrgCache {
    pub(super) fn new(budget: usize) -> Self {
        Self {
            orgs: IndexMap::new(),
            touched: Vec::new(),
            bytes: 0,
            budget,
            seed: 0,
        }
    }

    /// What keeping `org` costs.
    fn cost(id: &ProductOrgId, org: &Stored) -> usize {
        PER_ORG + id.as_str().len() + org.fields.len() + org.clock.len()
    }

    /// Takes the org out while an update works on it ([`OrgCache::put`] puts it back):
    /// cheaper than a copy, and if the update fails it is simply read again.
    pub(super) fn take(&mut self, tenant: TenantId, id: &ProductOrgId) -> Option<Stored> {
        // The key is built to look it up; a borrowed form would need a second map type.
        let removed = self.orgs.swap_remove_entry(&(tenant, id.clone()));
        self.counted_out(removed)
    }

    /// An org out of the map is no longer held: its cost leaves the count.
    fn counted_out(
        &mut self,
        removed: Option<((TenantId, ProductOrgId), Stored)>,
    ) -> Option<Stored> {
        let ((_, id), org) = removed?;
        self.bytes -= Self::cost(&id, &org);
        Some(org)
    }

    /// Puts an org (back), as the transaction under way read or wrote it; an org larger than
    /// the whole budget is not kept.
    pub(super) fn put(&mut self, tenant: TenantId, id: &ProductOrgId, org: Stored) {
        let key = (tenant, id.clone());
        let old = self.orgs.swap_remove_entry(&key);
        self.counted_out(old);
        let cost = Self::cost(id, &org);
        if cost > self.budget {
            return;
        }
        while self.bytes + cost > self.budget && self.evict_one() {}
        self.touched.push(key.clone());
        self.bytes += cost;
        self.orgs.insert(key, org);
    }

    /// Forgets a random org; false when there is none.
    fn evict_one(&mut self) -> bool {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        if self.orgs.is_empty() {
            return false;
        }
        let index = (self.seed % self.orgs.len() as u64) as usize;
        let removed = self.orgs.swap_remove_index(index);
        self.counted_out(removed).is_some()
    }

    /// Forgets one org.
    pub(super) fn remove(&mut self, tenant: TenantId, id: &ProductOrgId) {
        self.take(tenant, id);
    }

    /// Forgets the orgs the transaction under way touched: it rolled back.
    pub(super) fn forget_touched(&mut self) {
        for (tenant, id) in std::mem::take(&mut self.touched) {
            self.remove(tenant, &id);
        }
    }

    /// Forgets every org.
    pub(super) fn clear(&mut self) {
        self.orgs.clear();
        self.touched.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(json_bytes: usize) -> Stored {
        Stored {
            target_org_id: TargetOrgId(1),
            fields: "x".repeat(json_bytes).into(),
            clock: "{}".into(),
            version: 1,
            history_head: None,
        }
    }

    fn id(n: usize) -> ProductOrgId {
        ProductOrgId::parse(format!("ws_{n}")).unwrap()
    }

    /// However large the orgs, what the cache holds stays within its budget: larger orgs, fewer
    /// of them.
    #[test]
    fn the_cache_holds_what_its_budget_allows_whatever_the_orgs_hold() {
        let tenant = TenantId(1);
        for json_bytes in [10, 1_000, 10_000] {
            let mut cache = OrgCache::new(1 << 20);
            for n in 0..2_000 {
                cache.put(tenant, &id(n), org(json_bytes));
                assert!(cache.bytes <= 1 << 20, "{} bytes", cache.bytes);
            }
            let held: usize = cache
                .orgs
                .iter()
                .map(|((_, id), org)| OrgCache::cost(id, org))
                .sum();
            assert_eq!(held, cache.bytes);
            // Each costs its slot, its id ("ws_1234"), its fields' JSON and its clock ("{}").
            let expected = (1 << 20) / (PER_ORG + 7 + json_bytes + 2);
            assert!(
                cache.orgs.len().abs_diff(expected.min(2_000)) <= 2,
                "{json_bytes}-byte orgs: {} held, about {expected} fit",
                cache.orgs.len()
            );
        }
    }

    /// A full cache makes room with a random org, not with the org it was just given: of
    /// 10,000 orgs put into a cache of about 1,000, each is still there after the next put
    /// but about one in a thousand times.
    #[test]
    fn a_full_cache_makes_room_at_random() {
        let tenant = TenantId(1);
        let mut cache = OrgCache::new(1_000 * (PER_ORG + 8 + 10 + 2));
        for n in 0..2_000 {
            cache.put(tenant, &id(n), org(10));
        }
        let mut gone_at_once = 0;
        for n in 2_000..12_000 {
            cache.put(tenant, &id(n), org(10));
            cache.put(tenant, &id(n + 1_000_000), org(10));
            if cache.take(tenant, &id(n)).is_none() {
                gone_at_once += 1;
            } else {
                cache.put(tenant, &id(n), org(10));
            }
        }
        assert!(
            gone_at_once < 100,
            "{gone_at_once} of 10,000 orgs made room for the next"
        );
    }

    /// An org put back is found; taken, it is gone until put again; a rollback forgets what
    /// the transaction touched and counts it no longer.
    #[test]
    fn orgs_are_found_until_taken_or_rolled_back() {
        let tenant = TenantId(1);
        let mut cache = OrgCache::new(1 << 20);
        cache.put(tenant, &id(1), org(10));
        cache.touched.clear();
        cache.put(tenant, &id(2), org(10));
        assert!(cache.take(tenant, &id(1)).is_some());
        assert!(cache.take(tenant, &id(1)).is_none());
        cache.put(tenant, &id(1), org(10));
        cache.forget_touched();
        assert!(
            cache.orgs.is_empty(),
            "both were touched since the last commit"
        );
        assert_eq!(cache.bytes, 0);
        cache.put(tenant, &id(3), org(2 << 20));
        assert!(
            cache.orgs.is_empty(),
            "an org larger than the budget is not kept"
        );
    }
}
