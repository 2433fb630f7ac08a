//! `cred remove NAME`: deletes the keychain entry, then the config entry
//! (putting the secret back if the config cannot be written, `secrets::txn`).
//! Asks first on a terminal; without one it needs `--yes`. `--local`
//! forgets the credential in config.toml only and leaves its secret where
//! it is (a teammate's credential in a shared Vault).

use super::Ctx;
use crate::config::Credential;
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

    /// Forget the credential in config.toml only; its secret stays in its store (a shared Vault credential stays for everyone else)
    #[arg(long)]
    pub local: bool,
}

pub fn run(ctx: &Ctx, args: RemoveArgs) -> Result<Exit> {
    let name = &args.name;
    // Also a credential whose provider file is gone: removing it is the fix.
    let credential = ctx.config.get_any(name)?;
    if !args.yes && !confirmed(ctx, &args, &credential)? {
        ctx.ui.status("Nothing removed.");
        return Ok(Exit::Failure);
    }
    if args.local {
        return forget_here(ctx, name, &credential);
    }
    remove_everywhere(ctx, name, &credential)
}

/// Asks on the terminal whether to remove (or, with `--local`, forget)
/// the credential; without a terminal, an error naming `--yes`.
fn confirmed(ctx: &Ctx, args: &RemoveArgs, credential: &Credential) -> Result<bool> {
    let name = &args.name;
    let mut prompter = ctx.ui.prompter();
    if !prompter.can_prompt() {
        return Err(
            Error::user(format!("not removing `{name}` without confirmation"))
                .cause("there is no terminal to ask on")
                .hint(format!("pass --yes: cred remove {name} --yes")),
        );
    }
    let kind = credential.store_kind();
    let question = if args.local {
        format!(
            "Forget `{name}` here (its secret stays in {})?",
            kind.place()
        )
    } else {
        format!(
            "Remove `{name}` ({}, {}) and its secret from {}{}?",
            credential.provider.provider().kind().id(),
            credential.provider.provider().target(),
            kind.place(),
            if kind.is_shared() {
                " (for everyone who uses it)"
            } else {
                ""
            }
        )
    };
    prompter.confirm(&question, false)
}

/// `--local`: the config entry only; the secret stays in its store.
fn forget_here(ctx: &Ctx, name: &str, credential: &Credential) -> Result<Exit> {
    let mut locked = ctx.config.lock()?;
    if locked.config.credentials.remove(name).is_some() {
        locked.save()?;
    }
    ctx.ui.success(&format!(
        "Forgot `{name}` here; its secret is still in {}.",
        credential.store_kind().place()
    ));
    Ok(Exit::Success)
}

/// The secret from its store, then the config entry (the secret put back
/// if the config cannot be written).
fn remove_everywhere(ctx: &Ctx, name: &str, credential: &Credential) -> Result<Exit> {
    let store = ctx.secrets().store_of(credential)?;
    let shared = store.kind().is_shared();
    // A shared store may refuse the delete (a policy without it): forgetting
    // the credential here is then what the user can do.
    let offer_local = |e: Error| {
        if shared && e.exit() == Exit::Store {
            e.hint(format!(
                "to forget it here only and keep it in {} for everyone else: cred remove {name} --local",
                store.kind().place()
            ))
        } else {
            e
        }
    };
    let mut locked = ctx.config.lock()?;
    if locked.config.credentials.remove(name).is_none() {
        // Removed meanwhile by another cred: the secret may still be there.
        store
            .delete(name)
            .map_err(|e| offer_local(Error::from(e)))?;
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
        )
        .map_err(offer_local)?;
    }
    ctx.ui.success(&format!("Removed `{name}`."));
    Ok(Exit::Success)
}
