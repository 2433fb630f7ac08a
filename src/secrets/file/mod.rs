//! The file store (`store = "file"`): every secret in one file,
//! `secrets.age`, in the age format (the `age` crate: no hand-made
//! crypto), encrypted to every recipient of `recipients.txt` beside it
//! ([`recipients`]), or to the identity that opens it while there is none.
//! An armored store (`age -a`) is read, and written back armored.
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
//! raced by a deadline. Every key of an identity file is tried.
//!
//! Every file the store reads is checked first ([`checked`]): owned by the
//! user or root and not writable by others (with its directories), a
//! regular file, at most 64 MiB, and the store is read through the age
//! decryptor as a stream.

pub mod cache;
pub mod checked;
mod error;
pub mod identity;
mod inspect;
pub mod recipients;

use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

pub use error::FileError;
pub use identity::{Identities, Source};
pub use inspect::Inspection;
pub use recipients::Recipient;

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
    opened: OnceLock<Arc<Identities>>,
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

    fn identity(&self) -> Result<Arc<Identities>, StoreError> {
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
        static OPENED: Mutex<Vec<(PathBuf, Arc<Identities>)>> = Mutex::new(Vec::new());
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
        let plain = read(&self.path, &*self.identity()?)?.plain;
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
        let plain = read(&self.path, &identity)?.plain;
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
        // Owner, mode, type and size of the store and `recipients.txt`,
        // as every read checks them.
        checked::open(&self.path, checked::STORE_CAP)?;
        checked::open(&recipients::path(&self.path), checked::SMALL_CAP)?;
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

/// The store as read: its entries and which key opened it.
struct Opened {
    plain: Plain,
    /// Index into the identities' keys; `None` when there is no store.
    key: Option<usize>,
}

/// Decrypts and parses the store; a store not there yet is empty.
fn read(path: &Path, ids: &Identities) -> Result<Opened, FileError> {
    // Whom the next write encrypts to is checked with the store: a
    // recipients.txt others may change would hand them later secrets.
    checked::trusted(&recipients::path(path))?;
    let Some((plain, key)) = decrypt(path, ids)? else {
        return Ok(Opened {
            plain: Plain {
                version: VERSION,
                secrets: Vec::new(),
            },
            key: None,
        });
    };
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
    Ok(Opened {
        plain: parsed,
        key: Some(key),
    })
}

/// A plaintext, and the index of the key that opened it.
pub(crate) type Decrypted = (Zeroizing<Vec<u8>>, usize);

/// An edit of the recipients' list: whether it changed anything.
type EditList<'a> = &'a mut dyn FnMut(&mut Vec<Recipient>) -> Result<bool, FileError>;

/// The store's plaintext and the index of the key that opened it; `None`
/// when there is no store. The file is checked ([`checked::open`]), then
/// read through the age decryptor (armored or not) as a stream, each key
/// in turn, so the ciphertext is never held whole.
pub(crate) fn decrypt(path: &Path, ids: &Identities) -> Result<Option<Decrypted>, FileError> {
    let Some((mut file, len)) = checked::open(path, checked::STORE_CAP)? else {
        return Ok(None);
    };
    let corrupt = |detail: String| FileError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    for (index, key) in ids.keys().iter().enumerate() {
        file.rewind().map_err(|e| FileError::io("read", path, e))?;
        let input = age::armor::ArmoredReader::new((&file).take(checked::STORE_CAP));
        let decryptor = age::Decryptor::new(input).map_err(|e| corrupt(e.to_string()))?;
        let mut reader = match decryptor.decrypt(std::iter::once(key.as_age())) {
            Ok(r) => r,
            Err(age::DecryptError::NoMatchingKeys) => continue,
            Err(e) => return Err(corrupt(e.to_string())),
        };
        // The plaintext is smaller than the file.
        let mut plain = Zeroizing::new(Vec::with_capacity(len as usize));
        reader
            .read_to_end(&mut plain)
            .map_err(|e| corrupt(e.to_string()))?;
        return Ok(Some((plain, index)));
    }
    Err(FileError::WrongIdentity {
        path: path.to_path_buf(),
    })
}

/// Whom a write encrypts to, and how.
struct Target {
    list: Vec<Recipient>,
    armored: bool,
    /// `recipients.txt` must be written (it is not there, or changed).
    record: bool,
}

/// Plans a write of the store opened by key `opener` (`None`: no store
/// yet): to `recipients.txt`'s list (or, without one, the opening
/// identity's recipient), changed by `edit` when given. Refuses when the
/// file is encrypted to more recipients than the old and new lists name,
/// or when none of the new list is at hand.
fn plan(
    path: &Path,
    ids: &Identities,
    opener: Option<usize>,
    edit: Option<EditList<'_>>,
) -> Result<Option<Target>, FileError> {
    let header = recipients::header(path)?;
    let listed = recipients::load(path)?;
    let current = match (&listed, opener) {
        (Some(l), _) => l.clone(),
        (None, Some(k)) => vec![ids.keys()[k].recipient().clone()],
        (None, None) => ids.recipients(),
    };
    let mut list = current.clone();
    let mut changed = false;
    if let Some(edit) = edit {
        changed = edit(&mut list)?;
        if !changed {
            return Ok(None);
        }
    }
    if let Some(h) = &header {
        let mut known = current.clone();
        known.extend(list.iter().filter(|r| !current.contains(r)).cloned());
        let missing = h.unaccounted(&known);
        if !missing.is_empty() {
            return Err(FileError::UnknownRecipients {
                path: path.to_path_buf(),
                encrypted_to: h.describe(),
                listed: known.len(),
                missing: missing
                    .iter()
                    .map(|(t, n)| format!("{n} {}", crate::escape::visible(t)))
                    .collect::<Vec<_>>()
                    .join(", "),
                list_exists: listed.is_some(),
            });
        }
    }
    let at_hand = ids.recipients();
    if !list.iter().any(|r| at_hand.contains(r)) {
        return Err(FileError::NoRecipientAtHand {
            path: recipients::path(path),
        });
    }
    Ok(Some(Target {
        list,
        armored: header.as_ref().is_some_and(|h| h.armored),
        record: listed.is_none() || changed,
    }))
}

/// Read-modify-write under the store's lock file; nothing is written when
/// `edit` changes nothing.
fn change(
    path: &Path,
    ids: &Identities,
    edit: impl FnOnce(&mut Plain) -> bool,
) -> Result<(), StoreError> {
    let dir = parent(path);
    create_private_dir(dir)?;
    let _lock = lock(path)?;
    let opened = read(path, ids)?;
    let mut plain = opened.plain;
    if edit(&mut plain) {
        plain.version = VERSION;
        if let Some(target) = plan(path, ids, opened.key, None)? {
            commit(path, &target, &plain)?;
        }
    }
    Ok(())
}

/// Writes the store to `target`, then `recipients.txt` when it must.
fn commit(path: &Path, target: &Target, plain: &Plain) -> Result<(), FileError> {
    write(path, target, plain)?;
    if target.record {
        recipients::save(path, &target.list)?;
    }
    Ok(())
}

/// `recipients.txt` as it is, or `None`, and the store's header, for
/// `cred recipients list`: no identity needed.
pub fn recipients_view(
    store: &Path,
) -> Result<(Option<Vec<Recipient>>, Option<recipients::Header>), FileError> {
    Ok((recipients::load(store)?, recipients::header(store)?))
}

/// Changes the recipients (`edit` returns whether it changed anything)
/// and re-encrypts the store to them at once, under the store's lock,
/// atomically. Returns the new list, `None` when nothing changed.
pub fn change_recipients(
    store: &Path,
    ids: &Identities,
    mut edit: impl FnMut(&mut Vec<Recipient>) -> Result<bool, FileError>,
) -> Result<Option<Vec<Recipient>>, FileError> {
    create_private_dir(parent(store))?;
    let _lock = lock(store)?;
    let opened = read(store, ids)?;
    let Some(target) = plan(store, ids, opened.key, Some(&mut edit))? else {
        return Ok(None);
    };
    if opened.key.is_some() {
        commit(store, &target, &opened.plain)?;
    } else {
        recipients::save(store, &target.list)?;
    }
    Ok(Some(target.list))
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

/// Encrypts `plain` to every recipient of `target` (armored when the
/// store was) and replaces the store atomically: temporary file (0600)
/// beside it, fsync, rename, fsync of the directory.
fn write(path: &Path, target: &Target, plain: &Plain) -> Result<(), FileError> {
    let body = Zeroizing::new(toml::to_string(plain).map_err(|e| FileError::Corrupt {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?);
    let mut text = Zeroizing::new(String::with_capacity(HEADER.len() + body.len()));
    text.push_str(HEADER);
    text.push_str(&body);
    let encrypt = || -> Result<Vec<u8>, String> {
        let encryptor = age::Encryptor::with_recipients(target.list.iter().map(Recipient::as_age))
            .map_err(|e| e.to_string())?;
        let format = if target.armored {
            age::armor::Format::AsciiArmor
        } else {
            age::armor::Format::Binary
        };
        let mut out = Vec::new();
        let armor =
            age::armor::ArmoredWriter::wrap_output(&mut out, format).map_err(|e| e.to_string())?;
        let mut writer = encryptor.wrap_output(armor).map_err(|e| e.to_string())?;
        writer
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string())?;
        writer
            .finish()
            .and_then(|a| a.finish())
            .map_err(|e| e.to_string())?;
        Ok(out)
    };
    let cipher = encrypt().map_err(|detail| FileError::Io {
        action: "encrypt",
        path: path.to_path_buf(),
        detail,
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
        let id = age::x25519::Identity::generate();
        let a = FileStore::new(path.clone(), "/a".into(), false);
        let b = FileStore::new(path.clone(), "/b".into(), false);
        for s in [&a, &b] {
            let _ = s.opened.set(Arc::new(Identities::one(id.clone())));
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
        let _ = other
            .opened
            .set(Arc::new(Identities::one(age::x25519::Identity::generate())));
        let err = other.get("x").unwrap_err();
        assert_eq!(err.failure, crate::secrets::Failure::Locked, "{err:?}");
        assert!(err.message().contains("identity does not open"), "{err:?}");
    }
}
