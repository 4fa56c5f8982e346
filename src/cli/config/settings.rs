//! The settings a config file may hold, read off the clap definitions: every flag that has a
//! `TRAILSPARK_*` variable, of `serve` or global (the store's). Adding a flag to `serve` adds
//! it to the file, to `config show` and to `config example`, with nothing else to edit.

use std::any::TypeId;

use clap::{Arg, Command};

/// Where every setting's variable starts; a file key is the rest of it in lower case.
const ENV_PREFIX: &str = "TRAILSPARK_";

/// The flag that names the file itself: not a setting a file can hold.
pub const CONFIG_ID: &str = "config";

/// The subcommand whose flags are the settings, besides the global ones.
const SERVE: &str = "serve";

/// What a setting's value is in TOML, from the type its flag parses to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Boolean,
    String,
}

/// One setting: a flag and the key that sets it in the file.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key in the file: the variable without `TRAILSPARK_`, in lower case. That is the
    /// flag's name with `_` for `-` (`rate_limit_per_key`), but `database_url` for
    /// `--database`, whose variable has always been `TRAILSPARK_DATABASE_URL`.
    pub key: String,
    pub arg: Arg,
}

impl Setting {
    /// clap's id of the flag, which is also its id in the parsed matches.
    pub fn id(&self) -> &str {
        self.arg.get_id().as_str()
    }

    pub fn flag(&self) -> String {
        format!("--{}", self.arg.get_long().unwrap_or(self.id()))
    }

    pub fn env(&self) -> String {
        self.arg
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn kind(&self) -> Kind {
        let parsed = self.arg.get_value_parser().type_id();
        let integers = [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
            TypeId::of::<i8>(),
            TypeId::of::<i16>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
            TypeId::of::<isize>(),
        ];
        if integers.iter().any(|t| parsed == *t) {
            Kind::Integer
        } else if parsed == TypeId::of::<bool>() {
            Kind::Boolean
        } else {
            Kind::String
        }
    }

    /// Whether the value may hold a password, and so is shown only redacted.
    pub fn is_secret(&self) -> bool {
        self.key == "database_url"
    }

    /// The built-in default, as the flag would take it; `None` when the setting is unset
    /// unless given (its help says what that means).
    pub fn default(&self) -> Option<String> {
        self.arg
            .get_default_values()
            .first()
            .map(|v| v.to_string_lossy().into_owned())
    }

    /// The flag's whole help text (`--help`'s, not `-h`'s).
    pub fn help(&self) -> String {
        self.arg
            .get_long_help()
            .or(self.arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// `value` (as the flag takes it) written as a TOML value of this setting's kind.
    pub fn toml(&self, value: &str) -> String {
        match self.kind() {
            Kind::Integer if value.parse::<i64>().is_ok() => value.to_owned(),
            Kind::Boolean if matches!(value, "true" | "false") => value.to_owned(),
            _ => toml::Value::String(value.to_owned()).to_string(),
        }
    }
}

/// Every setting, the global ones (the store) first, in the order `--help` lists them.
pub fn settings(cli: &Command) -> Vec<Setting> {
    let serve = cli
        .find_subcommand(SERVE)
        .into_iter()
        .flat_map(Command::get_arguments);
    cli.get_arguments()
        .chain(serve)
        .filter(|arg| arg.get_id() != CONFIG_ID)
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?;
            let key = env.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
            Some(Setting {
                key,
                arg: arg.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{settings, Kind};
    use crate::cli::Cli;

    #[test]
    fn every_flag_with_a_variable_is_a_setting_keyed_by_that_variable() {
        let all = settings(&Cli::command());
        let keys: Vec<&str> = all.iter().map(|s| s.key.as_str()).collect();
        for key in ["database_url", "listen", "rate_limit_per_key", "log_format"] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
        assert!(!keys.contains(&"config") && !keys.contains(&"json"));
        let kind = |key: &str| all.iter().find(|s| s.key == key).unwrap().kind();
        assert_eq!(kind("rate_limit_per_key"), Kind::Integer);
        assert_eq!(kind("pg_max_connections"), Kind::Integer);
        assert_eq!(kind("max_connections"), Kind::Integer);
        assert_eq!(kind("listen"), Kind::String);
        assert_eq!(kind("log_format"), Kind::String);
    }
}
