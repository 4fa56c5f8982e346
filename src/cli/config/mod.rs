//! The config file (`--config FILE`, `TRAILSPARK_CONFIG`): a TOML file with a key for every
//! flag that has a `TRAILSPARK_*` variable. Its values become the flags' defaults, so a flag
//! beats its variable, which beats the file, which beats the built-in default.

mod file;
mod reference;
mod settings;
mod show;

use std::ffi::OsString;

use clap::{Args, FromArgMatches, Subcommand};

use super::serve::ServeArgs;
use super::Cli;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the settings `serve` would run with, as TOML, each with where it came from
    /// (flag, env, file or default); the database password is shown as ***.
    ///
    /// It takes serve's flags, so `trailspark config show --listen 0.0.0.0:8080` shows what
    /// `trailspark serve --listen 0.0.0.0:8080` would run with.
    Show(ShowArgs),
    /// Print a config file listing every setting with its help and default (commented out).
    Example,
    /// Print every setting (flag, variable, file key, default, help) as Markdown: what
    /// docs/configuration.md holds.
    Reference,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    // Read through the matches rather than this value: they also say where each came from.
    #[command(flatten)]
    _serve: ServeArgs,
}

/// The command line of this process, parsed over the config file it names; exits with
/// clap's message on a command line clap refuses, and with the reason on a file that cannot
/// be used.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    let parsed = file::layered(&args)
        .and_then(|layered| Cli::from_arg_matches(&layered.matches).map_err(anyhow::Error::from));
    parsed.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        // As clap exits on a command line it refuses: a usage error, not a failure.
        std::process::exit(2)
    })
}

/// Runs `trailspark config …`.
pub fn run(json: bool, command: &ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Show(_) => {
            let args: Vec<OsString> = std::env::args_os().collect();
            show::show(&args, json)
        }
        ConfigCommand::Example => {
            print!("{}", show::example());
            Ok(())
        }
        ConfigCommand::Reference => {
            print!("{}", reference::reference());
            Ok(())
        }
    }
}

/// For the messages of other commands: a database URL without its password.
pub fn redact_url(url: &str) -> String {
    show::redact_url(url)
}
