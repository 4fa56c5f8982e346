//! `trailspark completions` and `trailspark man`: written from the same clap definitions as
//! `--help`, so a new flag reaches the shell and the man page without anyone copying it there.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, CommandFactory};

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `serve` or `key create` (its page is
    /// trailspark-serve(1), trailspark-key-create(1)); none prints trailspark(1).
    pub command: Vec<String>,
    /// Write every page (trailspark.1 and one per command) into this folder instead of
    /// printing one, e.g. /usr/local/share/man/man1.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub out_dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell`.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "trailspark", &mut script);
    print(&script)
}

/// Prints one man page, or writes them all with `--out-dir`.
pub fn man(args: &ManArgs) -> anyhow::Result<()> {
    // Built first: building is what hands global flags (--database, --json) to every command
    // and gives each its page name (trailspark-key-create) and usage (trailspark key create).
    let mut root = Cli::command()
        .bin_name("trailspark")
        .disable_help_subcommand(true);
    root.build();
    if let Some(dir) = &args.out_dir {
        return write_pages(&root, dir)
            .with_context(|| format!("cannot write the man pages to {}", dir.display()));
    }
    let mut command = &root;
    for name in &args.command {
        let parent = command;
        command = match parent.find_subcommand(name) {
            Some(sub) => sub,
            None => {
                let names: Vec<&str> = parent.get_subcommands().map(|c| c.get_name()).collect();
                let bin = parent.get_bin_name().unwrap_or("trailspark");
                if names.is_empty() {
                    bail!("{bin} has no commands (leave out {name:?})");
                }
                bail!(
                    "{bin} has no command {name:?}; its commands are: {}",
                    names.join(", ")
                );
            }
        };
    }
    let mut text = Vec::new();
    page(command).render(&mut text)?;
    print(&text)
}

/// The man page of `command`; its footer names trailspark and its version on every page
/// (clap_mangen would name the command alone: "create 0.1.0").
fn page(command: &clap::Command) -> clap_mangen::Man {
    let source = format!("trailspark {}", command.get_version().unwrap_or_default());
    clap_mangen::Man::new(command.clone()).source(source)
}

/// Writes the page of `command` and of each command under it into `dir`.
fn write_pages(command: &clap::Command, dir: &Path) -> std::io::Result<()> {
    page(command).generate_to(dir)?;
    for sub in command.get_subcommands() {
        write_pages(sub, dir)?;
    }
    Ok(())
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is not an error.
fn print(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
