//! Accepting and serving connections, with the limits that keep clients who send nothing from
//! holding the service's file descriptors: a first-byte timeout, an idle timeout (no request
//! in flight), HTTP/2 keep-alive pings and a stream limit, and a cap on open connections.
//!
//! When the cap is reached, a new connection is not refused: the open connection idle the
//! longest (one that never sent a request first) is closed to make room. Refusing, or leaving
//! the new one in the listen backlog, would let a few hundred silent sockets keep a load
//! balancer's `/healthz` from ever being answered; closing an idle connection costs its client
//! at most a reconnect. Only when every connection has a request in flight does the new one
//! wait (and the ones behind it wait in the kernel's backlog) until a request ends.

mod open;
mod tracked;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use open::{ConnectionState, OpenConnections};

/// How long a connection being closed (idle, or making room) may take to say goodbye (an
/// HTTP/2 GOAWAY) before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// HTTP/2 pings: a peer that does not answer one within the timeout is gone (its connection
/// is closed even while a long request runs on it).
const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// Requests at once on one HTTP/2 connection (RFC 9113 advises no fewer than 100).
const H2_MAX_STREAMS: u32 = 100;
/// How often a full server looks again for an idle connection to close when every connection
/// had a request in flight.
const FULL_RETRY: Duration = Duration::from_millis(50);
/// The default cap when the open-file limit allows it.
const DEFAULT_MAX_CONNECTIONS: u32 = 4096;

/// The limits every connection of a listener is served under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// A connection that has sent no byte by then is closed.
    pub first_byte_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// How long an HTTP/1.1 client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: u32,
}

/// Connections at once on the metrics listener: a scraper or two.
const METRICS_MAX_CONNECTIONS: u32 = 16;

impl ConnectionLimits {
    /// The limits of the main listener.
    pub(crate) fn of(config: &crate::app::ServerConfig) -> Self {
        Self {
            first_byte_timeout: config.first_byte_timeout,
            idle_timeout: config.idle_timeout,
            header_timeout: config.header_timeout,
            max_connections: config.max_connections.max(1),
        }
    }
}

/// What a listener serves: axum's router, or the main one with its webhook before it
/// ([`crate::http::Served`]).
pub(crate) trait Serves:
    tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// This service for the requests of one connection, from `peer`, when it gives them the
    /// client's address (`ConnectInfo`) itself; `None` when the connection must put it on
    /// each request.
    fn for_peer(&self, _peer: std::net::SocketAddr) -> Option<Self> {
        None
    }
}

impl Serves for axum::Router {}

impl Serves for crate::http::Served {
    /// `Served` gives the address only to what may read it: the product org webhook it
    /// answers before the router reads none, and an extensions map of its own cost each
    /// request some 500 instructions.
    fn for_peer(&self, peer: std::net::SocketAddr) -> Option<Self> {
        Some(self.for_client(peer))
    }
}

/// Serves `main` (a listener and what it serves) and `metrics`, if any, until `shutdown`
/// completes; returns once both have answered their requests in flight.
pub(crate) async fn serve_until(
    main: (TcpListener, impl Serves),
    metrics: Option<(TcpListener, axum::Router)>,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tracing::info!(
        max_connections = limits.max_connections,
        first_byte_timeout_ms = limits.first_byte_timeout.as_millis() as u64,
        idle_timeout_ms = limits.idle_timeout.as_millis() as u64,
        "connection limits"
    );
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown.await;
            stop.cancel();
        }
    });
    let metrics = metrics.map(|(listener, router)| {
        let limits = ConnectionLimits {
            max_connections: METRICS_MAX_CONNECTIONS,
            ..limits
        };
        tokio::spawn(serve(listener, router, limits, stop.clone()))
    });
    serve(main.0, main.1, limits, stop).await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
}

/// The default of `--max-connections`: 4096, or fewer when the process may not open that many
/// files (the soft `RLIMIT_NOFILE`, read from `/proc/self/limits`): an eighth of the limit,
/// at least 64, is left to the store, the logs and the listeners, so that accepting never
/// fails for want of a file descriptor.
pub fn default_max_connections() -> u32 {
    let limits = std::fs::read_to_string("/proc/self/limits").ok();
    limits
        .as_deref()
        .and_then(open_file_limit)
        .map_or(DEFAULT_MAX_CONNECTIONS, cap_under)
}

/// The cap that leaves a process allowed `open_files` files room for the rest.
fn cap_under(open_files: u64) -> u32 {
    let room = open_files.saturating_sub((open_files / 8).max(64));
    u32::try_from(room)
        .unwrap_or(u32::MAX)
        .clamp(8, DEFAULT_MAX_CONNECTIONS)
}

/// The soft open-file limit in the text of `/proc/self/limits`; `None` when unlimited.
fn open_file_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Accepts connections on `listener` and serves `router` on them until `shutdown`, then lets
/// the open ones finish their requests. hyper directly rather than `axum::serve`, which sets
/// no timer.
async fn serve(
    listener: TcpListener,
    router: impl Serves,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let builder = Arc::new(http_builder(&limits));
    let room = Arc::new(Semaphore::new(limits.max_connections as usize));
    let open = Arc::new(OpenConnections::default());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                // Out of file descriptors (EMFILE, ENFILE: the same numbers on Linux and the
                // BSDs) despite the cap: an idle connection gives one back.
                if matches!(e.raw_os_error(), Some(23 | 24)) {
                    open.close_idlest();
                }
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = make_room(&room, &open, &shutdown).await else {
            break;
        };
        let connection = Connection {
            state: open.insert(),
            open: Arc::clone(&open),
            permit: Some(permit),
        };
        tokio::spawn(connection.serve(
            stream,
            peer,
            router.clone(),
            Arc::clone(&builder),
            limits,
            shutdown.clone(),
        ));
    }
    drop(listener);
    // Each connection holds a permit until it is closing with no request in flight: holding
    // them all means every request has been answered.
    let _ = room.acquire_many(limits.max_connections).await;
}

fn http_builder(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_INTERVAL)
        .keep_alive_timeout(H2_PING_TIMEOUT)
        .max_concurrent_streams(H2_MAX_STREAMS);
    builder
}

/// A permit to open one more connection: at once when the cap is not reached, else once the
/// connection idle the longest has been told to close, or a request has ended somewhere.
/// `None` at shutdown.
async fn make_room(
    room: &Arc<Semaphore>,
    open: &OpenConnections,
    shutdown: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    loop {
        if let Ok(permit) = Arc::clone(room).try_acquire_owned() {
            return Some(permit);
        }
        open.close_idlest();
        tokio::select! {
            permit = Arc::clone(room).acquire_owned() => return permit.ok(),
            () = tokio::time::sleep(FULL_RETRY) => {}
            () = shutdown.cancelled() => return None,
        }
    }
}

/// One accepted connection: its state, and its place under the cap until it closes.
struct Connection {
    state: Arc<ConnectionState>,
    open: Arc<OpenConnections>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.open.lock().remove(&self.state.id);
    }
}

impl Connection {
    async fn serve(
        mut self,
        stream: TcpStream,
        peer: SocketAddr,
        router: impl Serves,
        builder: Arc<Builder<TokioExecutor>>,
        limits: ConnectionLimits,
        shutdown: CancellationToken,
    ) {
        // hyper's protocol sniffing reads the first bytes with no timer: wait for one here.
        let mut first = [0; 1];
        let spoke = tokio::select! {
            peeked = tokio::time::timeout(limits.first_byte_timeout, stream.peek(&mut first)) => {
                matches!(peeked, Ok(Ok(n)) if n > 0)
            }
            () = self.state.told_to_close() => false,
            () = shutdown.cancelled() => false,
        };
        if !spoke {
            return;
        }
        // The idle timer counts from here: the client spoke, and has its time for a request.
        self.state.mark_idle();
        let service = tracked::service(router, peer, Arc::clone(&self.state));
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        let draining = tokio::select! {
            biased;
            ended = connection.as_mut() => return log_end(ended),
            () = shutdown.cancelled() => true,
            () = self.state.quiet_for(limits.idle_timeout, true) => false,
        };
        connection.as_mut().graceful_shutdown();
        // Closing for idleness or room: nothing is in flight, so the place is free now. At
        // shutdown, the place is kept until the requests in flight are answered (the server
        // waits for every place), and a client in the middle of its headers gets their time.
        let grace = if draining {
            limits.header_timeout
        } else {
            self.permit.take();
            CLOSE_GRACE
        };
        self.state.mark_idle();
        tokio::select! {
            biased;
            ended = connection.as_mut() => log_end(ended),
            // A peer that never acknowledges the goodbye (an HTTP/2 GOAWAY) is not waited for.
            () = self.state.quiet_for(grace, false) => {}
        }
    }
}

fn log_end(ended: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(e) = ended {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_room_under_the_open_file_limit() {
        for (open_files, cap) in [(200, 136), (1024, 896), (20_000, 4096), (50, 8), (0, 8)] {
            assert_eq!(cap_under(open_files), cap, "under {open_files} open files");
        }
    }

    #[test]
    fn the_open_file_limit_is_read_from_proc() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             63704                63704                processes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(open_file_limit(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(open_file_limit(unlimited), None);
        assert_eq!(open_file_limit(""), None);
    }
}
