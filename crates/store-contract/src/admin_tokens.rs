//! Admin tokens: found by hash, listed and revoked per tenant, expiring, used.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use trailspark_core::credentials::{
    generate_admin_token, generate_admin_token_id, hash_credential,
};
use trailspark_core::{AdminTokenId, TenantId};
use trailspark_store::{AdminToken, AdminTokenStatus, Missing, NewAdminToken, Store, StoreError};

use crate::tenant;

/// A new admin token of `tenant` as the CLI makes it, and the token text.
async fn new_admin_token(
    store: &dyn Store,
    tenant: TenantId,
    name: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
) -> (AdminToken, String) {
    let text = generate_admin_token();
    let token = NewAdminToken {
        id: generate_admin_token_id(),
        name: name.map(str::to_owned),
        token_hash: hash_credential(&text),
        expires_at,
    };
    let created = store
        .create_admin_token(tenant, token.clone())
        .await
        .expect("create admin token");
    assert_eq!(
        (
            &created.id,
            &created.name,
            created.expires_at,
            created.tenant_id
        ),
        (&token.id, &token.name, token.expires_at, tenant),
        "the created token is returned as stored"
    );
    (created, text)
}

/// Admin tokens are found by hash with their tenant, listed per tenant (newest first) with
/// their name and expiry to the microsecond.
pub async fn admin_tokens(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let a = tenant(s, "tokens-a").await;
    let b = tenant(s, "tokens-b").await;
    let expires = DateTime::from_timestamp_micros(Utc::now().timestamp_micros() + 86_400_000_001)
        .expect("valid time");
    let (first, first_text) = new_admin_token(s, a.id, Some("lead scoring"), Some(expires)).await;
    let (second, _) = new_admin_token(s, a.id, None, None).await;
    let (other, other_text) = new_admin_token(s, b.id, None, None).await;

    let found = s
        .admin_token_by_hash(&hash_credential(&first_text))
        .await
        .unwrap()
        .expect("found by hash");
    assert_eq!(found, first, "found as created");
    assert_eq!(
        found.expires_at,
        Some(expires),
        "expiry kept to the microsecond"
    );
    assert_eq!(found.status_at(Utc::now()), AdminTokenStatus::Active);
    assert_eq!(
        s.admin_token_by_hash(&hash_credential(&other_text))
            .await
            .unwrap()
            .map(|t| t.tenant_id),
        Some(b.id)
    );
    assert_eq!(
        s.admin_token_by_hash(&hash_credential("tsa_never_issued"))
            .await
            .unwrap(),
        None
    );
    let listed: Vec<_> = s.list_admin_tokens(a.id).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|t| &t.id).collect();
    assert_eq!(
        ids,
        [&second.id, &first.id],
        "tenant a's tokens, newest first"
    );
    assert_eq!(listed[1], first);
    let listed_b: Vec<_> = s.list_admin_tokens(b.id).await.unwrap();
    assert_eq!(listed_b, [other], "tenant b lists its own token only");
}

/// A token is revoked by its tenant only (another tenant's id is not found), keeps its first
/// revocation time, and is still found by hash, revoked; its last use never moves back.
pub async fn admin_tokens_are_revoked_and_used_per_tenant(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let a = tenant(s, "revoke-a").await;
    let b = tenant(s, "revoke-b").await;
    let (token, text) = new_admin_token(s, a.id, Some("ci"), None).await;
    let (kept, _) = new_admin_token(s, a.id, None, None).await;

    let refused = s.revoke_admin_token(b.id, &token.id).await;
    assert!(
        matches!(&refused, Err(StoreError::NotFound(Missing::AdminToken(id))) if *id == token.id),
        "another tenant revokes nothing: {refused:?}"
    );
    let unknown = s
        .revoke_admin_token(a.id, &AdminTokenId("adm_nosuch".into()))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::NotFound(_))),
        "{unknown:?}"
    );
    let still = s
        .admin_token_by_hash(&hash_credential(&text))
        .await
        .unwrap();
    assert_eq!(still.and_then(|t| t.revoked_at), None, "not revoked by b");

    let revoked = s.revoke_admin_token(a.id, &token.id).await.unwrap();
    let at = revoked.revoked_at.expect("revoked_at set");
    assert_eq!(revoked.status_at(Utc::now()), AdminTokenStatus::Revoked);
    let again = s.revoke_admin_token(a.id, &token.id).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(at),
        "the first revocation time stays"
    );
    let found = s
        .admin_token_by_hash(&hash_credential(&text))
        .await
        .unwrap()
        .expect("a revoked token is still found, revoked");
    assert_eq!(found.revoked_at, Some(at));
    let listed = s.list_admin_tokens(a.id).await.unwrap();
    let revoked_of = |id: &AdminTokenId| {
        listed
            .iter()
            .find(|t| t.id == *id)
            .map(|t| t.revoked_at.is_some())
    };
    assert_eq!(revoked_of(&token.id), Some(true));
    assert_eq!(
        revoked_of(&kept.id),
        Some(false),
        "only that token is revoked"
    );

    let used = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
    s.touch_admin_token(a.id, &kept.id, used).await.unwrap();
    s.touch_admin_token(a.id, &kept.id, used - Duration::minutes(5))
        .await
        .unwrap();
    s.touch_admin_token(b.id, &kept.id, used + Duration::minutes(5))
        .await
        .unwrap();
    let last_used = s
        .list_admin_tokens(a.id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id == kept.id)
        .and_then(|t| t.last_used_at);
    assert_eq!(
        last_used,
        Some(used),
        "the last use never moves back, and another tenant does not touch it"
    );
}
