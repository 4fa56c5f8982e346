//! `trailspark healthcheck`: asks a running `serve` for /healthz. A container built `FROM
//! scratch` has no curl or wget for its HEALTHCHECK, so the binary asks itself; plain HTTP/1.0
//! over a std socket keeps it free of an HTTP client the binary does not otherwise need.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The health URL to ask (plain http://host:port/path). Default: /healthz at
    /// TRAILSPARK_LISTEN (an unspecified address such as 0.0.0.0 asked on loopback), else at
    /// 127.0.0.1:8080.
    #[arg(long)]
    pub url: Option<String>,
    /// How long (milliseconds) connecting, and then the answer, may each take.
    #[arg(long, default_value_t = 3000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
}

/// Succeeds when the URL answers 200; fails (exit status 1) saying why otherwise.
pub fn run(args: &HealthcheckArgs, json: bool) -> anyhow::Result<()> {
    let timeout = Duration::from_millis(args.timeout_ms);
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| default_url(std::env::var("TRAILSPARK_LISTEN").ok().as_deref()));
    let status = get_status(&url, timeout).with_context(|| format!("{url} is not healthy"))?;
    if status != 200 {
        bail!("{url} answered {status}, not 200");
    }
    if json {
        super::print_json(&serde_json::json!({"url": url, "status": status}));
    } else {
        println!("{url} answered 200");
    }
    Ok(())
}

/// /healthz where `serve --listen <listen>` answers: the same address as the container's or
/// unit's own environment gives serve, so the check follows a changed port.
fn default_url(listen: Option<&str>) -> String {
    let address = match listen.map(str::parse::<SocketAddr>) {
        Some(Ok(mut address)) => {
            if address.ip().is_unspecified() {
                address.set_ip(match address {
                    SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                    SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
                });
            }
            address.to_string()
        }
        Some(Err(_)) => listen.unwrap_or_default().to_owned(),
        None => "127.0.0.1:8080".to_owned(),
    };
    format!("http://{address}/healthz")
}

/// The status code `GET url` is answered with.
fn get_status(url: &str, timeout: Duration) -> anyhow::Result<u16> {
    let rest = url
        .strip_prefix("http://")
        .context("only http:// URLs are supported (the check runs beside the service)")?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
    let address = authority
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {authority} (host:port)"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // HTTP/1.0: the server closes the connection after its answer, so reading to the end
    // needs no parsing of lengths or chunks.
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: trailspark-healthcheck\r\n\r\n"
    )?;
    let mut head = Vec::new();
    // The status line is all that is needed; a body of any size is not read.
    stream
        .take(1024)
        .read_to_end(&mut head)
        .context("no answer")?;
    let head = String::from_utf8_lossy(&head);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(version), Some(Ok(code))) if version.starts_with("HTTP/") => Ok(code),
        _ => bail!("not an HTTP answer: {status_line:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::default_url;

    #[test]
    fn the_default_url_follows_serves_listen_address() {
        for (listen, url) in [
            (None, "http://127.0.0.1:8080/healthz"),
            (Some("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz"),
            (Some("[::]:9000"), "http://[::1]:9000/healthz"),
            (Some("10.0.0.5:8081"), "http://10.0.0.5:8081/healthz"),
            (Some("localhost:8080"), "http://localhost:8080/healthz"),
        ] {
            assert_eq!(default_url(listen), url, "{listen:?}");
        }
    }
}
