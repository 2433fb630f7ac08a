//! What opens the file store: age identities ([`Identities`]), found in
//! this order (SPEC §6 "file", §7 "File-store recipients"):
//!
//! 1. `CRED_IDENTITY_FILE`: an `age-keygen` file (every `AGE-SECRET-KEY-1`
//!    line is tried, as `age -d -i` does) or an unencrypted OpenSSH
//!    `ssh-ed25519` / `ssh-rsa` private key; refused when it is not the
//!    user's (ssh's StrictModes, [`super::checked`]) or when group or
//!    others can read it. An encrypted SSH key and an age plugin identity
//!    are refused, naming them;
//! 2. `CRED_IDENTITY`: the same text (a CI or container secret);
//! 3. an unlock kept in the kernel keyring ([`super::cache`]);
//! 4. `identity.age` beside the store, whose passphrase is asked on a
//!    terminal (one scrypt), then kept for `CRED_UNLOCK_TTL`;
//! 5. no store and no `identity.age` yet, on a terminal: a new identity,
//!    its passphrase asked twice.
//!
//! 1–3 cost no scrypt and ask nothing. Without any of them and without a
//! terminal the error names each source tried.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use age::{scrypt, x25519};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::recipients::Recipient;
use super::{FileError, cache, checked, create_private_dir, identity_path, write_private};
use crate::ui::Ui;

pub const FILE_ENV: &str = "CRED_IDENTITY_FILE";
pub const TEXT_ENV: &str = "CRED_IDENTITY";

/// Which source would open (or opened) the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Text,
    Cached {
        until: Option<u64>,
    },
    Passphrase(PathBuf),
    /// No store yet: a new identity, protected by a new passphrase.
    Create(PathBuf),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::File(p) => format!("{FILE_ENV} ({})", p.display()),
            Source::Text => format!("{TEXT_ENV} (environment)"),
            Source::Cached { until: Some(u) } => {
                format!(
                    "the unlock cached in the kernel keyring (until {})",
                    cache::format_until(*u)
                )
            }
            Source::Cached { until: None } => "the unlock cached in the kernel keyring".into(),
            Source::Passphrase(p) => {
                format!("the passphrase of {} (asked on the terminal)", p.display())
            }
            Source::Create(p) => format!(
                "a new passphrase, asked twice on the terminal (creates {})",
                p.display()
            ),
        }
    }

    pub fn id(&self) -> &'static str {
        match self {
            Source::File(_) => "identity-file",
            Source::Text => "identity-env",
            Source::Cached { .. } => "unlock-cache",
            Source::Passphrase(_) => "passphrase",
            Source::Create(_) => "new-passphrase",
        }
    }
}

/// One key that may open the store, and its recipient.
pub struct Key {
    secret: Secret,
    recipient: Recipient,
}

enum Secret {
    X25519(x25519::Identity),
    Ssh(age::ssh::Identity),
}

impl Key {
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    pub fn as_age(&self) -> &dyn age::Identity {
        match &self.secret {
            Secret::X25519(i) => i,
            Secret::Ssh(i) => i,
        }
    }
}

/// Every key of an identity file (or text), tried in turn, as `age -d -i`
/// tries them.
pub struct Identities {
    keys: Vec<Key>,
}

impl Identities {
    pub fn one(id: x25519::Identity) -> Identities {
        let recipient = Recipient::X25519(id.to_public());
        Identities {
            keys: vec![Key {
                secret: Secret::X25519(id),
                recipient,
            }],
        }
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn recipients(&self) -> Vec<Recipient> {
        self.keys.iter().map(|k| k.recipient.clone()).collect()
    }
}

/// The identities from `CRED_IDENTITY_FILE` or `CRED_IDENTITY`, if set.
pub fn from_env() -> Result<Option<(Identities, Source)>, FileError> {
    if let Some(p) = std::env::var_os(FILE_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(p);
        let text = read_identity_file(&path)?;
        let ids = parse(&text, &format!("{FILE_ENV} ({})", path.display()))?;
        return Ok(Some((ids, Source::File(path))));
    }
    if let Some(v) = std::env::var_os(TEXT_ENV).filter(|v| !v.is_empty()) {
        let text = Zeroizing::new(v.to_string_lossy().into_owned());
        return Ok(Some((parse(&text, TEXT_ENV)?, Source::Text)));
    }
    Ok(None)
}

fn read_identity_file(path: &Path) -> Result<Zeroizing<String>, FileError> {
    // A regular file of sensible size, owned and writable as ssh expects
    // (exit 1); then, before it is used, whether others may read it.
    let bytes = Zeroizing::new(checked::read(path, checked::SMALL_CAP)?.ok_or_else(|| {
        FileError::io(
            "read",
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })?);
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(FileError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    Ok(Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Every key of an identity file's text: each `AGE-SECRET-KEY-1…` line,
/// or one unencrypted OpenSSH `ssh-ed25519` / `ssh-rsa` private key. A
/// plugin identity, an encrypted SSH key or a line that is none of these
/// is refused. The text itself never goes into an error.
pub fn parse(text: &str, source_name: &str) -> Result<Identities, FileError> {
    let bad = |detail: String| FileError::BadIdentity {
        source_name: source_name.to_string(),
        detail,
    };
    if text.starts_with("age-encryption.org/")
        || text.contains("-----BEGIN AGE ENCRYPTED FILE-----")
    {
        return Err(bad(
            "it is itself encrypted (age -p); give the plain identity made by age-keygen".into(),
        ));
    }
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
        return parse_ssh(text, source_name);
    }
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(plugin) = plugin_of_identity(line) {
            return Err(FileError::PluginIdentity {
                source_name: source_name.to_string(),
                line: i + 1,
                plugin,
            });
        }
        if !line.starts_with("AGE-SECRET-KEY-1") {
            return Err(bad(format!(
                "line {} is not an age identity (AGE-SECRET-KEY-1…)",
                i + 1
            )));
        }
        let id = line.parse::<x25519::Identity>().map_err(|_| {
            bad(format!(
                "its AGE-SECRET-KEY-1 line (line {}) is not a valid X25519 identity",
                i + 1
            ))
        })?;
        keys.extend(Identities::one(id).keys);
    }
    if keys.is_empty() {
        return Err(bad("no line starts with AGE-SECRET-KEY-1".into()));
    }
    Ok(Identities { keys })
}

/// `AGE-PLUGIN-YUBIKEY-1…` → `yubikey`.
fn plugin_of_identity(line: &str) -> Option<String> {
    let rest = line.strip_prefix("AGE-PLUGIN-")?;
    let (name, _) = rest.rsplit_once('1')?;
    let name = name.strip_suffix('-')?;
    Some(crate::escape::visible(&name.to_ascii_lowercase()).into_owned())
}

fn parse_ssh(text: &str, source_name: &str) -> Result<Identities, FileError> {
    use age::ssh::{Identity, UnsupportedKey};
    let bad = |detail: String| FileError::BadIdentity {
        source_name: source_name.to_string(),
        detail,
    };
    let identity = Identity::from_buffer(text.as_bytes(), Some(source_name.to_string()))
        .map_err(|_| bad("it is not a valid OpenSSH private key".into()))?;
    match identity {
        Identity::Unencrypted(_) => {
            let recipient = age::ssh::Recipient::try_from(identity.clone())
                .map_err(|_| bad("age takes only ssh-ed25519 and ssh-rsa keys from SSH".into()))?;
            Ok(Identities {
                keys: vec![Key {
                    secret: Secret::Ssh(identity),
                    recipient: Recipient::Ssh(recipient),
                }],
            })
        }
        Identity::Encrypted(_)
        | Identity::Unsupported(UnsupportedKey::EncryptedPem | UnsupportedKey::EncryptedSsh(_)) => {
            Err(FileError::SshEncrypted {
                source_name: source_name.to_string(),
            })
        }
        Identity::Unsupported(UnsupportedKey::Hardware(t) | UnsupportedKey::Type(t)) => {
            Err(bad(format!(
                "age takes only ssh-ed25519 and ssh-rsa keys from SSH, not {}",
                crate::escape::visible(&t)
            )))
        }
    }
}

/// What would open the store, asking nobody: for `status` and `doctor`.
pub fn would_open(store: &Path, interactive: bool) -> Result<Source, FileError> {
    if let Some((_, source)) = from_env()? {
        return Ok(source);
    }
    let cached = cache::load(store);
    if let Ok(Some(c)) = &cached {
        return Ok(Source::Cached { until: c.until });
    }
    let id_path = identity_path(store);
    if interactive && id_path.exists() {
        return Ok(Source::Passphrase(id_path));
    }
    if interactive && !id_path.exists() && !store.exists() {
        return Ok(Source::Create(id_path));
    }
    Err(no_source(store, interactive, cached.err()))
}

pub fn check_available(store: &Path, interactive: bool) -> Result<(), FileError> {
    would_open(store, interactive).map(|_| ())
}

/// The error when nothing opens the store.
pub fn unavailable(store: &Path, interactive: bool) -> FileError {
    match would_open(store, interactive) {
        Err(e) => e,
        Ok(_) => no_source(store, false, None),
    }
}

fn no_source(store: &Path, interactive: bool, refused: Option<cache::Refused>) -> FileError {
    let id_path = identity_path(store);
    let cache_state = match refused {
        Some(r) => format!(
            "an unlock cached in the kernel keyring: unavailable ({})",
            r.0
        ),
        None => "an unlock cached in the kernel keyring: none (`cred unlock` makes one)".into(),
    };
    let passphrase = if !id_path.exists() {
        format!(
            "the passphrase of {}: there is no such file",
            id_path.display()
        )
    } else if interactive {
        format!("the passphrase of {}", id_path.display())
    } else {
        format!(
            "the passphrase of {}: there is no terminal to ask on",
            id_path.display()
        )
    };
    FileError::NoSource {
        path: store.to_path_buf(),
        tried: vec![
            format!("{FILE_ENV}: not set"),
            format!("{TEXT_ENV}: not set"),
            cache_state,
            passphrase,
        ],
        no_identity_file: !id_path.exists() && store.exists(),
    }
}

/// Finds the identity, asking on the terminal when it must (on the
/// calling thread, never under a store deadline).
pub fn obtain(store: &Path, ui: &Ui) -> Result<Identities, FileError> {
    if let Some((ids, _)) = from_env()? {
        verify_all(store, &ids)?;
        return Ok(ids);
    }
    let refused = match cache::load(store) {
        Ok(Some(c)) => {
            let ids = Identities::one(c.identity);
            if verify_all(store, &ids).is_ok() {
                return Ok(ids);
            }
            // A stale unlock (the store was made anew): forget it.
            let _ = cache::forget(store);
            None
        }
        Ok(None) => None,
        Err(r) => Some(r),
    };
    let id_path = identity_path(store);
    let interactive = ui.interactive();
    if !interactive || (!id_path.exists() && store.exists()) {
        return Err(no_source(store, interactive, refused));
    }
    // A bad CRED_UNLOCK_TTL stops here, before the passphrase is typed.
    let ttl = cache::ttl()?;
    let id = if id_path.exists() {
        let id = unlock_asking(ui, &id_path)?;
        verify(store, &id)?;
        id
    } else {
        create(ui, &id_path)?
    };
    remember(ui, store, &id, ttl, refused);
    Ok(Identities::one(id))
}

/// How many passphrases a person may type before the command gives up,
/// as sudo and ssh allow.
pub const TRIES: u32 = 3;

/// Asks for the passphrase of `id_path` on the terminal until it opens
/// it: a mistyped one is asked again, [`TRIES`] times in all.
pub fn unlock_asking(ui: &Ui, id_path: &Path) -> Result<x25519::Identity, FileError> {
    let prompt = format!("Passphrase for {}", id_path.display());
    let mut tries = 1;
    loop {
        let passphrase = ask(ui, &prompt, None)?;
        match unlock(id_path, passphrase) {
            Err(FileError::WrongPassphrase { .. }) if tries < TRIES => {
                let left = TRIES - tries;
                let left = if left == 1 {
                    "1 try left".to_string()
                } else {
                    format!("{left} tries left")
                };
                ui.status(&format!("Wrong passphrase; try again ({left})."));
                tries += 1;
            }
            other => return other,
        }
    }
}

fn ask(ui: &Ui, prompt: &str, confirm: Option<&str>) -> Result<SecretString, FileError> {
    ui.prompter()
        .passphrase(prompt, confirm)
        .map_err(|e| FileError::Prompt(Box::new(e)))
}

/// Keeps the identity in the kernel keyring for `ttl`, or says once why
/// it cannot.
fn remember(
    ui: &Ui,
    store: &Path,
    id: &x25519::Identity,
    ttl: std::time::Duration,
    refused: Option<cache::Refused>,
) {
    if ttl.is_zero() {
        return;
    }
    let result = match refused {
        Some(r) => Err(r),
        None => cache::keep(store, id, ttl).map(|_| ()),
    };
    if let Err(r) = result {
        note_refused(ui, &r);
    }
}

/// Says, once per run, that nothing can be kept and cred will ask again.
pub fn note_refused(ui: &Ui, refused: &cache::Refused) {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        ui.warn(&format!(
            "the kernel keyring cannot keep the unlock here ({}); cred will ask for the passphrase on each command",
            refused.0
        ));
    }
}

/// Checks that `id` opens the store (when there is one).
pub fn verify(store: &Path, id: &x25519::Identity) -> Result<(), FileError> {
    verify_all(store, &Identities::one(id.clone()))
}

/// Checks that one of `ids` opens the store (when there is one).
pub fn verify_all(store: &Path, ids: &Identities) -> Result<(), FileError> {
    super::read(store, ids).map(|_| ())
}

/// Decrypts `identity.age` with its passphrase (one scrypt).
pub fn unlock(id_path: &Path, passphrase: SecretString) -> Result<x25519::Identity, FileError> {
    let bytes = match checked::read(id_path, checked::SMALL_CAP)? {
        Some(b) => b,
        None => {
            return Err(FileError::NothingToUnlock {
                path: id_path.to_path_buf(),
            });
        }
    };
    let mut identity = scrypt::Identity::new(passphrase);
    // age's own limit is 16 times what this machine does in a second,
    // measured now: on a busy machine that refuses the file cred (or
    // `age -p`, 2^18) wrote when it was idle. 2^20 (1 GiB, a few seconds)
    // still refuses a file made to exhaust memory.
    identity.set_max_work_factor(20);
    let plain = match age::decrypt(&identity, &bytes) {
        Ok(p) => Zeroizing::new(p),
        Err(
            age::DecryptError::DecryptionFailed
            | age::DecryptError::NoMatchingKeys
            | age::DecryptError::KeyDecryptionFailed,
        ) => {
            return Err(FileError::WrongPassphrase {
                path: id_path.to_path_buf(),
            });
        }
        Err(e) => {
            return Err(FileError::Corrupt {
                path: id_path.to_path_buf(),
                detail: e.to_string(),
            });
        }
    };
    let text = Zeroizing::new(String::from_utf8_lossy(&plain).into_owned());
    let ids = parse(&text, &id_path.display().to_string())?;
    ids.keys
        .into_iter()
        .find_map(|k| match k.secret {
            Secret::X25519(i) => Some(i),
            Secret::Ssh(_) => None,
        })
        .ok_or_else(|| FileError::BadIdentity {
            source_name: id_path.display().to_string(),
            detail: "it holds no AGE-SECRET-KEY-1 line".into(),
        })
}

/// A new identity, written to `id_path` encrypted with a new passphrase.
fn create(ui: &Ui, id_path: &Path) -> Result<x25519::Identity, FileError> {
    ui.status(&format!(
        "The file store is new. Choose a passphrase: it protects {}, the key to your secrets; cred asks for it once per unlock ({} by default).",
        id_path.display(),
        humantime::format_duration(cache::DEFAULT_TTL)
    ));
    let passphrase = ask(
        ui,
        "New passphrase for the file store",
        Some("Repeat the passphrase"),
    )?;
    let id = x25519::Identity::generate();
    let text = Zeroizing::new(format!(
        "# created by cred {}\n# public key: {}\n{}\n",
        crate::config::now_rfc3339(),
        id.to_public(),
        id.to_string().expose_secret()
    ));
    let cipher =
        encrypt_with_passphrase(passphrase, text.as_bytes()).map_err(|e| FileError::Io {
            action: "encrypt",
            path: id_path.to_path_buf(),
            detail: e.to_string(),
        })?;
    create_private_dir(super::parent(id_path))?;
    write_private(id_path, &cipher)?;
    Ok(id)
}

fn encrypt_with_passphrase(passphrase: SecretString, plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let encryptor = age::Encryptor::with_user_passphrase(passphrase);
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out)?;
    writer.write_all(plain)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_age_keygen_files_and_never_echoes_them() {
        let id = x25519::Identity::generate();
        let text = format!(
            "# created: now\n# public key: {}\n{}\n",
            id.to_public(),
            id.to_string().expose_secret()
        );
        let parsed = parse(&text, "t").unwrap();
        assert_eq!(
            parsed.recipients()[0].to_string(),
            id.to_public().to_string()
        );
        let broken = "AGE-SECRET-KEY-1NOTAKEYATALLBUTLONGENOUGHTOLOOKLIKEONE";
        let Err(err) = parse(broken, "t") else {
            panic!("a broken identity parsed")
        };
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("NOTAKEY"), "{shown}");
    }
}
