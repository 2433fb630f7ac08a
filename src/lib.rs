//! `cred`: a command-line credential manager for API keys.
//!
//! The binary is [`main`]; the crate is a library only so that the tests
//! (the man page, completion and `--help` checks among them) can reach the
//! command line ([`command`]) and the completion scripts
//! ([`completion_script`]). Everything else is private to the crate, so
//! the compiler finds dead code. `docs/ARCHITECTURE.md` says where each
//! seam lives.

pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod complete;
pub(crate) mod config;
pub(crate) mod envvar;
pub(crate) mod error;
pub(crate) mod escape;
pub(crate) mod http;
pub(crate) mod human;
pub(crate) mod providers;
pub(crate) mod scrub;
pub(crate) mod secrets;
pub(crate) mod signals;
pub(crate) mod ui;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use commands::completions::{Shell, script as completion_script};
use error::{ErrorKind, Exit};

/// The whole program: installs the panic hook, answers shell completion
/// requests, parses the command line, runs it and maps the outcome to an
/// exit code. A panic (a bug) is reported in one line by the hook and
/// exits 1.
pub fn main() -> ExitCode {
    signals::install();
    match std::panic::catch_unwind(parse_and_run) {
        Ok(code) => code,
        Err(_) => Exit::Failure.into(),
    }
}

/// The command line as clap sees it, for the man pages, completions and
/// `--help` checks in the tests.
pub fn command() -> clap::Command {
    cli::Cli::command()
}

fn parse_and_run() -> ExitCode {
    // `COMPLETE=bash cred` etc.: dynamic completion of credential names.
    clap_complete::CompleteEnv::with_factory(cli::Cli::command)
        .completer("cred")
        .complete();

    let matches = match cli::Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return commands::report_usage_error(e),
    };
    match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => run(cli).into(),
        Err(e) => commands::report_usage_error(e),
    }
}

/// Runs a parsed command line and reports its error, if any; returns the
/// exit status of SPEC §3. The error is printed through the same `Ui` the
/// command installed its secrets in, so its message, causes and hints are
/// masked like every other line.
fn run(cli: cli::Cli) -> Exit {
    let ui = ui::Ui::new();
    match commands::run(cli, &ui) {
        Ok(exit) => exit,
        // The reader of stdout went away (`cred list | head -1`): not a
        // failure, and nothing to say.
        Err(err) if err.kind == ErrorKind::ClosedOutput => Exit::Success,
        Err(err) if err.exit() == Exit::Cancelled => {
            signals::say_cancelled();
            Exit::Cancelled
        }
        Err(err) => {
            ui.error(&err);
            err.exit()
        }
    }
}
