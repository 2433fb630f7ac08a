//! Why a secret store could not give or take a secret, in words that fit
//! every store.
//!
//! A [`StoreError`] has a store-neutral [`Failure`] (what callers branch on,
//! and what fixes the exit code), the name of the store in use as messages
//! say it ("the OS keychain", "Vault at https://vault:8200", "the file store
//! ~/.local/share/cred/secrets.age"), and the store's own report: its
//! message, cause lines and hints. Each store keeps its precise typed error
//! (`KeychainError`, `FileError`, `VaultError`) and turns it into a
//! `StoreError` in one `From` impl beside it, so nothing above `secrets/`
//! names a store to explain a failure.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Exit};

/// What went wrong, whatever the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The store cannot be reached (no bus, no server, refused connection).
    Unreachable,
    /// The store did not answer within the deadline.
    Timeout,
    /// The store is there but locked (a keyring, a passphrase, a sealed Vault).
    Locked,
    /// The store refused this user or token (a policy, a revoked token).
    Refused,
    /// The store answered something cred cannot read (not its format).
    Unreadable,
    /// The store's settings cannot be used (no address, an exposed identity).
    Misconfigured,
    /// The credential has no secret there.
    Missing,
    /// The store holds several entries for one credential.
    Ambiguous,
    /// The credential's entry is there but cannot be used as it is.
    Malformed,
    /// Bad input to the store (a setting with a typo), exit 1.
    Invalid,
    /// A person gave up at the store's prompt: the prompt's own error.
    Cancelled,
    /// Two writers met (check-and-set): nothing was changed.
    Conflict,
}

impl Failure {
    /// The exit status (SPEC §3): the store is unavailable (7), or the data
    /// or the input needs the user's attention (1).
    pub fn exit(self) -> Exit {
        match self {
            Failure::Unreachable
            | Failure::Timeout
            | Failure::Locked
            | Failure::Refused
            | Failure::Unreadable
            | Failure::Misconfigured => Exit::Store,
            Failure::Missing
            | Failure::Ambiguous
            | Failure::Malformed
            | Failure::Invalid
            | Failure::Conflict => Exit::Failure,
            Failure::Cancelled => Exit::Cancelled,
        }
    }

    /// Whether the store itself could not be used (rather than one entry).
    pub fn is_unavailable(self) -> bool {
        self.exit() == Exit::Store
    }
}

/// A store's failure: its kind and the store's own words.
#[derive(Debug)]
pub struct StoreError {
    pub failure: Failure,
    /// The store's report: message, causes, hints (its exit is replaced by
    /// the failure's).
    report: Box<Error>,
}

impl StoreError {
    pub fn new(failure: Failure, report: Error) -> Self {
        StoreError {
            failure,
            report: Box::new(report),
        }
    }

    pub fn message(&self) -> &str {
        &self.report.message
    }

    /// `name` has no secret in `store`.
    pub fn missing(name: &str, store: &str) -> Self {
        let report = Error::user(format!("credential `{name}` has no secret in {store}")).hint(
            format!("store a new secret for it with `cred rotate {name}`"),
        );
        StoreError::new(Failure::Missing, report)
    }

    /// `store` holds several entries for `name`.
    pub fn ambiguous(name: &str, store: &str) -> Self {
        let report = Error::user(format!(
            "{store} holds several entries for credential `{name}`"
        ))
        .cause("two or more entries carry cred's name for the same credential (another client, or a merge, made a second one)")
        .hint("run `cred doctor` to see them, and `cred doctor --fix` to keep the one that works");
        StoreError::new(Failure::Ambiguous, report)
    }

    /// `store` did not answer within `after`; `hint` says what to look at.
    pub fn timeout(store: &str, after: Duration, hint: String) -> Self {
        let report = Error::store(format!(
            "{store} did not answer within {} s",
            after.as_secs_f64()
        ))
        .hint(hint);
        StoreError::new(Failure::Timeout, report)
    }

    /// `store` could not be used, for a reason cred found itself.
    pub fn unreachable(store: &str, detail: impl fmt::Display) -> Self {
        let report = Error::store(format!("cannot use {store}")).cause(detail);
        StoreError::new(Failure::Unreachable, report)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report.message)
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        let mut report = *e.report;
        if e.failure != Failure::Cancelled {
            report.kind = e.failure.exit().into();
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_comes_from_the_failure_not_the_store() {
        let e = StoreError::new(Failure::Malformed, Error::store("x"));
        assert_eq!(Error::from(e).exit(), Exit::Failure);
        let e = StoreError::timeout(
            "Vault at https://v:8200",
            Duration::from_secs(2),
            "h".into(),
        );
        let err = Error::from(e);
        assert_eq!(err.exit(), Exit::Store);
        assert_eq!(
            err.message,
            "Vault at https://v:8200 did not answer within 2 s"
        );
        assert_eq!(err.hints, vec!["h".to_string()]);
        let e = StoreError::missing("x", "the file store");
        assert_eq!(e.failure, Failure::Missing);
        assert_eq!(Error::from(e).exit(), Exit::Failure);
    }
}
