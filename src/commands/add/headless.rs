//! A fresh headless box (a server over ssh, a container) has no OS
//! keychain, so the first `cred add` would stop with exit 7. On a terminal,
//! when the keychain was only the default (no `--store`, `CRED_STORE` or
//! `default_store`), cred offers the file store instead and records the
//! choice as `default_store = "file"` in config.toml, so the next `add`
//! does not ask. Without a terminal the error stays, with its hints.

use super::{AddArgs, Ctx};
use crate::error::Result;
use crate::secrets::{Failure, Guarded, StoreKind};

/// The store `add` writes to, usable: `store` (of `kind`) when it works;
/// else, on a terminal and when the person agrees, the file store; else
/// the store's error with the ways around it.
pub fn usable<'a>(
    ctx: &'a Ctx,
    args: &AddArgs,
    kind: StoreKind,
    store: Guarded<'a>,
) -> Result<(StoreKind, Guarded<'a>)> {
    let err = match store.status() {
        Ok(()) => return Ok((kind, store)),
        Err(e) => e,
    };
    let no_keychain = kind == StoreKind::Keychain && err.failure == Failure::Unreachable;
    let err = super::super::store_unusable(&store, err);
    let chosen = args.store.store.is_some() || ctx.config.load()?.default_store.is_some();
    if chosen || !no_keychain || !ctx.ui.interactive() {
        return Err(err);
    }
    let path = crate::secrets::file::store_path()?;
    ctx.ui.warn(&err.message);
    let question = format!(
        "No OS keychain here. Keep the secret in an encrypted file ({}) protected by a passphrase?",
        path.display()
    );
    if !ctx.ui.prompter().confirm(&question, true)? {
        return Err(err);
    }
    let mut locked = ctx.config.lock()?;
    locked.config.default_store = Some(StoreKind::File);
    locked.save()?;
    ctx.ui.status(&format!(
        "Recorded default_store = \"file\" in {}: the next cred add uses the file store too.",
        ctx.config.path().display()
    ));
    let file = ctx.secrets().open(StoreKind::File, None)?;
    file.status()
        .map_err(|e| super::super::store_unusable(&file, e))?;
    Ok((StoreKind::File, file))
}
