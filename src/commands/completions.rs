//! `cred completions SHELL`: prints the completion script for a shell. The
//! script calls `cred` back at Tab time (clap_complete's `CompleteEnv`), so
//! it completes stored credential names as well as commands and flags.

use clap::ValueEnum;
use clap_complete::env::EnvCompleter;

use super::Ctx;
use crate::error::{Exit, Result};

/// Print the shell completion script (bash, zsh, fish, powershell, elvish)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Install:
  bash:  cred completions bash > ~/.local/share/bash-completion/completions/cred
  zsh:   cred completions zsh > ~/.zfunc/_cred   (with fpath+=~/.zfunc before compinit)
  fish:  cred completions fish > ~/.config/fish/completions/cred.fish")]
pub struct CompletionsArgs {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl Shell {
    /// The file name the script is committed under in `completions/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Shell::Bash => "cred.bash",
            Shell::Zsh => "_cred",
            Shell::Fish => "cred.fish",
            Shell::Powershell => "_cred.ps1",
            Shell::Elvish => "cred.elv",
        }
    }

    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Shell::Bash => &clap_complete::env::Bash,
            Shell::Zsh => &clap_complete::env::Zsh,
            Shell::Fish => &clap_complete::env::Fish,
            Shell::Powershell => &clap_complete::env::Powershell,
            Shell::Elvish => &clap_complete::env::Elvish,
        }
    }
}

/// The completion script for `shell`: it asks `cred` (found on PATH) for
/// candidates, so names of stored credentials complete too.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    shell
        .completer()
        .write_registration("COMPLETE", "cred", "cred", "cred", &mut buf)
        .expect("writing to a Vec cannot fail");
    buf
}

pub fn run(ctx: &Ctx, args: CompletionsArgs) -> Result<Exit> {
    ctx.ui.out_bytes(&script(args.shell))?;
    Ok(Exit::Success)
}
