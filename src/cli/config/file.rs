//! Reading the config file and handing its values to clap as the flags' defaults. clap then
//! does the layering itself, flag > environment > default, so the file lands between the
//! environment and the built-in defaults without a merge of our own, and its values go
//! through the same parsers, ranges and messages as the flags.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{ArgMatches, Command, CommandFactory};

use super::settings::{settings, Kind, Setting, CONFIG_ID};
use crate::cli::Cli;

/// The command line parsed over the config file.
pub struct Layered {
    pub matches: ArgMatches,
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// The keys the file set.
    pub from_file: Vec<String>,
}

/// Parses `args` with the values of the config file they (or `TRAILSPARK_CONFIG`) name as
/// the defaults. A command line clap refuses, `--help` and `--version` end the process, as
/// `Cli::parse` would; a file that cannot be used is an error.
pub fn layered(args: &[OsString]) -> anyhow::Result<Layered> {
    let mut command = Cli::command();
    let path = config_path(args);
    let mut from_file = Vec::new();
    if let Some(path) = &path {
        for (setting, value) in read(path, &settings(&command))? {
            command = with_default(command, setting.id(), &value);
            from_file.push(setting.key);
        }
    }
    let matches = command
        .try_get_matches_from(args)
        .unwrap_or_else(|e| e.exit());
    Ok(Layered {
        matches,
        path,
        from_file,
    })
}

/// `--config` (or `TRAILSPARK_CONFIG`), from a first pass that looks at nothing else: a
/// command line it cannot read is the real parse's to refuse, with clap's own message.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(args)
        .ok()?
        .get_one::<PathBuf>(CONFIG_ID)
        .cloned()
}

/// The file's settings, each checked as its flag would check it.
fn read(path: &Path, settings: &[Setting]) -> anyhow::Result<Vec<(Setting, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // toml's own message quotes the line, which may hold the database password.
        let at = e.span().map_or(String::new(), |s| {
            let line = text[..s.start].matches('\n').count() + 1;
            format!(" (line {line})")
        });
        anyhow!(
            "the config file {} is not valid TOML{at}: {}",
            path.display(),
            e.message()
        )
    })?;
    let mut values = Vec::new();
    for (key, value) in &table {
        let Some(setting) = settings.iter().find(|s| &s.key == key) else {
            bail!("{}: {}", path.display(), unknown_key(key, settings));
        };
        let value = flag_value(setting, value)
            .and_then(|v| check(setting, &v).map(|()| v))
            .map_err(|why| anyhow!("{}: `{key}` {why}", path.display()))?;
        values.push((setting.clone(), value));
    }
    Ok(values)
}

fn unknown_key(key: &str, settings: &[Setting]) -> String {
    let nearest = settings
        .iter()
        .map(|s| (strsim::jaro_winkler(key, &s.key), &s.key))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.7)
        .map_or(String::new(), |(_, near)| {
            format!("did you mean `{near}`? ")
        });
    format!(
        "unknown key `{key}`: {nearest}A key is a flag's name with _ for - (`database_url` \
         for --database); `trailspark config example` lists them all"
    )
}

/// The value as its flag would be given it, if the TOML value is of the setting's kind.
fn flag_value(setting: &Setting, value: &toml::Value) -> Result<String, String> {
    match (setting.kind(), value) {
        (Kind::Integer, toml::Value::Integer(n)) => Ok(n.to_string()),
        (Kind::Boolean, toml::Value::Boolean(b)) => Ok(b.to_string()),
        (Kind::String, toml::Value::String(s)) => Ok(s.clone()),
        (kind, other) => {
            let expected = match kind {
                Kind::Integer => "a whole number",
                Kind::Boolean => "true or false",
                Kind::String => "a string (in quotes)",
            };
            let example = setting.default().map_or(String::new(), |d| {
                format!(", e.g. {} = {}", setting.key, setting.toml(&d))
            });
            Err(format!(
                "must be {expected}, as {} takes{example}; this is {} {}",
                setting.flag(),
                article(other.type_str()),
                other.type_str()
            ))
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Runs the flag's own parser on `value`, so a value the flag would refuse is refused here
/// with the flag's message (its range, its possible values), before anything starts.
fn check(setting: &Setting, value: &str) -> Result<(), String> {
    let flag = format!("{}={value}", setting.flag());
    Command::new("trailspark")
        .no_binary_name(true)
        .arg(setting.arg.clone().global(false))
        .try_get_matches_from([flag])
        .map(|_| ())
        .map_err(|e| {
            let text = e.to_string();
            let text = text.split("\n\nFor more information").next().unwrap_or("");
            let text = text.trim().trim_start_matches("error: ");
            format!("is refused: {text}")
        })
}

/// `command` with `value` as the default of the argument `id`, wherever it is defined.
fn with_default(mut command: Command, id: &str, value: &str) -> Command {
    if command.get_arguments().any(|a| a.get_id() == id) {
        command = command.mut_arg(id, |a| a.default_value(value.to_owned()));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |c| with_default(c, id, value));
    }
    command
}
