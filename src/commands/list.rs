//! `cred list`: every stored credential, from the config alone (the keychain
//! is never touched, so listing never triggers an unlock prompt).

use super::Ctx;
use crate::error::{Exit, Result};

/// List stored credentials (reads the config only, never a secret store)
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: ListArgs) -> Result<Exit> {
    let config = ctx.config.load()?;
    if args.json {
        let items: Vec<_> = config
            .credentials
            .iter()
            .map(|(name, c)| c.summary_json(name))
            .collect();
        ctx.ui.out_json(&items)?;
        return Ok(Exit::Success);
    }
    if config.credentials.is_empty() {
        ctx.ui.status(
            "No credentials yet. Add one with `cred add PROVIDER` (`cred providers` lists them).",
        );
        return Ok(Exit::Success);
    }
    let mut rows = vec![[
        "NAME".to_string(),
        "PROVIDER".into(),
        "TARGET".into(),
        "STORE".into(),
        "LAST CHECK".into(),
        "DESCRIPTION".into(),
    ]];
    for (name, c) in &config.credentials {
        let p = c.provider.provider();
        rows.push([
            name.clone(),
            p.kind().id().into(),
            p.target(),
            c.store.id().into(),
            c.last_check_text(),
            c.description.clone().unwrap_or_default(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (j, cell) in row.iter().enumerate() {
            if j + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[j]));
            }
        }
        let line = line.trim_end();
        if i == 0 {
            out.push_str(&ctx.ui.paint_out("1", line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    ctx.ui.out(out.trim_end_matches('\n'))?;
    Ok(Exit::Success)
}
