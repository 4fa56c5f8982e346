//! The embedded store: one SQLite file in WAL mode. All writes go through one writer thread
//! that commits waiting requests together (group commit); reads run on a small pool of read
//! connections beside it.

mod accounts;
mod admin_tokens;
mod backup;
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
mod target_orgs;
mod templates;
mod users;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::{Map, Value};
use trailspark_core::{
    AdminTokenId, ApiKeyId, LeadId, ProductOrgId, Subdomain, TargetOrgId, TenantId,
};
use trailspark_store::{
    AdminToken, ApiKeyRecord, Delivery, DeliveryQuery, EvaluationContext, FirmographicsRow,
    HistoryEntry, IngestRequest, IngestResult, Lead, NewAdminToken, NewApiKey, Page, PageRequest,
    ProductOrg, SearchQuery, Session, SignalApplied, SignalRequest, Store, StoreError, StoreResult,
    Swept, Tally, TallyKind, TargetOrg, TargetOrgDetail, TemplateVersion, Tenant, UnlinkedLead,
    User, Weighed,
};

pub use crate::options::SqliteOptions;
use crate::writer::Writer;

/// A trailspark store in one SQLite file.
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<db::ReadPool>,
}

impl SqliteStore {
    /// Opens (creating the file and its directory if needed) and migrates the store at `path`.
    pub async fn open(path: &Path, options: SqliteOptions) -> StoreResult<Self> {
        let path = path.to_path_buf();
        let setup_path = path.clone();
        let busy_timeout = options.busy_timeout;
        tokio::task::spawn_blocking(move || -> StoreResult<()> {
            if let Some(dir) = setup_path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::unavailable(format!(
                        "cannot create the directory {}",
                        dir.display()
                    ))
                    .caused_by(e)
                })?;
            }
            let mut conn = db::connect(&setup_path, busy_timeout)?;
            db::migrate(&mut conn)
        })
        .await
        .map_err(|e| StoreError::other("store setup panicked").caused_by(e))??;
        let writer = Writer::start(&path, &options)?;
        let readers = Arc::new(db::ReadPool::new(path, busy_timeout));
        Ok(Self { writer, readers })
    }

    /// Runs `f` on a read connection, off the async threads.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.readers.read(f).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn commit_stats(&self) -> trailspark_store::CommitStats {
        self.writer.stats.stats()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(db::sqlite_error)
        })
        .await
    }

    fn write_health(&self) -> Option<&trailspark_store::WriteHealth> {
        Some(&self.writer.health)
    }

    async fn probe_write(&self) -> StoreResult<()> {
        self.writer.probe().await
    }

    async fn create_tenant(&self, subdomain: &Subdomain, name: &str) -> StoreResult<Tenant> {
        let (subdomain, name) = (subdomain.clone(), name.to_owned());
        self.writer
            .write(move |conn, _| accounts::create_tenant(conn, &subdomain, &name))
            .await
    }

    async fn create_default_tenant_if_empty(&self) -> StoreResult<Option<Tenant>> {
        self.writer
            .write(|conn, _| accounts::create_default_tenant_if_empty(conn))
            .await
    }

    async fn tenant_by_subdomain(&self, subdomain: &Subdomain) -> StoreResult<Tenant> {
        let subdomain = subdomain.clone();
        self.read(move |conn| accounts::tenant_by_subdomain(conn, &subdomain))
            .await
    }

    async fn only_tenant(&self) -> StoreResult<Option<Tenant>> {
        self.read(accounts::only_tenant).await
    }

    async fn create_api_key(&self, tenant: TenantId, key: NewApiKey) -> StoreResult<ApiKeyRecord> {
        self.writer
            .write(move |conn, _| accounts::create_api_key(conn, tenant, &key))
            .await
    }

    async fn list_api_keys(&self, tenant: TenantId) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read(move |conn| accounts::list_api_keys(conn, tenant))
            .await
    }

    async fn api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        let id = id.clone();
        self.read(move |conn| accounts::api_key(conn, tenant, &id))
            .await
    }

    async fn set_template(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
        template: &str,
        author: &str,
    ) -> StoreResult<TemplateVersion> {
        let (id, template, author) = (id.clone(), template.to_owned(), author.to_owned());
        self.writer
            .write(move |conn, _| templates::set_template(conn, tenant, &id, &template, &author))
            .await
    }

    async fn template_versions(
        &self,
        tenant: TenantId,
        id: &ApiKeyId,
    ) -> StoreResult<Vec<TemplateVersion>> {
        let id = id.clone();
        self.read(move |conn| templates::template_versions(conn, tenant, &id))
            .await
    }

    async fn revoke_api_key(&self, tenant: TenantId, id: &ApiKeyId) -> StoreResult<ApiKeyRecord> {
        let id = id.clone();
        self.writer
            .write(move |conn, _| accounts::revoke_api_key(conn, tenant, &id))
            .await
    }

    async fn api_key_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<ApiKeyRecord>> {
        let hash = *hash;
        self.read(move |conn| accounts::api_key_by_hash(conn, &hash))
            .await
    }

    async fn key_revision(&self) -> StoreResult<i64> {
        self.read(accounts::key_revision).await
    }

    async fn touch_api_keys(
        &self,
        used: &[(TenantId, ApiKeyId, DateTime<Utc>)],
    ) -> StoreResult<()> {
        let used = used.to_vec();
        self.writer
            .write(move |conn, _| accounts::touch_api_keys(conn, &used))
            .await
    }

    async fn create_admin_token(
        &self,
        tenant: TenantId,
        token: NewAdminToken,
    ) -> StoreResult<AdminToken> {
        self.writer
            .write(move |conn, _| admin_tokens::create(conn, tenant, &token))
            .await
    }

    async fn list_admin_tokens(&self, tenant: TenantId) -> StoreResult<Vec<AdminToken>> {
        self.read(move |conn| admin_tokens::list(conn, tenant))
            .await
    }

    async fn revoke_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
    ) -> StoreResult<AdminToken> {
        let id = id.clone();
        self.writer
            .write(move |conn, _| admin_tokens::revoke(conn, tenant, &id))
            .await
    }

    async fn admin_token_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<AdminToken>> {
        let hash = *hash;
        self.read(move |conn| admin_tokens::by_hash(conn, &hash))
            .await
    }

    async fn touch_admin_token(
        &self,
        tenant: TenantId,
        id: &AdminTokenId,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let id = id.clone();
        self.writer
            .write(move |conn, _| admin_tokens::touch(conn, tenant, &id, &at))
            .await
    }

    async fn deliveries(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        query: &DeliveryQuery,
    ) -> StoreResult<Page<Delivery>> {
        let (key, query) = (key.clone(), query.clone());
        self.read(move |conn| deliveries::list(conn, tenant, &key, &query))
            .await
    }

    async fn delivery(&self, tenant: TenantId, id: i64) -> StoreResult<Delivery> {
        self.read(move |conn| deliveries::one(conn, tenant, id))
            .await
    }

    async fn key_tallies(
        &self,
        tenant: TenantId,
        key: &ApiKeyId,
        since: DateTime<Utc>,
        kind: Option<TallyKind>,
    ) -> StoreResult<Vec<Tally>> {
        let key = key.clone();
        let since = trailspark_store::tally::hour_of(&since);
        self.read(move |conn| deliveries::read_tallies(conn, tenant, &key, since, kind))
            .await
    }

    async fn sweep_deliveries(&self, before: DateTime<Utc>, per_key: u32) -> StoreResult<Swept> {
        self.writer
            .write(move |conn, _| deliveries::sweep(conn, before, per_key))
            .await
    }

    async fn sweep_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        retention::in_jobs(&self.writer, retention::sweep_history, before).await
    }

    async fn sweep_signals(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        retention::in_jobs(&self.writer, retention::sweep_signals, before).await
    }

    async fn create_user(
        &self,
        tenant: TenantId,
        email: &str,
        password_hash: &str,
    ) -> StoreResult<()> {
        let (email, hash) = (email.to_owned(), password_hash.to_owned());
        self.writer
            .write(move |conn, _| users::create_user(conn, tenant, &email, &hash))
            .await
    }

    async fn user(&self, tenant: TenantId, email: &str) -> StoreResult<Option<User>> {
        let email = email.to_owned();
        self.read(move |conn| users::user(conn, tenant, &email))
            .await
    }

    async fn count_users(&self) -> StoreResult<i64> {
        self.read(users::count_users).await
    }

    async fn create_session(
        &self,
        tenant: TenantId,
        email: &str,
        token_hash: &[u8; 32],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (email, hash) = (email.to_owned(), *token_hash);
        self.writer
            .write(move |conn, _| users::create_session(conn, tenant, &email, &hash, expires_at))
            .await
    }

    async fn session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Session>> {
        let hash = *token_hash;
        self.read(move |conn| users::session(conn, &hash, now))
            .await
    }

    async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        let hash = *token_hash;
        self.writer
            .write(move |conn, _| users::delete_session(conn, &hash))
            .await
    }

    async fn ingest(&self, tenant: TenantId, request: IngestRequest) -> StoreResult<IngestResult> {
        self.writer
            .write_weighing(request.weight(), move |conn, mode| {
                ingest::ingest(conn, mode, tenant, &request)
            })
            .await
    }

    async fn product_org(&self, tenant: TenantId, id: &ProductOrgId) -> StoreResult<ProductOrg> {
        let id = id.clone();
        self.read(move |conn| reads::product_org(conn, tenant, &id))
            .await
    }

    async fn list_product_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<ProductOrg>> {
        let query = query.clone();
        self.read(move |conn| reads::list_product_orgs(conn, tenant, &query))
            .await
    }

    async fn product_org_history(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        page: &PageRequest,
    ) -> StoreResult<Page<HistoryEntry>> {
        let (id, page) = (id.clone(), page.clone());
        self.read(move |conn| reads::product_org_history(conn, tenant, &id, &page))
            .await
    }

    async fn possible_duplicates(
        &self,
        tenant: TenantId,
        limit: u32,
    ) -> StoreResult<Vec<Vec<ProductOrg>>> {
        self.read(move |conn| reads::possible_duplicates(conn, tenant, limit))
            .await
    }

    async fn product_orgs_folding_like(
        &self,
        tenant: TenantId,
        ids: &[ProductOrgId],
    ) -> StoreResult<Vec<ProductOrg>> {
        let ids = ids.to_vec();
        self.read(move |conn| reads::product_orgs_folding_like(conn, tenant, &ids))
            .await
    }

    async fn ingest_signals(
        &self,
        tenant: TenantId,
        request: SignalRequest,
    ) -> StoreResult<IngestResult<SignalApplied>> {
        self.writer
            .write_weighing(request.weight(), move |conn, mode| {
                signals::ingest_signals(conn, mode, tenant, &request)
            })
            .await
    }

    async fn lead(&self, tenant: TenantId, id: &LeadId) -> StoreResult<Lead> {
        let id = id.clone();
        self.read(move |conn| leads::find_lead(conn, tenant, &id))
            .await
    }

    async fn list_leads(&self, tenant: TenantId, query: &SearchQuery) -> StoreResult<Page<Lead>> {
        let query = query.clone();
        self.read(move |conn| leads::list_leads(conn, tenant, &query))
            .await
    }

    async fn unlinked_leads(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<UnlinkedLead>> {
        let query = query.clone();
        self.read(move |conn| leads::unlinked_leads(conn, tenant, &query))
            .await
    }

    async fn evaluation_context(
        &self,
        tenant: TenantId,
        id: &LeadId,
        signals: u32,
    ) -> StoreResult<EvaluationContext> {
        let id = id.clone();
        self.read(move |conn| leads::evaluation_context(conn, tenant, &id, signals))
            .await
    }

    async fn tenant_counts(&self, tenant: TenantId) -> StoreResult<trailspark_store::TenantCounts> {
        self.read(move |conn| counts::tenant_counts(conn, tenant))
            .await
    }

    async fn list_target_orgs(
        &self,
        tenant: TenantId,
        query: &SearchQuery,
    ) -> StoreResult<Page<TargetOrg>> {
        let query = query.clone();
        self.read(move |conn| target_orgs::list_target_orgs(conn, tenant, &query))
            .await
    }

    async fn target_org(&self, tenant: TenantId, id: TargetOrgId) -> StoreResult<TargetOrgDetail> {
        self.read(move |conn| target_orgs::target_org(conn, tenant, id))
            .await
    }

    async fn set_firmographics(
        &self,
        tenant: TenantId,
        id: TargetOrgId,
        firmographics: Map<String, Value>,
    ) -> StoreResult<TargetOrg> {
        self.writer
            .write(move |conn, _| target_orgs::set_firmographics(conn, tenant, id, &firmographics))
            .await
    }

    async fn move_product_org(
        &self,
        tenant: TenantId,
        id: &ProductOrgId,
        to: TargetOrgId,
    ) -> StoreResult<ProductOrg> {
        let id = id.clone();
        self.writer
            .write(move |ctx, _| {
                // The writer's copy of the org names its old target org.
                ctx.ingest.borrow_mut().forget(tenant, &id);
                target_orgs::move_product_org(ctx, tenant, &id, to)
            })
            .await
    }

    async fn import_firmographics(
        &self,
        tenant: TenantId,
        rows: Vec<FirmographicsRow>,
    ) -> StoreResult<Vec<Result<TargetOrgId, String>>> {
        self.writer
            .write_weighing(rows.len(), move |conn, mode| {
                target_orgs::import_firmographics(conn, mode, tenant, &rows)
            })
            .await
    }

    async fn close(&self) {
        self.writer.close().await;
    }
}
