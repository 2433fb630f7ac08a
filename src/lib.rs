//! `cred`: a command-line credential manager for API keys.
//!
//! The binary is a thin wrapper around [`run`]; the crate is a library so
//! that tests (and the man page and completion generators) can reach
//! [`cli::Cli`].

pub mod check;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod error;
pub mod generate;
pub mod http;
pub mod providers;
pub mod store;
pub mod ui;

pub use error::{Error, Exit};

/// Runs a parsed command line and reports its error, if any; returns the
/// exit status of SPEC §3.
pub fn run(cli: cli::Cli) -> Exit {
    let ui = ui::Ui::new();
    match commands::run(cli, &ui) {
        Ok(exit) => exit,
        Err(err) => {
            ui.error(&err);
            err.exit
        }
    }
}
