//! The file store (`store = "file"`): every secret in one file,
//! `secrets.age`, in the age format, encrypted to one X25519 recipient
//! (the `age` crate: no hand-made crypto).
//!
//! Path: `CRED_FILE_STORE`, else `$XDG_DATA_HOME/cred/secrets.age`, else
//! `~/.local/share/cred/secrets.age` (Windows: `%LOCALAPPDATA%\cred`). The
//! file may be shared by several config directories: each entry names the
//! config directory it belongs to, as the keychain's accounts do.
//!
//! The plaintext (what `age -d` prints) is TOML, documented in the README:
//!
//! ```toml
//! version = 1
//!
//! [[secret]]
//! name = "paligo"
//! config_dir = "/home/me/.config/cred"
//! provider = "paligo"
//! origin = "https://acme.paligoapp.com/api/v2"
//! secret = "…"
//! ```
//!
//! Writes are read-modify-write under a lock file beside the store
//! (`.secrets.age.lock`; commands that write also hold the config lock),
//! then a temporary file (0600) in the same directory, fsync, rename.
//!
//! What opens it is an age identity ([`identity`]): `CRED_IDENTITY_FILE`,
//! `CRED_IDENTITY`, an unlock cached in the kernel keyring ([`cache`]), or
//! the passphrase of `identity.age` beside the store, asked on a terminal.
//! The identity is found on the calling thread ([`SecretStore::open`]),
//! never on the store's worker thread, so a passphrase prompt is never
//! raced by a deadline.

pub mod cache;
mod error;
pub mod identity;
mod inspect;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use age::x25519;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

pub use error::FileError;
pub use identity::Source;
pub use inspect::Inspection;

use super::{Binding, Overview, SecretStore, StoreError, StoreKind, Stored, StoredEntry};
use crate::ui::Ui;

pub const PATH_ENV: &str = "CRED_FILE_STORE";
const FILE_NAME: &str = "secrets.age";
/// The passphrase-encrypted identity, beside the store.
pub const IDENTITY_NAME: &str = "identity.age";
const HEADER: &str =
    "# cred file store: one [[secret]] per credential (see cred's README, \"The file store\").\n";
const VERSION: u32 = 1;

/// Where the store is: `CRED_FILE_STORE`, else the data directory.
pub fn store_path() -> Result<PathBuf, FileError> {
    if let Some(p) = std::env::var_os(PATH_ENV).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return Ok(std::path::absolute(&p).unwrap_or(p));
    }
    let data = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".local").join("share"))
            })
    };
    match data {
        Some(dir) => Ok(dir.join("cred").join(FILE_NAME)),
        None => Err(FileError::NoPath),
    }
}

/// `identity.age` beside the store.
pub fn identity_path(store: &Path) -> PathBuf {
    store.with_file_name(IDENTITY_NAME)
}

/// The plaintext of the store.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plain {
    version: u32,
    #[serde(default, rename = "secret")]
    secrets: Vec<Item>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    name: String,
    config_dir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    secret: String,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl Item {
    fn binding(&self) -> Option<Binding> {
        match (&self.provider, &self.origin) {
            (Some(provider), Some(origin)) => Some(Binding {
                provider: provider.clone(),
                origin: origin.clone(),
            }),
            _ => None,
        }
    }
}

/// The store file of one config directory's credentials.
pub struct FileStore {
    path: PathBuf,
    dir_identity: String,
    interactive: bool,
    opened: OnceLock<Arc<x25519::Identity>>,
}

impl FileStore {
    pub fn new(path: PathBuf, dir_identity: String, interactive: bool) -> Self {
        FileStore {
            path,
            dir_identity,
            interactive,
            opened: OnceLock::new(),
        }
    }

    fn identity(&self) -> Result<Arc<x25519::Identity>, StoreError> {
        match self.opened.get() {
            Some(id) => Ok(Arc::clone(id)),
            // `open` was not called first: say what would open it.
            None => Err(identity::unavailable(&self.path, self.interactive).into()),
        }
    }

    /// Read, change, write back, under the store's own lock.
    fn change(&self, edit: impl FnOnce(&mut Plain) -> bool) -> Result<(), StoreError> {
        let identity = self.identity()?;
        change(&self.path, &identity, edit)
    }
}

impl SecretStore for FileStore {
    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn open(&self, ui: &Ui) -> Result<(), StoreError> {
        if self.opened.get().is_some() {
            return Ok(());
        }
        // Once per process and store: `verify --all` or `exec` with several
        // credentials asks at most once, even where nothing can be cached.
        static OPENED: Mutex<Vec<(PathBuf, Arc<x25519::Identity>)>> = Mutex::new(Vec::new());
        let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
        let identity = match opened.iter().find(|(p, _)| *p == self.path) {
            Some((_, id)) => Arc::clone(id),
            None => {
                let id = Arc::new(identity::obtain(&self.path, ui)?);
                opened.push((self.path.clone(), Arc::clone(&id)));
                id
            }
        };
        let _ = self.opened.set(identity);
        Ok(())
    }

    fn name(&self) -> String {
        format!("the file store {}", self.path.display())
    }

    fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        let plain = read(&self.path, &*self.identity()?)?;
        let mut found = plain
            .secrets
            .iter()
            .filter(|i| i.name == name && i.config_dir == self.dir_identity);
        let Some(item) = found.next() else {
            return Ok(None);
        };
        if found.any(|other| other.secret != item.secret) {
            return Err(StoreError::ambiguous(name, &self.name()));
        }
        Ok(Some(Stored {
            secret: SecretString::from(item.secret.clone()),
            binding: item.binding(),
        }))
    }

    fn set(
        &self,
        name: &str,
        secret: &SecretString,
        binding: Option<&Binding>,
    ) -> Result<(), StoreError> {
        let dir = self.dir_identity.clone();
        self.change(|plain| {
            let pos = plain
                .secrets
                .iter()
                .position(|i| i.name == name && i.config_dir == dir);
            let (provider, origin) = match (binding, pos) {
                (Some(b), _) => (Some(b.provider.clone()), Some(b.origin.clone())),
                // Leave what the store recorded as it is.
                (None, Some(p)) => (
                    plain.secrets[p].provider.clone(),
                    plain.secrets[p].origin.clone(),
                ),
                (None, None) => (None, None),
            };
            let item = Item {
                name: name.to_string(),
                config_dir: dir,
                provider,
                origin,
                secret: secret.expose_secret().to_string(),
            };
            match pos {
                Some(p) => plain.secrets[p] = item,
                None => plain.secrets.push(item),
            }
            true
        })
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        if !self.path.exists() {
            return Ok(());
        }
        let dir = self.dir_identity.clone();
        self.change(|plain| remove_item(plain, name, &dir))
    }

    fn entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        let identity = self.identity()?;
        let plain = read(&self.path, &identity)?;
        let mut entries = Vec::new();
        for item in &plain.secrets {
            let account = format!("{}@{}", item.name, item.config_dir);
            let name = (item.config_dir == self.dir_identity).then(|| item.name.clone());
            let (path, identity) = (self.path.clone(), Arc::clone(&identity));
            // Exactly this entry: its name, directory, secret and binding
            // (two copies of one credential differ at least in one of them,
            // or are the same, when removing either keeps the other).
            let copy = Item {
                name: item.name.clone(),
                config_dir: item.config_dir.clone(),
                provider: item.provider.clone(),
                origin: item.origin.clone(),
                secret: item.secret.clone(),
            };
            let secret = SecretString::from(item.secret.clone());
            let read = Box::new(move || Ok(Some(secret.clone())));
            let own = item.binding().is_some();
            let remove = Box::new(move || change(&path, &identity, |p| remove_one(p, &copy)));
            let made_by = if own {
                "cred"
            } else {
                "cred (without a recorded origin)"
            };
            entries.push(StoredEntry::new(account, name, read, remove).origin(
                made_by.into(),
                None,
                own,
            ));
        }
        Ok(entries)
    }

    fn status(&self) -> Result<(), StoreError> {
        if self.opened.get().is_some() {
            return Ok(());
        }
        identity::check_available(&self.path, self.interactive).map_err(StoreError::from)
    }

    fn configured(&self) -> bool {
        self.path.exists()
    }

    fn inspect(&self) -> Option<Overview> {
        let inspection = Inspection::new(self.path.clone(), self.interactive);
        Some(Overview {
            lines: inspection.lines(),
            json: inspection.json(),
            closed: inspection.would_prompt(),
        })
    }

    fn timeout_hint(&self, _terminal: bool) -> String {
        format!(
            "check that {} is on a disk that answers (a network mount may hang) and that no other cred holds its lock for long; CRED_STORE_TIMEOUT=SECONDS waits longer",
            self.path.display()
        )
    }

    fn alternatives(&self) -> Vec<String> {
        vec!["to call APIs from CI or a script without a store, set CRED_SECRET_<NAME> (see the README, \"No desktop keychain\")".into()]
    }
}

/// Removes one entry equal to `copy` (the first, when there are exact
/// copies), never every entry of that name.
fn remove_one(plain: &mut Plain, copy: &Item) -> bool {
    let pos = plain.secrets.iter().position(|i| {
        i.name == copy.name
            && i.config_dir == copy.config_dir
            && i.provider == copy.provider
            && i.origin == copy.origin
            && i.secret == copy.secret
    });
    match pos {
        Some(p) => {
            plain.secrets.remove(p);
            true
        }
        None => false,
    }
}

fn remove_item(plain: &mut Plain, name: &str, dir: &str) -> bool {
    let before = plain.secrets.len();
    plain
        .secrets
        .retain(|i| !(i.name == name && i.config_dir == dir));
    plain.secrets.len() != before
}

/// Decrypts and parses the store; a store not there yet is empty.
fn read(path: &Path, identity: &x25519::Identity) -> Result<Plain, FileError> {
    let Some(bytes) = read_raw(path)? else {
        return Ok(Plain {
            version: VERSION,
            secrets: Vec::new(),
        });
    };
    let plain = decrypt(path, identity, &bytes)?;
    let text = std::str::from_utf8(&plain).map_err(|_| FileError::Corrupt {
        path: path.to_path_buf(),
        detail: "the plaintext is not UTF-8".into(),
    })?;
    let parsed: Plain = toml::from_str(text).map_err(|e| FileError::Corrupt {
        path: path.to_path_buf(),
        // The parser's message only, never the text around it.
        detail: e.message().to_string(),
    })?;
    if parsed.version != VERSION {
        return Err(FileError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("version {} is not one this cred reads", parsed.version),
        });
    }
    Ok(parsed)
}

/// The store's bytes, `None` when it is not there.
pub(crate) fn read_raw(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError::io("read", path, e)),
    }
}

/// Decrypts the store's bytes with `identity`.
pub(crate) fn decrypt(
    path: &Path,
    identity: &x25519::Identity,
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, FileError> {
    match age::decrypt(identity, bytes) {
        Ok(p) => Ok(Zeroizing::new(p)),
        Err(age::DecryptError::NoMatchingKeys) => Err(FileError::WrongIdentity {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(FileError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }),
    }
}

/// Read-modify-write under the store's lock file; nothing is written when
/// `edit` changes nothing.
fn change(
    path: &Path,
    identity: &x25519::Identity,
    edit: impl FnOnce(&mut Plain) -> bool,
) -> Result<(), StoreError> {
    let dir = parent(path);
    create_private_dir(dir)?;
    let _lock = lock(path)?;
    let mut plain = read(path, identity)?;
    if edit(&mut plain) {
        plain.version = VERSION;
        write(path, identity, &plain)?;
    }
    Ok(())
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

/// Encrypts `plain` to the identity's recipient and replaces the store
/// atomically: temporary file (0600) beside it, fsync, rename, fsync of
/// the directory.
fn write(path: &Path, identity: &x25519::Identity, plain: &Plain) -> Result<(), FileError> {
    let body = Zeroizing::new(toml::to_string(plain).map_err(|e| FileError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?);
    let mut text = Zeroizing::new(String::with_capacity(HEADER.len() + body.len()));
    text.push_str(HEADER);
    text.push_str(&body);
    let recipient = identity.to_public();
    let cipher = age::encrypt(&recipient, text.as_bytes()).map_err(|e| FileError::Io {
        action: "encrypt",
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    write_private(path, &cipher)
}

/// Writes `bytes` to `path` atomically, mode 0600.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let attempt = || -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    };
    attempt().map_err(|e| FileError::io("write", path, e))
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    crate::config::private_dir(dir).map_err(|e| FileError::io("create the directory", dir, e))
}

/// The store's own lock (`.secrets.age.lock` beside it), never followed
/// through a symlink: several config directories may share one store.
fn lock(path: &Path) -> Result<File, FileError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock_path = path.with_file_name(format!(".{name}.lock"));
    let file = crate::config::open_private(&lock_path)
        .map_err(|e| FileError::io("open", &lock_path, e))?;
    file.lock()
        .map_err(|e| FileError::io("lock", &lock_path, e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_config_dirs_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.age");
        let id = x25519::Identity::generate();
        let a = FileStore::new(path.clone(), "/a".into(), false);
        let b = FileStore::new(path.clone(), "/b".into(), false);
        for s in [&a, &b] {
            let _ = s.opened.set(Arc::new(id.clone()));
        }
        let binding = Binding {
            provider: "paymo".into(),
            origin: "https://app.paymoapp.com/api".into(),
        };
        a.set("x", &SecretString::from("one"), Some(&binding))
            .unwrap();
        b.set("x", &SecretString::from("two"), None).unwrap();
        let got = a.get("x").unwrap().unwrap();
        assert_eq!(got.secret.expose_secret(), "one");
        assert_eq!(got.binding, Some(binding.clone()));
        let got = b.get("x").unwrap().unwrap();
        assert_eq!(got.secret.expose_secret(), "two");
        assert_eq!(got.binding, None);
        // No binding given: the recorded one stays.
        a.set("x", &SecretString::from("three"), None).unwrap();
        assert_eq!(a.get("x").unwrap().unwrap().binding, Some(binding));
        a.delete("x").unwrap();
        assert!(a.get("x").unwrap().is_none());
        assert_eq!(b.get("x").unwrap().unwrap().secret.expose_secret(), "two");
        let raw = fs::read(&path).unwrap();
        assert!(!raw.windows(3).any(|w| w == b"two"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = FileStore::new(path, "/a".into(), false);
        let _ = other.opened.set(Arc::new(x25519::Identity::generate()));
        let err = other.get("x").unwrap_err();
        assert_eq!(err.failure, crate::secrets::Failure::Locked, "{err:?}");
        assert!(err.message().contains("identity does not open"), "{err:?}");
    }
}
