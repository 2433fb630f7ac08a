//! Every call to a secret store has a deadline (SPEC §6): a keyring daemon
//! that owns its bus name but never answers, or an unlock prompt nobody
//! sees, must not hang a script. Without a terminal the call gives up
//! after `CRED_STORE_TIMEOUT` seconds (default 10) with exit 7; on a
//! terminal a spinner says the store has not answered (an unlock prompt may
//! be open) and waits up to 2 minutes, Ctrl-C to give up.
//!
//! The store call runs on a thread of its own; when the deadline passes,
//! cred reports and exits, and the thread ends with the process.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use secrecy::SecretString;

use super::{Binding, Overview, SecretStore, StoreError, StoreKind, Stored, StoredEntry};
use crate::config::Credential;
use crate::error::Result;
use crate::ui::Ui;

pub const TIMEOUT_ENV: &str = "CRED_STORE_TIMEOUT";
/// How long a store may take without a terminal, unless `CRED_STORE_TIMEOUT` says.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long cred waits on a terminal, where a person may be typing an
/// unlock password.
pub const TERMINAL_WAIT: Duration = Duration::from_secs(120);
/// On a terminal, the spinner appears after this long without an answer.
const QUIET: Duration = Duration::from_millis(700);

/// A store whose every call is bounded in time.
pub struct Guarded<'a> {
    ui: &'a Ui,
    store: Arc<dyn SecretStore>,
    timeout: Duration,
}

impl<'a> Guarded<'a> {
    pub fn new(ui: &'a Ui, store: Arc<dyn SecretStore>) -> Result<Self> {
        Ok(Guarded {
            ui,
            store,
            timeout: timeout()?,
        })
    }

    pub fn kind(&self) -> StoreKind {
        self.store.kind()
    }

    /// Makes the store ready on this thread (a passphrase may be asked
    /// here); the calls below do it themselves when needed.
    pub fn open(&self) -> Result<(), StoreError> {
        self.store.open(self.ui)
    }

    /// The store in use, as messages name it.
    pub fn name(&self) -> String {
        self.store.name()
    }

    /// The secret and where it was stored for, in one call.
    pub fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        self.open()?;
        let name = name.to_string();
        self.run(move |s| s.get(&name))
    }

    /// Whether `cred doctor` should look at this store unasked.
    pub fn configured(&self) -> bool {
        self.store.configured()
    }

    /// What `cred doctor` can say before asking the store anything.
    pub fn inspect(&self) -> Option<Overview> {
        self.store.inspect()
    }

    /// Ways around the store when it cannot be used.
    pub fn alternatives(&self) -> Vec<String> {
        self.store.alternatives()
    }

    pub fn set(
        &self,
        name: &str,
        secret: &SecretString,
        binding: Option<&Binding>,
    ) -> Result<(), StoreError> {
        self.open()?;
        let name = name.to_string();
        let secret = secret.clone();
        let binding = binding.cloned();
        self.run(move |s| s.set(&name, &secret, binding.as_ref()))
    }

    /// Stores the secret with its credential's fields (see
    /// [`SecretStore::set_credential`]).
    pub fn set_credential(
        &self,
        name: &str,
        secret: &SecretString,
        binding: &Binding,
        credential: &Credential,
    ) -> Result<(), StoreError> {
        let name = name.to_string();
        let secret = secret.clone();
        let binding = binding.clone();
        let credential = credential.clone();
        self.run(move |s| s.set_credential(&name, &secret, &binding, &credential))
    }

    /// The non-secret fields a shared store keeps for `name`.
    pub fn shared(&self, name: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let name = name.to_string();
        self.run(move |s| s.shared(&name))
    }

    /// Where exactly the secret of `name` is, if the store says more.
    pub fn locate(&self, name: &str) -> Option<String> {
        let name = name.to_string();
        self.run(move |s| Ok(s.locate(&name))).ok().flatten()
    }

    /// Facts for `cred doctor`.
    pub fn details(&self) -> Vec<(&'static str, serde_json::Value)> {
        self.run(|s| Ok(s.details())).unwrap_or_default()
    }

    pub fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.open()?;
        let name = name.to_string();
        self.run(move |s| s.delete(&name))
    }

    pub fn entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        self.open()?;
        self.run(|s| s.entries())
    }

    /// Removes one entry found by [`Guarded::entries`].
    pub fn remove(&self, entry: StoredEntry) -> Result<(), StoreError> {
        self.run(move |_| entry.remove())
    }

    pub fn status(&self) -> Result<(), StoreError> {
        self.run(|s| s.status())
    }

    fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn SecretStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("secret-store".into())
            .spawn(move || {
                let _ = tx.send(call(store.as_ref()));
            })
            .map_err(|e| {
                StoreError::unreachable(
                    &self.store.name(),
                    format!("could not start a thread: {e}"),
                )
            })?;
        let timed_out = |after: Duration, terminal: bool| {
            StoreError::timeout(&self.store.name(), after, self.store.timeout_hint(terminal))
        };
        let (first, rest) = if self.ui.interactive() {
            (QUIET, TERMINAL_WAIT.saturating_sub(QUIET))
        } else {
            (self.timeout, Duration::ZERO)
        };
        match rx.recv_timeout(first) {
            Ok(result) => return result,
            Err(RecvTimeoutError::Disconnected) => return Err(self.gone()),
            Err(RecvTimeoutError::Timeout) if rest.is_zero() => {
                return Err(timed_out(first, false));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        let spinner = self.ui.spinner(&format!(
            "{} has not answered yet (an unlock prompt may be open); waiting up to {} s, Ctrl-C to give up…",
            capitalised(&self.store.name()),
            TERMINAL_WAIT.as_secs()
        ));
        let result = match rx.recv_timeout(rest) {
            Ok(result) => result,
            Err(RecvTimeoutError::Disconnected) => Err(self.gone()),
            Err(RecvTimeoutError::Timeout) => Err(timed_out(TERMINAL_WAIT, true)),
        };
        spinner.finish();
        result
    }

    /// The store's thread ended without an answer (it panicked).
    fn gone(&self) -> StoreError {
        StoreError::unreachable(&self.store.name(), "the store failed without an answer")
    }
}

fn capitalised(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `CRED_STORE_TIMEOUT`: seconds, more than 0 and at most an hour.
pub(super) fn timeout() -> Result<Duration> {
    crate::envvar::seconds(TIMEOUT_ENV, TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitals() {
        assert_eq!(capitalised("the OS keychain"), "The OS keychain");
    }
}
