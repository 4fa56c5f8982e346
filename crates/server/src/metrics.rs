//! `/metrics` in the Prometheus (OpenMetrics) text format: requests by route and status, the
//! store's apply latency, group commit batches, per key (product org and signal keys alike)
//! its changed and unchanged updates, messageId duplicates and refused updates by code, store
//! errors. Operator-level: it names key ids (never keys), so it is served on a listener of
//! its own (`--metrics-listen`, loopback by default), never on the public one.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use trailspark_store::{NewDelivery, Store, Verdict};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: Route,
    pub status: u16,
}

/// A request's route template (`unmatched` for none), held as axum has it, so that counting a
/// request allocates nothing; the product org webhook served before axum's router is named
/// apart (`crate::http::Served`).
#[derive(Clone, Debug)]
pub enum Route {
    Matched(axum::extract::MatchedPath),
    ProductOrgWebhook,
    Unmatched,
}

impl Route {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Matched(path) => path.as_str(),
            Self::ProductOrgWebhook => crate::http::ingest::ROUTE,
            Self::Unmatched => "unmatched",
        }
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpdateLabels {
    pub key_id: String,
    pub changed: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabels {
    pub key_id: String,
}

/// A refusal's labels: the key, and the code its answer carried (a fixed set, so the family
/// stays small).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    pub key_id: String,
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: &'static str,
}

/// The update counters of one key.
#[derive(Debug)]
pub struct KeyCounters {
    pub changed: Counter,
    pub unchanged: Counter,
    pub duplicates: Counter,
}

impl KeyCounters {
    /// Counts one update the store answered: a repeated messageId, or one applied that
    /// changed something or not (a stored signal always adds to its lead: it changed).
    pub fn count(&self, duplicate: bool, changed: bool) {
        let counter = match (duplicate, changed) {
            (true, _) => &self.duplicates,
            (false, true) => &self.changed,
            (false, false) => &self.unchanged,
        };
        counter.inc();
    }
}

/// Every metric of the service.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteLabels, Counter>,
    pub apply_seconds: Histogram,
    pub updates: Family<UpdateLabels, Counter>,
    pub duplicates: Family<KeyLabels, Counter>,
    pub refused: Family<RefusedLabels, Counter>,
    pub store_errors: Family<ErrorLabels, Counter>,
    /// `requests` of the product org webhook's 200s, most requests by far: found once.
    webhook_ok: std::sync::OnceLock<Counter>,
}

impl Metrics {
    /// Counts a request answered with `status`.
    pub fn answered(&self, route: Route, status: u16) {
        let labels = |route| RouteLabels { route, status };
        if matches!(route, Route::ProductOrgWebhook) && status == 200 {
            let ok = self
                .webhook_ok
                .get_or_init(|| self.requests.get_or_create(&labels(route)).clone());
            ok.inc();
            return;
        }
        self.requests.get_or_create(&labels(route)).inc();
    }

    pub fn new(store: Arc<dyn Store>) -> Self {
        let mut registry = Registry::with_prefix("trailspark");
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template and status",
            requests.clone(),
        );
        // 100 µs to about 6.5 s.
        let apply_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 17));
        registry.register(
            "apply_seconds",
            "Time from handing a webhook's updates to the store to their durable commit",
            apply_seconds.clone(),
        );
        let updates = Family::<UpdateLabels, Counter>::default();
        registry.register(
            "updates",
            "Updates (product org updates and signals) applied, by key and whether a value changed",
            updates.clone(),
        );
        let duplicates = Family::<KeyLabels, Counter>::default();
        registry.register(
            "duplicates",
            "Updates not applied again because their messageId was (dedupe hits), by key",
            duplicates.clone(),
        );
        let refused = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "refused",
            "Updates refused (each element of an array body, or a whole request refused before \
             its updates were read), by key and error code",
            refused.clone(),
        );
        let store_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "store_errors",
            "Store errors met by webhook requests, by kind",
            store_errors.clone(),
        );
        registry.register_collector(Box::new(CommitCollector { store }));
        Self {
            registry,
            requests,
            apply_seconds,
            updates,
            duplicates,
            refused,
            store_errors,
            webhook_ok: std::sync::OnceLock::new(),
        }
    }

    /// The update counters of `key`, looked up by label the first time only.
    pub fn key_counters<'k>(&self, key: &'k crate::keyring::IngestKey) -> &'k KeyCounters {
        key.counters.get_or_init(|| {
            let update = |changed| {
                self.updates
                    .get_or_create(&UpdateLabels {
                        key_id: key.id.0.clone(),
                        changed,
                    })
                    .clone()
            };
            KeyCounters {
                changed: update(true),
                unchanged: update(false),
                duplicates: self
                    .duplicates
                    .get_or_create(&KeyLabels {
                        key_id: key.id.0.clone(),
                    })
                    .clone(),
            }
        })
    }

    /// Counts `entries` updates of `key` refused with `code`. By label at each call: refusals
    /// are not the hot path, and their codes are many.
    pub fn refused(&self, key: &crate::keyring::IngestKey, code: &'static str, entries: usize) {
        self.refused
            .get_or_create(&RefusedLabels {
                key_id: key.id.0.clone(),
                code,
            })
            .inc_by(entries as u64);
    }

    /// Counts the entries of a request refused as a replayed `webhook-id` (`None`: none kept)
    /// that were updates: elements refused before were counted with their own code.
    pub fn replayed(&self, key: &crate::keyring::IngestKey, entries: &Option<Vec<NewDelivery>>) {
        let updates = entries
            .iter()
            .flatten()
            .filter(|e| matches!(e.verdict, Verdict::Update(_)))
            .count();
        self.refused(key, crate::error::ApiError::Replayed.code(), updates);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// What the metrics listener serves: `/metrics`, and 404 for any other path.
pub(crate) fn router(app: crate::app::App) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(app)
}

async fn render(
    axum::extract::State(app): axum::extract::State<crate::app::App>,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
}

/// Group commit counters, read from the store at each scrape.
struct CommitCollector {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for CommitCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitCollector")
    }
}

impl Collector for CommitCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.store.commit_stats();
        for (name, help, value) in [
            (
                "commits",
                "Write transactions of the group commit (each batches the requests waiting)",
                stats.commits,
            ),
            (
                "committed_requests",
                "Write requests carried by those transactions (over commits: the average batch)",
                stats.requests,
            ),
            (
                "split_commits",
                "Of those transactions, the ones that failed whole and were run again a request at a time",
                stats.split,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}
