//! The application state and its life: bind, serve, drain, flush.

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use trailspark_store::Store;

use crate::error::ApiError;
use crate::keyring::{IngestKey, KeyRing};

/// Settings of the HTTP service.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: String,
    /// Requests per second allowed per API key (bursts of twice that); `None` = no limit.
    pub rate_limit_per_key: Option<NonZeroU32>,
    /// How often to look for keys created or revoked by other processes.
    pub key_refresh: Duration,
    /// How long a client may take to send a request's headers before its connection is
    /// closed (a slow client cannot hold a connection forever).
    pub header_timeout: Duration,
    /// How long a new connection may send nothing before it is closed.
    pub first_byte_timeout: Duration,
    /// How long a connection may have no request in flight before it is closed.
    pub idle_timeout: Duration,
    /// Most connections open at once; beyond, the one idle the longest is closed.
    pub max_connections: u32,
    /// Where `/metrics` is served (never on `listen`); `None`: nowhere.
    pub metrics_listen: Option<String>,
    /// How long one request may take, body included, before it is answered 408.
    pub request_timeout: Duration,
    /// How much of the delivery log is kept.
    pub retention: crate::deliveries::Retention,
    /// Where browsers reach the service (`--public-url`): the session cookie's scheme and the
    /// origin of the URLs pages show; `None` takes both from each request.
    pub public_url: Option<crate::web::PublicUrl>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            rate_limit_per_key: NonZeroU32::new(10_000),
            key_refresh: Duration::from_secs(1),
            header_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: crate::connections::default_max_connections(),
            metrics_listen: None,
            request_timeout: Duration::from_secs(60),
            retention: crate::deliveries::Retention::default(),
            public_url: None,
        }
    }
}

/// Shared state of every handler: cheap to clone.
#[derive(Clone)]
pub struct App(Arc<AppInner>);

/// What [`App`] holds.
pub struct AppInner {
    pub store: Arc<dyn Store>,
    pub keys: KeyRing,
    limiter: Option<DefaultKeyedRateLimiter<[u8; 32]>>,
    /// Web UI sign-in failures, per tenant and email and per client address.
    pub logins: crate::web::SignInLimits,
    /// What `/metrics` reports.
    pub metrics: crate::metrics::Metrics,
    /// Which payloads of updates not refused the delivery log keeps.
    pub payload_budget: crate::deliveries::PayloadBudget,
    /// Entries logged since the delivery log was last swept.
    pub log_volume: Arc<crate::deliveries::LogVolume>,
    /// SHA-256 of the one-time setup link's token, while the store has no web UI user.
    pub setup: std::sync::Mutex<Option<[u8; 32]>>,
    /// Admin tokens already found in the store.
    pub admin_tokens: crate::auth::AdminTokens,
    /// See [`ServerConfig::public_url`].
    pub public_url: Option<crate::web::PublicUrl>,
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// State over `store` with `config`'s limits.
    pub fn new(store: Arc<dyn Store>, config: &ServerConfig) -> Self {
        let limiter = config.rate_limit_per_key.map(|per_second| {
            let burst = per_second.saturating_mul(NonZeroU32::new(2).expect("2 is not zero"));
            RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        });
        Self(Arc::new(AppInner {
            keys: KeyRing::new(store.clone()),
            metrics: crate::metrics::Metrics::new(Arc::clone(&store)),
            store,
            limiter,
            logins: crate::web::login_limiter(),
            setup: std::sync::Mutex::new(None),
            payload_budget: crate::deliveries::PayloadBudget::new(
                config.retention.payloads_per_minute,
            ),
            log_volume: Arc::new(crate::deliveries::LogVolume::new(config.retention.per_key)),
            admin_tokens: crate::auth::AdminTokens::new(config.key_refresh),
            public_url: config.public_url.clone(),
        }))
    }

    /// Counts a request against its key's rate limit.
    pub fn check_rate(&self, key: &IngestKey) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&key.hash).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }
}

/// A bound, not yet serving, HTTP server.
pub struct Server {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    app: App,
    config: ServerConfig,
}

impl Server {
    /// Binds the listener (so the address is known before serving) over `store`.
    pub async fn bind(config: ServerConfig, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let metrics_listener = match &config.metrics_listen {
            Some(address) => Some(TcpListener::bind(address).await.with_context(|| {
                format!("cannot listen on {address} for /metrics (--metrics-listen: another address, or off)")
            })?),
            None => None,
        };
        let app = App::new(store, &config);
        Ok(Self {
            listener,
            metrics_listener,
            app,
            config,
        })
    }

    /// When the store has no web UI user yet: a one-time path (`/setup/{token}`) that creates
    /// the first user of tenant `default`; the caller shows it to the operator.
    pub async fn offer_setup(&self) -> anyhow::Result<Option<String>> {
        if self.app.store.count_users().await? > 0 {
            return Ok(None);
        }
        let token = crate::web::random_token();
        *self.app.setup.lock().expect("setup lock") =
            Some(trailspark_core::credentials::hash_credential(&token));
        Ok(Some(format!("/setup/{token}")))
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The address `/metrics` is served on, if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        let listener = self.metrics_listener.as_ref()?;
        Some(
            listener
                .local_addr()
                .expect("a bound listener has an address"),
        )
    }

    /// Serves until `shutdown` completes, then stops accepting, finishes in-flight requests
    /// (and so their commits), writes pending last-used times and closes the store.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics_listener,
            app,
            config,
        } = self;
        let background = CancellationToken::new();
        let refresher = tokio::spawn(refresh_keys(
            app.clone(),
            config.key_refresh,
            background.clone(),
        ));
        let sweeper = tokio::spawn(crate::deliveries::sweep(
            Arc::clone(&app.store),
            Arc::clone(&app.log_volume),
            config.retention,
            Duration::from_secs(60),
            background.clone(),
        ));
        let metrics = metrics_listener.map(|l| (l, crate::metrics::router(app.clone())));
        crate::connections::serve_until(
            (
                listener,
                crate::http::served(app.clone(), config.request_timeout),
            ),
            metrics,
            crate::connections::ConnectionLimits::of(&config),
            shutdown,
        )
        .await;
        background.cancel();
        let _ = refresher.await;
        let _ = sweeper.await;
        if let Err(e) = app.keys.flush_last_used().await {
            tracing::warn!(error = %e, "could not record key last-used times at shutdown");
        }
        app.store.close().await;
        Ok(())
    }
}

async fn refresh_keys(app: App, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flushed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = app.keys.refresh().await {
            tracing::warn!(error = %e, "could not check for key changes");
        }
        if flushed.elapsed() >= Duration::from_secs(5) {
            flushed = tokio::time::Instant::now();
            if let Err(e) = app.keys.flush_last_used().await {
                tracing::warn!(error = %e, "could not record key last-used times");
            }
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
