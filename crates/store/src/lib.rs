//! The one storage interface of trailspark. Every tenant-owned operation takes the
//! [`TenantId`] first, so reading across tenants is not expressible. Backends (SQLite,
//! PostgreSQL) implement [`Store`]; nothing above this trait knows which one runs.

mod admin_tokens;
mod batch;
pub mod cursor;
mod deliveries;
mod error;
mod health;
mod leads;
mod rows;
mod similar;
pub mod tally;
mod write_health;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use trailspark_core::{
    AdminTokenId, ApiKeyId, LeadId, ProductOrgId, Subdomain, TargetOrgId, TenantId,
};

pub use admin_tokens::{AdminToken, AdminTokenStatus, NewAdminToken};
pub use batch::{fill_batch, Weighed};
pub use deliveries::{
    cut, Delivery, DeliveryQuery, DeliveryRow, Intake, Logged, NewDelivery, Outcome, Refusal,
    RequestLog, Swept, Verdict,
};
pub use error::{Cause, Missing, StoreError, StoreResult};
pub use health::{
    hour_start, is_volatile, key_health, key_traffic, window_start, ErrorExample, FieldCount,
    FieldShare, HourBar, HourCount, KeyActivity, KeyHealth, KeyTraffic, RefusalCount, TopError,
    VolatileField, MIN_CHANGING_UPDATES, TOP_ERRORS, WINDOW_HOURS,
};
pub use leads::{
    EvaluationContext, FirmographicsKey, FirmographicsRow, Lead, SignalRecord, SignalRequest,
    TargetOrg, TargetOrgDetail, UnlinkedLead,
};
pub use rows::{
    ApiKeyRecord, CommitCounters, CommitStats, CursorKey, HistoryEntry, IngestRequest,
    IngestResult, NewApiKey, Page, PageRequest, ProductOrg, SearchQuery, Session, TemplateVersion,
    Tenant, TenantCounts, User, Window,
};
pub use similar::{did_you_mean, group_by_folded, is_possible_duplicate, meant};
pub use tally::{TalliedEntry, Tallies, Tally, TallyKind};
/// The outcomes of writes are the write rules' own (core); here for the stores' callers.
pub use trailspark_core::{Applied, SignalApplied};
pub use write_health::{WriteFailure, WriteHealth, PROBE_EVERY};

/// Storage of tenants, keys, product orgs and their history.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the store answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Group commit so far (for `/metrics`).
    fn commit_stats(&self) -> CommitStats {
        CommitStats::default()
    }

    /// Whether the store's writes fail (for `/readyz`): a write failed and no probe has
    /// committed since. `None` for a store that does not watch its writes.
    fn write_health(&self) -> Option<&WriteHealth> {
        None
    }
    /// Commits a write through the store's write path, needing new space as a batch of
    /// updates does, and records its outcome in [`Store::write_health`]: the one way a failure
    /// ends, and so how `/readyz` finds out that writes commit again (with no updates coming,
    /// as a load balancer sends none to an instance that is not ready). Only asked while
    /// writes fail.
    async fn probe_write(&self) -> StoreResult<()> {
        Ok(())
    }

    /// Creates a tenant; [`StoreError::Conflict`] when the subdomain is taken.
    async fn create_tenant(&self, subdomain: &Subdomain, name: &str) -> StoreResult<Tenant>;
    /// Creates tenant `default` when the store has no tenant at all; returns it if it did.
    async fn create_default_tenant_if_empty(&self) -> StoreResult<Option<Tenant>>;
    /// Finds a tenant by subdomain; [`StoreError::NotFound`] when there is none.
    async fn tenant_by_subdomain(&self, subdomain: &Subdomain) -> StoreResult<Tenant>;
    /// The store's tenant when it has exactly one (the sign-in form prefills it).
    async fn only_tenant(&self) -> StoreResult<Option<Tenant>>;

    /// Stores a new API key (already hashed and sealed by the caller), its template as
    /// version 1 by `key.created_by`.
    async fn create_api_key(&self, tenant: TenantId, key: NewApiKey) -> StoreResult<ApiKeyRecord>;
    /// The tenant's keys, newest first, revoked ones included.
    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKeyRecord>>;
    /// One key of the tenant, revoked or not; [`StoreError::NotFound`] when it has none of
    /// that id.
    async fn api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord>;
    /// Makes `template` (JSON text, validated by the caller) the key's current template, as
    /// its next version by `author`, and moves the key revision so that servers drop the old
    /// one. Concurrent changes of one key get distinct, consecutive versions.
    /// [`StoreError::NotFound`] for a key the tenant does not have; [`StoreError::Conflict`]
    /// for a revoked key, whose template no longer changes.
    async fn set_template(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
        template: &str,
        author: &str,
    ) -> StoreResult<TemplateVersion>;
    /// Every version of a key's template, newest first (revoked keys' too);
    /// [`StoreError::NotFound`] for a key the tenant does not have.
    async fn template_versions(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
    ) -> StoreResult<Vec<TemplateVersion>>;
    /// Revokes a key; [`StoreError::NotFound`] when the tenant has no such key.
    async fn revoke_api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord>;
    /// Finds a key by the SHA-256 of its text, whatever its tenant: this is how a webhook
    /// request finds its tenant. Revoked keys are returned too (with `revoked_at`).
    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<ApiKeyRecord>>;
    /// A number that grows whenever any key is created, revoked or given a new template, so
    /// that servers holding keys in memory know when to drop them.
    async fn key_revision(&self) -> StoreResult<i64>;
    /// Records when keys were last used (written in batches, not per request).
    async fn touch_api_keys(&self, used: &[(TenantId, ApiKeyId, DateTime<Utc>)])
        -> StoreResult<()>;

    /// Stores a new admin token of the tenant (its SHA-256, never the token).
    async fn create_admin_token(
        &self,
        tenant: TenantId,
        token: NewAdminToken,
    ) -> StoreResult<AdminToken>;
    /// The tenant's admin tokens, newest first, expired and revoked ones included.
    async fn list_admin_tokens(&self, tenant: TenantId) -> StoreResult<Vec<AdminToken>>;
    /// Revokes an admin token (a revoked token keeps its first revocation time);
    /// [`StoreError::NotFound`] when the tenant has no token of that id.
    async fn revoke_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
    ) -> StoreResult<AdminToken>;
    /// The admin token, of any tenant, whose SHA-256 is `hash`: this is how an admin request
    /// finds its tenant. Expired and revoked tokens are returned too
    /// ([`AdminToken::status_at`] says whether one is taken).
    async fn admin_token_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>>;
    /// Records that an admin token was used at `at`; a last use never moves back.
    async fn touch_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// A key's delivery log, newest first, filtered (entries are written by [`Store::ingest`]
    /// and [`Store::ingest_signals`] with their updates).
    async fn deliveries(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        query: &DeliveryQuery,
    ) -> StoreResult<Page<Delivery>>;
    /// One entry of the tenant's delivery log; [`StoreError::NotFound`] when it has none of
    /// that id.
    async fn delivery(&self, tenant: TenantId, id: i64) -> StoreResult<Delivery>;
    /// A key's tallies of the hours from the one `since` falls in on ([`tally`]): of one kind
    /// when `kind` is given, of all otherwise. Another tenant's key has none.
    async fn key_tallies(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        since: DateTime<Utc>,
        kind: Option<TallyKind>,
    ) -> StoreResult<Vec<Tally>>;
    /// Removes, in every tenant, the log entries received before `before` and those beyond the
    /// newest `per_key` of each key, and the tallies of the hours wholly before `before`.
    async fn sweep_deliveries(&self, before: DateTime<Utc>, per_key: u32) -> StoreResult<Swept>;
    /// Removes, in every tenant, the product org history received before `before` (oldest
    /// first; each store says how it finds them); how many entries went. An org's values and
    /// their clocks are not history: they stay.
    async fn sweep_history(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Removes, in every tenant, the signals received before `before`, oldest first; how many
    /// went. Leads, and the links their signals made, stay.
    async fn sweep_signals(&self, before: DateTime<Utc>) -> StoreResult<u64>;

    /// Creates a web UI user; [`StoreError::Conflict`] when the tenant has one of that email.
    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        password_hash: &str,
    ) -> StoreResult<()>;
    /// A web UI user by (normalised) email.
    async fn user(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>>;
    /// How many web UI users exist, in all tenants (none: the first start offers a setup link).
    async fn count_users(&self) -> StoreResult<i64>;
    /// Stores a session by the SHA-256 of its token.
    async fn create_session(
        &self,
        tenant: TenantId,
        email: &str,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The session of a token (by SHA-256), if it exists and has not expired at `now`.
    async fn session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>>;
    /// Ends a session (signing out); ending an unknown one is not an error.
    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()>;

    /// Applies a request's updates in order, in one transaction with whatever other requests
    /// are being committed at the same time. Returns when the transaction is durable. Each
    /// update has its own result: one failing never fails the others.
    async fn ingest(&self, tenant: TenantId, request: IngestRequest) -> StoreResult<IngestResult>;

    /// One product org; [`StoreError::NotFound`] when the tenant has none of that id.
    async fn product_org(&self, tenant: TenantId, id: &ProductOrgId) -> StoreResult<ProductOrg>;
    /// Product orgs ordered by id, optionally filtered, one page at a time.
    async fn list_product_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<ProductOrg>>;
    /// A product org's change history, newest first; [`StoreError::NotFound`] for an unknown org.
    async fn product_org_history(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<HistoryEntry>>;
    /// Possible duplicates: product orgs whose ids are equal once trimmed and case-folded
    /// ([`ProductOrgId::folded`]), grouped by [`group_by_folded`]; the first `limit` groups in
    /// folded-id order, each ordered by id.
    async fn possible_duplicates(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<Vec<ProductOrg>>>;
    /// Every product org whose id folds like one of `ids` (those of `ids` that exist
    /// included), ordered by id: [`is_possible_duplicate`] then says which are whose.
    async fn product_orgs_folding_like(
        &self,
        tenant: TenantId,
        ids: &[ProductOrgId],
    ) -> StoreResult<Vec<ProductOrg>>;

    /// Stores signals in order, in one transaction with whatever else is being committed, and
    /// links each signal's lead to the target org of the signal's product org.
    async fn ingest_signals(
        &self,
        tenant: TenantId,
        request: SignalRequest,
    ) -> StoreResult<IngestResult<SignalApplied>>;
    /// One lead; [`StoreError::NotFound`] when the tenant has none of that id.
    async fn lead(&self, tenant: TenantId, id: &LeadId) -> StoreResult<Lead>;
    /// Leads ordered by id, optionally filtered by id or email, one page at a time.
    async fn list_leads(&self, tenant: TenantId, query: &SearchQuery) -> StoreResult<Page<Lead>>;
    /// The leads [`Store::list_leads`] would list that are not linked to a target org, each
    /// with the product org it probably meant.
    async fn unlinked_leads(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<UnlinkedLead>>;
    /// The lead, its newest `signals` signals, and its target org's firmographics and product
    /// orgs, read at one point in time.
    async fn evaluation_context(
        &self,
        tenant: TenantId,
        id: &LeadId,
        signals: u32,
    ) -> StoreResult<EvaluationContext>;

    /// How many product orgs, target orgs and leads the tenant has, counted now: no cache, so
    /// the cost grows with the tenant's rows (each backend says by how much).
    async fn tenant_counts(&self, tenant: TenantId) -> StoreResult<TenantCounts>;

    /// Target orgs ordered by id, optionally filtered by name, one page at a time.
    async fn list_target_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<TargetOrg>>;
    /// One target org with its product orgs and leads.
    async fn target_org(&self, tenant: TenantId, id: TargetOrgId) -> StoreResult<TargetOrgDetail>;
    /// Replaces a target org's firmographics.
    async fn set_firmographics(
        &self,
        tenant: TenantId,
        id: TargetOrgId,
        firmographics: Map<String, Value>,
    ) -> StoreResult<TargetOrg>;
    /// Puts a product org (and so the leads linked through it) under another target org.
    async fn move_product_org(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        to: TargetOrgId,
    ) -> StoreResult<ProductOrg>;
    /// Applies firmographics rows in one transaction, each row whole or not at all; one
    /// result per row (the target org it set, or why it was refused).
    async fn import_firmographics(
        &self,
        tenant: TenantId,
        rows: Vec<FirmographicsRow>,
    ) -> StoreResult<Vec<Result<TargetOrgId, String>>>;

    /// Waits until everything acknowledged is committed and stops accepting writes.
    async fn close(&self);
}
