//! The HTTP surface: one router merged from each resource module's `router()`.

pub(crate) mod admin;
pub(crate) mod batch;
pub(crate) mod deliveries;
mod fallback;
mod health;
pub(crate) mod ingest;
mod key_health;
mod keys;
pub(crate) mod leads;
mod openapi;
mod segment;
pub(crate) mod signals;
pub(crate) mod target_orgs;
mod templates;
pub(crate) mod views;
pub(crate) mod webhook;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::app::App;
use crate::error::ApiError;
use crate::metrics::Route;

/// The whole service.
pub fn router(app: App, request_timeout: std::time::Duration) -> Router {
    Router::new()
        .merge(ingest::router())
        .merge(signals::router())
        .merge(segment::router())
        .merge(admin::router())
        .merge(keys::router())
        .merge(deliveries::router())
        .merge(key_health::router())
        .merge(templates::router())
        .merge(leads::router())
        .merge(target_orgs::router())
        .merge(health::router())
        .merge(openapi::router())
        .merge(crate::web::router(&app))
        .fallback(fallback::answer)
        .layer(RequestContext {
            app: app.clone(),
            request_timeout,
        })
        .with_state(app)
}

fn json_method_not_allowed(response: Response) -> Response {
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let mut json = ApiError::MethodNotAllowed.into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(axum::http::header::ALLOW, allow);
    }
    json
}

/// axum's extractors (query string, path, form) refuse a request with a plain-text 4xx; give
/// those the JSON error body too, keeping their status and their text as the message. The web
/// UI's own pages are HTML on purpose and are left alone.
async fn json_rejection(response: Response) -> Response {
    let status = response.status();
    let is_text = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !status.is_client_error() || !is_text {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut json = ApiError::BadRequest {
        code: "invalid_request",
        message: format!("The request could not be read: {text}."),
    }
    .into_response();
    *json.status_mut() = parts.status;
    json
}

/// Every request's surroundings in one layer: its request id (the sender's `X-Request-Id`,
/// or a new one) on the response and in the task's log context, its time limit (408), JSON
/// bodies for axum's own refusals, the security headers (every page's policy, `nosniff` on
/// every answer) and its count by route and status. Written as a service rather than with
/// `from_fn`, whose extractors, boxed `Next` and larger future the webhook's hot path felt
/// (each layer is another future polled at every wake-up of the request).
#[derive(Clone)]
struct RequestContext {
    app: App,
    request_timeout: std::time::Duration,
}

impl<S> tower::Layer<S> for RequestContext {
    type Service = WithContext<S>;

    fn layer(&self, inner: S) -> WithContext<S> {
        WithContext {
            inner,
            context: self.clone(),
        }
    }
}

/// A route with [`RequestContext`] around it.
#[derive(Clone)]
struct WithContext<S> {
    inner: S,
    context: RequestContext,
}

impl<S> tower::Service<Request> for WithContext<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The route template, never the URI: webhook URIs carry API keys.
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .cloned()
            .map_or(Route::Unmatched, Route::Matched);
        let inner = &mut self.inner;
        self.context
            .surround(route, request, |request| inner.call(request))
    }
}

/// An answer on its way.
type Answering = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl RequestContext {
    /// `call` of `request` (on `route`) with the request's surroundings around it.
    fn surround<F>(
        &self,
        route: Route,
        request: Request,
        call: impl FnOnce(Request) -> F,
    ) -> Answering
    where
        F: Future<Output = Result<Response, Infallible>> + Send + 'static,
    {
        let id = request
            .headers()
            .get(X_REQUEST_ID)
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .cloned()
            .unwrap_or_else(new_request_id);
        let log = LogContext {
            request_id: id.clone(),
            route: route.clone(),
        };
        // The route's own call, too, runs in the request's log context. Its future is boxed at
        // once: it holds the whole request's state, and each move through the timer, the scope
        // and the answer's own future copied it (1.9k of a webhook request's instructions).
        let handled = LOG_CONTEXT.sync_scope(log.clone(), || {
            let called: Answering = Box::pin(call(request));
            tokio::time::timeout(self.request_timeout, called)
        });
        let app = self.app.clone();
        Box::pin(async move {
            let mut response = match LOG_CONTEXT.scope(log, handled).await {
                Ok(Ok(response)) => json_refusal(response).await,
                Ok(Err(never)) => match never {},
                Err(_) => ApiError::RequestTimeout.into_response(),
            };
            response.headers_mut().insert(X_REQUEST_ID, id);
            crate::web::add_security_headers(response.headers_mut());
            app.metrics.answered(route, response.status().as_u16());
            Ok(response)
        })
    }
}

/// What the server runs: the router, and before it the one route senders call all day, a
/// product org webhook's POST, answered without the router's work per request (matching, the
/// key's path parameter decoded into a map of its own, the headers copied for the handler, the
/// route's boxed service cloned and called through two more layers: 5.3k of the 48k
/// instructions of such a request under callgrind). What it does not take
/// ([`ingest::plain_key`]: another method, a key with percent-escapes, more path after the key)
/// the router serves, which has the same route and handler.
#[derive(Clone)]
pub(crate) struct Served {
    router: Router,
    context: RequestContext,
    /// The client of the connection it serves, for what the router serves.
    peer: Option<std::net::SocketAddr>,
}

/// [`router`] with the product org webhook taken before it.
pub(crate) fn served(app: App, request_timeout: std::time::Duration) -> Served {
    Served {
        router: router(app.clone(), request_timeout),
        context: RequestContext {
            app,
            request_timeout,
        },
        peer: None,
    }
}

impl Served {
    /// The same, serving a connection from `peer`.
    pub(crate) fn for_client(&self, peer: std::net::SocketAddr) -> Self {
        Self {
            peer: Some(peer),
            ..self.clone()
        }
    }
}

impl tower::Service<Request> for Served {
    type Response = Response;
    type Error = Infallible;
    type Future = Answering;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Result<(), Infallible>> {
        tower::Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: Request) -> Answering {
        if ingest::plain_key(&request).is_none() {
            if let Some(peer) = self.peer {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            return Box::pin(self.router.call(request));
        }
        let app = self.context.app.clone();
        let route = Route::ProductOrgWebhook;
        self.context.surround(route, request, |request| async move {
            Ok(ingest::answer_plain(app, request).await)
        })
    }
}

const X_REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// A request id unique to this process and unlikely elsewhere: a random prefix drawn at start
/// and a counter, in hex (a UUID per request cost a getrandom call each, and `format!` of the
/// two numbers 1.7k instructions, the most of any part of the request's surroundings).
fn new_request_id() -> axum::http::HeaderValue {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(rand::random);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = [b'-'; 29];
    hex_digits(prefix, &mut id[..16]);
    hex_digits(n, &mut id[17..]);
    axum::http::HeaderValue::from_bytes(&id).expect("hex digits are a header value")
}

/// The low `out.len()` hex digits of `n`, most significant first, into `out`.
fn hex_digits(mut n: u64, out: &mut [u8]) {
    for digit in out.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
    }
}

/// What the log lines of a request carry: its id and route.
#[derive(Clone)]
pub(crate) struct LogContext {
    pub request_id: axum::http::HeaderValue,
    pub route: Route,
}

tokio::task_local! {
    static LOG_CONTEXT: LogContext;
}

/// The request id and route of the request being handled on this task, for log lines.
/// The id of the request being handled (empty outside one, e.g. a replay from the CLI).
pub(crate) fn request_id() -> String {
    LOG_CONTEXT
        .try_with(|c| c.request_id.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

pub(crate) fn log_context() -> (String, String) {
    LOG_CONTEXT
        .try_with(|c| {
            (
                c.request_id.to_str().unwrap_or_default().to_owned(),
                c.route.as_str().to_owned(),
            )
        })
        .unwrap_or_default()
}

/// axum answers a known path with an unknown method by a bare 405 with `Allow`, and refuses
/// unreadable requests in its extractors with plain text: give those the JSON error body every
/// other error has (some SDKs retry forever without `code`).
async fn json_refusal(response: Response) -> Response {
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        return json_method_not_allowed(response);
    }
    if response.status().is_client_error() {
        return json_rejection(response).await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_a_fixed_prefix_and_a_rising_counter_in_hex() {
        let mut digits = [0u8; 12];
        hex_digits(0x0abc_def1, &mut digits);
        assert_eq!(&digits, b"00000abcdef1");
        let ids: Vec<String> = (0..2)
            .map(|_| new_request_id().to_str().unwrap().to_owned())
            .collect();
        for id in &ids {
            let (prefix, counter) = id.split_once('-').unwrap();
            assert_eq!((prefix.len(), counter.len()), (16, 12), "{id}");
            assert!(
                id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()),
                "{id}"
            );
        }
        assert_eq!(ids[0][..16], ids[1][..16], "one prefix per process");
        let counter = |id: &str| u64::from_str_radix(&id[17..], 16).unwrap();
        assert!(counter(&ids[1]) > counter(&ids[0]));
    }
}
