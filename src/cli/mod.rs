//! Command-line interface: parse with clap, then call into the crates.

mod admin_token;
mod config;
mod database;
mod deliveries;
mod duration;
mod firmographics;
mod generate;
mod healthcheck;
mod key;
mod logging;
mod serve;
mod tenant;
mod user;

use clap::{Args, Parser, Subcommand};

pub use config::parse;
pub use database::DatabaseArgs;

/// trailspark: product org data from Segment, RudderStack and Hightouch, kept current and
/// served to lead scoring as productOrgInfo.
#[derive(Debug, Parser)]
// The commit beside the version says exactly which code runs (set by build.rs).
#[command(
    name = "trailspark",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("TRAILSPARK_COMMIT"), ")"),
    about,
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// A TOML file of settings: a key for each flag that has a TRAILSPARK_* variable, named
    /// as the flag with _ for - (database_url for --database). A flag beats its variable,
    /// which beats the file, which beats the default. `trailspark config example` prints one.
    #[arg(long, global = true, env = "TRAILSPARK_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: webhooks, Segment-compatible /v1 API, web UI, admin API, health, metrics.
    Serve(serve::ServeArgs),
    /// Manage tenants (the companies using this trailspark).
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Manage API keys: create (shown once), list, revoke.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Read a key's delivery log: what became of each update and request, and why.
    #[command(subcommand)]
    Deliveries(deliveries::DeliveriesCommand),
    /// Apply the store's pending schema migrations and exit (serve also does this at start).
    Migrate,
    /// Import CRM firmographics of target orgs.
    #[command(subcommand)]
    Firmographics(firmographics::FirmographicsCommand),
    /// Manage admin API tokens: create (shown once), list, revoke; optionally expiring.
    #[command(subcommand, name = "admin-token")]
    AdminToken(admin_token::AdminTokenCommand),
    /// Manage the people who sign in to the web UI.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Copy a SQLite store to a new file while serve keeps running.
    ///
    /// The copy is one consistent snapshot. Restore by stopping serve and putting the copy in
    /// the store's place (or pointing --database at it). For PostgreSQL use pg_dump.
    Backup(BackupArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    ///
    /// Install it where the shell looks, e.g.
    /// `trailspark completions bash > /etc/bash_completion.d/trailspark`,
    /// `trailspark completions zsh > "${fpath[1]}/_trailspark"`,
    /// `trailspark completions fish > ~/.config/fish/completions/trailspark.fish`.
    Completions(generate::CompletionsArgs),
    /// Print the man page (roff) of trailspark or of one of its commands to stdout.
    ///
    /// Read it with `trailspark man | man -l -`, or install every page with
    /// `trailspark man --out-dir /usr/local/share/man/man1`.
    Man(generate::ManArgs),
    /// Show the settings in effect, or print an example config file (`--config`) or the
    /// settings' reference.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Ask a running serve for /healthz: exit 0 when it answers 200, 1 otherwise.
    ///
    /// For a container's HEALTHCHECK, where there is no curl.
    Healthcheck(healthcheck::HealthcheckArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new file to write (must not exist).
    #[arg(long)]
    pub to: std::path::PathBuf,
}

/// The tenant a command acts on.
#[derive(Debug, Args)]
pub struct TenantArg {
    /// Tenant subdomain, e.g. `default` or `acme`.
    #[arg(long)]
    pub tenant: String,
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.database, args).await,
        Command::Tenant(cmd) => tenant::run(&cli.database, cli.json, cmd).await,
        Command::Key(cmd) => key::run(&cli.database, cli.json, cmd).await,
        Command::Deliveries(cmd) => deliveries::run(&cli.database, cli.json, cmd).await,
        Command::Migrate => {
            let applied = cli.database.migrate().await?;
            if cli.json {
                print_json(&serde_json::json!({"applied": applied}));
            } else if applied.is_empty() {
                println!("The store's schema is up to date.");
            } else {
                println!("Applied migrations: {}.", applied.join(", "));
            }
            Ok(())
        }
        Command::Firmographics(cmd) => firmographics::run(&cli.database, cli.json, cmd).await,
        Command::AdminToken(cmd) => admin_token::run(&cli.database, cli.json, cmd).await,
        Command::User(cmd) => user::run(&cli.database, cli.json, cmd).await,
        Command::Backup(args) => {
            cli.database.backup(&args.to).await?;
            let size = std::fs::metadata(&args.to).map_or(0, |m| m.len());
            if cli.json {
                print_json(&serde_json::json!({"to": args.to, "bytes": size}));
            } else {
                println!(
                    "Backed up the store to {} ({size} bytes).",
                    args.to.display()
                );
            }
            Ok(())
        }
        Command::Completions(args) => generate::completions(&args),
        Command::Man(args) => generate::man(&args),
        Command::Config(cmd) => config::run(cli.json, &cmd),
        Command::Healthcheck(args) => healthcheck::run(&args, cli.json),
    }
}

/// Prints `value` as one line of JSON.
fn print_json(value: &serde_json::Value) {
    println!("{value}");
}
