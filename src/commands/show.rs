//! `cred show NAME`: every field of one credential, the secret masked.

use secrecy::ExposeSecret;
use serde_json::json;

use super::Ctx;
use crate::error::{Exit, Result};

/// Show every field of a credential, the secret masked
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,

    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: ShowArgs) -> Result<Exit> {
    let credential = ctx.config.get(&args.name)?;
    let secrets = ctx.secrets();
    let source = secrets.source(&args.name, &credential);
    let secret = secrets.reveal_optional(&args.name, &credential)?;
    let masked = secret.as_ref().map(|s| mask(s.expose_secret()));
    let p = credential.provider.provider();
    if args.json {
        let mut v = credential.summary_json(&args.name);
        let fields: serde_json::Map<String, serde_json::Value> = p
            .fields()
            .into_iter()
            .map(|f| (f.key.to_string(), json!(f.value)))
            .collect();
        v["fields"] = serde_json::Value::Object(fields);
        v["created"] = json!(credential.created);
        v["secret"] = json!(masked);
        v["secret_source"] = json!(source.id());
        ctx.ui.out_json(&v)?;
    } else {
        let mut rows: Vec<(&str, String)> = vec![
            ("name", args.name.clone()),
            ("provider", p.kind().id().to_string()),
        ];
        rows.extend(p.fields().into_iter().map(|f| (f.label, f.value)));
        rows.push((
            "description",
            credential.description.clone().unwrap_or_default(),
        ));
        rows.push(("created", credential.created.clone().unwrap_or_default()));
        rows.push(("last check", credential.last_check_text()));
        if let Some(r) = credential
            .last_check
            .as_ref()
            .filter(|r| !r.message.is_empty())
        {
            rows.push(("check result", r.message.clone()));
        }
        rows.push((
            "secret",
            masked.clone().unwrap_or_else(|| {
                format!(
                    "MISSING from {}: run `cred rotate {}`",
                    credential.store_kind().place(),
                    args.name
                )
            }),
        ));
        rows.push(("source", source.describe()));
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let text: Vec<String> = rows
            .iter()
            .map(|(k, v)| format!("{k:<width$}  {v}").trim_end().to_string())
            .collect();
        ctx.ui.out(&text.join("\n"))?;
    }
    if masked.is_none() {
        ctx.ui.warn(&format!(
            "`{0}` has no secret in {1}; store one with `cred rotate {0}`",
            args.name,
            credential.store_kind().place()
        ));
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

/// At most the last 4 characters, and only of a key long enough that they
/// give little away.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let shown = match chars.len() {
        n if n >= 16 => 4,
        n if n >= 10 => 2,
        _ => 0,
    };
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("********{tail}")
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks() {
        assert_eq!(mask("0123456789abcdefWXYZ"), "********WXYZ");
        assert_eq!(mask("0123456789"), "********89");
        assert_eq!(mask("short"), "********");
    }
}
