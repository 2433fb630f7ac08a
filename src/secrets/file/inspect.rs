//! What `cred doctor` says about the file store, found without asking
//! anyone anything: its path and modes, which identity source would open
//! it, and whether an unlock is cached, until when.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Source, cache, identity, identity_path};

pub struct Inspection {
    pub path: PathBuf,
    mode: Option<u32>,
    identity_path: PathBuf,
    identity_mode: Option<u32>,
    /// The source that would open it, or why none would.
    source: Result<Source, crate::error::Error>,
    cached_until: Result<Option<u64>, String>,
}

fn mode(path: &Path) -> Option<u32> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Some(0)
    }
}

fn mode_text(mode: Option<u32>) -> String {
    match mode {
        Some(m) => format!("mode {m:03o}"),
        None => "not there".into(),
    }
}

impl Inspection {
    pub fn new(path: PathBuf, interactive: bool) -> Self {
        let id_path = identity_path(&path);
        Inspection {
            mode: mode(&path),
            identity_mode: mode(&id_path),
            source: identity::would_open(&path, interactive).map_err(crate::error::Error::from),
            cached_until: match cache::load(&path) {
                Ok(c) => Ok(c.map(|c| c.until.unwrap_or(0))),
                Err(r) => Err(r.0),
            },
            identity_path: id_path,
            path,
        }
    }

    /// Opening it now would ask for a passphrase.
    pub fn would_prompt(&self) -> bool {
        matches!(self.source, Ok(Source::Passphrase(_) | Source::Create(_)))
    }

    pub fn lines(&self) -> Vec<String> {
        let source = match &self.source {
            Ok(s) => s.describe(),
            Err(e) => format!("nothing ({})", e.message),
        };
        let cache = match &self.cached_until {
            Ok(Some(0)) => "an unlock is cached".into(),
            Ok(Some(u)) => format!("an unlock is cached until {}", cache::format_until(*u)),
            Ok(None) => "no unlock is cached".into(),
            Err(r) => format!("the kernel keyring cannot keep an unlock here ({r})"),
        };
        vec![
            format!("{} ({})", self.path.display(), mode_text(self.mode)),
            format!(
                "{} ({})",
                self.identity_path.display(),
                mode_text(self.identity_mode)
            ),
            format!("opened by: {source}"),
            cache,
        ]
    }

    pub fn json(&self) -> Value {
        json!({
            "path": self.path.display().to_string(),
            "mode": self.mode.map(|m| format!("{m:03o}")),
            "identity_file": self.identity_path.display().to_string(),
            "identity_file_mode": self.identity_mode.map(|m| format!("{m:03o}")),
            "opened_by": self.source.as_ref().ok().map(Source::id),
            "opened_by_text": self.source.as_ref().ok().map(Source::describe),
            "unlock_cached": matches!(self.cached_until, Ok(Some(_))),
            "unlock_until": match self.cached_until {
                Ok(Some(u)) if u > 0 => Some(cache::format_until(u)),
                _ => None,
            },
            "kernel_keyring_error": self.cached_until.as_ref().err(),
        })
    }
}
