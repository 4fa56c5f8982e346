//! The HTTP service of trailspark: the product org webhook, the admin API, health checks and
//! the OpenAPI document, over any [`trailspark_store::Store`].

mod app;
mod auth;
mod deliveries;
mod error;
mod http;
mod keyring;
pub mod keys;
mod metrics;
mod web;

pub use app::{shutdown_signal, App, Server, ServerConfig};
pub use error::ApiError;
