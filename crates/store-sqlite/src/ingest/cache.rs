//! The product orgs the writer keeps in memory between transactions, as their rows have
//! them, so that an update of a known org reads nothing.

use trailspark_core::step::OrgState;
use trailspark_core::{ProductOrgId, TargetOrgId, TenantId};
use trailspark_store::StoreResult;

use crate::db::from_json;

/// Most product orgs the writer keeps in memory (a few hundred bytes each: their stored JSON).
const CACHED_ORGS: usize = 65_536;

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
/// way, whose `touched` ones are forgotten if it rolls back). Bounded: past [`CACHED_ORGS`] a
/// random one makes room.
#[derive(Default)]
pub(super) struct OrgCache {
    orgs: std::collections::HashMap<(TenantId, ProductOrgId), Stored>,
    pub(super) touched: Vec<(TenantId, ProductOrgId)>,
    /// xorshift state, for picking what to evict.
    seed: u64,
}

impl OrgCache {
    /// Takes the org out while an update works on it ([`OrgCache::put`] puts it back):
    /// cheaper than a copy, and if the update fails it is simply read again.
    pub(super) fn take(&mut self, tenant: TenantId, id: &ProductOrgId) -> Option<Stored> {
        // The key is built to look it up; a borrowed form would need a second map type.
        self.orgs.remove(&(tenant, id.clone()))
    }

    /// Puts an org (back), as the transaction under way read or wrote it.
    pub(super) fn put(&mut self, tenant: TenantId, id: &ProductOrgId, org: Stored) {
        let key = (tenant, id.clone());
        if self.orgs.len() >= CACHED_ORGS && !self.orgs.contains_key(&key) {
            self.evict_one();
        }
        self.touched.push(key.clone());
        self.orgs.insert(key, org);
    }

    fn evict_one(&mut self) {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        // HashMap iteration starts at a random-enough bucket; skipping a few varies it.
        let skip = (self.seed % 8) as usize;
        if let Some(key) = self.orgs.keys().nth(skip).cloned() {
            self.orgs.remove(&key);
        }
    }

    /// Forgets one org.
    pub(super) fn remove(&mut self, tenant: TenantId, id: &ProductOrgId) {
        self.orgs.remove(&(tenant, id.clone()));
    }

    /// Forgets the orgs the transaction under way touched: it rolled back.
    pub(super) fn forget_touched(&mut self) {
        for key in self.touched.drain(..) {
            self.orgs.remove(&key);
        }
    }

    /// Forgets every org.
    pub(super) fn clear(&mut self) {
        self.orgs.clear();
        self.touched.clear();
    }
}
