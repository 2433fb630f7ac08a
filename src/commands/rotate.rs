//! `cred rotate NAME`: a new secret (same sources as `add`), checked against
//! the live API, and only then written over the old one. The config lock is
//! held from the last read to the write: a credential removed meanwhile is
//! not rotated back into existence, and a failed config write puts the old
//! secret back.

use super::{Ctx, KeySource};
use crate::check;
use crate::error::{Error, Exit, Result};
use crate::secrets::Binding;
use crate::secrets::txn::{self, SecretChange, Undo};

/// Replace a credential's secret: check the new key, then store it
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,

    #[command(flatten)]
    pub key: KeySource,

    /// Store the new key without checking it against the live API
    #[arg(long)]
    pub no_verify: bool,
}

pub fn run(ctx: &Ctx, args: RotateArgs) -> Result<Exit> {
    let name = &args.name;
    let credential = ctx.config.get(name)?;
    let provider = &credential.provider;
    // The store must work before anyone types a key for it.
    let store = ctx.secrets().store_of(&credential)?;
    store
        .status()
        .map_err(|e| super::store_unusable(&store, e))?;
    store.open()?;
    // HOOK(check_writable): may this token write it? The version read now is the one replaced.
    crate::secrets::vault::check_writable(
        store.kind(),
        credential.vault_mount.as_deref(),
        name,
        true,
    )?;
    let label = format!("New {}", provider.provider().secret_label());
    let secret = args
        .key
        .read(ctx.ui, &label, &format!("cred rotate {name}"))?;
    let record = if args.no_verify {
        None
    } else {
        let limit = check::timeout()?;
        let client = crate::http::client(limit)?;
        let outcome = check::with_spinner(ctx.ui, &client, provider, &secret, limit);
        if !outcome.is_valid() {
            return Err(outcome
                .into_error(provider.provider())
                .cause(format!("the old secret of `{name}` was kept")));
        }
        Some(outcome.record())
    };
    let mut locked = ctx.config.lock()?;
    let Some(current) = locked.config.credentials.get_mut(name) else {
        return Err(Error::user(format!(
            "`{name}` was removed while its new key was checked"
        ))
        .cause("nothing was stored")
        .hint(format!(
            "add it again with `cred add` if you still need `{name}`"
        )));
    };
    if current.provider != credential.provider {
        return Err(Error::user(format!(
            "`{name}` was changed while its new key was checked"
        ))
        .cause("nothing was stored")
        .hint(format!("run `cred rotate {name}` again")));
    }
    current.last_check = record;
    // Entering the key again confirms where it goes now.
    let binding = Binding::of(&credential)?;
    txn::commit(
        &locked,
        &store,
        name,
        SecretChange::Set(&secret, &binding),
        Undo {
            restored: "the old secret was put back; nothing was changed",
            not_restored: "the old secret could not be put back",
        },
    )?;
    let place = match store.locate(name) {
        // Vault keeps the old key as an earlier version, as far as the mount keeps any.
        Some(at) if store.kind().is_shared() => format!(
            "{} ({at} is current; {})",
            store.kind().describe(),
            crate::secrets::vault::history(credential.vault_mount.as_deref(), name)
        ),
        Some(at) => format!("{} ({at})", store.kind().describe()),
        None => store.kind().describe().to_string(),
    };
    ctx.ui
        .success(&format!("Rotated `{name}`: the new key is in {place}."));
    Ok(Exit::Success)
}
