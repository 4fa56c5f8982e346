//! The HTTP service of trailspark: the product org webhook, the admin API, health checks and
//! the OpenAPI document, over any [`trailspark_store::Store`].

mod app;
mod auth;
mod connections;
mod deliveries;
mod error;
mod http;
mod keyring;
pub mod keys;
mod metrics;
pub mod replay;
pub mod template_test;
mod web;

pub use app::{shutdown_signal, App, Server, ServerConfig};
pub use connections::default_max_connections;
pub use deliveries::Retention;
pub use error::ApiError;
pub use http::deliveries::DeliveryView;
pub use web::PublicUrl;

/// The whole HTTP service as a router over `store`, without a listener: for embedding it, and
/// for driving it in-process (the fuzz targets do). Background work (key refresh, delivery
/// log sweep and last-used flushes) runs only under [`Server::run_until`].
pub fn router(
    store: std::sync::Arc<dyn trailspark_store::Store>,
    config: &ServerConfig,
) -> axum::Router {
    http::router(App::new(store, config), config.request_timeout)
}
