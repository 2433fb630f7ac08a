//! "Write the secret, then the config; undo the secret if the config cannot
//! be written": the one transaction `add`, `rotate`, `remove` and `move`
//! share, so that nothing is ever left half done (SPEC §4). `move` adds a
//! read-back before the config is written and deletes the old copy only
//! after it ([`relocate`]).

use secrecy::{ExposeSecret, SecretString};

use super::{Binding, Guarded, StoreError, Stored};
use crate::config::Locked;
use crate::error::{Error, Result};

/// What happens to the secret.
pub enum SecretChange<'a> {
    /// The secret, and where it may be sent.
    Set(&'a SecretString, &'a Binding),
    Delete,
}

/// What to say when the config write failed.
pub struct Undo<'a> {
    /// The store was put back as it was.
    pub restored: &'a str,
    /// Putting it back failed too (followed by why).
    pub not_restored: &'a str,
}

/// Applies `change` to the secret of `name` in `store`, then saves the
/// config held by `locked`; if saving fails, the secret is put back as it
/// was and the save's error returned, saying so.
pub fn commit(
    locked: &Locked,
    store: &Guarded<'_>,
    name: &str,
    change: SecretChange<'_>,
    undo: Undo<'_>,
) -> Result<()> {
    // Kept until the config agrees, so a failed write can put it back.
    let previous = previous(store, name)?;
    match change {
        SecretChange::Set(secret, binding) => match locked.config.credentials.get(name) {
            Some(credential) => store.set_credential(name, secret, binding, credential)?,
            None => store.set(name, secret, Some(binding))?,
        },
        SecretChange::Delete => store.delete(name)?,
    }
    save_or_put_back(locked, store, name, previous, undo)
}

/// `cred move`: copies the secret of `name` (and where it may be sent)
/// from `from` into `to`, reads it back from `to`, saves the config held
/// by `locked` (which the caller changed to name `to`), and only then
/// deletes the copy in `from`. A failure up to the save leaves `from` as
/// it was and `to` as it was before. A failure to delete the old copy
/// comes back as `Ok(Some(error))`: the move itself is done.
pub fn relocate(
    locked: &Locked,
    from: &Guarded<'_>,
    to: &Guarded<'_>,
    name: &str,
    undo: Undo<'_>,
) -> Result<Option<StoreError>> {
    let Some(Stored { secret, binding }) = from.get(name)? else {
        return Err(StoreError::missing(name, &from.name()).into());
    };
    let previous = previous(to, name)?;
    // A shared store keeps the credential's fields with the secret.
    match (locked.config.credentials.get(name), binding.as_ref()) {
        (Some(credential), Some(b)) => to.set_credential(name, &secret, b, credential)?,
        _ => to.set(name, &secret, binding.as_ref())?,
    }
    let same = match to.get(name) {
        Ok(Some(back)) => back.secret.expose_secret() == secret.expose_secret(),
        _ => false,
    };
    if !same {
        let put_back = put_back(to, name, &previous);
        let err = Error::store(format!(
            "the secret of `{name}` did not read back equal from {}",
            to.name()
        ))
        .cause(format!("{} still holds it; nothing was moved", from.name()));
        return Err(match put_back {
            Ok(()) => err,
            Err(e) => err.cause(format!("{}: {e}", undo.not_restored)),
        });
    }
    save_or_put_back(locked, to, name, previous, undo)?;
    Ok(from.delete(name).err())
}

type Previous = (Option<SecretString>, Option<Binding>);

/// What `store` holds for `name` now, to put back on failure.
fn previous(store: &Guarded<'_>, name: &str) -> Result<Previous, StoreError> {
    Ok(match store.get(name)? {
        Some(Stored { secret, binding }) => (Some(secret), binding),
        None => (None, None),
    })
}

fn put_back(store: &Guarded<'_>, name: &str, previous: &Previous) -> Result<(), StoreError> {
    match previous {
        (Some(old), binding) => store.set(name, old, binding.as_ref()),
        (None, _) => store.delete(name),
    }
}

/// Saves the config; if that fails, puts the secret in `store` back as it
/// was and returns the save's error, saying so.
fn save_or_put_back(
    locked: &Locked,
    store: &Guarded<'_>,
    name: &str,
    previous: Previous,
    undo: Undo<'_>,
) -> Result<()> {
    let Err(err) = locked.save() else {
        return Ok(());
    };
    Err(match put_back(store, name, &previous) {
        Ok(()) => err.cause(undo.restored),
        Err(e) => err.cause(format!("{}: {e}", undo.not_restored)),
    })
}
