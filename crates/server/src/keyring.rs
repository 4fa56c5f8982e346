//! API keys held in memory, compiled (template parsed, HMAC secret opened) the first time
//! they are used, so the webhook's hot path does not read the store to find its key.
//!
//! Keys are created, revoked and given new templates by other processes too (the CLI, other
//! instances), so the ring polls the store's key revision and drops everything it holds when
//! it moves. Unknown
//! keys are remembered as unknown until then, so guessing keys costs the store nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Context;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use trailspark_core::credentials::{hash_credential, open_hmac_secret};
use trailspark_core::template::PayloadTemplate;
use trailspark_core::{ApiKeyId, EndpointType, TenantId};
use trailspark_store::{ApiKeyRecord, Store};

use crate::error::ApiError;

/// Past this many remembered keys (known or unknown) the ring starts over, so a flood of
/// random keys cannot grow memory without bound.
const MAX_REMEMBERED: usize = 100_000;

/// An API key ready for the hot path.
#[derive(Debug)]
pub struct IngestKey {
    pub tenant: TenantId,
    pub id: ApiKeyId,
    pub endpoint_type: EndpointType,
    pub template: PayloadTemplate,
    /// Which version of the key's template `template` is: a request is extracted with the
    /// version current when it arrives, and its delivery says which that was.
    pub template_version: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub secret_hash: Option<[u8; 32]>,
    pub hmac_secret: Option<SecretString>,
    /// SHA-256 of the key text: the ring's and the rate limiter's handle on it.
    pub hash: [u8; 32],
    /// The second (Unix time) of the last use noted for the store: a key is noted at most
    /// once a second, not at every request.
    last_noted: AtomicI64,
    /// Its update counters of `/metrics`, found once rather than by label at every request.
    pub counters: std::sync::OnceLock<crate::metrics::KeyCounters>,
    /// The payloads kept in the delivery log in the current minute, shared with the ring
    /// (`KeyRing::kept`): see [`crate::deliveries::PayloadBudget`].
    pub(crate) payloads_kept: Arc<AtomicU64>,
}

/// The in-memory key cache of one server.
pub struct KeyRing {
    store: Arc<dyn Store>,
    /// By the SHA-256 of the key text, hashed again with foldhash rather than SipHash: a
    /// digest cannot be chosen to collide, and every request looks its key up here.
    slots: RwLock<HashMap<[u8; 32], Option<Arc<IngestKey>>, foldhash::fast::RandomState>>,
    revision: AtomicI64,
    /// Moves on every `forget_all`, so a lookup that read the store before a revoke does not
    /// put the stale key back after it.
    generation: AtomicU64,
    last_used: Mutex<HashMap<(TenantId, ApiKeyId), DateTime<Utc>>>,
    /// Each key's count of payloads kept this minute (`IngestKey::payloads_kept`), by the
    /// key's hash: it outlives the compiled key, which `forget_all` drops whenever any key
    /// changes, so the delivery log's budget holds across those.
    kept: Mutex<HashMap<[u8; 32], Arc<AtomicU64>, foldhash::fast::RandomState>>,
}

impl KeyRing {
    /// An empty ring over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            slots: RwLock::default(),
            revision: AtomicI64::new(i64::MIN),
            generation: AtomicU64::new(0),
            last_used: Mutex::default(),
            kept: Mutex::default(),
        }
    }

    /// Finds the key for `presented` and checks that it may call an endpoint of `wanted`
    /// type at `now`: unknown or revoked → 401, expired → 401, other type → 403.
    pub async fn authenticate(
        &self,
        presented: &str,
        wanted: EndpointType,
        now: DateTime<Utc>,
    ) -> Result<Arc<IngestKey>, ApiError> {
        let key = self.active(presented, now).await?;
        if key.endpoint_type != wanted {
            return Err(ApiError::WrongKeyType {
                expected: wanted,
                got: key.endpoint_type,
            });
        }
        Ok(key)
    }

    /// Finds the key for `presented`, of whichever type, if it is usable at `now`: unknown or
    /// revoked → 401, expired → 401.
    pub async fn active(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<IngestKey>, ApiError> {
        let key = self.find(presented).await?.ok_or(ApiError::InvalidApiKey)?;
        if key.revoked {
            return Err(ApiError::InvalidApiKey);
        }
        if let Some(at) = key.expires_at.filter(|at| *at <= now) {
            return Err(ApiError::ApiKeyExpired { at });
        }
        Ok(key)
    }

    async fn find(&self, presented: &str) -> Result<Option<Arc<IngestKey>>, ApiError> {
        let hash = hash_credential(presented);
        if let Some(slot) = self.slots.read().expect("key ring lock").get(&hash) {
            return Ok(slot.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let compiled = match self.store.api_key_by_hash(&hash).await? {
            Some(record) => {
                let kept = self.kept_count(hash);
                Some(Arc::new(compile(record, presented, hash, kept)?))
            }
            None => None,
        };
        let mut slots = self.slots.write().expect("key ring lock");
        if self.generation.load(Ordering::Acquire) == generation {
            if slots.len() >= MAX_REMEMBERED {
                slots.clear();
            }
            slots.insert(hash, compiled.clone());
        }
        Ok(compiled)
    }

    /// The count of payloads kept of the key whose hash is `hash`.
    fn kept_count(&self, hash: [u8; 32]) -> Arc<AtomicU64> {
        let mut kept = self.kept.lock().expect("kept payloads lock");
        if kept.len() >= MAX_REMEMBERED {
            // Those of keys no longer compiled: a minute's count no longer matters by then.
            kept.retain(|_, count| Arc::strong_count(count) > 1);
        }
        Arc::clone(kept.entry(hash).or_default())
    }

    /// Drops every remembered key.
    fn forget_all(&self) {
        let mut slots = self.slots.write().expect("key ring lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        slots.clear();
    }

    /// Checks the store's key revision and forgets everything when it moved.
    pub async fn refresh(&self) -> Result<(), trailspark_store::StoreError> {
        let now = self.store.key_revision().await?;
        if self.revision.swap(now, Ordering::AcqRel) != now {
            self.forget_all();
        }
        Ok(())
    }

    /// Notes that a key was used; written to the store by [`KeyRing::flush_last_used`].
    pub fn mark_used(&self, key: &IngestKey, at: DateTime<Utc>) {
        let second = at.timestamp();
        if key.last_noted.swap(second, Ordering::Relaxed) == second {
            return;
        }
        self.last_used
            .lock()
            .expect("last-used lock")
            .insert((key.tenant, key.id.clone()), at);
    }

    /// Writes the pending last-used times in one store call.
    pub async fn flush_last_used(&self) -> Result<(), trailspark_store::StoreError> {
        let pending: Vec<_> = {
            let mut map = self.last_used.lock().expect("last-used lock");
            map.drain().map(|((t, id), at)| (t, id, at)).collect()
        };
        if pending.is_empty() {
            return Ok(());
        }
        self.store.touch_api_keys(&pending).await
    }
}

impl IngestKey {
    /// The key as a replay uses it: its current template, without its secrets (a replay
    /// re-applies what was received, so nothing is verified again). Its `hash` is the key
    /// id's: the key text is not known here, and a replay never meets the rate limiter.
    pub fn for_replay(record: ApiKeyRecord) -> Result<Self, ApiError> {
        let hash = trailspark_core::credentials::hash_credential(&record.id.0);
        let record = ApiKeyRecord {
            hmac_secret_sealed: None,
            ..record
        };
        compile(record, "", hash, Arc::default())
    }
}

fn compile(
    record: ApiKeyRecord,
    presented: &str,
    hash: [u8; 32],
    payloads_kept: Arc<AtomicU64>,
) -> Result<IngestKey, ApiError> {
    let template_json: serde_json::Value = serde_json::from_str(&record.template)
        .with_context(|| format!("stored template of key {} is not JSON", record.id))?;
    let template = PayloadTemplate::from_json(record.endpoint_type, &template_json)
        .with_context(|| format!("stored template of key {} is invalid", record.id))?;
    let hmac_secret = match &record.hmac_secret_sealed {
        Some(sealed) => Some(SecretString::from(
            open_hmac_secret(presented, sealed)
                .with_context(|| format!("HMAC secret of key {} does not open", record.id))?,
        )),
        None => None,
    };
    Ok(IngestKey {
        tenant: record.tenant_id,
        id: record.id,
        endpoint_type: record.endpoint_type,
        template,
        template_version: record.template_version,
        expires_at: record.expires_at,
        revoked: record.revoked_at.is_some(),
        secret_hash: record.secret_hash,
        hmac_secret,
        hash,
        last_noted: AtomicI64::new(i64::MIN),
        counters: std::sync::OnceLock::new(),
        payloads_kept,
    })
}

impl IngestKey {
    /// The HMAC secret, when the key has one.
    pub fn hmac_secret(&self) -> Option<&str> {
        self.hmac_secret.as_ref().map(|s| s.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    use trailspark_core::credentials::hash_credential;
    use trailspark_core::template::Preset;

    use super::*;

    fn key(id: &str) -> IngestKey {
        let template = PayloadTemplate::preset(EndpointType::ProductOrgUpdates, Preset::Flat);
        let record = ApiKeyRecord {
            tenant_id: TenantId(1),
            id: ApiKeyId(id.into()),
            name: "test".into(),
            endpoint_type: EndpointType::ProductOrgUpdates,
            prefix: "tsk_po_ab".into(),
            template: template.to_json().to_string(),
            template_version: 4,
            created_at: Utc::now(),
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            secret_hash: None,
            hmac_secret_sealed: None,
        };
        compile(
            record,
            "tsk_po_abc",
            hash_credential("tsk_po_abc"),
            Arc::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_compiled_key_holds_its_current_template_and_its_version() {
        let key = key("key_1");
        let template = PayloadTemplate::preset(EndpointType::ProductOrgUpdates, Preset::Flat);
        assert_eq!((key.template, key.template_version), (template, 4));
    }

    #[test]
    fn each_key_keeps_its_first_payloads_of_each_minute() {
        let budget = crate::deliveries::PayloadBudget::new(2);
        let (one, other) = (key("key_1"), key("key_2"));
        let at = |s: i64| DateTime::from_timestamp(1_764_000_000 + s, 0).unwrap();
        let taken = |key: &IngestKey, s: i64| budget.take(key, at(s));
        assert_eq!(
            [taken(&one, 0), taken(&one, 1), taken(&one, 59)],
            [true, true, false]
        );
        assert!(taken(&other, 2), "another key counts its own");
        assert_eq!(
            [taken(&one, 60), taken(&one, 61), taken(&one, 62)],
            [true, true, false]
        );
        assert!(
            crate::deliveries::PayloadBudget::new(0).take(&one, at(63)),
            "0: no limit"
        );
    }
}
