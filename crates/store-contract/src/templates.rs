//! The versions of a key's payload template (SPEC §6).

use std::collections::BTreeMap;
use std::sync::Arc;

use trailspark_core::credentials::hash_credential;
use trailspark_core::{ApiKeyId, EndpointType};
use trailspark_store::{Missing, Store, StoreError, TemplateVersion};

use crate::{new_key, tenant};

fn is_missing_key<T: std::fmt::Debug>(result: &Result<T, StoreError>, id: &ApiKeyId) -> bool {
    matches!(result, Err(StoreError::NotFound(Missing::ApiKey(missing))) if missing == id)
}

/// A key starts at version 1 by its author; each change is the next version by its author,
/// becomes the key's template wherever the key is read (by id, by hash, in the list), and
/// moves the key revision; every version stays readable, newest first. Another tenant's key
/// and an unknown key are not found; a revoked key's template is read but not changed.
pub async fn template_versions_are_kept_per_key_and_tenant(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let a = tenant(s, "versions-a").await;
    let b = tenant(s, "versions-b").await;
    let (key, text) = new_key(EndpointType::ProductOrgUpdates);
    let first_template = key.template.clone();
    let created = s.create_api_key(a.id, key).await.unwrap();
    assert_eq!(created.template_version, 1, "a new key is at version 1");
    let read = s.api_key(a.id, &created.id).await.unwrap();
    assert_eq!(
        (&read.id, &read.template, read.template_version),
        (&created.id, &first_template, 1)
    );
    let first = TemplateVersion {
        version: 1,
        template: first_template.clone(),
        created_at: created.created_at,
        created_by: "contract".into(),
    };
    assert_eq!(
        s.template_versions(a.id, &created.id).await.unwrap(),
        std::slice::from_ref(&first),
        "version 1 is the template the key was made with, by its maker, at its creation"
    );

    let before = s.key_revision().await.unwrap();
    let second = r#"{"productOrgId":"workspace_id"}"#;
    let v2 = s
        .set_template(a.id, &created.id, second, "alice")
        .await
        .unwrap();
    assert_eq!(
        (v2.version, v2.template.as_str(), v2.created_by.as_str()),
        (2, second, "alice")
    );
    let after = s.key_revision().await.unwrap();
    assert!(after > before, "a template change moves the key revision");
    let by_hash = s
        .api_key_by_hash(&hash_credential(&text))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (by_hash.template.as_str(), by_hash.template_version),
        (second, 2),
        "the webhook's lookup reads the new template"
    );
    let listed = s.list_api_keys(a.id).await.unwrap();
    assert_eq!(
        (listed[0].template.as_str(), listed[0].template_version),
        (second, 2)
    );

    let third = r#"{"productOrgId":"groupId","name":"traits.name"}"#;
    let v3 = s
        .set_template(a.id, &created.id, third, "bob")
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    let versions = s.template_versions(a.id, &created.id).await.unwrap();
    assert_eq!(
        versions,
        [v3.clone(), v2.clone(), first],
        "every version, newest first, as answered when set"
    );
    assert!(v3.created_at >= v2.created_at && v2.created_at >= created.created_at);

    other_tenants_and_unknown_keys_are_not_found(s, b.id, &created.id).await;
    let unknown = ApiKeyId("key_nope".into());
    other_tenants_and_unknown_keys_are_not_found(s, a.id, &unknown).await;
    assert_eq!(
        s.api_key(a.id, &created.id).await.unwrap().template_version,
        3,
        "the refused changes changed nothing"
    );

    s.revoke_api_key(a.id, &created.id).await.unwrap();
    let revision = s.key_revision().await.unwrap();
    let refused = s.set_template(a.id, &created.id, second, "carol").await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict { what, .. }) if what.contains("revoked")),
        "a revoked key's template does not change: {refused:?}"
    );
    let revoked = s.api_key(a.id, &created.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        (revoked.template.as_str(), revoked.template_version),
        (third, 3)
    );
    assert_eq!(
        s.template_versions(a.id, &created.id).await.unwrap().len(),
        3,
        "a revoked key's versions are still read"
    );
    assert_eq!(s.key_revision().await.unwrap(), revision);
}

/// Reading, changing and listing the versions of `id` as `tenant` finds no key.
async fn other_tenants_and_unknown_keys_are_not_found(
    s: &dyn Store,
    tenant: trailspark_core::TenantId,
    id: &ApiKeyId,
) {
    let read = s.api_key(tenant, id).await;
    assert!(is_missing_key(&read, id), "read {id}: {read:?}");
    let set = s
        .set_template(tenant, id, r#"{"productOrgId":"x"}"#, "mallory")
        .await;
    assert!(is_missing_key(&set, id), "change {id}: {set:?}");
    let versions = s.template_versions(tenant, id).await;
    assert!(
        is_missing_key(&versions, id),
        "versions of {id}: {versions:?}"
    );
}

/// Changes of one key sent at once each get their own version, 2, 3, … with none skipped
/// or taken twice, and the key ends at the last one's template.
pub async fn concurrent_template_changes_take_consecutive_versions(store: Arc<dyn Store>) {
    const CHANGES: i64 = 16;
    let (t, id) = crate::tenant_with_key(&store, "versions-race").await;
    // Collected, so every change is sent before the first answer is awaited.
    let changes: Vec<_> = (0..CHANGES)
        .map(|n| {
            let (store, id) = (Arc::clone(&store), id.clone());
            tokio::spawn(async move {
                let template = format!(r#"{{"productOrgId":"path_{n}"}}"#);
                store
                    .set_template(t.id, &id, &template, &format!("writer {n}"))
                    .await
                    .expect("set template")
            })
        })
        .collect();
    let mut answered = BTreeMap::new();
    for change in changes {
        let version = change.await.expect("change task");
        let taken = answered.insert(version.version, version.clone());
        assert!(taken.is_none(), "version {} given twice", version.version);
    }
    let numbers: Vec<i64> = answered.keys().copied().collect();
    assert_eq!(numbers, (2..=CHANGES + 1).collect::<Vec<_>>());
    let key = store.api_key(t.id, &id).await.unwrap();
    let last = &answered[&(CHANGES + 1)];
    assert_eq!(
        (key.template_version, &key.template),
        (last.version, &last.template),
        "the key holds the last change"
    );
    let stored = store.template_versions(t.id, &id).await.unwrap();
    assert_eq!(stored.len() as i64, CHANGES + 1);
    for version in &stored[..CHANGES as usize] {
        assert_eq!(Some(version), answered.get(&version.version));
    }
}
