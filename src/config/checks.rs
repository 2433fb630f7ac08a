//! What cred checks in a config it is about to trust (SPEC §5): that the
//! directory and file are the user's and nobody else can write them (like
//! ssh's StrictModes), that names follow the name rule, that no field holds
//! a control character, and that no field is one cred does not know (it
//! would be dropped on the next save).

use std::path::Path;

use super::{Config, ConfigError, Credential};
use crate::error::Result;

/// A field serde would ignore (a typo, or one a newer cred wrote) is
/// refused with its line, rather than silently dropped on the next save.
pub(super) fn unknown_fields(path: &Path, text: &str, config: &Config) -> Result<()> {
    const COMMON: [&str; 6] = [
        "provider",
        "store",
        "vault_mount",
        "description",
        "created",
        "last_check",
    ];
    let Ok(raw) = toml::from_str::<toml::Table>(text) else {
        return Ok(());
    };
    let Some(toml::Value::Table(creds)) = raw.get("credentials") else {
        return Ok(());
    };
    for (name, table) in creds {
        let (Some(c), toml::Value::Table(table)) = (config.credentials.get(name), table) else {
            continue;
        };
        let known = c.provider.provider().config_keys();
        if let Some(key) = table
            .keys()
            .find(|k| !COMMON.contains(&k.as_str()) && !known.contains(&k.as_str()))
        {
            let location = line_of_key(text, name, key)
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            return Err(ConfigError::UnknownField {
                path: path.to_path_buf(),
                field: format!("credentials.{name}.{key}"),
                location,
            }
            .into());
        }
    }
    Ok(())
}

/// The 1-based line of `key = …` in the `[credentials.NAME]` table.
fn line_of_key(text: &str, name: &str, key: &str) -> Option<usize> {
    let header = format!("[credentials.{name}]");
    let quoted = format!("[credentials.\"{name}\"]");
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == header || t == quoted;
            continue;
        }
        if inside
            && t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(i + 1);
        }
    }
    None
}

/// A hand-edited config is held to what `add` accepts: names follow the
/// name rule, and no field holds a control character (refused, naming the
/// field). Check results, which quote servers, are shown escaped instead.
pub(super) fn check_fields(path: &Path, config: &mut Config) -> Result<()> {
    for (name, c) in config.credentials.iter_mut() {
        if let Some(why) = name_problem(name) {
            return Err(ConfigError::BadName {
                path: path.to_path_buf(),
                name: crate::escape::visible(name).into_owned(),
                why,
            }
            .into());
        }
        if let Some((key, shown)) = control_field(c) {
            return Err(ConfigError::ControlChar {
                path: path.to_path_buf(),
                field: format!("credentials.{name}.{key}"),
                shown,
            }
            .into());
        }
        if let Some(m) = c.vault_mount.as_deref()
            && let Some(why) = crate::secrets::vault::mount_problem(m)
        {
            return Err(ConfigError::BadField {
                path: path.to_path_buf(),
                field: format!("credentials.{name}.vault_mount"),
                why: why.to_string(),
            }
            .into());
        }
        if let Some(r) = &mut c.last_check {
            r.clean();
        }
    }
    Ok(())
}

/// The first field of `c` holding a control character: its key, and the
/// character shown escaped.
pub fn control_field(c: &Credential) -> Option<(String, String)> {
    let mut values: Vec<(String, String)> = c
        .provider
        .provider()
        .fields()
        .into_iter()
        .map(|f| (f.key.to_string(), f.value))
        .collect();
    if let Some(d) = &c.description {
        values.push(("description".into(), d.clone()));
    }
    values
        .into_iter()
        .find_map(|(key, value)| crate::escape::control_in(&value).map(|shown| (key, shown)))
}

/// Why `name` is not a credential name, if it is not: 1–64 characters of
/// `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn name_problem(name: &str) -> Option<String> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c);
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || name.len() > 64 || !first_ok || !name.chars().all(ok_char) {
        Some("a name is 1 to 64 characters of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit".into())
    } else {
        None
    }
}

/// Like ssh's StrictModes ([`super::trust`]): cred trusts only a config
/// directory and file that are the user's own and that nobody else can
/// write. Missing ones are fine (they will be created private).
pub fn trusted(path: &Path) -> Result<()> {
    super::trust::check_path(path).map_err(|d| {
        let fix = match d.problem {
            super::trust::Problem::Owner { .. } => format!(
                "if it is really yours: {}; else use your own with --config-dir",
                d.fix()
            ),
            super::trust::Problem::Writable { .. } => d.fix(),
        };
        ConfigError::Untrusted {
            why: d.why(),
            path: d.path,
            fix,
        }
        .into()
    })
}
