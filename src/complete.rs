//! Dynamic shell completion (clap_complete's `CompleteEnv`): credential
//! names from the config file only (never the keychain, so Tab never
//! triggers an unlock prompt), and HTTP methods for `cred call`.

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::config::{self, ConfigStore};

/// Candidates for a credential name argument.
pub fn names() -> ArgValueCandidates {
    ArgValueCandidates::new(name_candidates)
}

fn name_candidates() -> Vec<CompletionCandidate> {
    // The --config-dir flag is not parsed at completion time; the
    // environment variable and the default location are.
    let explicit = std::env::var_os("CRED_CONFIG_DIR").map(std::path::PathBuf::from);
    let Ok(dir) = config::resolve_dir(explicit.as_deref()) else {
        return Vec::new();
    };
    let Ok(config) = ConfigStore::new(dir).load() else {
        return Vec::new();
    };
    config
        .credentials
        .iter()
        .map(|(name, c)| {
            let p = c.provider.provider();
            let help = format!("{} {}", p.kind().id(), p.target());
            CompletionCandidate::new(name).help(Some(help.into()))
        })
        .collect()
}

pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Candidates for the METHOD of `cred call`.
pub fn methods() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        METHODS
            .iter()
            .map(CompletionCandidate::new)
            .collect::<Vec<_>>()
    })
}
