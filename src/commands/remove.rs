//! `cred remove NAME`: deletes the keychain entry, then the config entry
//! (putting the secret back if the config cannot be written, `secrets::txn`).
//! Asks first on a terminal; without one it needs `--yes`.

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::secrets::txn::{self, SecretChange, Undo};

/// Delete a credential: its config entry and its secret in its store
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,

    /// Do not ask for confirmation (needed without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn run(ctx: &Ctx, args: RemoveArgs) -> Result<Exit> {
    let name = &args.name;
    let credential = ctx.config.get(name)?;
    if !args.yes {
        let mut prompter = ctx.ui.prompter();
        if !prompter.can_prompt() {
            return Err(
                Error::user(format!("not removing `{name}` without confirmation"))
                    .cause("there is no terminal to ask on")
                    .hint(format!("pass --yes: cred remove {name} --yes")),
            );
        }
        let kind = credential.store_kind();
        let question = format!(
            "Remove `{name}` ({}, {}) and its secret from {}{}?",
            credential.provider.provider().kind().id(),
            credential.provider.provider().target(),
            kind.place(),
            if kind.is_shared() {
                " (for everyone who uses it)"
            } else {
                ""
            }
        );
        if !prompter.confirm(&question, false)? {
            ctx.ui.status("Nothing removed.");
            return Ok(Exit::Failure);
        }
    }
    let store = ctx.secrets().store_of(&credential)?;
    let mut locked = ctx.config.lock()?;
    if locked.config.credentials.remove(name).is_none() {
        // Removed meanwhile by another cred: the secret may still be there.
        store.delete(name)?;
    } else {
        txn::commit(
            &locked,
            &store,
            name,
            SecretChange::Delete,
            Undo {
                restored: &format!(
                    "`{name}` was not removed; its secret is still in {}",
                    store.kind().place()
                ),
                not_restored: &format!(
                    "the secret of `{name}` could not be put back into {}",
                    store.kind().place()
                ),
            },
        )?;
    }
    ctx.ui.success(&format!("Removed `{name}`."));
    Ok(Exit::Success)
}
