//! `cred call --dry-run`: the request as a curl command, with the secret
//! replaced by `$(cred secret NAME)`; nothing is sent and the keychain is
//! not touched.

use std::path::PathBuf;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use crate::commands::Ctx;
use crate::http::Request;
use crate::providers::{Auth, ProviderConfig};

/// The request as a curl command, the secret replaced by `$(cred secret NAME)`.
pub fn dry_run(secret_command: &str, provider: &ProviderConfig, plan: &Request) -> String {
    const MARK: &str = "\u{1}CRED_SECRET\u{1}";
    let subst = format!("$({secret_command})");
    let auth = provider.provider().auth(&SecretString::from(MARK));
    let dq = |s: &str| -> String {
        let escaped: String = s
            .chars()
            .flat_map(|c| match c {
                '\\' | '"' | '$' | '`' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("\"{}\"", escaped.replace(MARK, &subst))
    };
    let mut parts = vec!["curl".to_string()];
    if plan.method == Method::HEAD {
        // `-X HEAD` would make curl wait for a body that never comes.
        parts.push("--head".to_string());
    } else if plan.method != Method::GET {
        parts.push(format!("-X {}", plan.method));
    }
    parts.push(sq(plan.url.as_str()));
    match &auth {
        Auth::Basic { user, password } => {
            parts.push(format!(
                "-u {}",
                dq(&format!(
                    "{}:{}",
                    user.expose_secret(),
                    password.expose_secret()
                ))
            ));
        }
        Auth::Header { name, value } => {
            parts.push(format!(
                "-H {}",
                dq(&format!("{name}: {}", value.expose_secret()))
            ));
        }
        Auth::Query { name, value } => {
            parts.push(format!(
                "--url-query {}",
                dq(&format!("{name}={}", value.expose_secret()))
            ));
        }
    }
    for (k, v) in &plan.headers {
        parts.push(format!(
            "-H {}",
            sq(&format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
        ));
    }
    if let Some(body) = plan.body.as_ref().and_then(|b| b.bytes()) {
        parts.push(format!(
            "--data-binary {}",
            sq(&String::from_utf8_lossy(body))
        ));
    }
    parts.join(" \\\n  ")
}

/// `cred secret NAME`, with `--config-dir` when the config directory came
/// from that flag (the environment or the default would find another).
pub fn secret_command(ctx: &Ctx, name: &str) -> String {
    let dir = ctx.store.dir();
    let implied = match std::env::var_os("CRED_CONFIG_DIR").filter(|v| !v.is_empty()) {
        Some(env) => std::path::absolute(PathBuf::from(env)).ok(),
        None => crate::store::config::resolve_dir(None).ok(),
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
}
