//! The `cred` binary: install the panic hook, answer shell completion
//! requests, parse the command line, run it, map the outcome to an exit
//! code. A panic (a bug) is reported in one line by the hook and exits 1.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

fn main() -> ExitCode {
    cred::signals::install();
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(_) => cred::Exit::Failure.into(),
    }
}

fn run() -> ExitCode {
    // `COMPLETE=bash cred` etc.: dynamic completion of credential names.
    clap_complete::CompleteEnv::with_factory(cred::cli::Cli::command)
        .completer("cred")
        .complete();

    let matches = match cred::cli::Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return cred::commands::report_usage_error(e),
    };
    match cred::cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cred::run(cli).into(),
        Err(e) => cred::commands::report_usage_error(e),
    }
}
