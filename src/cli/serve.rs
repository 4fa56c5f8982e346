//! `trailspark serve`.

use std::num::NonZeroU32;

use clap::Args;
use trailspark_server::{shutdown_signal, PublicUrl, Retention, Server, ServerConfig};

use super::database::DatabaseArgs;
use super::logging::{self, LogFormat};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "TRAILSPARK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Requests per second allowed per API key, with bursts of twice that; 0 turns the
    /// limit off. Over the limit a request is answered 429 with Retry-After.
    #[arg(long, env = "TRAILSPARK_RATE_LIMIT_PER_KEY", default_value_t = 10_000)]
    pub rate_limit_per_key: u32,
    /// How often (milliseconds) to pick up keys created, revoked or given a new template, and
    /// admin tokens revoked, by other processes (the CLI, other instances).
    #[arg(long, env = "TRAILSPARK_KEY_REFRESH_MS", default_value_t = 1000)]
    pub key_refresh_ms: u64,
    /// How long (milliseconds) a client may take to send a request's headers before its
    /// connection is closed, so slow clients cannot hold connections forever.
    #[arg(long, env = "TRAILSPARK_HEADER_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: u64,
    /// How long (milliseconds) one request may take, body included, before it is answered
    /// 408 (a sender then retries; messageIds keep a retry from applying twice).
    #[arg(long, env = "TRAILSPARK_REQUEST_TIMEOUT_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// How long (milliseconds) a new connection may send nothing before it is closed, so
    /// sockets that never speak cannot hold the server's file descriptors.
    #[arg(long, env = "TRAILSPARK_FIRST_BYTE_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub first_byte_timeout_ms: u64,
    /// How long (milliseconds) a connection may go without a request in flight (a kept-alive
    /// HTTP/1.1 connection between requests, an HTTP/2 connection with no stream) before it
    /// is closed. A request in flight, however slow, is never cut by it. HTTP/1.1 connections
    /// waiting for their next request also close after --header-timeout-ms.
    #[arg(long, env = "TRAILSPARK_IDLE_TIMEOUT_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub idle_timeout_ms: u64,
    /// Most connections open at once. When a new one arrives over it, the connection idle the
    /// longest (one that never sent a request first) is closed to make room, so silent
    /// clients cannot keep health checks out. Default: 4096, or less when the open-file
    /// limit (ulimit -n) is low: that limit less an eighth of it (at least 64).
    #[arg(long, env = "TRAILSPARK_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: Option<u32>,
    /// Where GET /metrics (Prometheus text; names key ids) is served: an address of its own,
    /// never the main listener, loopback by default. Port 0 picks a free one; the address is
    /// printed. "off" (or empty) serves no metrics.
    #[arg(
        long,
        env = "TRAILSPARK_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_listen: String,
    /// Days the delivery log keeps an entry (every update and every refused request, with
    /// the payloads of refused ones, to fix a mapping and replay them). Swept every minute,
    /// and when serve starts.
    #[arg(long, env = "TRAILSPARK_DELIVERIES_RETENTION_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub deliveries_retention_days: u32,
    /// Most delivery log entries kept per key; beyond, the oldest go first. The log is swept
    /// every minute, and as soon as this many more entries were logged, so that a busy log
    /// holds at most this many beyond the keys' counts.
    #[arg(long, env = "TRAILSPARK_DELIVERIES_PER_KEY", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub deliveries_per_key: u32,
    /// Payloads of updates that were not refused the delivery log keeps per key and minute
    /// (refused ones always keep theirs, up to 64 KiB); 0 keeps every payload.
    #[arg(
        long,
        env = "TRAILSPARK_DELIVERY_PAYLOADS_PER_MINUTE",
        default_value_t = 600
    )]
    pub delivery_payloads_per_minute: u32,
    /// How long a product org's change history keeps a change, as a duration ("365d", "90d",
    /// "12h"); its values and their clocks are kept whatever this says: only the record of
    /// past changes goes. 0 keeps all of it. History is most of what a busy store holds: every
    /// change of every value is a row. Swept every minute, and when serve starts.
    #[arg(long, env = "TRAILSPARK_HISTORY_RETENTION", default_value = "365d",
          value_parser = super::duration::parse)]
    pub history_retention: std::time::Duration,
    /// How long a lead's signals are kept, as a duration ("365d", "90d", "12h"); the lead, and
    /// the link to a target org its signals made, stay. 0 keeps every signal. The evaluation
    /// context reads a lead's newest signals, so older ones are only its record. Swept every
    /// minute, and when serve starts.
    #[arg(long, env = "TRAILSPARK_SIGNAL_RETENTION", default_value = "365d",
          value_parser = super::duration::parse)]
    pub signal_retention: std::time::Duration,
    /// Where browsers reach the service, as https://host[:port] (an origin: no path, no
    /// query). Set it behind a proxy: under https the web UI's session cookie is Secure with
    /// the __Host- prefix, and the URLs it shows (a new key's webhook URL, the setup link)
    /// start with it rather than with the request's Host header. Unset, the cookie is Secure
    /// when X-Forwarded-Proto says https, and URLs follow Host. `trailspark key create`
    /// prints a new key's webhook URL from the same variable.
    #[arg(long, env = "TRAILSPARK_PUBLIC_URL", value_parser = clap::value_parser!(PublicUrl))]
    pub public_url: Option<PublicUrl>,
    /// Shape of the log lines on stderr: text for people (coloured only on a terminal), or
    /// json, one object per line, for log shippers. TRAILSPARK_LOG sets which lines.
    #[arg(
        long,
        env = "TRAILSPARK_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

pub async fn run(db: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log_format);
    let store = db.create_or_open().await?;
    if let Some(tenant) = store.create_default_tenant_if_empty().await? {
        println!(
            "Created tenant {:?}: the store was empty.",
            tenant.subdomain.as_str()
        );
        println!(
            "Next: trailspark key create --tenant default --type product-org-updates --name \"Segment\" --preset segment"
        );
    }
    let config = ServerConfig {
        listen: args.listen,
        rate_limit_per_key: NonZeroU32::new(args.rate_limit_per_key),
        key_refresh: std::time::Duration::from_millis(args.key_refresh_ms.max(10)),
        header_timeout: std::time::Duration::from_millis(args.header_timeout_ms),
        request_timeout: std::time::Duration::from_millis(args.request_timeout_ms),
        first_byte_timeout: std::time::Duration::from_millis(args.first_byte_timeout_ms),
        idle_timeout: std::time::Duration::from_millis(args.idle_timeout_ms),
        max_connections: args
            .max_connections
            .unwrap_or_else(trailspark_server::default_max_connections),
        metrics_listen: match args.metrics_listen.trim() {
            "" | "off" => None,
            address => Some(address.to_owned()),
        },
        retention: Retention {
            days: args.deliveries_retention_days,
            per_key: args.deliveries_per_key,
            payloads_per_minute: args.delivery_payloads_per_minute,
            history: (!args.history_retention.is_zero()).then_some(args.history_retention),
            signals: (!args.signal_retention.is_zero()).then_some(args.signal_retention),
        },
        public_url: args.public_url.clone(),
    };
    let server = Server::bind(config, store).await?;
    if let Some(address) = server.metrics_addr() {
        // Before the line below, so that whoever waits for that one has both.
        println!("trailspark metrics on http://{address}/metrics");
    }
    // Tests and scripts read this line to find the port; keep its shape.
    println!("trailspark listening on http://{}", server.local_addr());
    if let Some(path) = server.offer_setup().await? {
        let origin = args.public_url.as_ref().map_or_else(
            || format!("http://{}", server.local_addr()),
            |url| url.origin().to_owned(),
        );
        println!(
            "No one can sign in to the web UI yet. Open {origin}{path} to create the first user \
             of tenant default (the link works once, until then and only for this process)."
        );
    }
    server.run_until(shutdown_signal()).await
}
