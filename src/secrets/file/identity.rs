//! What opens the file store: an age X25519 identity, found in this order
//! (SPEC §6 "file"):
//!
//! 1. `CRED_IDENTITY_FILE`: an `age-keygen` file, refused when group or
//!    others can read it;
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

use super::{
    FileError, cache, create_private_dir, decrypt, identity_path, read_raw, write_private,
};
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

/// The identity from `CRED_IDENTITY_FILE` or `CRED_IDENTITY`, if set.
pub fn from_env() -> Result<Option<(x25519::Identity, Source)>, FileError> {
    if let Some(p) = std::env::var_os(FILE_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(p);
        let text = read_identity_file(&path)?;
        let id = parse(&text, &format!("{FILE_ENV} ({})", path.display()))?;
        return Ok(Some((id, Source::File(path))));
    }
    if let Some(v) = std::env::var_os(TEXT_ENV).filter(|v| !v.is_empty()) {
        let text = Zeroizing::new(v.to_string_lossy().into_owned());
        return Ok(Some((parse(&text, TEXT_ENV)?, Source::Text)));
    }
    Ok(None)
}

fn read_identity_file(path: &Path) -> Result<Zeroizing<String>, FileError> {
    let meta = std::fs::metadata(path).map_err(|e| FileError::io("read", path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(FileError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| FileError::io("read", path, e))?);
    Ok(Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The first `AGE-SECRET-KEY-1…` line of an identity file's text. The
/// text itself never goes into an error.
pub fn parse(text: &str, source_name: &str) -> Result<x25519::Identity, FileError> {
    let bad = |detail: &str| FileError::BadIdentity {
        source_name: source_name.to_string(),
        detail: detail.to_string(),
    };
    if text.starts_with("age-encryption.org/")
        || text.contains("-----BEGIN AGE ENCRYPTED FILE-----")
    {
        return Err(bad(
            "it is itself encrypted (age -p); give the plain identity made by age-keygen",
        ));
    }
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .ok_or_else(|| bad("no line starts with AGE-SECRET-KEY-1"))?;
    line.parse::<x25519::Identity>()
        .map_err(|_| bad("its AGE-SECRET-KEY-1 line is not a valid X25519 identity"))
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
pub fn obtain(store: &Path, ui: &Ui) -> Result<x25519::Identity, FileError> {
    if let Some((id, _)) = from_env()? {
        verify(store, &id)?;
        return Ok(id);
    }
    let refused = match cache::load(store) {
        Ok(Some(c)) => {
            if verify(store, &c.identity).is_ok() {
                return Ok(c.identity);
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
        let passphrase = ask(ui, &format!("Passphrase for {}", id_path.display()), None)?;
        let id = unlock(&id_path, passphrase)?;
        verify(store, &id)?;
        id
    } else {
        create(ui, &id_path)?
    };
    remember(ui, store, &id, ttl, refused);
    Ok(id)
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
    if let Some(bytes) = read_raw(store)? {
        decrypt(store, id, &bytes)?;
    }
    Ok(())
}

/// Decrypts `identity.age` with its passphrase (one scrypt).
pub fn unlock(id_path: &Path, passphrase: SecretString) -> Result<x25519::Identity, FileError> {
    let bytes = match read_raw(id_path)? {
        Some(b) => b,
        None => {
            return Err(FileError::NothingToUnlock {
                path: id_path.to_path_buf(),
            });
        }
    };
    let identity = scrypt::Identity::new(passphrase);
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
    parse(&text, &id_path.display().to_string())
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
        assert_eq!(parsed.to_public().to_string(), id.to_public().to_string());
        let broken = "AGE-SECRET-KEY-1NOTAKEYATALLBUTLONGENOUGHTOLOOKLIKEONE";
        let Err(err) = parse(broken, "t") else {
            panic!("a broken identity parsed")
        };
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("NOTAKEY"), "{shown}");
    }
}
