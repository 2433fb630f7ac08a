//! Secrets have one way in: this module.
//!
//! Commands never name a store. They ask the [`Resolver`] (`Ctx::secrets`)
//! for a credential's secret; it takes `CRED_SECRET_<NAME>` from the
//! environment first ([`env`]), then the credential's own store
//! (`store = …` in config.toml, the OS keychain when absent). Each store
//! implements [`SecretStore`] and reports a typed [`StoreError`]; every call
//! to a store runs under a deadline ([`deadline`]), so a store that never
//! answers is an error, not a hang. "Write the secret, then the config,
//! undo on failure" is [`txn`].
//!
//! A new store is one file implementing [`SecretStore`] plus one arm of
//! [`StoreKind`].

pub mod deadline;
pub mod env;
pub mod error;
pub mod file;
pub mod keychain;
pub mod txn;
pub mod vault;

use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use deadline::Guarded;
pub use error::{Failure, StoreError};
pub use keychain::Keychain;
pub use vault::Vault;

use crate::config::Credential;
use crate::error::{Error, Result};
use crate::ui::Ui;

/// Where a credential's secret is kept (`store = …` in config.toml).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The OS keychain (macOS Keychain, Windows Credential Manager, the
    /// Secret Service on Linux)
    #[default]
    Keychain,
    /// OpenBao / HashiCorp Vault, KV version 2 (VAULT_ADDR, VAULT_TOKEN),
    /// shared by a team
    Vault,
    /// One age-encrypted file (secrets.age), opened by an age identity
    File,
}

impl StoreKind {
    pub fn id(self) -> &'static str {
        match self {
            StoreKind::Keychain => "keychain",
            StoreKind::Vault => "vault",
            StoreKind::File => "file",
        }
    }

    /// The store's name in messages: "the OS keychain".
    pub fn describe(self) -> &'static str {
        match self {
            StoreKind::Keychain => "the OS keychain",
            StoreKind::Vault => "Vault",
            StoreKind::File => "the file store",
        }
    }

    /// Where a secret is, in a sentence: "no secret in the keychain".
    pub fn place(self) -> &'static str {
        match self {
            StoreKind::Keychain => "the keychain",
            StoreKind::Vault => "Vault",
            StoreKind::File => "the file store",
        }
    }

    pub fn is_default(&self) -> bool {
        *self == StoreKind::default()
    }

    /// Whether the store is shared with other people and machines: an
    /// entry no local credential names is a teammate's, never an orphan.
    pub fn is_shared(self) -> bool {
        matches!(self, StoreKind::Vault)
    }
}

/// A secret as a store keeps it: the secret, and where it was stored for
/// (secrets stored before cred recorded it have no binding).
#[derive(Debug)]
pub struct Stored {
    pub secret: SecretString,
    pub binding: Option<Binding>,
}

type ReadEntry = Box<dyn Fn() -> Result<Option<SecretString>, StoreError> + Send + Sync>;
type RemoveEntry = Box<dyn FnOnce() -> Result<(), StoreError> + Send>;

/// One entry a store holds under cred's name (for `cred doctor`).
pub struct StoredEntry {
    /// The store's own name for it (the keychain's account `NAME@DIR`).
    pub account: String,
    /// The credential name, when the entry belongs to this config directory.
    pub name: Option<String>,
    /// Who wrote it, when the store can tell ("cred", "Python keyring").
    pub made_by: String,
    /// When it was written, when the store recorded it.
    pub written: Option<String>,
    /// Whether cred wrote it (it carries cred's record of where it goes).
    pub own: bool,
    /// Reads exactly this entry's secret.
    read: ReadEntry,
    /// Removes exactly this entry.
    remove: RemoveEntry,
}

impl StoredEntry {
    pub fn new(
        account: String,
        name: Option<String>,
        read: ReadEntry,
        remove: RemoveEntry,
    ) -> Self {
        StoredEntry {
            account,
            name,
            made_by: "cred".into(),
            written: None,
            own: true,
            read,
            remove,
        }
    }

    /// Who wrote it and when, and whether it is cred's own.
    pub fn origin(mut self, made_by: String, written: Option<String>, own: bool) -> Self {
        self.made_by = made_by;
        self.written = written;
        self.own = own;
        self
    }

    /// The secret this entry holds.
    pub fn read(&self) -> Result<Option<SecretString>, StoreError> {
        (self.read)()
    }

    pub fn remove(self) -> Result<(), StoreError> {
        (self.remove)()
    }

    /// For people: "paligo@/home/me/.config/cred (made by Python keyring)".
    pub fn describe(&self) -> String {
        match &self.written {
            Some(when) => format!(
                "{} (made by {}, written {})",
                self.account,
                self.made_by,
                crate::human::local_time(when)
            ),
            None => format!("{} (made by {})", self.account, self.made_by),
        }
    }
}

/// Where a stored secret may be sent: recorded with it in the store, so a
/// config.toml edited to send it elsewhere is caught before any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `paligo`, `paymo`, `generic`.
    pub provider: String,
    /// Scheme, host, port and base path: `https://acme.paligoapp.com/api/v2`.
    pub origin: String,
}

impl Binding {
    /// Where `credential` sends its secret now.
    pub fn of(credential: &Credential) -> Result<Binding> {
        let p = credential.provider.provider();
        let base = p.base_url()?;
        Ok(Binding {
            provider: p.kind().id().to_string(),
            origin: format!(
                "{}{}",
                base.origin().ascii_serialization(),
                base.path().trim_end_matches('/')
            ),
        })
    }
}

/// What every store can do.
pub trait SecretStore: Send + Sync {
    fn kind(&self) -> StoreKind;
    /// Makes the store ready on the calling thread, before any call that
    /// reads or writes secrets (the file store may ask for its passphrase
    /// here, never on the worker thread that runs under the deadline).
    fn open(&self, _ui: &Ui) -> Result<(), StoreError> {
        Ok(())
    }
    /// The store in use, as messages name it: "the OS keychain", "Vault at
    /// https://vault:8200", "the file store ~/.local/share/cred/secrets.age".
    fn name(&self) -> String {
        self.kind().describe().to_string()
    }
    /// The secret of credential `name` and where it was stored for, in one
    /// call; `None` when the store has none.
    fn get(&self, name: &str) -> Result<Option<Stored>, StoreError>;
    /// Stores the secret and where it may be sent (`None`: leave what the
    /// store recorded as it is).
    fn set(
        &self,
        name: &str,
        secret: &SecretString,
        binding: Option<&Binding>,
    ) -> Result<(), StoreError>;
    /// Deletes the secret; a missing one is not an error.
    fn delete(&self, name: &str) -> Result<(), StoreError>;
    /// Every entry the store holds for cred (any config directory).
    fn entries(&self) -> Result<Vec<StoredEntry>, StoreError>;
    /// Whether the store can be used now, and if not, why.
    fn status(&self) -> Result<(), StoreError>;

    /// Stores the secret together with the credential it belongs to
    /// (`add`, `rotate`, `move`). Stores shared by a team keep the
    /// credential's non-secret fields too, for `cred pull`.
    fn set_credential(
        &self,
        name: &str,
        secret: &SecretString,
        binding: &Binding,
        _credential: &Credential,
    ) -> Result<(), StoreError> {
        self.set(name, secret, Some(binding))
    }

    /// The non-secret fields a shared store keeps for `name` (what
    /// `cred pull` copies), `None` when it has no such entry or keeps none.
    fn shared(&self, _name: &str) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(None)
    }

    /// Where exactly the secret of `name` is, when the store can say more
    /// than its name: "secret/cred/paligo, version 3".
    fn locate(&self, _name: &str) -> Option<String> {
        None
    }

    /// Facts for `cred doctor` (address, token, …), from what `status`
    /// found (doctor calls it after `status`); empty when there is nothing
    /// to say beyond the status.
    fn details(&self) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }

    /// Whether `cred doctor` should look at this store although no
    /// credential uses it (the keychain always; Vault when its address is
    /// set; the file store when its file exists).
    fn configured(&self) -> bool {
        true
    }

    /// What `cred doctor` can say before asking the store anything, and
    /// whether looking inside would need a person (a passphrase): then
    /// doctor checks no entry.
    fn inspect(&self) -> Option<Overview> {
        None
    }

    /// What to look at when the store did not answer in time.
    fn timeout_hint(&self, _terminal: bool) -> String {
        "check that the store is up, then try again; CRED_STORE_TIMEOUT=SECONDS waits longer".into()
    }

    /// Ways around this store when it cannot be used at all (said by
    /// `add` before its first question).
    fn alternatives(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What `cred doctor` shows about a store before its status.
pub struct Overview {
    pub lines: Vec<String>,
    pub json: serde_json::Value,
    /// Looking inside would ask for a passphrase: doctor asks nothing.
    pub closed: bool,
}

/// Where a credential's secret would come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `CRED_SECRET_<NAME>`, named.
    Env(String),
    Store(StoreKind),
}

impl Source {
    /// For people: "CRED_SECRET_PALIGO (environment)", "the OS keychain".
    pub fn describe(&self) -> String {
        match self {
            Source::Env(var) => format!("{var} (environment)"),
            Source::Store(kind) => kind.describe().to_string(),
        }
    }

    /// For scripts: "env:CRED_SECRET_PALIGO", "keychain".
    pub fn id(&self) -> String {
        match self {
            Source::Env(var) => format!("env:{var}"),
            Source::Store(kind) => kind.id().to_string(),
        }
    }
}

/// Finds the secret of a credential: the environment, then its store.
pub struct Resolver<'a> {
    ui: &'a Ui,
    dir_identity: String,
}

impl<'a> Resolver<'a> {
    /// The secrets of the config directory named by `dir_identity`.
    pub fn new(ui: &'a Ui, dir_identity: String) -> Self {
        Resolver { ui, dir_identity }
    }

    /// The store `credential` keeps its secret in.
    pub fn store_of(&self, credential: &Credential) -> Result<Guarded<'a>> {
        self.open(credential.store_kind(), credential.vault_mount.as_deref())
    }

    /// The store of that kind; `vault_mount` picks Vault's KV mount.
    pub fn open(&self, kind: StoreKind, vault_mount: Option<&str>) -> Result<Guarded<'a>> {
        let timeout = deadline::timeout()?;
        let store: Arc<dyn SecretStore> = match kind {
            StoreKind::Keychain => Arc::new(Keychain::new(self.dir_identity.clone())),
            StoreKind::Vault => Arc::new(Vault::new(vault_mount, timeout)),
            StoreKind::File => Arc::new(file::FileStore::new(
                file::store_path()?,
                self.dir_identity.clone(),
                self.ui.interactive(),
            )),
        };
        Guarded::new(self.ui, store)
    }

    /// Where the secret of `name` would come from.
    pub fn source(&self, name: &str, credential: &Credential) -> Source {
        match env::var_name_if_set(name) {
            Some(var) => Source::Env(var),
            None => Source::Store(credential.store_kind()),
        }
    }

    /// The secret, to be sent where `credential` sends it, or `None` when
    /// its store has none. A secret stored for another provider or origin
    /// is refused: the config was changed to send it elsewhere.
    pub fn get_optional(
        &self,
        name: &str,
        credential: &Credential,
    ) -> Result<Option<SecretString>> {
        if let Some(secret) = env::lookup(name)? {
            return Ok(Some(secret));
        }
        // One store call for the secret and where it was stored for.
        let store = self.store_of(credential)?;
        let Some(stored) = store.get(name).map_err(|e| unusable(name, &store, e))? else {
            return Ok(None);
        };
        if let Some(bound) = &stored.binding {
            let now = Binding::of(credential)?;
            if *bound != now {
                return Err(Moved {
                    name: name.to_string(),
                    stored: bound.clone(),
                    now,
                }
                .into());
            }
        }
        Ok(Some(stored.secret))
    }

    /// The secret, to be sent; a missing one is an error with the fix.
    pub fn get(&self, name: &str, credential: &Credential) -> Result<SecretString> {
        self.get_optional(name, credential)?
            .ok_or_else(|| missing(name, credential))
    }

    /// The secret, to be shown (`cred secret`, `cred show`), wherever the
    /// config sends it now.
    pub fn reveal_optional(
        &self,
        name: &str,
        credential: &Credential,
    ) -> Result<Option<SecretString>> {
        if let Some(secret) = env::lookup(name)? {
            return Ok(Some(secret));
        }
        let store = self.store_of(credential)?;
        Ok(store
            .get(name)
            .map_err(|e| unusable(name, &store, e))?
            .map(|s| s.secret))
    }

    pub fn reveal(&self, name: &str, credential: &Credential) -> Result<SecretString> {
        self.reveal_optional(name, credential)?
            .ok_or_else(|| missing(name, credential))
    }
}

/// The store of `name` cannot be used now: the store's own words, then
/// [`ways_around`] it for this credential.
pub fn unusable(name: &str, store: &Guarded<'_>, e: StoreError) -> Error {
    if !e.failure.is_unavailable() {
        return Error::from(e);
    }
    ways_around(name, store.kind(), &store.name())
        .into_iter()
        .fold(Error::from(e), |err, hint| err.hint(hint))
}

/// The ways around an unusable store for credential `name`, by name: its
/// `CRED_SECRET_<NAME>` (CI, scripts, headless boxes) and, for the
/// keychain (neither the file store nor a team's Vault), `--store file`.
pub fn ways_around(name: &str, kind: StoreKind, store_name: &str) -> Vec<String> {
    let var = env::var_name(name);
    let mut hints = vec![format!(
        "in CI or a script, set {var} to the key: cred then uses it and opens no store (see the README, \"No desktop keychain\")"
    )];
    // A team's shared store is where the secret belongs: no local copy.
    if kind != StoreKind::File && !kind.is_shared() {
        hints.push(format!(
            "or keep the secret in an encrypted file instead: `cred move {name} --store file` where {store_name} answers, or add it again with `--store file`"
        ));
    }
    hints
}

fn missing(name: &str, credential: &Credential) -> Error {
    Error::from(StoreError::missing(
        name,
        credential.store_kind().describe(),
    ))
}

/// The config now sends a stored secret somewhere else than it was stored
/// for: refused before any request, naming what changed. A kind of its own
/// (`verify` fails that credential and checks the others).
#[derive(Debug, thiserror::Error)]
#[error("refusing to send the secret of `{name}` where it was not stored for: {}", self.changed())]
pub struct Moved {
    pub name: String,
    pub stored: Binding,
    pub now: Binding,
}

impl Moved {
    fn changed(&self) -> String {
        let (stored, now) = (&self.stored, &self.now);
        if stored.provider != now.provider {
            format!(
                "its provider changed from {} to {}",
                stored.provider, now.provider
            )
        } else {
            format!(
                "its address changed from {} to {}",
                stored.origin, now.origin
            )
        }
    }
}

impl From<Moved> for Error {
    fn from(moved: Moved) -> Error {
        let err = Error::user(moved.to_string());
        let (name, stored, now) = (&moved.name, &moved.stored, &moved.now);
        let err = moved_hints(err, name, stored, now);
        err.with_source(moved)
    }
}

/// What changed, and the way back, for a [`Moved`] secret.
fn moved_hints(err: Error, name: &str, stored: &Binding, now: &Binding) -> Error {
    // The same provider at its default address now, stored elsewhere: the
    // variable that moved it (a mirror, a test server) is not set in this
    // shell.
    if let Some(var) = url_var(&now.provider).filter(|_| {
        stored.provider == now.provider
            && crate::providers::env_url(&now.provider).is_none()
            && !same_domain(&stored.origin, &now.origin)
    }) {
        return err
            .cause(format!(
                "{var} is not set now, so cred uses the default address; the secret was stored while {var} pointed it to {}",
                stored.origin
            ))
            .hint(format!(
                "set {var} again as it was when you stored the key (export {var}=…), then try again"
            ))
            .hint(format!(
                "or, to use the default address from now on, enter the key again: cred rotate {name}"
            ));
    }
    err.cause(
        "config.toml (or a CRED_PROVIDER_URL_<ID> variable) now points the credential elsewhere",
    )
    .hint(format!(
        "if the change is yours, confirm it by entering the key again: cred rotate {name}"
    ))
}

/// Whether `stored` is on the default address's domain (another Paligo
/// instance: config.toml changed, not the variable).
fn same_domain(stored: &str, default: &str) -> bool {
    let host = |o: &str| {
        url::Url::parse(o)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
    };
    match (host(stored), host(default)) {
        (Some(s), Some(d)) => {
            let domain = d.split_once('.').map_or(d.as_str(), |(_, rest)| rest);
            s == d || s.ends_with(&format!(".{domain}"))
        }
        _ => false,
    }
}

/// The variable that overrides a provider's address, by provider id
/// (`CRED_PROVIDER_URL_<ID>`, or the older name Paligo and Paymo have).
fn url_var(provider: &str) -> Option<String> {
    (provider != "generic").then(|| crate::providers::url_var(provider))
}
