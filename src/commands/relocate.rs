//! `cred move NAME --store STORE`: the secret goes to another store without
//! being typed again. It is written to the new store and read back, the
//! config is changed under its lock, and only then is the old copy deleted
//! (`secrets::txn::relocate`); any failure before that leaves the original
//! where it was. Works for any two stores.

use super::{Ctx, StoreArgs};
use crate::error::{Error, Exit, Result};
use crate::secrets::txn::{self, Undo};

/// Move a credential's secret to another store, without typing it again
#[derive(Debug, clap::Args)]
#[command(mut_arg("store", |a| a
    .required(true)
    .env(None::<&str>)
    .help("The store to move the secret to")))]
pub struct MoveArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,

    #[command(flatten)]
    pub to: StoreArgs,

    /// Replace an entry that already exists in Vault (writes a new version)
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: MoveArgs) -> Result<Exit> {
    let name = &args.name;
    let (to_kind, mount) = args.to.resolve(None)?;
    let credential = ctx.config.get(name)?;
    let from_kind = credential.store_kind();
    if from_kind == to_kind && credential.vault_mount == mount {
        ctx.ui.status(&format!(
            "`{name}` is already in {}; nothing to move.",
            from_kind.describe()
        ));
        return Ok(Exit::Success);
    }
    let secrets = ctx.secrets();
    let from = secrets.store_of(&credential)?;
    let to = secrets.open(to_kind, mount.as_deref())?;
    // Both stores must work (and be unlocked, which may ask a passphrase)
    // before the config is locked.
    for store in [&from, &to] {
        store
            .status()
            .map_err(|e| super::store_unusable(store, e))?;
        store.open()?;
    }
    // HOOK(check_writable): may this token write it, and is the name free in Vault (unless --force)?
    crate::secrets::vault::check_writable(to.kind(), mount.as_deref(), name, args.force)?;
    let mut locked = ctx.config.lock()?;
    match locked.config.credentials.get_mut(name) {
        Some(current)
            if current.store_kind() == from_kind
                && current.vault_mount == credential.vault_mount =>
        {
            current.store = to_kind;
            current.vault_mount = mount.clone();
        }
        _ => {
            return Err(Error::user(format!(
                "`{name}` was changed or removed while it was being moved"
            ))
            .cause("nothing was moved")
            .hint(format!(
                "run `cred move {name} --store {}` again",
                to_kind.id()
            )));
        }
    }
    let leftover = txn::relocate(
        &locked,
        &from,
        &to,
        name,
        Undo {
            restored: "the new copy was taken out again; the secret stays where it was",
            not_restored: "the new copy could not be taken out again",
        },
    )?;
    ctx.ui.success(&format!(
        "Moved `{name}` from {} to {}.",
        from_kind.describe(),
        to_kind.describe()
    ));
    if let Some(e) = leftover {
        ctx.ui.error(
            &Error::from(e)
                .cause(format!(
                    "the secret is in {} and config.toml says so, but the old copy is still in {}",
                    to_kind.describe(),
                    from_kind.describe()
                ))
                .hint("run `cred doctor --fix` to remove the old copy"),
        );
        return Ok(Exit::Store);
    }
    Ok(Exit::Success)
}
