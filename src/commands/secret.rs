//! `cred secret NAME`: the raw secret and a newline on stdout, for scripts
//! that must hand it to another tool.

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::Ctx;
use crate::error::{Exit, Result};

/// Print the raw secret (for scripts; prefer `cred call`)
#[derive(Debug, clap::Args)]
pub struct SecretArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,
}

pub fn run(ctx: &Ctx, args: SecretArgs) -> Result<Exit> {
    let credential = ctx.config.get(&args.name)?;
    let secret = ctx.secrets().reveal(&args.name, &credential)?;
    let mut line = Zeroizing::new(String::with_capacity(secret.expose_secret().len() + 1));
    line.push_str(secret.expose_secret());
    line.push('\n');
    ctx.ui.out_bytes(line.as_bytes())?;
    Ok(Exit::Success)
}
