//! What `cred doctor` says about the file store, found without asking
//! anyone anything: its path and modes, whether each file cred reads there
//! passes the owner, mode, type and size checks (the same verdicts a
//! command gets), which identity source would open it and which key did,
//! whom it is encrypted to, and whether an unlock is cached, until when.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Identities, Source, cache, checked, identity, identity_path, recipients};

pub struct Inspection {
    /// Each file checked: its path, and the refusal (message and fix) if any.
    checks: Vec<(String, Option<(String, String)>)>,
    /// `recipients.txt`'s list, `None` when it is not there, or why it
    /// cannot be read.
    recipients: Result<Option<Vec<String>>, String>,
    /// What the store's header shows.
    encrypted_to: Option<recipients::Header>,
    /// The recipient of the key that opened the store (tried only where
    /// nothing is asked: an identity file, `CRED_IDENTITY`, a cached
    /// unlock), or why it did not open.
    opened_with: Option<Result<String, String>>,
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
        let list_path = recipients::path(&path);
        let mut files = vec![
            (path.clone(), checked::STORE_CAP),
            (id_path.clone(), checked::SMALL_CAP),
            (list_path.clone(), checked::SMALL_CAP),
        ];
        if let Some(p) = std::env::var_os(identity::FILE_ENV).filter(|v| !v.is_empty()) {
            files.push((PathBuf::from(p), checked::SMALL_CAP));
        }
        let checks = files
            .into_iter()
            .map(|(p, cap)| {
                let verdict = checked::open(&p, cap).err().map(|e| {
                    let e = crate::error::Error::from(e);
                    (e.message.clone(), e.hints.join("; "))
                });
                (p.display().to_string(), verdict)
            })
            .collect();
        let recipients = recipients::load(&path)
            .map(|l| l.map(|l| l.iter().map(ToString::to_string).collect()))
            .map_err(|e| crate::error::Error::from(e).message);
        let encrypted_to = recipients::header(&path).ok().flatten();
        let opened_with = encrypted_to.as_ref().and_then(|_| opened_with(&path));
        Inspection {
            checks,
            recipients,
            encrypted_to,
            opened_with,
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

    /// Problems found, for people: "refused: MESSAGE (fix: …)".
    fn verdicts(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|(_, v)| v.as_ref())
            .map(|(m, fix)| {
                if fix.is_empty() {
                    format!("refused: {m}")
                } else {
                    format!("refused: {m} (fix: {fix})")
                }
            })
            // One directory refused for each file below it: said once.
            .fold(Vec::new(), |mut seen, line| {
                if !seen.contains(&line) {
                    seen.push(line);
                }
                seen
            })
    }

    /// Opening it now would ask for a passphrase.
    pub fn would_prompt(&self) -> bool {
        matches!(self.source, Ok(Source::Passphrase(_) | Source::Create(_)))
    }

    pub fn lines(&self) -> Vec<String> {
        let source = match &self.source {
            Ok(s) => s.describe(),
            // Why is the store's error, which doctor prints once, below.
            Err(_) => "nothing".to_string(),
        };
        let cache = match &self.cached_until {
            Ok(Some(0)) => "an unlock is cached".into(),
            Ok(Some(u)) => format!(
                "an unlock is cached until {}",
                crate::human::local_time(&cache::format_until(*u))
            ),
            Ok(None) => "no unlock is cached".into(),
            Err(r) => format!("the kernel keyring cannot keep an unlock here ({r})"),
        };
        let mut lines = vec![
            format!("{} ({})", self.path.display(), mode_text(self.mode)),
            format!(
                "{} ({})",
                self.identity_path.display(),
                mode_text(self.identity_mode)
            ),
            format!("opened by: {source}"),
        ];
        match &self.opened_with {
            Some(Ok(r)) => lines.push(format!("opened with: {r}")),
            Some(Err(e)) => lines.push(format!("opened with: nothing ({e})")),
            None => {}
        }
        lines.push(match &self.recipients {
            Ok(Some(l)) => format!("recipients (recipients.txt): {}", l.join(", ")),
            Ok(None) => "recipients: no recipients.txt yet (the store is encrypted to the identity that opens it)".into(),
            Err(e) => format!("recipients: {e}"),
        });
        if let Some(h) = &self.encrypted_to {
            lines.push(format!("encrypted to: {}", h.describe()));
        }
        let verdicts = self.verdicts();
        if verdicts.is_empty() {
            lines.push("owner, mode and type: ok".into());
        }
        lines.extend(verdicts);
        lines.push(cache);
        lines
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
            "opened_with": self.opened_with.as_ref().and_then(|r| r.as_ref().ok()),
            "open_error": self.opened_with.as_ref().and_then(|r| r.as_ref().err()),
            "recipients": self.recipients.as_ref().ok(),
            "recipients_error": self.recipients.as_ref().err(),
            "encrypted_to": self.encrypted_to.as_ref().map(|h| h.stanzas.clone()),
            "checks": self.checks.iter().map(|(p, v)| json!({
                "path": p,
                "ok": v.is_none(),
                "error": v.as_ref().map(|(m, _)| m),
                "fix": v.as_ref().map(|(_, f)| f),
            })).collect::<Vec<_>>(),
        })
    }
}

/// The recipient of the key that opens the store, where finding it asks
/// nothing: `CRED_IDENTITY_FILE`, `CRED_IDENTITY` or a cached unlock.
fn opened_with(store: &std::path::Path) -> Option<Result<String, String>> {
    let ids = match identity::from_env() {
        Ok(Some((ids, _))) => ids,
        Ok(None) => match cache::load(store) {
            Ok(Some(c)) => Identities::one(c.identity),
            _ => return None,
        },
        Err(e) => return Some(Err(crate::error::Error::from(e).message)),
    };
    let count = ids.keys().len();
    Some(match super::decrypt(store, &ids) {
        Ok(Some((_, k))) if count > 1 => Ok(format!(
            "{} (key {} of {count})",
            ids.keys()[k].recipient(),
            k + 1
        )),
        Ok(Some((_, k))) => Ok(ids.keys()[k].recipient().to_string()),
        Ok(None) => Err("there is no store yet".into()),
        Err(e) => Err(crate::error::Error::from(e).message),
    })
}
