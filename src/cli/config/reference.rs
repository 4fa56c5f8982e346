//! `config reference`: every setting as Markdown, written from the clap definitions that
//! `--help` prints, so docs/configuration.md (this output, committed) cannot drift from them
//! without a test noticing.

use std::fmt::Write as _;

use clap::{Arg, CommandFactory};

use super::settings::{settings, Setting, CONFIG_ID};
use crate::cli::Cli;

const HEADER: &str = "\
# Configuration reference

<!-- Written by `trailspark config reference` from the same definitions as
`trailspark serve --help`. Do not edit: after changing a flag, write it again with
`cargo run -- config reference > docs/configuration.md` (a test fails until then). -->

Every setting of `trailspark serve` can be given as a flag, as an environment variable or as
a key of a TOML config file (`--config FILE` or `TRAILSPARK_CONFIG`). A flag beats its
variable, which beats the file, which beats the default. A key is the variable's name without
`TRAILSPARK_`, in lower case. An unknown key, a value of the wrong type or one the flag would
refuse stops `serve` before it starts, naming the file, the key and the reason.
`trailspark config example` prints a file with every key commented out
([trailspark.example.toml](trailspark.example.toml)); `trailspark config show` prints the
settings in effect and where each came from.

The store's settings (marked *every command*) are read by the other commands too
(`key create`, `backup`, `migrate`, …); the rest only by `serve`.
";

/// The reference, as Markdown.
pub fn reference() -> String {
    let cli = Cli::command();
    let all = settings(&cli);
    let mut out = String::from(HEADER);
    out.push_str("\n| key | flag | environment | default |\n|---|---|---|---|\n");
    for s in &all {
        let _ = writeln!(
            out,
            "| [`{key}`](#{key}) | `{}` | `{}` | {} |",
            s.flag(),
            s.env(),
            s.default()
                .map_or("unset (see its help)".to_owned(), |d| format!("`{d}`")),
            key = s.key,
        );
    }
    for s in &all {
        section(&mut out, s);
    }
    out.push_str("\n## Not in the file\n");
    if let Some(config) = cli.get_arguments().find(|a| a.get_id() == CONFIG_ID) {
        let env = config
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "\n### `--config`\n\n`--config FILE`, `{env}`; every command. Unset by default.\n\n{}",
            paragraphs(&help(config))
        );
    }
    // Read by the logger before any flag is parsed, so it has no clap definition to copy.
    out.push_str(
        "\n### `TRAILSPARK_LOG`\n\nAn environment variable only; default `info`.\n\nWhich log \
         lines `serve` writes (on stderr): a level (`debug`, `warn`) or a filter per module \
         (`info,trailspark_server=debug`), as tracing-subscriber's `EnvFilter` reads it.\n",
    );
    out
}

/// One setting's section: where it is set, its default, its help and its values.
fn section(out: &mut String, s: &Setting) {
    let scope = if s.arg.is_global_set() {
        "every command"
    } else {
        "`serve`"
    };
    let default = s.default().map_or(
        "Unset by default (its help says what that means).".to_owned(),
        |d| format!("Default `{d}`."),
    );
    let _ = writeln!(
        out,
        "\n## `{}`\n\n`{}`, `{}`; {scope}. {default}\n\n{}",
        s.key,
        s.flag(),
        s.env(),
        paragraphs(&s.help())
    );
    let values: Vec<String> = s
        .arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| match v.get_help() {
            Some(h) => format!(
                "- `{}`: {}",
                v.get_name(),
                sentence(&escape(&h.to_string()))
            ),
            None => format!("- `{}`", v.get_name()),
        })
        .collect();
    if !values.is_empty() {
        let _ = writeln!(out, "\nValues:\n\n{}", values.join("\n"));
    }
}

fn help(arg: &Arg) -> String {
    arg.get_long_help()
        .or(arg.get_help())
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Help text as Markdown paragraphs, each a sentence ending in its full stop (clap drops the
/// full stop of a one-paragraph help).
fn paragraphs(help: &str) -> String {
    let mut out = String::new();
    for paragraph in help.split("\n\n") {
        let text = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = write!(out, "{}\n\n", sentence(&escape(&text)));
    }
    out.truncate(out.trim_end().len());
    out
}

/// `text` ending in a full stop.
fn sentence(text: &str) -> String {
    if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// Text with the characters Markdown would read as markup escaped, outside `code` spans.
fn escape(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(n, part)| {
            if n % 2 == 1 {
                format!("`{part}`")
            } else {
                part.chars().fold(String::new(), |mut s, c| {
                    if matches!(c, '_' | '*' | '<' | '>' | '|' | '[' | ']') {
                        s.push('\\');
                    }
                    s.push(c);
                    s
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{escape, reference};

    #[test]
    fn markup_is_escaped_outside_code_spans_only() {
        assert_eq!(
            escape("__Host- cookie, `a_b` and *x*"),
            r"\_\_Host- cookie, `a_b` and \*x\*"
        );
    }

    #[test]
    fn every_setting_has_a_row_and_a_section() {
        let text = reference();
        for key in [
            "database_url",
            "listen",
            "sqlite_checkpoint_mib",
            "log_format",
        ] {
            assert!(
                text.contains(&format!("| [`{key}`](#{key}) |")),
                "{key} row"
            );
            assert!(text.contains(&format!("\n## `{key}`\n")), "{key} section");
        }
        assert!(text.contains("- `json`: One JSON object per line"));
    }
}
