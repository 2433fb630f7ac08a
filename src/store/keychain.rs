//! Secrets in the OS keychain, through the `keyring` crate (macOS Keychain,
//! Windows Credential Manager, the Secret Service on Linux).
//!
//! Every entry has service `cred` and an account `NAME@CONFIG_DIR`, so the
//! entries of two config directories never meet, and a label
//! `cred: NAME (CONFIG_DIR)` that reads well in a keychain viewer. Failures to
//! reach the keychain are told apart (no session bus, no Secret Service,
//! locked) and exit with 7.

use std::collections::HashMap;

use keyring_core::Error as KeyringError;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Exit};

pub const SERVICE: &str = "cred";

/// Why the keychain could not give or take a secret. The kind comes from
/// the keyring crate's error variants; only the platform store's start-up
/// failure, which the crate reports as text, is read in one place
/// ([`unreachable`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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
    #[error("credential `{name}` has no secret in the keychain")]
    Missing { name: String },
    #[error("the keychain holds several entries for credential `{name}`")]
    Ambiguous { name: String },
    #[error("the OS keychain reported an error")]
    Other {
        #[source]
        source: KeyringError,
    },
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NoBus { ref detail }
            | StoreError::NoService { ref detail }
            | StoreError::Unavailable { ref detail } => {
                let hint = match e {
                    StoreError::NoBus { .. } => {
                        "run cred inside a desktop or login session, or start one with `dbus-run-session -- $SHELL`"
                    }
                    StoreError::NoService { .. } => {
                        "start one (gnome-keyring-daemon or KeePassXC with Secret Service enabled), then try again"
                    }
                    _ => "check that your keychain service is running and unlocked",
                };
                Error::keychain(format!("cannot reach the OS keychain: {e}"))
                    .cause(detail)
                    .hint(hint)
            }
            StoreError::Locked { .. } => Error::keychain(e.to_string())
                .hint("unlock your keychain (log in to the desktop session, or unlock the `login` collection), then try again")
                .with_source(e),
            StoreError::Missing { ref name } => {
                let hint = format!("store a new secret for it with `cred rotate {name}`");
                Error::user(e.to_string()).hint(hint)
            }
            StoreError::Ambiguous { .. } => Error::keychain(e.to_string())
                .hint("remove the duplicates in your keychain viewer (service `cred`), then `cred rotate` the credential"),
            StoreError::Other { .. } => Error::new(Exit::Keychain, e.to_string()).with_source(e),
        }
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

    /// The secret of credential `name`.
    pub fn get(&self, name: &str) -> Result<SecretString, StoreError> {
        let entry = self.entry(name)?;
        entry
            .get_password()
            .map(SecretString::from)
            .map_err(|e| keychain_error(e, name))
    }

    /// The secret, or `None` when the entry does not exist.
    pub fn get_optional(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        match self.get(name) {
            Ok(s) => Ok(Some(s)),
            Err(StoreError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn set(&self, name: &str, secret: &SecretString) -> Result<(), StoreError> {
        let entry = self.entry(name)?;
        entry
            .set_password(secret.expose_secret())
            .map_err(|e| keychain_error(e, name))
    }

    /// Deletes the entry; a missing entry is not an error.
    pub fn delete(&self, name: &str) -> Result<(), StoreError> {
        let entry = self.entry(name)?;
        match entry.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e, name)),
        }
    }
}

/// Connects to the platform store once per process; reports why it failed.
fn ensure_store() -> Result<(), StoreError> {
    match keyring::Entry::store_status() {
        Ok(()) => Ok(()),
        Err(e) => Err(unreachable(&e.to_string())),
    }
}

/// Why the platform store could not be opened. The crate reports this only
/// as text (the D-Bus library's message), so this is the one place that
/// reads it.
fn unreachable(detail: &str) -> StoreError {
    let lower = detail.to_lowercase();
    let detail = detail.to_string();
    if lower.contains("org.freedesktop.secrets")
        || lower.contains("serviceunknown")
        || lower.contains("service files")
    {
        StoreError::NoService { detail }
    } else if lower.contains("connect")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("address")
        || lower.contains("no such file")
    {
        StoreError::NoBus { detail }
    } else {
        StoreError::Unavailable { detail }
    }
}

fn keychain_error(err: KeyringError, name: &str) -> StoreError {
    match err {
        KeyringError::NoEntry => StoreError::Missing {
            name: name.to_string(),
        },
        KeyringError::NoStorageAccess(source) => StoreError::Locked { source },
        KeyringError::NoDefaultStore => unreachable("no default credential store"),
        KeyringError::PlatformFailure(inner) => unreachable(&inner.to_string()),
        KeyringError::Ambiguous(_) => StoreError::Ambiguous {
            name: name.to_string(),
        },
        other => StoreError::Other { source: other },
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
        assert!(matches!(e, StoreError::NoBus { .. }), "{e:?}");
        let err = Error::from(e);
        assert!(
            err.message.contains("no D-Bus session bus"),
            "{}",
            err.message
        );
        assert_eq!(err.exit(), Exit::Keychain);
        let e = unreachable("org.freedesktop.secrets was not provided by any .service files");
        assert!(matches!(e, StoreError::NoService { .. }), "{e:?}");
    }
}
