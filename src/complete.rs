//! Dynamic shell completion (clap_complete's `CompleteEnv`): credential
//! names from the config file only (never the keychain, so Tab never
//! triggers an unlock prompt), provider ids (the catalog and the user's
//! files), and HTTP methods for `cred call`.

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::config::{self, ConfigStore};

/// Candidates for a credential name argument.
pub fn names() -> ArgValueCandidates {
    ArgValueCandidates::new(name_candidates)
}

fn name_candidates() -> Vec<CompletionCandidate> {
    // The command line being completed follows `--` in our own arguments
    // (`COMPLETE=bash cred -- cred call --config-dir DIR …`): a
    // `--config-dir` typed there wins over the environment variable and the
    // default location, as it will when the command runs.
    let explicit = config_dir_on_line(std::env::args_os().skip_while(|a| a != "--"))
        .or_else(|| std::env::var_os("CRED_CONFIG_DIR").map(std::path::PathBuf::from));
    let Ok(dir) = config::resolve_dir(explicit.as_deref()) else {
        return Vec::new();
    };
    crate::providers::catalog::set_config_dir(&dir);
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

/// The value of the last `--config-dir DIR` or `--config-dir=DIR` among
/// `words`.
fn config_dir_on_line(
    words: impl Iterator<Item = std::ffi::OsString>,
) -> Option<std::path::PathBuf> {
    let mut found = None;
    let mut words = words.peekable();
    while let Some(w) = words.next() {
        let text = w.to_string_lossy();
        if text == "--config-dir" {
            if let Some(v) = words.peek().filter(|v| !v.is_empty()) {
                found = Some(std::path::PathBuf::from(v));
            }
        } else if let Some(v) = text.strip_prefix("--config-dir=") {
            found = Some(std::path::PathBuf::from(v));
        }
    }
    // A relative DIR means what it will mean when the command runs.
    found.filter(|p| !p.as_os_str().is_empty())
}

/// Candidates for a provider id (`cred add`, `cred providers show`): the
/// built-ins, the user's files in the config directory, and generic.
pub fn providers() -> ArgValueCandidates {
    ArgValueCandidates::new(provider_candidates)
}

fn provider_candidates() -> Vec<CompletionCandidate> {
    let explicit = config_dir_on_line(std::env::args_os().skip_while(|a| a != "--"))
        .or_else(|| std::env::var_os("CRED_CONFIG_DIR").map(std::path::PathBuf::from));
    if let Ok(dir) = config::resolve_dir(explicit.as_deref()) {
        crate::providers::catalog::set_config_dir(&dir);
    }
    let summaries: Vec<(String, String)> = crate::providers::catalog::built_in()
        .map(|defs| {
            defs.iter()
                .map(|d| (d.id.clone(), d.summary.clone()))
                .collect()
        })
        .unwrap_or_default();
    crate::providers::catalog::ids()
        .into_iter()
        .map(|id| {
            let help = match summaries.iter().find(|(i, _)| *i == id) {
                Some((_, s)) => s.clone(),
                None if id == "generic" => "any API-key HTTP API".to_string(),
                None => "your provider".to_string(),
            };
            CompletionCandidate::new(id).help(Some(help.into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> impl Iterator<Item = std::ffi::OsString> {
        line.split(' ')
            .map(std::ffi::OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn config_dir_typed_on_the_line() {
        assert_eq!(
            config_dir_on_line(words("-- cred --config-dir /a call ")),
            Some("/a".into())
        );
        assert_eq!(
            config_dir_on_line(words("-- cred call --config-dir=/b x")),
            Some("/b".into())
        );
        assert_eq!(config_dir_on_line(words("-- cred call ")), None);
        assert_eq!(config_dir_on_line(words("-- cred --config-dir")), None);
    }
}
