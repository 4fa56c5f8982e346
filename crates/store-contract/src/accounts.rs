//! Tenants, API keys, web UI users and sessions.

use std::sync::Arc;

use chrono::{Duration, Utc};
use trailspark_core::credentials::hash_credential;
use trailspark_core::{ApiKeyId, EndpointType, Subdomain};
use trailspark_store::{Missing, Store, StoreError};

use crate::{new_key, tenant};

/// Subdomains are unique; `default` is created only on an empty store.
pub async fn tenants(store: Arc<dyn Store>) {
    assert!(
        store.only_tenant().await.unwrap().is_none(),
        "no tenant yet"
    );
    let created = store
        .create_default_tenant_if_empty()
        .await
        .expect("default tenant");
    let default = created.expect("an empty store gets tenant `default`");
    assert_eq!(default.subdomain.as_str(), "default");
    assert!(
        store
            .create_default_tenant_if_empty()
            .await
            .expect("second call")
            .is_none(),
        "`default` is created once"
    );
    let only = store.only_tenant().await.unwrap();
    assert_eq!(only.map(|t| t.id), Some(default.id), "one tenant");
    let acme = tenant(store.as_ref(), "acme").await;
    assert_ne!(acme.id, default.id);
    assert!(store.only_tenant().await.unwrap().is_none(), "two tenants");
    let again = store
        .create_tenant(&Subdomain::parse("acme").unwrap(), "Acme again")
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "a taken subdomain is a conflict: {again:?}"
    );
    let found = store
        .tenant_by_subdomain(&Subdomain::parse("acme").unwrap())
        .await
        .unwrap();
    assert_eq!(found.id, acme.id);
    let missing = store
        .tenant_by_subdomain(&Subdomain::parse("nobody").unwrap())
        .await;
    assert!(
        matches!(&missing, Err(StoreError::NotFound(Missing::Tenant(s))) if s.as_str() == "nobody"),
        "the error names the tenant: {missing:?}"
    );
}

/// Keys are found by hash, listed per tenant, revoked per tenant, and every change moves the
/// key revision.
pub async fn api_keys(store: Arc<dyn Store>) {
    let a = tenant(store.as_ref(), "keys-a").await;
    let b = tenant(store.as_ref(), "keys-b").await;
    let start = store.key_revision().await.unwrap();
    let (first, first_text) = new_key(EndpointType::ProductOrgUpdates);
    let (mut second, _) = new_key(EndpointType::SignalStaging);
    second.expires_at = Some(Utc::now() + Duration::days(1));
    second.secret_hash = Some(hash_credential("tss_secret"));
    second.hmac_secret_sealed = Some(vec![1, 2, 3]);
    let first = store.create_api_key(a.id, first).await.unwrap();
    let second = store.create_api_key(a.id, second).await.unwrap();
    let after_create = store.key_revision().await.unwrap();
    assert!(after_create > start, "creating a key moves the revision");

    let found = store
        .api_key_by_hash(&hash_credential(&first_text))
        .await
        .unwrap()
        .expect("by hash");
    assert_eq!((found.tenant_id, &found.id), (a.id, &first.id));
    assert_eq!(found.endpoint_type, EndpointType::ProductOrgUpdates);
    assert!(store
        .api_key_by_hash(&hash_credential("tsk_po_nope"))
        .await
        .unwrap()
        .is_none());

    let listed = store.list_api_keys(a.id).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|k| &k.id).collect();
    assert_eq!(ids.len(), 2, "tenant a has two keys");
    assert!(ids.contains(&&second.id));
    let stored = listed.iter().find(|k| k.id == second.id).unwrap();
    assert_eq!(stored.secret_hash, Some(hash_credential("tss_secret")));
    assert_eq!(stored.hmac_secret_sealed.as_deref(), Some(&[1u8, 2, 3][..]));
    assert!(stored.expires_at.is_some());
    assert!(
        store.list_api_keys(b.id).await.unwrap().is_empty(),
        "tenant b sees none of a's keys"
    );

    let other = store.revoke_api_key(b.id, &first.id).await;
    assert!(
        matches!(&other, Err(StoreError::NotFound(Missing::ApiKey(id))) if *id == first.id),
        "another tenant cannot revoke: {other:?}"
    );
    let unknown = store
        .revoke_api_key(a.id, &ApiKeyId("key_nope".into()))
        .await;
    assert!(
        matches!(&unknown, Err(StoreError::NotFound(Missing::ApiKey(id))) if id.0 == "key_nope"),
        "{unknown:?}"
    );
    let revoked = store.revoke_api_key(a.id, &first.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(
        store.key_revision().await.unwrap() > after_create,
        "revoking moves the revision"
    );
    let found = store
        .api_key_by_hash(&hash_credential(&first_text))
        .await
        .unwrap()
        .unwrap();
    assert!(
        found.revoked_at.is_some(),
        "a revoked key is still found, marked revoked"
    );

    let used = Utc::now();
    store
        .touch_api_keys(&[(a.id, second.id.clone(), used)])
        .await
        .unwrap();
    store
        .touch_api_keys(&[(a.id, second.id.clone(), used - Duration::hours(1))])
        .await
        .unwrap();
    let listed = store.list_api_keys(a.id).await.unwrap();
    let last_used = listed
        .iter()
        .find(|k| k.id == second.id)
        .unwrap()
        .last_used_at
        .unwrap();
    assert_eq!(
        last_used.timestamp_micros(),
        used.timestamp_micros(),
        "last-used never goes back"
    );
}

/// Web UI users are per tenant with unique emails; sessions are found by token hash until
/// they expire or are deleted.
pub async fn users_and_sessions(store: Arc<dyn Store>) {
    let s = store.as_ref();
    assert_eq!(s.count_users().await.unwrap(), 0);
    let a = tenant(s, "users-a").await;
    let b = tenant(s, "users-b").await;
    s.create_user(a.id, "ana@example.com", "$argon2id$fake")
        .await
        .unwrap();
    assert!(matches!(
        s.create_user(a.id, "ana@example.com", "$argon2id$other")
            .await,
        Err(StoreError::Conflict { .. })
    ));
    s.create_user(b.id, "ana@example.com", "$argon2id$b")
        .await
        .expect("the same email in another tenant is another user");
    assert_eq!(s.count_users().await.unwrap(), 2);
    let ana = s.user(a.id, "ana@example.com").await.unwrap().unwrap();
    assert_eq!(ana.password_hash, "$argon2id$fake");
    assert_eq!(ana.tenant, a.id);
    assert!(s.user(a.id, "bo@example.com").await.unwrap().is_none());

    let now = Utc::now();
    let token = hash_credential("session-one");
    s.create_session(a.id, "ana@example.com", &token, now + Duration::hours(1))
        .await
        .unwrap();
    let session = s.session(&token, now).await.unwrap().expect("live session");
    assert_eq!(
        (session.tenant, session.email.as_str()),
        (a.id, "ana@example.com")
    );
    assert!(
        s.session(&token, now + Duration::hours(2))
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(s
        .session(&hash_credential("session-two"), now)
        .await
        .unwrap()
        .is_none());
    s.delete_session(&token).await.unwrap();
    assert!(
        s.session(&token, now).await.unwrap().is_none(),
        "signed out"
    );
    s.delete_session(&token)
        .await
        .expect("deleting twice is fine");
}
