//! Check results are state, not configuration (SPEC §7): `last_check` of
//! every credential lives in `$XDG_STATE_HOME/cred/state.toml` (default
//! `~/.local/state/cred/state.toml`), keyed by config directory and
//! credential name, written atomically under its own lock. config.toml stays
//! what a person wrote or committed: no check ever rewrites it, and the
//! `last_check` fields an older cred wrote there are read, then moved here
//! on the next write of the config.
//!
//! ```toml
//! [checks."/home/me/project/.cred".paligo]
//! at = "2026-12-05T10:00:00Z"
//! result = "valid"
//! message = "Authenticated as Ana Lima <ana@example.com>"
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{CheckRecord, open_private, private_dir};
use crate::error::{Error, Result};

const FILE_NAME: &str = "state.toml";
const LOCK_NAME: &str = ".state.lock";
const HEADER: &str = "# cred state: the last check of each credential, per config directory.\n\
# Written by cred; safe to delete (the results are then \"never\" until the next check).\n";

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    #[serde(default)]
    checks: BTreeMap<String, BTreeMap<String, CheckRecord>>,
}

/// Where state.toml lives: `$XDG_STATE_HOME/cred`, else `~/.local/state/cred`
/// (Windows: `%LOCALAPPDATA%\cred`); `None` when no home is known.
fn dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if cfg!(windows) {
        return var("LOCALAPPDATA").map(|p| p.join("cred"));
    }
    var("XDG_STATE_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".local/state")))
        .map(|p| p.join("cred"))
}

/// The last checks recorded for the credentials of config directory
/// `config_dir` (nothing when there is no state yet, or it cannot be read:
/// a result is a convenience, never a reason to fail).
pub fn checks(config_dir: &str) -> BTreeMap<String, CheckRecord> {
    let Some(path) = dir().map(|d| d.join(FILE_NAME)) else {
        return BTreeMap::new();
    };
    read(&path).checks.remove(config_dir).unwrap_or_default()
}

fn read(path: &std::path::Path) -> StateFile {
    // Bounded: state.toml is small; anything over 16 MiB is not ours.
    let Ok(meta) = fs::metadata(path) else {
        return StateFile::default();
    };
    if !meta.is_file() || meta.len() > 16 * 1024 * 1024 {
        return StateFile::default();
    }
    fs::read_to_string(path)
        .ok()
        .and_then(|t| toml::from_str(&t).ok())
        .unwrap_or_default()
}

/// Records the checks of config directory `config_dir`: each `(name,
/// Some(record))` is set, each `(name, None)` removed; with `all`, names
/// not given are removed too (the directory's whole state is `updates`).
pub fn record(
    config_dir: &str,
    updates: &[(String, Option<CheckRecord>)],
    all: bool,
) -> Result<()> {
    let Some(dir) = dir() else {
        return Ok(());
    };
    private_dir(&dir).map_err(|e| Error::io("create the state directory", &dir, e))?;
    let lock_path = dir.join(LOCK_NAME);
    let lock = open_private(&lock_path).map_err(|e| Error::io("open", &lock_path, e))?;
    lock.lock().map_err(|e| Error::io("lock", &lock_path, e))?;
    let path = dir.join(FILE_NAME);
    let mut state = read(&path);
    let entry = state.checks.entry(config_dir.to_string()).or_default();
    if all {
        entry.clear();
    }
    for (name, record) in updates {
        match record {
            Some(r) => entry.insert(name.clone(), r.clone()),
            None => entry.remove(name),
        };
    }
    if entry.is_empty() {
        state.checks.remove(config_dir);
    }
    let body = toml::to_string(&state)
        .map_err(|e| Error::user("could not serialise the state").cause(e))?;
    let write = || -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".state.toml.")
            .suffix(".tmp")
            .tempfile_in(&dir)?;
        super::set_private(tmp.as_file())?;
        tmp.write_all(HEADER.as_bytes())?;
        tmp.write_all(body.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| Error::io("write", &path, e))
}
