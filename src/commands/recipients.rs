//! `cred recipients list|add|remove`: whom the file store is encrypted to
//! (`recipients.txt` beside `secrets.age`, age's recipients-file format).
//! `add` and `remove` re-encrypt the store at once, under its lock,
//! atomically; `remove` refuses to drop the last recipient whose identity
//! is at hand, and no change drops a recipient the file is encrypted to
//! that the list does not name.

use std::path::PathBuf;

use serde_json::json;

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::secrets::file::{self, FileError, Recipient, checked, identity, recipients};

/// Show or change whom the file store is encrypted to
#[derive(Debug, clap::Args)]
pub struct RecipientsArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// List the recipients of recipients.txt and what the store is encrypted to
    List {
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
    /// Add a recipient (age1…, or an ssh-ed25519 / ssh-rsa public key) and re-encrypt the store
    Add {
        /// The recipient, e.g. the output of `age-keygen -y IDENTITY`
        #[arg(
            value_name = "RECIPIENT",
            required_unless_present = "file",
            conflicts_with = "file"
        )]
        recipient: Option<String>,
        /// Add every recipient of a recipients file (one per line, # comments)
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Remove a recipient and re-encrypt the store without it
    Remove {
        /// The recipient, as `cred recipients list` shows it
        #[arg(value_name = "RECIPIENT")]
        recipient: String,
    },
}

pub fn run(ctx: &Ctx, args: RecipientsArgs) -> Result<Exit> {
    let store = file::store_path()?;
    match args.action {
        Action::List { json } => list(ctx, &store, json),
        Action::Add { recipient, file } => {
            let new = match (recipient, file) {
                (Some(r), _) => {
                    vec![Recipient::parse(&r).map_err(|why| FileError::BadRecipient {
                        source_name: "the recipient given".into(),
                        why,
                    })?]
                }
                (None, Some(f)) => read_list(&f)?,
                (None, None) => unreachable!("clap requires one"),
            };
            let ids = identity::obtain(&store, ctx.ui)?;
            let mut already = Vec::new();
            let changed = file::change_recipients(&store, &ids, |list| {
                already.clear();
                let mut changed = false;
                for r in &new {
                    if list.contains(r) {
                        already.push(r.to_string());
                    } else {
                        list.push(r.clone());
                        changed = true;
                    }
                }
                Ok(changed)
            })?;
            for r in &already {
                ctx.ui.status(&format!("{r} is a recipient already."));
            }
            if let Some(list) = changed {
                ctx.ui.success(&format!(
                    "{} now encrypted to {} recipient(s), listed in {}.",
                    store.display(),
                    list.len(),
                    recipients::path(&store).display()
                ));
            }
            Ok(Exit::Success)
        }
        Action::Remove { recipient } => {
            let gone = Recipient::parse(&recipient).map_err(|why| FileError::BadRecipient {
                source_name: "the recipient given".into(),
                why,
            })?;
            let ids = identity::obtain(&store, ctx.ui)?;
            let mut absent = false;
            let changed = file::change_recipients(&store, &ids, |list| {
                let before = list.len();
                list.retain(|r| *r != gone);
                absent = list.len() == before;
                Ok(!absent)
            })?;
            if absent {
                return Err(
                    Error::user(format!("{gone} is not a recipient of the file store"))
                        .hint("`cred recipients list` shows them"),
                );
            }
            if let Some(list) = changed {
                ctx.ui.success(&format!(
                    "Removed {gone}: {} is now encrypted to {} recipient(s).",
                    store.display(),
                    list.len()
                ));
            }
            Ok(Exit::Success)
        }
    }
}

fn read_list(path: &std::path::Path) -> Result<Vec<Recipient>> {
    let bytes = checked::read(path, checked::SMALL_CAP)?
        .ok_or_else(|| Error::user(format!("there is no file {}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::user(format!("{} is not UTF-8 text", path.display())))?;
    let list = recipients::parse_list(&text, &path.display().to_string())?;
    if list.is_empty() {
        return Err(Error::user(format!(
            "{} names no recipient",
            path.display()
        )));
    }
    Ok(list)
}

fn list(ctx: &Ctx, store: &std::path::Path, json: bool) -> Result<Exit> {
    let (listed, header) = file::recipients_view(store)?;
    let missing = match (&listed, &header) {
        (Some(l), Some(h)) => h.unaccounted(l),
        _ => Vec::new(),
    };
    if json {
        ctx.ui.out_json(&json!({
            "store": store.display().to_string(),
            "recipients_file": recipients::path(store).display().to_string(),
            "recipients": listed.as_ref().map(|l| l.iter().map(ToString::to_string).collect::<Vec<_>>()),
            "encrypted_to": header.as_ref().map(|h| h.stanzas.clone()),
            "armored": header.as_ref().map(|h| h.armored),
            "unlisted": missing.iter().map(|(t, n)| json!({"type": t, "count": n})).collect::<Vec<_>>(),
        }))?;
    } else {
        let mut lines = Vec::new();
        match &listed {
            Some(l) => lines.extend(l.iter().map(ToString::to_string)),
            None => ctx.ui.status(&format!(
                "There is no {} yet: the store is encrypted to the identity that opens it, and the next change writes the list.",
                recipients::path(store).display()
            )),
        }
        if !lines.is_empty() {
            ctx.ui.out(&lines.join("\n"))?;
        }
        match &header {
            Some(h) => ctx.ui.status(&format!(
                "{} is encrypted to {}{}.",
                store.display(),
                h.describe(),
                if h.armored { ", armored" } else { "" }
            )),
            None => ctx
                .ui
                .status(&format!("There is no store at {} yet.", store.display())),
        }
        for (t, n) in &missing {
            ctx.ui.warn(&format!(
                "{n} {t} recipient(s) of the store are not in {}: cred refuses to write the store until they are; on the machine that holds such an identity `age-keygen -y IDENTITY` prints its recipient, then `cred recipients add RECIPIENT`",
                recipients::path(store).display()
            ));
        }
    }
    Ok(Exit::Success)
}
