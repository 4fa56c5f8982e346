//! Where `serve`'s log goes and in what shape: stderr, as text for people or JSON for log
//! shippers.

use clap::ValueEnum;

/// The shape of each log line (`serve --log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line per event for people to read; coloured only when stderr is a terminal.
    Text,
    /// One JSON object per line (timestamp, level, fields, target, spans), for journald
    /// exporters, Loki, Elasticsearch and the like.
    Json,
}

/// Sends the log to stderr in `format`, filtered by `TRAILSPARK_LOG` (default `info`).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAILSPARK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colour codes only help a terminal; in a log file they are noise.
        LogFormat::Text => log
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // A shipper parses the line: an escape code inside a string would be read as data.
        LogFormat::Json => log.json().with_ansi(false).init(),
    }
}
