//! `cred call --dry-run`: the request as a curl command that sends the
//! same bytes; nothing is sent and no secret store is opened.
//!
//! The secret never lands in curl's argv: everything that holds it goes to
//! curl's standard input as a config file (`--config -`), written by the
//! shell's `printf` builtin, with `$(cred secret NAME)` where the key goes
//! (passed through `sed` on a pipe to escape `"` and `\` for the config
//! syntax). Bodies keep their bytes and their size:
//! - `-d @FILE`: `--data-binary @FILE`, read by curl when it runs;
//! - a body cred holds (inline `-d`, `-f`, urlencoded `--form`, `-d @-`)
//!   that is UTF-8 text without NUL and fits a config line: a `data-raw`
//!   line of the same config, so nothing is written to disk and nothing
//!   reaches argv (the text is an argument of the shell's `printf` builtin,
//!   never of an exec). Stdin is taken by the key, so this is the one
//!   channel left that needs no file;
//! - a body a config line cannot hold (NUL, not UTF-8, or longer than
//!   curl's 100 KiB config line, [`MAX_CONFIG_BODY`]): saved to a private
//!   (0600) temporary file named in the command, said on stderr;
//! - `--form`: curl's `--form-string` and `-F name=@FILE`.

use std::path::{Path, PathBuf};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use super::CallArgs;
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::http::{Body, Part, Request};
use crate::providers::{Auth, ProviderConfig};

/// The longest body put in a config line, escaped (curl reads config lines
/// of at most 100 KiB).
pub const MAX_CONFIG_BODY: usize = 96 * 1024;

/// The command, and a note for stderr (a body saved to a file).
pub struct DryRun {
    pub command: String,
    pub note: Option<String>,
}

/// The request as a curl command; the secret comes from `secret_command`.
pub fn dry_run(
    secret_command: &str,
    provider: &ProviderConfig,
    plan: &Request,
    args: &CallArgs,
) -> Result<DryRun> {
    let mut config = vec![auth_line(secret_command, provider)];
    let mut curl = vec!["curl --config -".to_string()];
    if plan.method == Method::HEAD {
        // `-X HEAD` would make curl wait for a body that never comes.
        curl.push("--head".to_string());
    } else if plan.method != Method::GET {
        curl.push(format!("-X {}", plan.method));
    }
    curl.push(sq(plan.url.as_str()));
    for (k, v) in &plan.headers {
        curl.push(format!(
            "-H {}",
            sq(&format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
        ));
    }
    let note = body_args(plan, args, &mut config, &mut curl)?;
    let mut command = String::from("printf '%s\\n' \\\n  ");
    command.push_str(&config.join(" \\\n  "));
    command.push_str(" \\\n| ");
    command.push_str(&curl.join(" \\\n  "));
    Ok(DryRun { command, note })
}

/// The config line that carries the auth, as a double-quoted shell word:
/// the literal parts escaped for the config file, then for the shell; the
/// secret itself is a command substitution of `secret_command`.
fn auth_line(secret_command: &str, provider: &ProviderConfig) -> String {
    const MARK: &str = "\u{1}CRED_SECRET\u{1}";
    let auth = provider.provider().auth(&SecretString::from(MARK));
    let subst = format!("$({secret_command} | sed 's/[\"\\\\]/\\\\&/g')");
    let secret_line = |directive: &str, value: &str| -> String {
        let line = format!("{directive} = \"{}\"", config_escape(value));
        let shell: String = line
            .chars()
            .flat_map(|c| match c {
                '\\' | '"' | '$' | '`' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{}\"", shell.replace(MARK, &subst))
    };
    match &auth {
        Auth::Basic { user, password } => secret_line(
            "user",
            &format!("{}:{}", user.expose_secret(), password.expose_secret()),
        ),
        Auth::Header { name, value } => {
            secret_line("header", &format!("{name}: {}", value.expose_secret()))
        }
        Auth::Query { name, value } => {
            secret_line("url-query", &format!("{name}={}", value.expose_secret()))
        }
    }
}

/// The body as curl arguments or a config line; a note when it had to be
/// saved to a file.
fn body_args(
    plan: &Request,
    args: &CallArgs,
    config: &mut Vec<String>,
    curl: &mut Vec<String>,
) -> Result<Option<String>> {
    match &plan.body {
        // `call` never streams a body of unknown origin (only the proxy does).
        None | Some(Body::Stream(_)) => {}
        Some(Body::Multipart(parts)) => {
            for part in parts {
                curl.push(match part {
                    Part::Text { name, value } => {
                        format!("--form-string {}", sq(&format!("{name}={value}")))
                    }
                    Part::File { name, path } => format!(
                        "-F {}",
                        sq(&format!("{name}=@{}", absolute(path).display()))
                    ),
                });
            }
        }
        Some(Body::Bytes(bytes)) => match body_file(args) {
            Some(path) => curl.push(format!(
                "--data-binary {}",
                sq(&format!("@{}", absolute(&path).display()))
            )),
            None => match std::str::from_utf8(bytes).map(config_escape) {
                Ok(text) if !text.contains('\0') && text.len() <= MAX_CONFIG_BODY => {
                    config.push(sq(&format!("data-raw = \"{text}\"")));
                }
                _ => {
                    let path = save_body(bytes)?;
                    curl.push(format!(
                        "--data-binary {}",
                        sq(&format!("@{}", path.display()))
                    ));
                    return Ok(Some(format!(
                        "the body is binary or longer than a curl config line, so it was saved to {} for the command; delete it when done",
                        path.display()
                    )));
                }
            },
        },
    }
    Ok(None)
}

/// The file of `-d @FILE` (not `@-`), which curl reads itself.
fn body_file(args: &CallArgs) -> Option<PathBuf> {
    let data = args.data.as_deref()?;
    let path = data.strip_prefix('@')?;
    (path != "-").then(|| PathBuf::from(path))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Saves a body read from stdin that a config line cannot hold.
fn save_body(bytes: &[u8]) -> Result<PathBuf> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix("cred-body-")
        .tempfile()
        .map_err(|e| Error::user("could not save the body for the curl command").cause(e))?;
    file.write_all(bytes)
        .map_err(|e| Error::user("could not save the body for the curl command").cause(e))?;
    let (_, path) = file
        .keep()
        .map_err(|e| Error::user("could not save the body for the curl command").cause(e))?;
    Ok(path)
}

/// Escapes text for a double-quoted value of a curl config file.
fn config_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// `cred secret NAME`, with `--config-dir` when the config directory came
/// from that flag (the environment or the default would find another).
pub fn secret_command(ctx: &Ctx, name: &str) -> String {
    let dir = ctx.config.dir();
    let implied = match std::env::var_os("CRED_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(env) => std::path::absolute(PathBuf::from(env)).ok(),
        None => crate::config::resolve_dir(None).ok(),
    };
    if implied.as_deref() == Some(dir) {
        format!("cred secret {name}")
    } else {
        format!(
            "cred --config-dir {} secret {name}",
            sq(&dir.to_string_lossy())
        )
    }
}

/// Single-quotes a string for a POSIX shell.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(sq("it's"), r"'it'\''s'");
    }

    #[test]
    fn config_values_are_escaped() {
        assert_eq!(config_escape("a\"b\\c\nd\te"), r#"a\"b\\c\nd\te"#);
    }
}
