//! One module per subcommand (`XxxArgs` + `run`), the context they share,
//! and the few helpers more than one of them needs (names, reading a secret).
//! Commands do not import each other: what two of them share lives a layer
//! down (`check`, `secrets`, `providers`, `http`).

pub mod add;
pub mod call;
pub mod completions;
pub mod doctor;
pub mod exec;
pub mod list;
pub mod mcp;
pub mod providers;
pub mod proxy;
pub mod pull;
pub mod recipients;
pub mod relocate;
pub mod remove;
pub mod rotate;
pub mod secret;
pub mod show;
pub mod unlock;
pub mod verify;

use std::io::Read;
use std::process::ExitCode;

use secrecy::{ExposeSecret, SecretString};

use crate::cli::{Cli, Command};
use crate::config::{self, ConfigStore};
use crate::error::{Error, Exit, Result};
use crate::secrets::{Resolver, StoreKind};
use crate::ui::Ui;

/// What every command gets: the output, and where credentials live.
pub struct Ctx<'a> {
    pub ui: &'a Ui,
    pub config: ConfigStore,
}

impl Ctx<'_> {
    /// The secrets of this config directory: the environment, then each
    /// credential's store. Stores are opened on first use, so commands that
    /// only read the config never touch them.
    pub fn secrets(&self) -> Resolver<'_> {
        Resolver::new(self.ui, self.config.identity())
    }
}

/// The store a command is about to write to cannot be used: why, and the
/// ways around it that the store knows. Said before any question is asked.
pub fn store_unusable(store: &crate::secrets::Guarded<'_>, e: crate::secrets::StoreError) -> Error {
    store
        .alternatives()
        .into_iter()
        .fold(Error::from(e), |err, hint| err.hint(hint))
}

/// Where a secret is kept: `--store` and, for Vault, `--vault-mount`
/// (`add`, `move`). `--store` is optional and read from `CRED_STORE` as
/// `add` has it; `move` makes it required and drops the variable with
/// `mut_arg`.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Where to keep the secret [default: `default_store` in config.toml, else keychain]
    #[arg(long, value_enum, env = "CRED_STORE", value_name = "STORE")]
    pub store: Option<StoreKind>,

    /// Vault's KV version 2 mount (with --store vault) [default: secret]
    #[arg(long, value_name = "MOUNT", value_parser = crate::secrets::vault::parse_mount)]
    pub vault_mount: Option<String>,
}

impl StoreArgs {
    /// The store to use (`--store`, else `fallback`, else the keychain) and
    /// Vault's mount when not the default one. `--vault-mount` with a store
    /// other than Vault is a usage error.
    pub fn resolve(&self, fallback: Option<StoreKind>) -> Result<(StoreKind, Option<String>)> {
        let kind = self.store.or(fallback).unwrap_or_default();
        match (&self.vault_mount, kind) {
            (Some(m), StoreKind::Vault) => Ok((
                kind,
                Some(m.clone()).filter(|m| m != crate::secrets::vault::DEFAULT_MOUNT),
            )),
            (Some(_), _) => Err(Error::new(
                Exit::Usage,
                format!(
                    "--vault-mount applies to the vault store, not {}",
                    kind.describe()
                ),
            )
            .hint("add --store vault, or leave --vault-mount out")),
            (None, _) => Ok((kind, None)),
        }
    }
}

/// Debug builds only: when set, cred panics on purpose (for the test of
/// the panic hook).
#[cfg(debug_assertions)]
const PANIC_ENV: &str = "CRED_TEST_PANIC";

pub fn run(cli: Cli, ui: &Ui) -> Result<Exit> {
    #[cfg(debug_assertions)]
    if let Some(v) = std::env::var_os(PANIC_ENV) {
        if v == "thread" {
            std::thread::spawn(|| panic!("a test panic in a worker thread"))
                .join()
                .expect("the worker thread finishes");
        }
        panic!("a test panic\nwith a second line");
    }
    let dir = config::resolve_dir(cli.config_dir.as_deref())?;
    crate::providers::catalog::set_config_dir(&dir);
    let ctx = Ctx {
        ui,
        config: ConfigStore::new(dir),
    };
    match cli.command {
        Command::Add(args) => add::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Secret(args) => secret::run(&ctx, args),
        Command::Rotate(args) => rotate::run(&ctx, args),
        Command::Remove(args) => remove::run(&ctx, args),
        Command::Verify(args) => verify::run(&ctx, args),
        Command::Call(args) => call::run(&ctx, args),
        Command::Completions(args) => completions::run(&ctx, args),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Exec(args) => exec::run(&ctx, args),
        Command::Pull(args) => pull::run(&ctx, args),
        Command::Proxy(args) => proxy::run(&ctx, args),
        Command::Mcp(args) => mcp::run(&ctx, args),
        Command::Move(args) => relocate::run(&ctx, args),
        Command::Unlock(args) => unlock::run_unlock(&ctx, args),
        Command::Lock(args) => unlock::run_lock(&ctx, args),
        Command::Recipients(args) => recipients::run(&ctx, args),
        Command::Providers(args) => providers::run(&ctx, args),
    }
}

/// Prints a clap error as `cred: error: …` (help and version go to stdout
/// unchanged) and returns its exit code.
pub fn report_usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            let code = if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                Exit::Usage
            } else {
                Exit::Success
            };
            code.into()
        }
        _ => {
            let rendered = err.render().to_string();
            let args: Vec<_> = std::env::args_os().skip(1).collect();
            let mut text = usage_error_text(&rendered, &command_path(&args));
            if let Some(hint) = unknown_provider_hint(&err) {
                text.push_str(&format!("hint: {hint}\n"));
            }
            eprint!("{text}");
            Exit::Usage.into()
        }
    }
}

/// `cred add github`: a provider cred has no guide for is a generic
/// credential with that name.
fn unknown_provider_hint(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::InvalidValue {
        return None;
    }
    let arg = match err.get(ContextKind::InvalidArg)? {
        ContextValue::String(s) => s,
        _ => return None,
    };
    if arg != "<PROVIDER>" {
        return None;
    }
    let value = match err.get(ContextKind::InvalidValue)? {
        ContextValue::String(s) => s.to_ascii_lowercase(),
        _ => return None,
    };
    let name = if validate_name(&value).is_ok() {
        value
    } else {
        "NAME".to_string()
    };
    Some(format!(
        "for any other API-key HTTP API: cred add generic --name {name} --base-url URL"
    ))
}

/// The (sub)command a command line names, `cred call` for `cred -v call
/// x --bogus`, whose `--help` a usage error points at.
fn command_path(args: &[std::ffi::OsString]) -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut path = vec!["cred".to_string()];
    for arg in args {
        let Some(arg) = arg.to_str() else { break };
        if arg == "--" {
            break;
        }
        if let Some(sub) = cmd.find_subcommand(arg) {
            path.push(sub.get_name().to_string());
            cmd = sub.clone();
        }
    }
    path.join(" ")
}

/// Reshapes clap's error text into `cred: error: …` (one line, with the
/// arguments it lists folded in) and `hint:` lines (its tip, the usage,
/// and the help of `command`, the subcommand that was given).
fn usage_error_text(rendered: &str, command: &str) -> String {
    let text = rendered.strip_prefix("error: ").unwrap_or(rendered);
    let mut message = String::new();
    let mut hints = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if i == 0 {
            message.push_str(trimmed);
        } else if let Some(tip) = trimmed.strip_prefix("tip: ") {
            hints.push(tip.to_string());
        } else if let Some(usage) = trimmed.strip_prefix("Usage: ") {
            hints.push(format!("usage: {usage}"));
        } else if line.starts_with("  ") && !trimmed.is_empty() && !trimmed.starts_with("For more")
        {
            message.push(' ');
            message.push_str(trimmed);
        }
    }
    hints.push(format!("see `{command} --help`"));
    let mut out = format!("cred: error: {message}\n");
    for h in hints {
        out.push_str(&format!("hint: {h}\n"));
    }
    out
}

/// Names: 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn validate_name(name: &str) -> Result<()> {
    match name_problem(name) {
        Some(why) => Err(
            Error::user(format!("`{name}` is not a valid credential name"))
                .cause(why)
                .hint("pick another with --name, e.g. --name acme-docs"),
        ),
        None => Ok(()),
    }
}

pub use crate::config::name_problem;

/// Where a new secret comes from (`add`, `rotate`).
#[derive(Debug, Clone, clap::Args)]
pub struct KeySource {
    /// Read the API key from standard input (one line; for scripts)
    #[arg(long)]
    pub api_key_stdin: bool,
}

pub const API_KEY_ENV: &str = "CRED_API_KEY";

impl KeySource {
    /// The secret from stdin, `CRED_API_KEY`, or a hidden prompt, in that
    /// order. Never from a flag's value (argv is visible to other users).
    /// `command` (`cred add stripe`) is the example in the hint when
    /// nothing supplies it.
    pub fn read(&self, ui: &Ui, label: &str, command: &str) -> Result<SecretString> {
        let secret = if self.api_key_stdin {
            // Zeroed on drop, like every other copy of the key.
            let mut raw = zeroize::Zeroizing::new(String::new());
            std::io::stdin().read_to_string(&mut raw).map_err(|e| {
                Error::user("could not read the API key from standard input").cause(e)
            })?;
            let line = raw.trim_end_matches(['\r', '\n']).trim();
            if line.contains('\n') {
                return Err(Error::user("standard input holds more than one line").hint(
                    "pipe only the key, e.g. `printf %s \"$KEY\" | cred add … --api-key-stdin`",
                ));
            }
            SecretString::from(line.to_string())
        } else if let Some(v) = std::env::var_os(API_KEY_ENV) {
            let v = zeroize::Zeroizing::new(
                v.into_string()
                    .map_err(|_| Error::user(format!("{API_KEY_ENV} is not valid UTF-8")))?,
            );
            SecretString::from(v.trim().to_string())
        } else if ui.interactive() {
            ui.prompter().secret(label)?
        } else {
            return Err(Error::user(format!(
                "no {label} given, and there is no terminal to ask for it"
            ))
            .hint(format!(
                "pipe it in, e.g. printf %s \"$KEY\" | {command} --api-key-stdin, or set {API_KEY_ENV}"
            )));
        };
        validate_secret(&secret)?;
        Ok(secret)
    }
}

fn validate_secret(secret: &SecretString) -> Result<()> {
    let s = secret.expose_secret();
    if s.is_empty() {
        return Err(Error::user("the API key is empty")
            .hint("copy the key again from the provider's settings"));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Error::user("the API key contains control characters")
            .hint("copy the key again; only the key itself, without line breaks"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_are_one_line_with_hints() {
        let err = Cli::command()
            .try_get_matches_from(["cred", "call"])
            .unwrap_err();
        let args: Vec<std::ffi::OsString> = ["call"].iter().map(Into::into).collect();
        let text = usage_error_text(&err.render().to_string(), &command_path(&args));
        assert!(text.ends_with("hint: see `cred call --help`\n"), "{text}");
        let mut lines = text.lines();
        let first = lines.next().unwrap();
        assert!(
            first.starts_with(
                "cred: error: the following required arguments were not provided: <NAME>"
            ),
            "{text}"
        );
        assert!(lines.all(|l| l.starts_with("hint: ")), "{text}");
    }

    fn move_args(argv: &[&str]) -> clap::error::Result<relocate::MoveArgs> {
        let cli = Cli::try_parse_from(argv)?;
        match cli.command {
            Command::Move(args) => Ok(args),
            other => panic!("not move: {other:?}"),
        }
    }

    #[test]
    fn store_args_pick_the_store_and_vaults_mount() {
        let args = |store, mount: Option<&str>| StoreArgs {
            store,
            vault_mount: mount.map(str::to_string),
        };
        let resolved = |a: StoreArgs, fallback| a.resolve(fallback).unwrap();
        assert_eq!(
            resolved(args(None, None), None),
            (StoreKind::Keychain, None)
        );
        assert_eq!(
            resolved(args(None, None), Some(StoreKind::File)),
            (StoreKind::File, None)
        );
        // --store wins over the fallback (default_store in config.toml).
        assert_eq!(
            resolved(args(Some(StoreKind::Keychain), None), Some(StoreKind::File)),
            (StoreKind::Keychain, None)
        );
        // The default mount is not recorded.
        assert_eq!(
            resolved(args(Some(StoreKind::Vault), Some("secret")), None),
            (StoreKind::Vault, None)
        );
        assert_eq!(
            resolved(args(None, Some("team")), Some(StoreKind::Vault)),
            (StoreKind::Vault, Some("team".to_string()))
        );
        for (store, fallback) in [(Some(StoreKind::File), None), (None, None)] {
            let err = args(store, Some("team")).resolve(fallback).unwrap_err();
            assert_eq!(err.exit(), Exit::Usage);
            assert!(
                err.message
                    .starts_with("--vault-mount applies to the vault store, not "),
                "{}",
                err.message
            );
            assert_eq!(err.hints, ["add --store vault, or leave --vault-mount out"]);
        }
    }

    #[test]
    fn move_requires_store_and_takes_the_same_vault_mount_rules() {
        let err = move_args(&["cred", "move", "x"]).unwrap_err();
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::MissingRequiredArgument,
            "{err}"
        );
        let args = move_args(&[
            "cred",
            "move",
            "x",
            "--store",
            "vault",
            "--vault-mount",
            "kv",
        ])
        .unwrap();
        assert_eq!(
            args.to.resolve(None).unwrap(),
            (StoreKind::Vault, Some("kv".to_string()))
        );
        let args = move_args(&[
            "cred",
            "move",
            "x",
            "--store",
            "file",
            "--vault-mount",
            "kv",
        ])
        .unwrap();
        assert_eq!(args.to.resolve(None).unwrap_err().exit(), Exit::Usage);
        // `move` reads no CRED_STORE: its --store has no variable behind it.
        let cmd = Cli::command();
        let store = cmd
            .find_subcommand("move")
            .and_then(|m| m.get_arguments().find(|a| a.get_id() == "store"))
            .unwrap();
        assert!(store.get_env().is_none());
        assert!(store.is_required_set());
        let add_store = cmd
            .find_subcommand("add")
            .and_then(|m| m.get_arguments().find(|a| a.get_id() == "store"))
            .unwrap();
        assert_eq!(
            add_store.get_env(),
            Some(std::ffi::OsStr::new("CRED_STORE"))
        );
        assert!(!add_store.is_required_set());
    }

    #[test]
    fn names() {
        for ok in ["paligo", "a", "acme-docs.prod_2", "9lives", &"a".repeat(64)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", ".a", "Acme", "a b", "a/b", &"a".repeat(65), "é"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
