//! `config.toml`: the non-secret half of every credential.
//!
//! Resolution of the directory (SPEC §4), reading with errors that name file,
//! line and column, and read-modify-write under an exclusive lock file with an
//! atomic replace (temporary file in the same directory, fsync, rename), so
//! concurrent `cred` processes lose nothing and a broken file is never
//! overwritten.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::providers::ProviderConfig;
use crate::secrets::StoreKind;

mod checks;
pub mod state;
pub mod trust;

use checks::{check_fields, unknown_fields};
pub use checks::{control_field, name_problem, trusted};

const FILE_NAME: &str = "config.toml";
const LOCK_NAME: &str = ".config.lock";
/// Debug builds only: when set, every config write fails (for tests).
#[cfg(debug_assertions)]
const FAIL_WRITE_ENV: &str = "CRED_TEST_FAIL_CONFIG_WRITE";
const HEADER: &str = "# cred configuration: non-secret fields only.\n\
# Secrets live in the store each credential names (the OS keychain, service\n\
# \"cred\", unless `store` says otherwise); edit this file with care.\n\n";

/// Why the configuration could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot parse {}{location}", path.display())]
    Parse {
        path: PathBuf,
        /// ` at line L, column C`, when known.
        location: String,
        detail: String,
    },
    #[error("no credential named `{name}`")]
    Unknown { name: String, known: Vec<String> },
    #[error("{} holds a credential name cred does not accept: `{name}`", path.display())]
    BadName {
        path: PathBuf,
        name: String,
        why: String,
    },
    #[error("refusing to use {}: {why}", path.display())]
    Untrusted {
        path: PathBuf,
        why: String,
        fix: String,
    },
    #[error("{} has a field cred does not know: {field}{location}", path.display())]
    UnknownField {
        path: PathBuf,
        field: String,
        location: String,
    },
    #[error("{} holds a control character ({shown}) in {field}", path.display())]
    ControlChar {
        path: PathBuf,
        field: String,
        shown: String,
    },
    #[error("{} holds an invalid {field}: {why}", path.display())]
    BadField {
        path: PathBuf,
        field: String,
        why: String,
    },
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        match e {
            ConfigError::Parse { ref detail, .. } => Error::user(e.to_string())
                .cause(detail)
                .hint("fix the file by hand; cred will not overwrite a file it cannot read"),
            ConfigError::Unknown {
                ref name,
                ref known,
            } => {
                let hint = if known.is_empty() {
                    "add one with `cred add PROVIDER`".to_string()
                } else if let Some(close) = closest(name, known) {
                    format!("did you mean `{close}`?")
                } else {
                    format!("stored credentials: {}", known.join(", "))
                };
                Error::user(e.to_string()).hint(hint)
            }
            ConfigError::Io {
                action,
                path,
                source,
            } => Error::io(action, &path, source),
            ConfigError::BadName { ref why, .. } => Error::user(e.to_string())
                .cause(why)
                .hint("rename it in config.toml by hand (a-z, 0-9, `.`, `_`, `-`), then `cred rotate NAME` to store its secret under the new name"),
            ConfigError::Untrusted { ref fix, .. } => Error::user(e.to_string())
                .cause("another user could change where cred sends your keys")
                .hint(fix.clone()),
            ConfigError::UnknownField { .. } => Error::user(e.to_string())
                .cause("cred would drop it when it next writes the file")
                .hint("remove it, or check its spelling against `cred show NAME --json`"),
            ConfigError::ControlChar { .. } => Error::user(e.to_string())
                .cause("control characters could drive the terminal, and format characters (bidi controls, zero-width) could disguise the value, when cred prints it")
                .hint("remove it from config.toml by hand"),
            ConfigError::BadField { .. } => Error::user(e.to_string())
                .hint("correct it in config.toml by hand"),
        }
    }
}

/// Everything `config.toml` holds.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where `add` keeps new secrets unless `--store` or `CRED_STORE` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_store: Option<StoreKind>,
    #[serde(default)]
    pub credentials: BTreeMap<String, Credential>,
}

/// One stored credential, without its secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Credential {
    #[serde(flatten)]
    pub provider: ProviderConfig,
    /// Where the secret lives; the OS keychain when absent.
    #[serde(default, skip_serializing_if = "StoreKind::is_default")]
    pub store: StoreKind,
    /// Vault's KV v2 mount, when not `secret` (store = "vault" only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_mount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the credential was added (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The last live check: state, kept in state.toml (see [`state`]);
    /// read from config.toml only where an older cred wrote it there.
    #[serde(default, skip_serializing)]
    pub last_check: Option<CheckRecord>,
}

impl Credential {
    pub fn store_kind(&self) -> StoreKind {
        self.store
    }

    /// "valid 2026-11-22 12:00 EET" (local time), or "never".
    pub fn last_check_text(&self) -> String {
        match &self.last_check {
            Some(r) => format!("{} {}", r.result, crate::human::local_time(&r.at)),
            None => "never".into(),
        }
    }

    /// What `list --json` shows of a credential (and `show --json` extends).
    pub fn summary_json(&self, name: &str) -> serde_json::Value {
        let p = self.provider.provider();
        let mut out = serde_json::json!({
            "name": name,
            "provider": p.kind().id(),
            "target": p.target(),
            "store": self.store.id(),
            "vault_mount": self.vault_mount,
            "description": self.description,
            "last_check": self.last_check,
        });
        if let Some(m) = self.provider.missing() {
            out["broken"] = serde_json::Value::String(m.why.clone());
        }
        out
    }
}

/// The outcome of the last live check (`add`, `verify`, `rotate`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckRecord {
    /// RFC 3339, UTC.
    pub at: String,
    /// `valid`, `rejected`, `not-found`, `network`, `rate-limited`, `unconfirmed`.
    pub result: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl CheckRecord {
    /// Control characters from a server's words shown escaped.
    pub fn clean(&mut self) {
        for text in [&mut self.at, &mut self.result, &mut self.message] {
            if let std::borrow::Cow::Owned(v) = crate::escape::visible(text) {
                *text = v;
            }
        }
    }
}

/// Where the configuration lives and how to read and change it.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    dir: PathBuf,
}

/// The config directory of SPEC §4, from the flag/env value if given.
pub fn resolve_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        if dir.as_os_str().is_empty() {
            return Err(Error::user("the config directory is empty")
                .hint("pass --config-dir DIR or unset CRED_CONFIG_DIR"));
        }
        return Ok(absolute(dir));
    }
    if cfg!(windows)
        && let Some(appdata) = std::env::var_os("APPDATA").filter(|v| !v.is_empty())
    {
        return Ok(PathBuf::from(appdata).join("cred"));
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Ok(xdg.join("cred"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("cred")),
        None => Err(Error::user(
            "cannot find a config directory: neither HOME nor XDG_CONFIG_HOME is set",
        )
        .hint("pass --config-dir DIR or set CRED_CONFIG_DIR")),
    }
}

fn absolute(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

impl ConfigStore {
    pub fn new(dir: PathBuf) -> Self {
        ConfigStore { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Reads the config; a missing file is an empty config.
    pub fn load(&self) -> Result<Config> {
        let path = self.path();
        trusted(&self.dir)?;
        trusted(&path)?;
        let mut config = match fs::read_to_string(&path) {
            Ok(text) => parse(&path, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    action: "read",
                    path,
                    source,
                }
                .into());
            }
        };
        // The last checks are state: state.toml wins over what an older
        // cred left in config.toml.
        let mut checks = state::checks(&self.identity());
        for (name, c) in config.credentials.iter_mut() {
            if let Some(mut record) = checks.remove(name) {
                record.clean();
                c.last_check = Some(record);
            }
        }
        Ok(config)
    }

    /// Records check results in state.toml, never in config.toml.
    pub fn record_checks(&self, results: &[(String, CheckRecord)]) -> Result<()> {
        let updates: Vec<_> = results
            .iter()
            .map(|(n, r)| (n.clone(), Some(r.clone())))
            .collect();
        state::record(&self.identity(), &updates, false)
    }

    /// Reads one credential to use, or fails with "no credential named
    /// …", or with why its provider definition cannot be had.
    pub fn get(&self, name: &str) -> Result<Credential> {
        let credential = self.get_any(name)?;
        match credential.provider.missing() {
            Some(m) => Err(m.error(name)),
            None => Ok(credential),
        }
    }

    /// Reads one credential, also one whose provider definition is
    /// missing or broken (to show or remove it).
    pub fn get_any(&self, name: &str) -> Result<Credential> {
        let config = self.load()?;
        config
            .credentials
            .get(name)
            .cloned()
            .ok_or_else(|| unknown_credential(name, &config))
    }

    /// Creates the directory (0700) if needed and takes the exclusive lock:
    /// the config read through the returned guard stays current until it is
    /// dropped, and `save` replaces the file atomically.
    pub fn lock(&self) -> Result<Locked> {
        create_private_dir(&self.dir)?;
        let lock_path = self.dir.join(LOCK_NAME);
        let file = open_private(&lock_path).map_err(|e| Error::io("open", &lock_path, e))?;
        file.lock().map_err(|e| Error::io("lock", &lock_path, e))?;
        let config = self.load()?;
        Ok(Locked {
            store: self.clone(),
            _lock: file,
            config,
        })
    }

    /// A stable string naming this config directory, used to keep the
    /// keychain entries of two config directories apart.
    pub fn identity(&self) -> String {
        fs::canonicalize(&self.dir)
            .unwrap_or_else(|_| self.dir.clone())
            .display()
            .to_string()
    }
}

/// The config, read under the lock; changes are written by `save`.
pub struct Locked {
    store: ConfigStore,
    _lock: File,
    pub config: Config,
}

impl Locked {
    /// Writes the config atomically: temporary file in the same directory,
    /// 0600, fsync, rename over the old file, fsync of the directory.
    pub fn save(&self) -> Result<()> {
        // The checks go to state.toml (also those an older cred kept in
        // config.toml, which this write leaves out): one entry per
        // credential that has one, none for those removed.
        let checks: Vec<_> = self
            .config
            .credentials
            .iter()
            .map(|(n, c)| (n.clone(), c.last_check.clone()))
            .collect();
        state::record(&self.store.identity(), &checks, true)?;
        // A symlinked config.toml (dotfiles kept elsewhere) is written
        // through: the link stays, its target is replaced atomically.
        let path = match fs::symlink_metadata(self.store.path()) {
            Ok(m) if m.file_type().is_symlink() => fs::canonicalize(self.store.path())
                .map_err(|e| Error::io("follow the link", &self.store.path(), e))?,
            _ => self.store.path(),
        };
        let dir = path.parent().unwrap_or(self.store.dir()).to_path_buf();
        let dir = dir.as_path();
        let body = toml::to_string(&self.config)
            .map_err(|e| Error::user("could not serialise the configuration").cause(e))?;
        let write = || -> std::io::Result<()> {
            // Test hook (debug builds only): lets the integration tests prove
            // that a failed config write leaves nothing half done.
            #[cfg(debug_assertions)]
            if std::env::var_os(FAIL_WRITE_ENV).is_some() {
                return Err(std::io::Error::other("simulated failure"));
            }
            let mut tmp = tempfile::Builder::new()
                .prefix(".config.toml.")
                .suffix(".tmp")
                .tempfile_in(dir)?;
            set_private(tmp.as_file())?;
            tmp.write_all(HEADER.as_bytes())?;
            tmp.write_all(body.as_bytes())?;
            tmp.as_file().sync_all()?;
            tmp.persist(&path).map_err(|e| e.error)?;
            #[cfg(unix)]
            File::open(dir)?.sync_all()?;
            Ok(())
        };
        write().map_err(|e| Error::io("write", &path, e))
    }
}

fn parse(path: &Path, text: &str) -> Result<Config> {
    let mut config: Config = toml::from_str(text).map_err(|e| -> Error {
        let location = match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!(" at line {line}, column {col}")
            }
            None => String::new(),
        };
        ConfigError::Parse {
            path: path.to_path_buf(),
            location,
            detail: e.message().to_string(),
        }
        .into()
    })?;
    check_fields(path, &mut config)?;
    unknown_fields(path, text, &config)?;
    Ok(config)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// The known name closest to `name` by edit distance, when it is close
/// enough to be a typo (at most 2 edits, and fewer than half its length).
pub fn closest<'k>(name: &str, known: &'k [String]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2 && *d * 2 < k.chars().count().max(name.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

pub fn unknown_credential(name: &str, config: &Config) -> Error {
    ConfigError::Unknown {
        name: name.to_string(),
        known: config.credentials.keys().cloned().collect(),
    }
    .into()
}

fn create_private_dir(dir: &Path) -> Result<()> {
    private_dir(dir).map_err(|e| Error::io("create the config directory", dir, e))
}

/// Creates `dir` (and its parents) with mode 0700 unless it is there.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Opens (or creates) a lock file, never through a symlink: a link
/// planted there by another user must not make cred create or truncate a
/// file elsewhere.
pub(crate) fn open_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options.open(path)
}

fn set_private(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Now, as RFC 3339 in UTC with second precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_names_a_typo_and_nothing_far() {
        let known = vec!["paligo".to_string(), "paymo".to_string(), "api".to_string()];
        assert_eq!(edit_distance("paligoo", "paligo"), 1);
        assert_eq!(closest("paligoo", &known), Some("paligo"));
        assert_eq!(closest("paymoo", &known), Some("paymo"));
        assert_eq!(closest("apx", &known), Some("api"));
        assert_eq!(closest("github", &known), None);
        assert_eq!(closest("x", &known), None);
    }
    use crate::providers::{GenericConfig, Placement};

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc\nd", 0), (1, 1));
        assert_eq!(line_col("a\nbc\nd", 3), (2, 2));
        assert_eq!(line_col("a\nbc\nd", 5), (3, 1));
    }

    #[test]
    fn round_trips_every_provider() {
        let mut config = Config::default();
        config.credentials.insert(
            "p".into(),
            Credential {
                provider: ProviderConfig::catalog(
                    "paligo",
                    &[("instance", "acme"), ("username", "a@b.c")],
                )
                .unwrap(),
                store: StoreKind::Keychain,
                vault_mount: None,
                description: Some("docs".into()),
                created: Some("2026-01-01T00:00:00Z".into()),
                last_check: Some(CheckRecord {
                    at: "2026-01-01T00:00:00Z".into(),
                    result: "valid".into(),
                    message: String::new(),
                }),
            },
        );
        config.credentials.insert(
            "g".into(),
            Credential {
                provider: ProviderConfig::Generic(GenericConfig {
                    base_url: "https://api.example.com/v1".into(),
                    placement: Placement::Query,
                    key_name: "key".into(),
                    template: "${apiKey}".into(),
                    label: "API Key".into(),
                    check_path: None,
                    allow_http: false,
                }),
                store: StoreKind::default(),
                vault_mount: None,
                description: None,
                created: None,
                last_check: None,
            },
        );
        config
            .credentials
            .insert("m".into(), crate::providers::paymo_credential_for_tests());
        let text = toml::to_string(&config).unwrap();
        // Check results are state: never written to config.toml.
        assert!(!text.contains("last_check"), "{text}");
        config.credentials.get_mut("p").unwrap().last_check = None;
        assert_eq!(parse(Path::new("x"), &text).unwrap(), config);
    }

    #[test]
    fn parse_error_names_line_and_column() {
        let err = parse(
            Path::new("/c/config.toml"),
            "[credentials.a]\nprovider = \n",
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("cannot parse /c/config.toml at line 2, column"),
            "{}",
            err.message
        );
    }
}
