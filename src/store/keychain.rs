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

use crate::error::{Error, Exit, Result};

pub const SERVICE: &str = "cred";

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

    fn entry(&self, name: &str) -> Result<keyring_core::Entry> {
        ensure_store()?;
        let account = self.account(name);
        let label = format!("cred: {name} ({})", self.dir_identity);
        let modifiers = HashMap::from([("label", label.as_str())]);
        keyring_core::Entry::new_with_modifiers(SERVICE, &account, &modifiers)
            .map_err(|e| keychain_error(e, name))
    }

    /// The secret of credential `name`.
    pub fn get(&self, name: &str) -> Result<SecretString> {
        let entry = self.entry(name)?;
        entry
            .get_password()
            .map(SecretString::from)
            .map_err(|e| keychain_error(e, name))
    }

    /// The secret, or `None` when the entry does not exist.
    pub fn get_optional(&self, name: &str) -> Result<Option<SecretString>> {
        match self.get(name) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.message.contains(MISSING) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn set(&self, name: &str, secret: &SecretString) -> Result<()> {
        let entry = self.entry(name)?;
        entry
            .set_password(secret.expose_secret())
            .map_err(|e| keychain_error(e, name))
    }

    /// Deletes the entry; a missing entry is not an error.
    pub fn delete(&self, name: &str) -> Result<()> {
        let entry = self.entry(name)?;
        match entry.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e, name)),
        }
    }
}

const MISSING: &str = "has no secret in the keychain";

/// Connects to the platform store once per process; reports why it failed.
fn ensure_store() -> Result<()> {
    match keyring::Entry::store_status() {
        Ok(()) => Ok(()),
        Err(e) => Err(unreachable_error(&e.to_string())),
    }
}

fn unreachable_error(detail: &str) -> Error {
    let lower = detail.to_lowercase();
    let (what, hint) = if lower.contains("org.freedesktop.secrets")
        || lower.contains("serviceunknown")
        || lower.contains("service files")
    {
        (
            "no Secret Service is running on the session bus",
            "start one (gnome-keyring-daemon or KeePassXC with Secret Service enabled), then try again",
        )
    } else if lower.contains("connect")
        || lower.contains("dbus_session_bus_address")
        || lower.contains("address")
        || lower.contains("no such file")
    {
        (
            "no D-Bus session bus is reachable",
            "run cred inside a desktop or login session, or start one with `dbus-run-session -- $SHELL`",
        )
    } else {
        (
            "the OS keychain could not be opened",
            "check that your keychain service is running and unlocked",
        )
    };
    Error::keychain(format!("cannot reach the OS keychain: {what}"))
        .cause(detail)
        .hint(hint)
}

fn keychain_error(err: KeyringError, name: &str) -> Error {
    match err {
        KeyringError::NoEntry => Error::user(format!("credential `{name}` {MISSING}"))
            .hint(format!("store a new secret for it with `cred rotate {name}`")),
        KeyringError::NoStorageAccess(inner) => {
            Error::keychain("the OS keychain is locked, or access to it was refused")
                .cause(inner)
                .hint("unlock your keychain (log in to the desktop session, or unlock the `login` collection), then try again")
        }
        KeyringError::NoDefaultStore => unreachable_error("no default credential store"),
        KeyringError::PlatformFailure(inner) => unreachable_error(&inner.to_string()),
        KeyringError::Ambiguous(_) => Error::keychain(format!(
            "the keychain holds several entries for credential `{name}`"
        ))
        .hint("remove the duplicates in your keychain viewer (service `cred`), then `cred rotate` the credential"),
        other => Error::new(Exit::Keychain, "the OS keychain reported an error").cause(other),
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
        let e = unreachable_error("Failed to connect to address unix:path=/run/user/0/bus");
        assert!(e.message.contains("no D-Bus session bus"), "{}", e.message);
        assert_eq!(e.exit, Exit::Keychain);
        let e = unreachable_error("org.freedesktop.secrets was not provided by any .service files");
        assert!(e.message.contains("no Secret Service"), "{}", e.message);
    }
}
