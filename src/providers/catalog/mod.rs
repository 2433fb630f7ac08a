//! The providers cred knows as data: the built-in definitions compiled in
//! from this folder's `*.toml` files, and the user's own in the config
//! directory's `providers/ID.toml` (same format; a user file wins over a
//! built-in of the same id). Definitions are read once per process and
//! kept for its life (`&'static`), so a provider hands out its words as
//! `&'static str` like the Rust providers did.
//!
//! Adding a built-in: one TOML file here, one line in [`BUILT_IN`]
//! (sorted), one test in `tests/cli/providers/catalog.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::definition::{self, Definition, Origin};
use crate::error::{Error, Result};

/// The built-in definitions: `(id, text)`, one line per file, sorted.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("airtable", include_str!("airtable.toml")),
    ("anthropic", include_str!("anthropic.toml")),
    ("asana", include_str!("asana.toml")),
    ("clickup", include_str!("clickup.toml")),
    ("cloudflare", include_str!("cloudflare.toml")),
    ("confluence", include_str!("confluence.toml")),
    ("datadog", include_str!("datadog.toml")),
    ("digitalocean", include_str!("digitalocean.toml")),
    ("github", include_str!("github.toml")),
    ("gitlab", include_str!("gitlab.toml")),
    ("heroku", include_str!("heroku.toml")),
    ("hubspot", include_str!("hubspot.toml")),
    ("jira", include_str!("jira.toml")),
    ("linear", include_str!("linear.toml")),
    ("mailgun", include_str!("mailgun.toml")),
    ("netlify", include_str!("netlify.toml")),
    ("notion", include_str!("notion.toml")),
    ("openai", include_str!("openai.toml")),
    ("pagerduty", include_str!("pagerduty.toml")),
    ("paligo", include_str!("paligo.toml")),
    ("paymo", include_str!("paymo.toml")),
    ("postmark", include_str!("postmark.toml")),
    ("sendgrid", include_str!("sendgrid.toml")),
    ("sentry", include_str!("sentry.toml")),
    ("slack", include_str!("slack.toml")),
    ("stripe", include_str!("stripe.toml")),
    ("todoist", include_str!("todoist.toml")),
    ("twilio", include_str!("twilio.toml")),
    ("zendesk", include_str!("zendesk.toml")),
];

/// The folder of the config directory that holds the user's definitions.
pub const USER_DIR: &str = "providers";

static CONFIG_DIR: OnceLock<PathBuf> = OnceLock::new();
static BUILT: OnceLock<std::result::Result<Vec<&'static Definition>, String>> = OnceLock::new();
static USER: OnceLock<Mutex<HashMap<PathBuf, &'static Definition>>> = OnceLock::new();

/// Says where the user's definitions are (`$CRED_CONFIG_DIR/providers`),
/// once, before anything looks a provider up.
pub fn set_config_dir(dir: &Path) {
    let _ = CONFIG_DIR.set(dir.to_path_buf());
}

/// The folder of user definitions, if the config directory is known.
pub fn user_dir() -> Option<PathBuf> {
    CONFIG_DIR.get().map(|d| d.join(USER_DIR))
}

/// The built-in definitions, parsed on first use.
pub fn built_in() -> Result<&'static [&'static Definition]> {
    let built = BUILT.get_or_init(|| {
        BUILT_IN
            .iter()
            .map(|(id, text)| {
                definition::parse(&format!("src/providers/catalog/{id}.toml"), text, Some(id))
                    .map(|d| &*Box::leak(Box::new(d)))
                    .map_err(|e| format!("{}: {}", e.message, e.cause_lines().join("; ")))
            })
            .collect()
    });
    match built {
        Ok(v) => Ok(v.as_slice()),
        Err(why) => Err(Error::user(format!("a built-in provider is broken: {why}"))),
    }
}

fn builtin(id: &str) -> Result<Option<&'static Definition>> {
    Ok(built_in()?.iter().copied().find(|d| d.id == id))
}

/// Whether `id` could name a provider file (no path tricks).
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-')
}

/// The definition of `id`: the user's `providers/ID.toml` if there is one
/// (an invalid one is an error naming file and line), else the built-in;
/// `None` for an id cred does not know.
pub fn lookup(id: &str) -> Result<Option<&'static Definition>> {
    if !plausible_id(id) {
        return Ok(None);
    }
    if let Some(dir) = user_dir() {
        let path = dir.join(format!("{id}.toml"));
        if std::fs::symlink_metadata(&path).is_ok() {
            return load_user(&path).map(Some);
        }
    }
    builtin(id)
}

/// Every provider: the built-ins, replaced or joined by the user's files,
/// sorted by id. A broken user file is an error.
pub fn all() -> Result<Vec<&'static Definition>> {
    let mut defs: Vec<&'static Definition> = built_in()?.to_vec();
    for path in user_files()? {
        let d = load_user(&path)?;
        defs.retain(|b| b.id != d.id);
        defs.push(d);
    }
    defs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(defs)
}

/// Every id, without reading the user's files (for completion, and for
/// "did you mean").
pub fn ids() -> Vec<String> {
    let mut ids: Vec<String> = BUILT_IN.iter().map(|(id, _)| id.to_string()).collect();
    if let Ok(files) = user_files() {
        ids.extend(
            files
                .iter()
                .filter_map(|p| p.file_stem()?.to_str().map(str::to_string)),
        );
    }
    ids.push("generic".into());
    ids.sort();
    ids.dedup();
    ids
}

/// The `*.toml` files in the user's providers folder, sorted.
fn user_files() -> Result<Vec<PathBuf>> {
    let Some(dir) = user_dir() else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", &dir, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "toml")
                && p.file_stem()
                    .and_then(|s| s.to_str())
                    .is_some_and(plausible_id)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Reads, checks and keeps a user's definition (once per process).
fn load_user(path: &Path) -> Result<&'static Definition> {
    let cache = USER.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(d) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
        return Ok(d);
    }
    // Another user able to write it could send your keys elsewhere.
    if let Some(dir) = path.parent() {
        crate::config::trusted(dir)?;
    }
    crate::config::trusted(path)?;
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io("read", path, e))?
        .len();
    if size > 256 * 1024 {
        return Err(Error::user(format!(
            "{} is {size} bytes; a provider definition is at most 256 KiB",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let stem = path.file_stem().and_then(|s| s.to_str());
    let mut def = definition::parse(&path.display().to_string(), &text, stem)?;
    def.origin = Origin::User {
        path: path.to_path_buf(),
        overrides: stem.is_some_and(|id| BUILT_IN.iter().any(|(b, _)| *b == id)),
    };
    let def: &'static Definition = Box::leak(Box::new(def));
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(path.to_path_buf(), def);
    Ok(def)
}

/// The error for a provider id cred does not know, with the closest id.
pub fn unknown(id: &str) -> Error {
    let ids = ids();
    let hint = match crate::config::closest(id, &ids) {
        Some(close) => format!("did you mean `{close}`?"),
        None => "`cred providers list` shows the providers cred knows".to_string(),
    };
    let where_ = match user_dir() {
        Some(d) => format!(
            "; a provider of your own is a file {}",
            d.join(format!("{id}.toml")).display()
        ),
        None => String::new(),
    };
    Error::user(format!("unknown provider `{}`", crate::escape::visible(id)))
        .cause(format!("cred has no built-in provider of that id{where_}"))
        .hint(hint)
        .hint(format!(
            "for any other API-key HTTP API: cred add generic --name {} --base-url URL",
            if crate::config::name_problem(id).is_none() {
                id
            } else {
                "NAME"
            }
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema test: every built-in definition loads and validates.
    #[test]
    fn every_built_in_loads() {
        let defs = built_in().unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(defs.len(), BUILT_IN.len());
        for (d, (id, _)) in defs.iter().zip(BUILT_IN) {
            assert_eq!(&d.id, id);
        }
    }

    #[test]
    fn built_ins_are_listed_once_and_sorted() {
        let ids: Vec<&str> = BUILT_IN.iter().map(|(id, _)| *id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "BUILT_IN is sorted, one line per file");
    }

    #[test]
    fn every_file_in_the_folder_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/providers/catalog");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
                assert!(
                    BUILT_IN.iter().any(|(id, _)| *id == stem),
                    "{stem}.toml is not in BUILT_IN"
                );
            }
        }
    }
}
