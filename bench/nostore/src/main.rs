//! The HTTP side of trailspark alone: `serve`'s whole request path (key lookup, checks, JSON,
//! template extraction, delivery log, metrics, the answer) over a SQLite store whose `ingest`
//! answers at once and writes nothing. `bench/ingest` drives it with the same load as the
//! baseline and trailspark, so the figures split trailspark's distance to the baseline into
//! what the HTTP side costs and what storing costs. Not a product: nothing it acknowledges is
//! kept.
//!
//! `trailspark-bench-nostore [ADDR]`, on the SQLite file `TRAILSPARK_DATABASE_URL` names, as
//! `serve` would; the key the load uses is created with `trailspark key create` meanwhile.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use trailspark_core::{
    AdminTokenId, ApiKeyId, LeadId, ProductOrgId, Subdomain, TargetOrgId, TenantId,
};
use trailspark_server::{Server, ServerConfig};
use trailspark_store::{
    AdminToken, ApiKeyRecord, Applied, CommitStats, Delivery, DeliveryQuery, EvaluationContext,
    FirmographicsRow, HistoryEntry, IngestRequest, IngestResult, Lead, NewAdminToken, NewApiKey,
    Page, PageRequest, ProductOrg, SearchQuery, Session, SignalApplied, SignalRequest, Store,
    StoreResult, Swept, TargetOrg, TargetOrgDetail, TemplateVersion, Tenant, User,
};
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

// As trailspark and the baseline: the ratio compares work, not allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A SQLite store whose product org ingest does nothing: every update is answered as a change
/// of an existing org.
struct NoIngest(SqliteStore);

#[async_trait]
impl Store for NoIngest {
    async fn ingest(&self, _: TenantId, request: IngestRequest) -> StoreResult<IngestResult> {
        let applied = |u: &trailspark_core::Update| Applied {
            product_org_id: u.product_org_id.clone(),
            target_org_id: TargetOrgId(1),
            is_new_org: false,
            changed: true,
            unchanged_reason: None,
            warnings: u.warnings.clone(),
            duplicate: false,
            changed_fields: Vec::new(),
        };
        Ok(IngestResult::Applied(
            request.updates.iter().map(|u| Ok(applied(u))).collect(),
        ))
    }

    // Everything else is the SQLite store's own.
    async fn ping(&self) -> StoreResult<()> {
        self.0.ping().await
    }
    fn commit_stats(&self) -> CommitStats {
        self.0.commit_stats()
    }
    async fn create_tenant(&self, subdomain: &Subdomain, name: &str) -> StoreResult<Tenant> {
        self.0.create_tenant(subdomain, name).await
    }
    async fn create_default_tenant_if_empty(&self) -> StoreResult<Option<Tenant>> {
        self.0.create_default_tenant_if_empty().await
    }
    async fn tenant_by_subdomain(&self, subdomain: &Subdomain) -> StoreResult<Tenant> {
        self.0.tenant_by_subdomain(subdomain).await
    }
    async fn only_tenant(&self) -> StoreResult<Option<Tenant>> {
        self.0.only_tenant().await
    }
    async fn create_api_key(&self, tenant: TenantId, key: NewApiKey) -> StoreResult<ApiKeyRecord> {
        self.0.create_api_key(tenant, key).await
    }
    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        self.0.list_api_keys(tenant).await
    }
    async fn api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        self.0.api_key(tenant, id).await
    }
    async fn set_template(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
        template: &str,
        author: &str,
    ) -> StoreResult<TemplateVersion> {
        self.0.set_template(tenant, id, template, author).await
    }
    async fn template_versions(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
    ) -> StoreResult<Vec<TemplateVersion>> {
        self.0.template_versions(tenant, id).await
    }
    async fn revoke_api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        self.0.revoke_api_key(tenant, id).await
    }
    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<ApiKeyRecord>> {
        self.0.api_key_by_hash(hash).await
    }
    async fn key_revision(&self) -> StoreResult<i64> {
        self.0.key_revision().await
    }
    async fn touch_api_keys(
        &self,
        used: &[(TenantId, ApiKeyId, DateTime<Utc>)],
    ) -> StoreResult<()> {
        self.0.touch_api_keys(used).await
    }
    async fn create_admin_token(
        &self,
        tenant: TenantId,
        token: NewAdminToken,
    ) -> StoreResult<AdminToken> {
        self.0.create_admin_token(tenant, token).await
    }
    async fn list_admin_tokens(&self, tenant: TenantId) -> StoreResult<Vec<AdminToken>> {
        self.0.list_admin_tokens(tenant).await
    }
    async fn revoke_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
    ) -> StoreResult<AdminToken> {
        self.0.revoke_admin_token(tenant, id).await
    }
    async fn admin_token_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>> {
        self.0.admin_token_by_hash(hash).await
    }
    async fn touch_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.0.touch_admin_token(tenant, id, at).await
    }
    async fn deliveries(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        query: &DeliveryQuery,
    ) -> StoreResult<Page<Delivery>> {
        self.0.deliveries(tenant, key, query).await
    }
    async fn delivery(&self, tenant: TenantId, id: i64) -> StoreResult<Delivery> {
        self.0.delivery(tenant, id).await
    }
    async fn key_tallies(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        since: DateTime<Utc>,
        kind: Option<trailspark_store::TallyKind>,
    ) -> StoreResult<Vec<trailspark_store::Tally>> {
        self.0.key_tallies(tenant, key, since, kind).await
    }
    async fn sweep_deliveries(&self, before: DateTime<Utc>, per_key: u32) -> StoreResult<Swept> {
        self.0.sweep_deliveries(before, per_key).await
    }
    async fn sweep_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.0.sweep_history(before).await
    }
    async fn sweep_signals(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.0.sweep_signals(before).await
    }
    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        password_hash: &str,
    ) -> StoreResult<()> {
        self.0.create_user(tenant, email, password_hash).await
    }
    async fn user(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
        self.0.user(tenant, email).await
    }
    async fn count_users(&self) -> StoreResult<i64> {
        self.0.count_users().await
    }
    async fn tenant_counts(&self, tenant: TenantId) -> StoreResult<trailspark_store::TenantCounts> {
        self.0.tenant_counts(tenant).await
    }
    async fn create_session(
        &self,
        tenant: TenantId,
        email: &str,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.0
            .create_session(tenant, email, token_hash, expires_at)
            .await
    }
    async fn session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        self.0.session(token_hash, now).await
    }
    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        self.0.delete_session(token_hash).await
    }
    async fn product_org(&self, tenant: TenantId, id: &ProductOrgId) -> StoreResult<ProductOrg> {
        self.0.product_org(tenant, id).await
    }
    async fn list_product_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<ProductOrg>> {
        self.0.list_product_orgs(tenant, query).await
    }
    async fn product_org_history(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<HistoryEntry>> {
        self.0.product_org_history(tenant, id, page).await
    }
    async fn possible_duplicates(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<Vec<ProductOrg>>> {
        self.0.possible_duplicates(tenant, limit).await
    }
    async fn product_orgs_folding_like(
        &self,
        tenant: TenantId,
        ids: &[ProductOrgId],
    ) -> StoreResult<Vec<ProductOrg>> {
        self.0.product_orgs_folding_like(tenant, ids).await
    }
    async fn ingest_signals(
        &self,
        tenant: TenantId,
        request: SignalRequest,
    ) -> StoreResult<IngestResult<SignalApplied>> {
        self.0.ingest_signals(tenant, request).await
    }
    async fn lead(&self, tenant: TenantId, id: &LeadId) -> StoreResult<Lead> {
        self.0.lead(tenant, id).await
    }
    async fn list_leads(&self, tenant: TenantId, query: &SearchQuery) -> StoreResult<Page<Lead>> {
        self.0.list_leads(tenant, query).await
    }
    async fn unlinked_leads(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<trailspark_store::UnlinkedLead>> {
        self.0.unlinked_leads(tenant, query).await
    }
    async fn evaluation_context(
        &self,
        tenant: TenantId,
        id: &LeadId,
        signals: u32,
    ) -> StoreResult<EvaluationContext> {
        self.0.evaluation_context(tenant, id, signals).await
    }
    async fn list_target_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<TargetOrg>> {
        self.0.list_target_orgs(tenant, query).await
    }
    async fn target_org(&self, tenant: TenantId, id: TargetOrgId) -> StoreResult<TargetOrgDetail> {
        self.0.target_org(tenant, id).await
    }
    async fn set_firmographics(
        &self,
        tenant: TenantId,
        id: TargetOrgId,
        firmographics: Map<String, Value>,
    ) -> StoreResult<TargetOrg> {
        self.0.set_firmographics(tenant, id, firmographics).await
    }
    async fn move_product_org(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        to: TargetOrgId,
    ) -> StoreResult<ProductOrg> {
        self.0.move_product_org(tenant, id, to).await
    }
    async fn import_firmographics(
        &self,
        tenant: TenantId,
        rows: Vec<FirmographicsRow>,
    ) -> StoreResult<Vec<Result<TargetOrgId, String>>> {
        self.0.import_firmographics(tenant, rows).await
    }
    async fn close(&self) {
        self.0.close().await;
    }
}

#[tokio::main]
async fn main() {
    // serve's logging, so that its per-request spans cost here what they cost there.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Ok(database) = std::env::var("TRAILSPARK_DATABASE_URL") else {
        eprintln!("usage: TRAILSPARK_DATABASE_URL=FILE trailspark-bench-nostore [ADDR]");
        std::process::exit(2);
    };
    let store = SqliteStore::open(database.as_ref(), SqliteOptions::default())
        .await
        .expect("open store");
    store
        .create_default_tenant_if_empty()
        .await
        .expect("tenant default");
    // As bench/ingest runs trailspark: no rate limit, every other setting `serve`'s default.
    let config = ServerConfig {
        listen: std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:0".into()),
        rate_limit_per_key: None,
        ..ServerConfig::default()
    };
    let server = Server::bind(config, Arc::new(NoIngest(store)))
        .await
        .expect("bind");
    println!("nostore listening on http://{}", server.local_addr());
    server
        .run_until(trailspark_server::shutdown_signal())
        .await
        .expect("serve");
}
