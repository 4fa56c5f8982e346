//! `config show` (the settings in effect and where each came from) and `config example` (a
//! file listing every setting), both written from the clap definitions.

use std::ffi::OsString;
use std::fmt::Write as _;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory};

use super::file::{layered, Layered};
use super::settings::{settings, Kind, Setting};
use crate::cli::Cli;

/// Where a setting's value came from, in the order that decides: the first present wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::File => "file",
            Source::Default => "default",
        }
    }
}

/// One setting in effect.
struct Effective {
    setting: Setting,
    /// As the flag would take it, secrets redacted; `None` when unset.
    value: Option<String>,
    source: Source,
}

/// The settings `args` (this very command line: `config show` takes serve's flags) put in
/// effect.
fn effective(args: &[OsString]) -> anyhow::Result<(Layered, Vec<Effective>)> {
    let layered = layered(args)?;
    let mut leaf: &ArgMatches = &layered.matches;
    while let Some((_, sub)) = leaf.subcommand() {
        leaf = sub;
    }
    let list = settings(&Cli::command())
        .into_iter()
        .map(|setting| {
            let value = leaf
                .try_get_raw(setting.id())
                .ok()
                .flatten()
                .and_then(|mut raw| raw.next())
                .map(|v| v.to_string_lossy().into_owned())
                .map(|v| {
                    if setting.is_secret() {
                        redact_url(&v)
                    } else {
                        v
                    }
                });
            let source = match leaf.value_source(setting.id()) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Env,
                Some(ValueSource::DefaultValue) if layered.from_file.contains(&setting.key) => {
                    Source::File
                }
                _ => Source::Default,
            };
            Effective {
                setting,
                value,
                source,
            }
        })
        .collect();
    Ok((layered, list))
}

/// Prints the settings in effect as TOML (a file one could start from), each with its source.
pub fn show(args: &[OsString], json: bool) -> anyhow::Result<()> {
    let (layered, list) = effective(args)?;
    if json {
        let settings: Vec<serde_json::Value> = list
            .iter()
            .map(|e| {
                let value = match (&e.value, e.setting.kind()) {
                    (Some(v), Kind::Integer) => v
                        .parse::<i64>()
                        .map_or_else(|_| v.clone().into(), Into::into),
                    (Some(v), _) => serde_json::Value::from(v.clone()),
                    (None, _) => serde_json::Value::Null,
                };
                serde_json::json!({
                    "key": e.setting.key,
                    "value": value,
                    "source": e.source.name(),
                })
            })
            .collect();
        let file = layered.path.map(|p| p.display().to_string());
        super::super::print_json(&serde_json::json!({"configFile": file, "settings": settings}));
        return Ok(());
    }
    let mut out = String::from(
        "# The settings `trailspark serve` runs with, each with where it came from: a flag, the\n\
         # environment (TRAILSPARK_*), the config file or the built-in default.\n",
    );
    match &layered.path {
        Some(path) => writeln!(out, "# Config file: {}", path.display())?,
        None => out.push_str("# Config file: none (--config or TRAILSPARK_CONFIG names one)\n"),
    }
    for e in &list {
        match &e.value {
            Some(v) => writeln!(
                out,
                "{} = {}  # {}",
                e.setting.key,
                e.setting.toml(v),
                e.source.name()
            )?,
            None => writeln!(out, "# {} is unset  # {}", e.setting.key, e.source.name())?,
        }
    }
    print!("{out}");
    Ok(())
}

/// A config file listing every setting with its help and default, all commented out.
pub fn example() -> String {
    let mut out = String::from(
        "# trailspark's config file: every setting, with its default. Written by\n\
         # `trailspark config example` from the same definitions as `trailspark serve --help`.\n\
         #\n\
         # Use it with `trailspark serve --config trailspark.toml` (or TRAILSPARK_CONFIG); the\n\
         # other commands read the store's settings from it too. A flag beats its environment\n\
         # variable, which beats this file, which beats the default. A key is the flag's name\n\
         # with _ for - (database_url for --database); an unknown key is refused. Uncomment a\n\
         # line to change its setting.\n",
    );
    for setting in settings(&Cli::command()) {
        out.push('\n');
        for (n, paragraph) in setting.help().split("\n\n").enumerate() {
            if n > 0 {
                out.push_str("#\n");
            }
            let paragraph = paragraph.trim_end();
            if paragraph.ends_with('.') {
                wrap(&mut out, paragraph);
            } else {
                // clap drops the full stop of a one-paragraph help; a sentence has one.
                wrap(&mut out, &format!("{paragraph}."));
            }
        }
        let (flag, env) = (setting.flag(), setting.env());
        match setting.default() {
            Some(d) => {
                let _ = writeln!(
                    out,
                    "# {flag}, {env}\n#{} = {}",
                    setting.key,
                    setting.toml(&d)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "# {flag}, {env}; unset by default, for example:\n#{} = {}",
                    setting.key,
                    example_value(&setting)
                );
            }
        }
    }
    out
}

/// A value for a setting that has no default, so that its line, uncommented, is valid TOML
/// that `serve` takes.
fn example_value(setting: &Setting) -> String {
    match setting.key.as_str() {
        "database_url" => setting.toml("/var/lib/trailspark/trailspark.db"),
        "max_connections" => setting.toml("4096"),
        "public_url" => setting.toml("https://trailspark.example.com"),
        _ => match setting.kind() {
            Kind::Integer => "1".to_owned(),
            Kind::Boolean => "false".to_owned(),
            Kind::String => setting.toml("…"),
        },
    }
}

/// Appends `text` as `#` comment lines of at most 92 characters.
fn wrap(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 92 {
            out.push_str(&line);
            out.push('\n');
            line.truncate(1);
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
}

/// A URL with its password (in the user part, or a `password=` parameter) shown as `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(start) = url.find("://").map(|i| i + 3) {
        let authority_end = url[start..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| start + i);
        // The last @ of the authority ends the user part: a password may hold an @.
        if let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) {
            if let Some(colon) = url[start..at].find(':').map(|i| start + i) {
                out = format!("{}***{}", &url[..=colon], &url[at..]);
            }
        }
    }
    redact_parameter(&out)
}

/// `password=…` in a URL's query (libpq takes the password there too) as `password=***`.
fn redact_parameter(url: &str) -> String {
    let Some(query) = url.find('?') else {
        return url.to_owned();
    };
    let params: Vec<String> = url[query + 1..]
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
            _ => p.to_owned(),
        })
        .collect();
    format!("{}?{}", &url[..query], params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_starred_wherever_a_url_holds_them() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db:5432/ts",
                "postgres://app:***@db:5432/ts",
            ),
            ("postgres://app:p@ss@db/ts", "postgres://app:***@db/ts"),
            ("postgresql://app@db/ts", "postgresql://app@db/ts"),
            (
                "postgres://db/ts?user=a&password=x&sslmode=require",
                "postgres://db/ts?user=a&password=***&sslmode=require",
            ),
            ("./data/trailspark.db", "./data/trailspark.db"),
            ("postgres://db/a@b:c", "postgres://db/a@b:c"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
