//! "Write the secret, then the config; undo the secret if the config cannot
//! be written": the one transaction `add`, `rotate` and `remove` share, so
//! that nothing is ever left half done (SPEC §4).

use secrecy::SecretString;

use super::{Binding, Guarded};
use crate::config::Locked;
use crate::error::Result;

/// What happens to the secret.
pub enum SecretChange<'a> {
    /// The secret, and where it may be sent.
    Set(&'a SecretString, &'a Binding),
    Delete,
}

/// What to say when the config write failed.
pub struct Undo<'a> {
    /// The keychain was put back as it was.
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
    let previous = store.get_bound(name)?;
    match change {
        SecretChange::Set(secret, binding) => match locked.config.credentials.get(name) {
            Some(credential) => store.set_credential(name, secret, binding, credential)?,
            None => store.set(name, secret, Some(binding))?,
        },
        SecretChange::Delete => store.delete(name)?,
    }
    let Err(err) = locked.save() else {
        return Ok(());
    };
    let put_back = match &previous {
        (Some(old), binding) => store.set(name, old, binding.as_ref()),
        (None, _) => store.delete(name),
    };
    Err(match put_back {
        Ok(()) => err.cause(undo.restored),
        Err(e) => err.cause(format!("{}: {e}", undo.not_restored)),
    })
}
