//! `cred`: a command-line credential manager for API keys.
//!
//! The binary is a thin wrapper around [`run`]; the crate is a library so
//! that the tests (and the man page and completion generators among them)
//! can reach [`cli::Cli`]. `docs/ARCHITECTURE.md` says where each seam lives.

pub mod check;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod config;
pub mod envvar;
pub mod error;
pub mod escape;
pub mod http;
pub mod human;
pub mod providers;
pub mod scrub;
pub mod secrets;
pub mod signals;
pub mod ui;

pub use error::{Error, ErrorKind, Exit};

/// Runs a parsed command line and reports its error, if any; returns the
/// exit status of SPEC §3. The error is printed through the same `Ui` the
/// command installed its secrets in, so its message, causes and hints are
/// masked like every other line.
pub fn run(cli: cli::Cli) -> Exit {
    let ui = ui::Ui::new();
    match commands::run(cli, &ui) {
        Ok(exit) => exit,
        // The reader of stdout went away (`cred list | head -1`): not a
        // failure, and nothing to say.
        Err(err) if err.kind == ErrorKind::ClosedOutput => Exit::Success,
        Err(err) if err.exit() == Exit::Cancelled => {
            ui.status(&format!("\n{}", signals::CANCELLED));
            Exit::Cancelled
        }
        Err(err) => {
            ui.error(&err);
            err.exit()
        }
    }
}
