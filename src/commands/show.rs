//! `cred show NAME`: every field of one credential, the secret masked.
//! The non-secret fields come from config.toml alone: a store that cannot
//! be used (locked, unreachable) leaves them shown, and the secret line
//! says why it could not be read.

use secrecy::ExposeSecret;
use serde_json::json;

use super::Ctx;
use crate::error::{Error, Exit, Result};

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
    // A store that cannot be used now is said on the secret line, after
    // every field the config holds; the error follows.
    let (secret, unread): (_, Option<Error>) =
        match secrets.reveal_optional(&args.name, &credential) {
            Ok(s) => (s, None),
            Err(e) if e.exit() == Exit::Store || e.exit() == Exit::Cancelled => (None, Some(e)),
            Err(e) => return Err(e),
        };
    let shown = Shown {
        name: &args.name,
        credential: &credential,
        base_url: base_url(credential.provider.provider()),
        masked: secret.as_ref().map(|s| mask(s.expose_secret())),
        unread,
        source,
    };
    if args.json {
        ctx.ui.out_json(&shown.json())?;
    } else {
        ctx.ui.out(&shown.text())?;
    }
    if let Some(e) = shown.unread {
        return Err(e);
    }
    if shown.masked.is_none() {
        ctx.ui.warn(&format!(
            "`{0}` has no secret in {1}; store one with `cred rotate {0}`",
            args.name,
            credential.store_kind().place()
        ));
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

/// Where the secret is sent (Paligo's comes from its instance and
/// CRED_PALIGO_URL), when the provider's fields do not say it.
fn base_url(p: &dyn crate::providers::Provider) -> Option<String> {
    if p.fields().iter().any(|f| f.key == "base_url") {
        None
    } else {
        Some(match p.base_url() {
            Ok(u) => crate::http::url::display_url(&u),
            Err(e) => format!("(cannot be used: {})", e.message),
        })
    }
}

/// What `cred show` prints of one credential.
struct Shown<'a> {
    name: &'a str,
    credential: &'a crate::config::Credential,
    /// The address the secret goes to, when no field says it.
    base_url: Option<String>,
    /// The secret, masked; `None` when missing or not read.
    masked: Option<String>,
    /// Why the store could not be read now.
    unread: Option<Error>,
    source: crate::secrets::Source,
}

impl Shown<'_> {
    /// The `--json` object.
    fn json(&self) -> serde_json::Value {
        let credential = self.credential;
        let p = credential.provider.provider();
        let mut v = credential.summary_json(self.name);
        let fields: serde_json::Map<String, serde_json::Value> = p
            .fields()
            .into_iter()
            .map(|f| (f.key.to_string(), json!(f.value)))
            .collect();
        v["fields"] = serde_json::Value::Object(fields);
        if let Some(url) = &self.base_url {
            v["base_url"] = json!(url);
        }
        v["secret_error"] = json!(self.unread.as_ref().map(|e| e.message.clone()));
        v["created"] = json!(credential.created);
        v["secret"] = json!(self.masked);
        v["secret_source"] = json!(self.source.id());
        v
    }

    /// The text: one `key  value` row a line, keys aligned.
    fn text(&self) -> String {
        let rows = self.rows();
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let text: Vec<String> = rows
            .iter()
            .map(|(k, v)| format!("{k:<width$}  {v}").trim_end().to_string())
            .collect();
        text.join("\n")
    }

    fn rows(&self) -> Vec<(&str, String)> {
        let credential = self.credential;
        let p = credential.provider.provider();
        let mut rows: Vec<(&str, String)> = vec![
            ("name", self.name.to_string()),
            ("provider", p.kind().id().to_string()),
        ];
        rows.extend(p.fields().into_iter().map(|f| (f.label, f.value)));
        if let Some(url) = &self.base_url {
            rows.push(("base URL", url.clone()));
        }
        rows.push((
            "description",
            credential.description.clone().unwrap_or_default(),
        ));
        rows.push((
            "created",
            credential
                .created
                .as_deref()
                .map(crate::human::local_time)
                .unwrap_or_default(),
        ));
        rows.push(("last check", credential.last_check_text()));
        if let Some(r) = credential
            .last_check
            .as_ref()
            .filter(|r| !r.message.is_empty())
        {
            rows.push(("check result", r.message.clone()));
        }
        rows.push(("secret", self.secret_text()));
        rows.push(("source", self.source.describe()));
        rows
    }

    /// The secret row: masked, why it was not read, or missing.
    fn secret_text(&self) -> String {
        match (&self.masked, &self.unread) {
            (Some(m), _) => m.clone(),
            (None, Some(e)) => format!("not read: {}", e.message),
            (None, None) => format!(
                "MISSING from {}: run `cred rotate {}`",
                self.credential.store_kind().place(),
                self.name
            ),
        }
    }
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
