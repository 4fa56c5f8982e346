//! The real HTTP service of `serve` (its axum router) over a SQLite store, built once per fuzz
//! process and driven in-process, for the targets that fuzz through HTTP.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{Request, StatusCode};
use secrecy::ExposeSecret;
use tower::ServiceExt;
use trailspark_core::template::{PayloadTemplate, Preset};
use trailspark_core::{EndpointType, TenantId};
use trailspark_server::keys::{create_api_key, KeyRequest};
use trailspark_server::ServerConfig;
use trailspark_store::Store;
use trailspark_store_sqlite::{SqliteOptions, SqliteStore};

pub struct Service {
    pub runtime: tokio::runtime::Runtime,
    pub router: axum::Router,
    pub store: Arc<dyn Store>,
    pub tenant: TenantId,
}

/// A key as a target needs it: its id for the admin API, its text for the webhook.
pub struct Key {
    pub id: String,
    pub text: String,
}

impl Service {
    pub fn start() -> Self {
        // One worker: the fuzzer sends one request at a time.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let db = store_dir().join("fuzz.db");
        let (store, tenant) = runtime.block_on(async {
            let store = SqliteStore::open(&db, SqliteOptions::default())
                .await
                .unwrap();
            let store: Arc<dyn Store> = Arc::new(store);
            let tenant = store
                .create_default_tenant_if_empty()
                .await
                .unwrap()
                .unwrap();
            (store, tenant.id)
        });
        // Without the rate limit: the fuzzer sends far more than any key may, and a 429 would
        // stop every later input from reaching the code under test.
        let config = ServerConfig {
            rate_limit_per_key: None,
            ..ServerConfig::default()
        };
        let router = trailspark_server::router(Arc::clone(&store), &config);
        Self {
            runtime,
            router,
            store,
            tenant,
        }
    }

    /// A new key of the tenant with a preset's template.
    pub fn key(&self, kind: EndpointType, preset: Preset) -> Key {
        let request = KeyRequest {
            name: "fuzz".into(),
            template: PayloadTemplate::preset(kind, preset),
            expires_at: None,
            with_secret: false,
            with_hmac_secret: false,
            created_by: "fuzz".into(),
        };
        let created = self
            .runtime
            .block_on(create_api_key(
                self.store.as_ref(),
                self.tenant,
                request,
                chrono::Utc::now(),
            ))
            .unwrap();
        Key {
            id: created.record.id.0,
            text: created.api_key.expose_secret().to_owned(),
        }
    }

    /// The service's status and body for `request`.
    pub fn send(&self, request: Request<Body>) -> (StatusCode, Bytes) {
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            (
                status,
                to_bytes(response.into_body(), 1 << 24).await.unwrap(),
            )
        })
    }
}

/// Where this process keeps its store: under `TRAILSPARK_FUZZ_DIR` when `fuzz/run.sh` names
/// one (it removes it after the run; a long run writes hundreds of MB), else in /dev/shm so
/// that commits cost no disk flush, else in the temporary directory.
fn store_dir() -> PathBuf {
    let name = format!("trailspark-fuzz-{}", std::process::id());
    if let Some(dir) = std::env::var_os("TRAILSPARK_FUZZ_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.join(name)
    } else {
        std::env::temp_dir().join(name)
    }
}
