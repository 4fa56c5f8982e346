//! Where browsers reach the service (`serve --public-url`): behind a proxy, the request alone
//! cannot say, since its `Host` header is the client's to choose and `X-Forwarded-Proto` may
//! come or not. Set, it names the scheme of the session cookie (`Secure` and `__Host-` under
//! https) and the origin of every URL the service shows.

use std::fmt;
use std::str::FromStr;

/// An http(s) origin, as `https://host[:port]`: a scheme, a host and maybe a port, nothing
/// else (the web UI's links start at `/`, so it cannot live under a path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
    https: bool,
}

impl PublicUrl {
    /// `scheme://host[:port]`, without a trailing slash: URLs are this and a path.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether browsers come over https.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let example = "write it as https://host[:port], e.g. https://trailspark.example.com";
        let lower = text.to_ascii_lowercase();
        let (https, rest) = match (
            lower.strip_prefix("https://"),
            lower.strip_prefix("http://"),
        ) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            _ => {
                return Err(format!(
                    "{text:?} is not an absolute http(s) URL: {example}"
                ))
            }
        };
        if rest.contains('?') {
            return Err(format!("{text:?} has a query string: {example}"));
        }
        if rest.contains('#') {
            return Err(format!("{text:?} has a fragment: {example}"));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if !path.is_empty() && path != "/" {
            return Err(format!(
                "{text:?} has the path {path:?}: serve trailspark at the root of its host (the \
                 web UI's links start at /) and {example}"
            ));
        }
        if authority.contains('@') {
            return Err(format!("{text:?} holds a user name or password; {example}"));
        }
        check_authority(authority).map_err(|why| format!("{text:?} {why}; {example}"))?;
        let scheme = if https { "https" } else { "http" };
        Ok(Self {
            origin: format!("{scheme}://{authority}"),
            https,
        })
    }
}

/// Whether `authority` is `host[:port]` (an IPv6 host in brackets); why not.
fn check_authority(authority: &str) -> Result<(), &'static str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let end = v6.find(']').ok_or("has an unclosed [ in its host")?;
            let (address, after) = (&v6[..end], &v6[end + 1..]);
            if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
                return Err("has an invalid IPv6 host");
            }
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or("has an invalid port")?),
            };
            ("v6", port)
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("has no host");
    }
    // Underscores too: container names (`my_service`) are hosts browsers take.
    let host_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if !host.chars().all(host_char) {
        return Err("has an invalid host (letters, digits, '-', '_' and '.' only)");
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p > 0);
        if !valid {
            return Err("has an invalid port (1 to 65535)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_taken_with_its_scheme_host_and_port() {
        for (text, origin, https) in [
            ("https://ts.example.com", "https://ts.example.com", true),
            ("https://ts.example.com/", "https://ts.example.com", true),
            ("HTTPS://TS.Example.com", "https://ts.example.com", true),
            ("http://ts.internal:8080/", "http://ts.internal:8080", false),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080", false),
            ("https://[::1]:8443", "https://[::1]:8443", true),
        ] {
            let url: PublicUrl = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((url.origin(), url.is_https()), (origin, https), "{text}");
            assert_eq!(url.to_string(), origin);
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for (text, reason) in [
            ("ts.example.com", "not an absolute http(s) URL"),
            ("ftp://ts.example.com", "not an absolute http(s) URL"),
            ("", "not an absolute http(s) URL"),
            ("https://", "has no host"),
            ("https://:8080", "has no host"),
            ("https://ts.example.com?x=1", "query string"),
            ("https://ts.example.com/#top", "fragment"),
            ("https://ana:pw@ts.example.com", "user name or password"),
            ("https://ts.example.com/ts/", "path \"/ts/\""),
            ("https://ts.example.com:0", "invalid port"),
            ("https://ts.example.com:99999", "invalid port"),
            ("https://ts.example.com:+80", "invalid port"),
            ("https://ts example.com", "invalid host"),
            ("https://ts.exa%mple.com", "invalid host"),
            ("https://a:b:80", "invalid port"),
            ("https://ts.example.com:", "invalid port"),
            ("https://[::1", "unclosed"),
            ("https://[zz]", "invalid IPv6"),
            ("https://[::1]x", "invalid port"),
        ] {
            let error = text.parse::<PublicUrl>().expect_err(text);
            assert!(error.contains(reason), "{text}: {error}");
            assert!(error.contains("https://host[:port]"), "{text}: {error}");
        }
    }
}
