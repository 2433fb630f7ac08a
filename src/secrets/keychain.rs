//! Secrets in the OS keychain, through the `keyring` crate (macOS Keychain,
//! Windows Credential Manager, the Secret Service on Linux).
//!
//! Every entry has service `cred` and an account `NAME@CONFIG_DIR`, so the
//! entries of two config directories never meet, and a label
//! `cred: NAME (CONFIG_DIR)` that reads well in a keychain viewer. Failures to
//! reach the keychain are told apart (no session bus, no Secret Service,
//! locked) and exit with 7.

use std::collections::HashMap;

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod dbus;
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod read;
#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod session;

use keyring_core::Error as KeyringError;
use secrecy::{ExposeSecret, SecretString};

use super::{Binding, Failure, SecretStore, StoreError, StoreKind, Stored, StoredEntry};
use crate::error::Error;

pub const SERVICE: &str = "cred";
/// Item attributes recording where a secret may be sent (Secret Service;
/// keychains without attributes record nothing).
const PROVIDER_ATTR: &str = "cred_provider";
const ORIGIN_ATTR: &str = "cred_origin";
/// When cred wrote the item (RFC 3339), for `cred doctor`.
const WRITTEN_ATTR: &str = "cred_written";

/// The OS keychain, as messages name it.
pub const NAME: &str = "the OS keychain";

/// Why the OS keychain could not give or take a secret. The kind comes from
/// the keyring crate's error variants; only the platform store's start-up
/// failure, which the crate reports as text, is read in one place
/// ([`unreachable`]).
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    #[error("no D-Bus session bus is reachable")]
    NoBus { detail: String },
    #[error("no Secret Service is running on the session bus")]
    NoService { detail: String },
    #[error("the OS keychain could not be opened")]
    Unavailable { detail: String },
    #[error("the OS keychain is locked, or access to it was refused")]
    Locked {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The Secret Service answered what it never should (a secret for
    /// another session, one that does not decrypt, an oversized message).
    #[error("the OS keychain sent an answer cred cannot read")]
    #[cfg_attr(not(unix), allow(dead_code))] // cred's own reader is Unix's
    Unreadable { detail: String },
    #[error("the OS keychain reported an error")]
    Other {
        #[source]
        source: KeyringError,
    },
}

impl From<KeychainError> for StoreError {
    fn from(e: KeychainError) -> StoreError {
        let (failure, report) = match &e {
            KeychainError::NoBus { detail }
            | KeychainError::NoService { detail }
            | KeychainError::Unavailable { detail } => {
                let hint = match e {
                    KeychainError::NoBus { .. } => {
                        "run cred inside a desktop or login session, or start one with `dbus-run-session -- $SHELL`"
                    }
                    KeychainError::NoService { .. } => {
                        "start one (gnome-keyring-daemon or KeePassXC with Secret Service enabled), then try again"
                    }
                    _ => "check that your keychain service is running and unlocked",
                };
                let report = Error::store(format!("cannot reach the OS keychain: {e}"))
                    .cause(detail)
                    .hint(hint);
                (Failure::Unreachable, report)
            }
            KeychainError::Locked { source } => (
                Failure::Locked,
                Error::store(e.to_string())
                    .cause(source)
                    .hint("unlock your keychain (log in to the desktop session, or unlock the `login` collection), then try again"),
            ),
            KeychainError::Unreadable { detail } => (
                Failure::Unreadable,
                Error::store(e.to_string())
                    .cause(detail)
                    .hint("check that the keyring daemon is the one your desktop started (`cred doctor` shows the keychain's state)"),
            ),
            KeychainError::Other { source } => (
                Failure::Unreachable,
                Error::store(e.to_string()).cause(source),
            ),
        };
        StoreError::new(failure, report)
    }
}

/// The keychain entries belonging to one config directory.
#[derive(Debug, Clone)]
pub struct Keychain {
    dir_identity: String,
}

impl Keychain {
    pub fn new(dir_identity: String) -> Self {
        Keychain { dir_identity }
    }

    pub fn account(&self, name: &str) -> String {
        format!("{name}@{}", self.dir_identity)
    }

    fn entry(&self, name: &str) -> Result<keyring_core::Entry, StoreError> {
        ensure_store()?;
        let account = self.account(name);
        let label = format!("cred: {name} ({})", self.dir_identity);
        let modifiers = HashMap::from([("label", label.as_str())]);
        keyring_core::Entry::new_with_modifiers(SERVICE, &account, &modifiers)
            .map_err(|e| keychain_error(e, name))
    }

    /// The name of a credential of this config directory, from an account.
    fn name_of<'s>(&self, account: &'s str) -> Option<&'s str> {
        account
            .strip_suffix(self.dir_identity.as_str())
            .and_then(|rest| rest.strip_suffix('@'))
    }
}

impl SecretStore for Keychain {
    fn kind(&self) -> StoreKind {
        StoreKind::Keychain
    }

    fn name(&self) -> String {
        NAME.to_string()
    }

    fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        ))]
        {
            let account = self.account(name);
            let spec = HashMap::from([("service", SERVICE), ("username", account.as_str())]);
            match read::lookup(&spec) {
                Ok(read::Found::Secret { secret, attributes }) => {
                    return Ok(Some(Stored {
                        secret,
                        binding: binding_of(&attributes),
                    }));
                }
                Ok(read::Found::Nothing) => return Ok(None),
                // Locked, several items, no usable bus: the keyring crate's
                // way, which unlocks and reports as it always did.
                Ok(read::Found::Ask(reason)) => {
                    // Test hook (debug builds only): say why the quick read
                    // declined instead of asking the keyring crate, so the
                    // tests can tell which path answered.
                    #[cfg(debug_assertions)]
                    if std::env::var_os("CRED_TEST_QUICK_READ_ONLY").is_some() {
                        let detail = format!("the quick read declined: {reason}");
                        return Err(KeychainError::Unreadable { detail }.into());
                    }
                    let _ = reason;
                }
                Err(read::Unreadable(detail)) => {
                    return Err(KeychainError::Unreadable { detail }.into());
                }
            }
        }
        let entry = self.entry(name)?;
        let secret = match entry.get_password() {
            Ok(s) => SecretString::from(s),
            Err(KeyringError::NoEntry) => return Ok(None),
            Err(e) => return Err(keychain_error(e, name)),
        };
        let attributes = match entry.get_attributes() {
            Ok(a) => a,
            // Keychains that keep no attributes cannot record it.
            Err(KeyringError::NoEntry | KeyringError::NotSupportedByStore(_)) => HashMap::new(),
            Err(e) => return Err(keychain_error(e, name)),
        };
        Ok(Some(Stored {
            secret,
            binding: binding_of(&attributes),
        }))
    }

    fn set(
        &self,
        name: &str,
        secret: &SecretString,
        binding: Option<&Binding>,
    ) -> Result<(), StoreError> {
        let entry = self.entry(name)?;
        entry
            .set_password(secret.expose_secret())
            .map_err(|e| keychain_error(e, name))?;
        let Some(binding) = binding else {
            return Ok(());
        };
        let written = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let attributes = HashMap::from([
            (PROVIDER_ATTR, binding.provider.as_str()),
            (ORIGIN_ATTR, binding.origin.as_str()),
            (WRITTEN_ATTR, written.as_str()),
        ]);
        match entry.update_attributes(&attributes) {
            Ok(()) | Err(KeyringError::NotSupportedByStore(_)) => Ok(()),
            Err(e) => Err(keychain_error(e, name)),
        }
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        let entry = self.entry(name)?;
        match entry.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e, name)),
        }
    }

    fn entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        ensure_store()?;
        let spec = HashMap::from([("service", SERVICE)]);
        let found = keyring_core::Entry::search(&spec).map_err(|e| keychain_error(e, "*"))?;
        let mut entries = Vec::new();
        for entry in found {
            let Some((service, account)) = entry.get_specifiers() else {
                continue;
            };
            if service != SERVICE {
                continue;
            }
            let name = self.name_of(&account).map(str::to_string);
            let attributes = entry.get_attributes().unwrap_or_default();
            let own = binding_of(&attributes).is_some();
            let made_by = made_by(&attributes, own);
            let written = attributes.get(WRITTEN_ATTR).cloned();
            let entry = std::sync::Arc::new(entry);
            let reader = std::sync::Arc::clone(&entry);
            let read = Box::new(move || match reader.get_password() {
                Ok(s) => Ok(Some(SecretString::from(s))),
                Err(KeyringError::NoEntry) => Ok(None),
                Err(e) => Err(keychain_error(e, "*")),
            });
            let remove = Box::new(move || match entry.delete_credential() {
                Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
                Err(e) => Err(keychain_error(e, "*")),
            });
            entries
                .push(StoredEntry::new(account, name, read, remove).origin(made_by, written, own));
        }
        Ok(entries)
    }

    fn status(&self) -> Result<(), StoreError> {
        ensure_store()
    }

    fn timeout_hint(&self, terminal: bool) -> String {
        if terminal {
            "answer or dismiss the unlock prompt, or check that the keyring daemon is not stuck, then try again".into()
        } else {
            "check that the keyring daemon is running and not waiting on an unlock prompt; CRED_STORE_TIMEOUT=SECONDS waits longer, and CI jobs can set CRED_SECRET_<NAME> instead".into()
        }
    }

    fn alternatives(&self) -> Vec<String> {
        vec![
            "to call APIs from CI or a script without a keychain, store nothing: set CRED_SECRET_<NAME> (see the README, \"No desktop keychain\")".into(),
            "or keep the secret in an encrypted file instead: --store file (see the README, \"The file store\")".into(),
        ]
    }
}

/// Where a secret was stored for, from its item's attributes.
fn binding_of(attributes: &HashMap<String, String>) -> Option<Binding> {
    match (attributes.get(PROVIDER_ATTR), attributes.get(ORIGIN_ATTR)) {
        (Some(provider), Some(origin)) => Some(Binding {
            provider: provider.clone(),
            origin: origin.clone(),
        }),
        _ => None,
    }
}

/// Which client wrote an item, from the attributes clients leave.
fn made_by(attributes: &HashMap<String, String>, own: bool) -> String {
    if own {
        return "cred".into();
    }
    match attributes.get("application").map(String::as_str) {
        Some("Python keyring library") => "Python keyring".into(),
        Some(app) => crate::escape::visible(app).into_owned(),
        None => "another client (not cred)".into(),
    }
}

/// Connects to the platform store once per process; reports why it failed.
fn ensure_store() -> Result<(), StoreError> {
    match keyring::Entry::store_status() {
        Ok(()) => Ok(()),
        Err(e) => Err(unreachable(&e.to_string()).into()),
    }
}

/// Why the platform store could not be opened. The crate reports this only
/// as text (the D-Bus library's message), so this is the one place that
/// reads it.
fn unreachable(detail: &str) -> KeychainError {
    let lower = detail.to_lowercase();
    let detail = detail.to_string();
    if lower.contains("org.freedesktop.secrets")
        || lower.contains("serviceunknown")
        || lower.contains("service files")
    {
        KeychainError::NoService { detail }
    } else if lower.contains("connect")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("address")
        || lower.contains("no such file")
    {
        KeychainError::NoBus { detail }
    } else {
        KeychainError::Unavailable { detail }
    }
}

fn keychain_error(err: KeyringError, name: &str) -> StoreError {
    match err {
        KeyringError::NoEntry => StoreError::missing(name, NAME),
        KeyringError::NoStorageAccess(source) => KeychainError::Locked { source }.into(),
        KeyringError::NoDefaultStore => unreachable("no default credential store").into(),
        KeyringError::PlatformFailure(inner) => unreachable(&inner.to_string()).into(),
        KeyringError::Ambiguous(_) => StoreError::ambiguous(name, NAME),
        other => KeychainError::Other { source: other }.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_the_credential_and_the_config_dir() {
        let k = Keychain::new("/home/me/.config/cred".into());
        assert_eq!(k.account("paligo"), "paligo@/home/me/.config/cred");
    }

    #[test]
    fn unreachable_says_which() {
        let e = unreachable("Failed to connect to address unix:path=/run/user/0/bus");
        assert!(matches!(e, KeychainError::NoBus { .. }), "{e:?}");
        let err = Error::from(StoreError::from(e));
        assert!(
            err.message.contains("no D-Bus session bus"),
            "{}",
            err.message
        );
        assert_eq!(err.exit(), crate::error::Exit::Store);
        let e = unreachable("org.freedesktop.secrets was not provided by any .service files");
        assert!(matches!(e, KeychainError::NoService { .. }), "{e:?}");
    }
}
