//! The PostgreSQL store: several `trailspark serve` instances share one database. Writes of
//! one product org or lead are serialised across instances with transaction-scoped advisory
//! locks; everything else is plain transactions.

mod accounts;
mod admin_tokens;
mod batcher;
mod counts;
mod db;
mod dedupe;
mod deliveries;
mod ingest;
mod leads;
mod options;
mod reads;
mod retention;
mod signals;
mod similar;
mod tallies;
mod target_orgs;
mod templates;
mod transactions;
mod users;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use serde_json::{Map, Value};
use trailspark_core::step::DedupeWindow;
use trailspark_core::{
    AdminTokenId, ApiKeyId, LeadId, ProductOrgId, Subdomain, TargetOrgId, TenantId,
};
use trailspark_store::{
    AdminToken, ApiKeyRecord, Delivery, DeliveryQuery, EvaluationContext, FirmographicsRow,
    HistoryEntry, IngestRequest, IngestResult, Lead, NewAdminToken, NewApiKey, Page, PageRequest,
    ProductOrg, SearchQuery, Session, SignalApplied, SignalRequest, Store, StoreResult, Swept,
    Tally, TallyKind, TargetOrg, TargetOrgDetail, TemplateVersion, Tenant, UnlinkedLead, User,
    WriteHealth,
};

use crate::batcher::Batcher;
pub use crate::batcher::BATCH_UPDATES;
use crate::db::{pg_error, pool_error};
pub use crate::options::PostgresOptions;

/// How often expired dedupe and replay rows are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// A trailspark store in a PostgreSQL database.
pub struct PostgresStore {
    pool: Pool,
    /// Product org updates and signals, each committed in batches.
    updates: ingest::Updates,
    signals: signals::Signals,
    /// Commits of both, as SQLite's writer counts its own.
    commits: Arc<trailspark_store::CommitCounters>,
    /// The write transactions that failed and the probes, for `/readyz`.
    write_health: Arc<WriteHealth>,
    /// How long a messageId is remembered.
    dedupe_window: DedupeWindow,
}

impl PostgresStore {
    /// Connects to `url` and checks that the database answers; does not migrate.
    pub async fn connect(url: &str, options: PostgresOptions) -> StoreResult<Self> {
        let pool = db::pool(url, &options)?;
        let write_health = Arc::new(WriteHealth::default());
        let commits = Arc::new(trailspark_store::CommitCounters::default());
        let updates = Batcher::start(ingest::APPLY, &pool, &write_health, &commits, &options);
        let signals = Batcher::start(signals::APPLY, &pool, &write_health, &commits, &options);
        let store = Self {
            pool,
            updates,
            signals,
            commits,
            write_health,
            dedupe_window: options.dedupe_window,
        };
        store.ping().await?;
        store.sweep_every(SWEEP_EVERY);
        Ok(store)
    }

    /// Deletes expired dedupe and replay rows now and then, until the pool is closed. Every
    /// instance sweeps; the deletes are idempotent.
    fn sweep_every(&self, every: Duration) {
        let (pool, window) = (self.pool.clone(), self.dedupe_window);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            while !pool.is_closed() {
                tick.tick().await;
                let swept = match pool.get().await {
                    Ok(client) => dedupe::sweep_expired(&client, window).await,
                    Err(e) => Err(pool_error(e)),
                };
                if let Err(e) = swept {
                    tracing::debug!(error = %e, "could not sweep expired dedupe rows");
                }
            }
        });
    }

    /// See [`db::unsafe_settings`]: what makes an acknowledged update less than durable.
    pub async fn unsafe_settings(&self) -> StoreResult<Vec<(&'static str, String)>> {
        db::unsafe_settings(&self.client().await?).await
    }

    /// See [`db::unvacuumed`]: what keeps the space of removed rows from being used again.
    pub async fn unvacuumed(&self) -> StoreResult<Vec<String>> {
        db::unvacuumed(&self.client().await?).await
    }

    /// Applies the embedded migrations not yet applied (safe when instances start together);
    /// returns the names of those it applied.
    pub async fn migrate(&self) -> StoreResult<Vec<&'static str>> {
        db::migrate(&self.pool).await
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_error)
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn commit_stats(&self) -> trailspark_store::CommitStats {
        self.commits.stats()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.client()
            .await?
            .execute("SELECT 1", &[])
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    fn write_health(&self) -> Option<&WriteHealth> {
        Some(&self.write_health)
    }

    async fn probe_write(&self) -> StoreResult<()> {
        self.probe().await
    }

    async fn create_tenant(&self, subdomain: &Subdomain, name: &str) -> StoreResult<Tenant> {
        accounts::create_tenant(&self.client().await?, subdomain, name).await
    }

    async fn create_default_tenant_if_empty(&self) -> StoreResult<Option<Tenant>> {
        self.write(async |tx| accounts::create_default_tenant_if_empty(tx).await)
            .await
    }

    async fn tenant_by_subdomain(&self, subdomain: &Subdomain) -> StoreResult<Tenant> {
        accounts::tenant_by_subdomain(&self.client().await?, subdomain).await
    }

    async fn only_tenant(&self) -> StoreResult<Option<Tenant>> {
        accounts::only_tenant(&self.client().await?).await
    }

    async fn create_api_key(&self, tenant: TenantId, key: NewApiKey) -> StoreResult<ApiKeyRecord> {
        self.write(async |tx| accounts::create_api_key(tx, tenant, &key).await)
            .await
    }

    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        accounts::list_api_keys(&self.client().await?, tenant).await
    }

    async fn api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        accounts::api_key(&self.client().await?, tenant, id).await
    }

    async fn set_template(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
        template: &str,
        author: &str,
    ) -> StoreResult<TemplateVersion> {
        self.write(async |tx| templates::set_template(tx, tenant, id, template, author).await)
            .await
    }

    async fn template_versions(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
    ) -> StoreResult<Vec<TemplateVersion>> {
        templates::template_versions(&self.client().await?, tenant, id).await
    }

    async fn revoke_api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        self.write(async |tx| accounts::revoke_api_key(tx, tenant, id).await)
            .await
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<ApiKeyRecord>> {
        accounts::api_key_by_hash(&self.client().await?, hash).await
    }

    async fn key_revision(&self) -> StoreResult<i64> {
        accounts::key_revision(&self.client().await?).await
    }

    async fn touch_api_keys(
        &self,
        used: &[(TenantId, ApiKeyId, DateTime<Utc>)],
    ) -> StoreResult<()> {
        self.write(async |tx| accounts::touch_api_keys(tx, used).await)
            .await
    }

    async fn create_admin_token(
        &self,
        tenant: TenantId,
        token: NewAdminToken,
    ) -> StoreResult<AdminToken> {
        admin_tokens::create(&self.client().await?, tenant, &token).await
    }

    async fn list_admin_tokens(&self, tenant: TenantId) -> StoreResult<Vec<AdminToken>> {
        admin_tokens::list(&self.client().await?, tenant).await
    }

    async fn revoke_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
    ) -> StoreResult<AdminToken> {
        admin_tokens::revoke(&self.client().await?, tenant, id).await
    }

    async fn admin_token_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>> {
        admin_tokens::by_hash(&self.client().await?, hash).await
    }

    async fn touch_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        admin_tokens::touch(&self.client().await?, tenant, id, at).await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        query: &DeliveryQuery,
    ) -> StoreResult<Page<Delivery>> {
        deliveries::list(&self.client().await?, tenant, key, query).await
    }

    async fn delivery(&self, tenant: TenantId, id: i64) -> StoreResult<Delivery> {
        deliveries::one(&self.client().await?, tenant, id).await
    }

    async fn key_tallies(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        since: DateTime<Utc>,
        kind: Option<TallyKind>,
    ) -> StoreResult<Vec<Tally>> {
        tallies::read(&self.client().await?, tenant, key, since, kind).await
    }

    async fn sweep_deliveries(&self, before: DateTime<Utc>, per_key: u32) -> StoreResult<Swept> {
        self.write(async |tx| deliveries::sweep(tx, before, per_key).await)
            .await
    }

    async fn sweep_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.sweep_by_age(retention::Aged::History, before).await
    }

    async fn sweep_signals(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.sweep_by_age(retention::Aged::Signals, before).await
    }

    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        password_hash: &str,
    ) -> StoreResult<()> {
        users::create_user(&self.client().await?, tenant, email, password_hash).await
    }

    async fn user(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
        users::user(&self.client().await?, tenant, email).await
    }

    async fn count_users(&self) -> StoreResult<i64> {
        users::count_users(&self.client().await?).await
    }

    async fn create_session(
        &self,
        tenant: TenantId,
        email: &str,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        users::create_session(&self.client().await?, tenant, email, token_hash, expires_at).await
    }

    async fn session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        users::session(&self.client().await?, token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        users::delete_session(&self.client().await?, token_hash).await
    }

    async fn ingest(&self, tenant: TenantId, request: IngestRequest) -> StoreResult<IngestResult> {
        self.updates.ingest(tenant, request).await
    }

    async fn product_org(&self, tenant: TenantId, id: &ProductOrgId) -> StoreResult<ProductOrg> {
        reads::product_org(&self.client().await?, tenant, id).await
    }

    async fn list_product_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<ProductOrg>> {
        reads::list_product_orgs(&self.client().await?, tenant, query).await
    }

    async fn product_org_history(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<HistoryEntry>> {
        self.snapshot(async |tx| reads::product_org_history(tx, tenant, id, page).await)
            .await
    }

    async fn possible_duplicates(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<Vec<ProductOrg>>> {
        reads::possible_duplicates(&self.client().await?, tenant, limit).await
    }

    async fn product_orgs_folding_like(
        &self,
        tenant: TenantId,
        ids: &[ProductOrgId],
    ) -> StoreResult<Vec<ProductOrg>> {
        reads::product_orgs_folding_like(&self.client().await?, tenant, ids).await
    }

    async fn ingest_signals(
        &self,
        tenant: TenantId,
        request: SignalRequest,
    ) -> StoreResult<IngestResult<SignalApplied>> {
        self.signals.ingest(tenant, request).await
    }

    async fn lead(&self, tenant: TenantId, id: &LeadId) -> StoreResult<Lead> {
        leads::find_lead(&self.client().await?, tenant, id).await
    }

    async fn list_leads(&self, tenant: TenantId, query: &SearchQuery) -> StoreResult<Page<Lead>> {
        leads::list_leads(&self.client().await?, tenant, query).await
    }

    async fn unlinked_leads(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<UnlinkedLead>> {
        leads::unlinked_leads(&self.client().await?, tenant, query).await
    }

    async fn evaluation_context(
        &self,
        tenant: TenantId,
        id: &LeadId,
        signals: u32,
    ) -> StoreResult<EvaluationContext> {
        self.snapshot(async |tx| leads::evaluation_context(tx, tenant, id, signals).await)
            .await
    }

    async fn tenant_counts(&self, tenant: TenantId) -> StoreResult<trailspark_store::TenantCounts> {
        counts::tenant_counts(&self.client().await?, tenant).await
    }

    async fn list_target_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<TargetOrg>> {
        target_orgs::list_target_orgs(&self.client().await?, tenant, query).await
    }

    async fn target_org(&self, tenant: TenantId, id: TargetOrgId) -> StoreResult<TargetOrgDetail> {
        self.snapshot(async |tx| target_orgs::target_org(tx, tenant, id).await)
            .await
    }

    async fn set_firmographics(
        &self,
        tenant: TenantId,
        id: TargetOrgId,
        firmographics: Map<String, Value>,
    ) -> StoreResult<TargetOrg> {
        self.write(async |tx| target_orgs::set_firmographics(tx, tenant, id, &firmographics).await)
            .await
    }

    async fn move_product_org(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        to: TargetOrgId,
    ) -> StoreResult<ProductOrg> {
        self.write(async |tx| {
            dedupe::lock(tx, tenant, &dedupe::product_org_lock(id.as_str())).await?;
            target_orgs::move_product_org(tx, tenant, id, to).await
        })
        .await
    }

    async fn import_firmographics(
        &self,
        tenant: TenantId,
        rows: Vec<FirmographicsRow>,
    ) -> StoreResult<Vec<Result<TargetOrgId, String>>> {
        self.write(async |tx| target_orgs::import_firmographics(tx, tenant, &rows).await)
            .await
    }

    async fn close(&self) {
        // Queued updates and signals commit and are answered first; closing the pool then
        // ends the sweeper and says goodbye to the database.
        self.updates.close().await;
        self.signals.close().await;
        let stats = self.commits.stats();
        tracing::info!(
            commits = stats.commits,
            jobs = stats.requests,
            average_batch = stats.average_batch(),
            "PostgreSQL writers stopped"
        );
        self.pool.close();
    }
}
