//! The command line: [`Cli`] and the [`Command`] enum, nothing else. Each
//! subcommand's arguments live beside its implementation in `commands/`,
//! and their doc comments are the help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;

const AFTER_HELP: &str = "\
CI and scripts: CRED_SECRET_<NAME> holds the secret of credential NAME (upper-cased,
`-` and `.` as `_`: CRED_SECRET_ACME_DOCS for acme-docs); call, verify, exec and secret
then use it and open no store. Without a keychain, `--store file` keeps secrets in an
encrypted file. Every variable cred reads is in `man cred`, ENVIRONMENT.

Exit codes: 0 ok, 1 error, 2 usage, 3 HTTP error status, 4 credential rejected,
5 network, 6 rate limited, 7 secret store unavailable or locked, 130 cancelled.
See `cred help COMMAND` or `man cred` for details.";

/// Set up, check and use API-key credentials, with the secret kept in a secret store (the OS keychain by default, an age-encrypted file, or Vault).
#[derive(Debug, Parser)]
#[command(name = "cred", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Where config.toml lives [default: $XDG_CONFIG_HOME/cred or ~/.config/cred]
    #[arg(
        long,
        global = true,
        env = "CRED_CONFIG_DIR",
        value_name = "DIR",
        value_hint = clap::ValueHint::DirPath
    )]
    pub config_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(commands::add::AddArgs),
    #[command(visible_alias = "ls")]
    List(commands::list::ListArgs),
    Show(commands::show::ShowArgs),
    Secret(commands::secret::SecretArgs),
    Rotate(commands::rotate::RotateArgs),
    #[command(visible_alias = "rm")]
    Remove(commands::remove::RemoveArgs),
    Verify(commands::verify::VerifyArgs),
    Call(commands::call::CallArgs),
    Exec(commands::exec::ExecArgs),
    Proxy(commands::proxy::ProxyArgs),
    Mcp(commands::mcp::McpArgs),
    Completions(commands::completions::CompletionsArgs),
    Doctor(commands::doctor::DoctorArgs),
    Pull(commands::pull::PullArgs),
    Move(commands::relocate::MoveArgs),
    Unlock(commands::unlock::UnlockArgs),
    Lock(commands::unlock::LockArgs),
    Recipients(commands::recipients::RecipientsArgs),
    Providers(commands::providers::ProvidersArgs),
}
