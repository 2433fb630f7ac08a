//! `cred unlock` and `cred lock`: the file store's unlock on purpose. The
//! passphrase of `identity.age` (asked hidden on the terminal, or one line
//! on stdin with `--passphrase-stdin`) opens the identity once (one
//! scrypt); the kernel keyring keeps it for `--ttl` / `CRED_UNLOCK_TTL`,
//! so the next commands ask nothing. `cred lock` forgets it at once.

use std::io::Read;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::secrets::file::{self, FileError, cache, identity};

/// Unlock the file store: ask its passphrase once, keep the key for a while
#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// How long the unlock lasts, e.g. 15m, 2h; 0 keeps nothing [default: CRED_UNLOCK_TTL, else 15m]
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,

    /// Read the passphrase from standard input (one line; for scripts)
    #[arg(long)]
    pub passphrase_stdin: bool,
}

/// Lock the file store: forget the unlock kept in the kernel keyring
#[derive(Debug, clap::Args)]
pub struct LockArgs {}

pub fn run_unlock(ctx: &Ctx, args: UnlockArgs) -> Result<Exit> {
    let store = file::store_path()?;
    let id_path = file::identity_path(&store);
    let ttl = match &args.ttl {
        Some(t) => cache::parse_ttl(t, "--ttl")?,
        None => cache::ttl()?,
    };
    if !id_path.exists() {
        return Err(FileError::NothingToUnlock { path: id_path }.into());
    }
    let id = if args.passphrase_stdin {
        identity::unlock(&id_path, read_stdin()?)?
    } else if ctx.ui.interactive() {
        // A mistyped passphrase is asked again (three tries).
        identity::unlock_asking(ctx.ui, &id_path)?
    } else {
        return Err(
            Error::user("no passphrase given, and there is no terminal to ask for it")
                .hint("pipe it in: cred unlock --passphrase-stdin"),
        );
    };
    identity::verify(&store, &id)?;
    if ttl.is_zero() {
        ctx.ui
            .success("The passphrase is right; nothing was kept (TTL 0).");
        return Ok(Exit::Success);
    }
    let until =
        cache::keep(&store, &id, ttl).map_err(|r| FileError::KernelKeyring { detail: r.0 })?;
    ctx.ui.success(&format!(
        "Unlocked {} for {} (until {}); `cred lock` forgets it now.",
        store.display(),
        crate::human::duration(ttl),
        crate::human::local_time(&cache::format_until(until))
    ));
    Ok(Exit::Success)
}

pub fn run_lock(ctx: &Ctx, _args: LockArgs) -> Result<Exit> {
    let store = file::store_path()?;
    match cache::forget(&store) {
        Ok(true) => ctx.ui.success(&format!(
            "Locked {}: the next command asks for the passphrase.",
            store.display()
        )),
        Ok(false) => ctx
            .ui
            .status(&format!("{} was not unlocked.", store.display())),
        Err(r) => ctx.ui.status(&format!(
            "Nothing to forget: {} (cred keeps no unlock here).",
            r.0
        )),
    }
    Ok(Exit::Success)
}

/// One line from stdin, without its line ending (a passphrase may hold
/// spaces at either end).
fn read_stdin() -> Result<SecretString> {
    let mut raw = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| Error::user("could not read the passphrase from standard input").cause(e))?;
    let line = raw
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&raw);
    if line.contains('\n') {
        return Err(Error::user("standard input holds more than one line").hint(
            "pipe only the passphrase, e.g. `printf %s \"$PASS\" | cred unlock --passphrase-stdin`",
        ));
    }
    if line.is_empty() {
        return Err(Error::user("the passphrase on standard input is empty"));
    }
    Ok(SecretString::from(line.to_string()))
}
