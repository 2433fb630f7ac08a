//! `cred rotate NAME`: a new secret (same sources as `add`), checked against
//! the live API, and only then written over the old one.

use super::{Ctx, KeySource};
use crate::error::{Exit, Result};

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
    let credential = ctx.store.get(name)?;
    let provider = &credential.provider;
    let label = match provider {
        crate::providers::ProviderConfig::Generic(g) => format!("New {}", g.label),
        _ => "New API key".to_string(),
    };
    let secret = args.key.read(ctx.ui, &label)?;
    let record = if args.no_verify {
        None
    } else {
        let client = crate::http::client(crate::check::timeout()?)?;
        let outcome = super::add::run_check(ctx.ui, &client, provider, &secret);
        if !outcome.is_valid() {
            return Err(outcome
                .into_error(provider.provider())
                .cause(format!("the old secret of `{name}` was kept")));
        }
        Some(outcome.record())
    };
    let mut locked = ctx.store.lock()?;
    ctx.keychain().set(name, &secret)?;
    if let Some(c) = locked.config.credentials.get_mut(name) {
        c.last_check = record;
        locked.save()?;
    }
    ctx.ui.success(&format!(
        "Rotated `{name}`: the new key is in the keychain."
    ));
    Ok(Exit::Success)
}
