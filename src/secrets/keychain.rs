//! Secrets in the OS keychain, through the `keyring` crate (macOS Keychain,
//! Windows Credential Manager, the Secret Service on Linux).
//!
//! Every entry has service `cred` and an account `NAME@CONFIG_DIR`, so the
//! entries of two config directories never meet, and a label
//! `cred: NAME (CONFIG_DIR)` that reads well in a keychain viewer. Failures to
//! reach the keychain are told apart (no session bus, no Secret Service,
//! locked) and exit with 7.

use std::collections::HashMap;
use std::time::Duration;

use keyring_core::Error as KeyringError;
use secrecy::{ExposeSecret, SecretString};

use super::{Binding, SecretStore, StoreKind, StoredEntry};
use crate::error::{Error, Exit};

pub const SERVICE: &str = "cred";
/// Item attributes recording where a secret may be sent (Secret Service;
/// keychains without attributes record nothing).
const PROVIDER_ATTR: &str = "cred_provider";
const ORIGIN_ATTR: &str = "cred_origin";

/// Why a secret store could not give or take a secret. For the keychain
/// the kind comes from the keyring crate's error variants; only the
/// platform store's start-up failure, which the crate reports as text, is
/// read in one place ([`unreachable`]).
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
    #[error("credential `{name}` has no secret in {store}")]
    Missing { name: String, store: &'static str },
    #[error("the keychain holds several entries for credential `{name}`")]
    Ambiguous { name: String },
    #[error("{store} did not answer within {} s", after.as_secs_f64())]
    Timeout {
        store: &'static str,
        after: Duration,
        /// Whether cred waited on a terminal (where an unlock prompt may
        /// have been open).
        terminal: bool,
    },
    /// The file store (its own kinds and hints).
    #[error(transparent)]
    File(#[from] super::file::FileError),
    #[error("the OS keychain reported an error")]
    Other {
        #[source]
        source: KeyringError,
    },
    #[error(transparent)]
    Vault(#[from] super::VaultError),
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
            StoreError::Missing { ref name, .. } => {
                let hint = format!("store a new secret for it with `cred rotate {name}`");
                Error::user(e.to_string()).hint(hint)
            }
            // Another client (Python's keyring, a second cred build) made a
            // second item: the store works, the data needs a repair.
            StoreError::Ambiguous { .. } => Error::user(e.to_string())
                .cause("two or more items have service `cred` and the same account")
                .hint("run `cred doctor` to see them, and `cred doctor --fix` to keep one"),
            StoreError::Timeout { terminal, .. } => {
                let hint = if terminal {
                    "answer or dismiss the unlock prompt, or check that the keyring daemon is not stuck, then try again"
                } else {
                    "check that the keyring daemon is running and not waiting on an unlock prompt; CRED_STORE_TIMEOUT=SECONDS waits longer, and CI jobs can set CRED_SECRET_<NAME> instead"
                };
                Error::keychain(e.to_string()).hint(hint)
            }
            StoreError::File(e) => e.into(),
            StoreError::Other { .. } => Error::new(Exit::Keychain, e.to_string()).with_source(e),
            StoreError::Vault(v) => v.into(),
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

    fn get(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        let entry = self.entry(name)?;
        match entry.get_password() {
            Ok(s) => Ok(Some(SecretString::from(s))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e, name)),
        }
    }

    fn binding(&self, name: &str) -> Result<Option<Binding>, StoreError> {
        let entry = self.entry(name)?;
        let attributes = match entry.get_attributes() {
            Ok(a) => a,
            // Keychains that keep no attributes cannot record it.
            Err(KeyringError::NoEntry | KeyringError::NotSupportedByStore(_)) => return Ok(None),
            Err(e) => return Err(keychain_error(e, name)),
        };
        Ok(
            match (attributes.get(PROVIDER_ATTR), attributes.get(ORIGIN_ATTR)) {
                (Some(provider), Some(origin)) => Some(Binding {
                    provider: provider.clone(),
                    origin: origin.clone(),
                }),
                _ => None,
            },
        )
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
        let attributes = HashMap::from([
            (PROVIDER_ATTR, binding.provider.as_str()),
            (ORIGIN_ATTR, binding.origin.as_str()),
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
            let remove = Box::new(move || match entry.delete_credential() {
                Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
                Err(e) => Err(keychain_error(e, "*")),
            });
            entries.push(StoredEntry::new(account, name, remove));
        }
        Ok(entries)
    }

    fn status(&self) -> Result<(), StoreError> {
        ensure_store()
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
            store: StoreKind::Keychain.place(),
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
