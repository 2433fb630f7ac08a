//! Paymo (project management and time tracking): an API key, sent as HTTP
//! Basic `KEY:X` (the official form) to `https://app.paymoapp.com/api`
//! (override: `CRED_PAYMO_URL`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Auth, Field, Pagination, Provider, ProviderKind, Verdict};
use crate::error::Result;

pub const URL_ENV: &str = "CRED_PAYMO_URL";
const DEFAULT_URL: &str = "https://app.paymoapp.com/api";

pub const GUIDE: &str = "\
Paymo: you need an API key. In Paymo open the My Account page (your avatar
menu) > API keys, generate a key, give it a name and copy it at once (it may
not be shown again). If a key ever leaks, revoke it in Paymo and store the
new one with `cred rotate NAME`.";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PaymoConfig {}

impl Provider for PaymoConfig {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Paymo
    }

    fn display_name(&self) -> &'static str {
        "Paymo"
    }

    fn target(&self) -> String {
        self.base_url()
            .map(|u| u.to_string())
            .unwrap_or_else(|_| DEFAULT_URL.into())
    }

    fn fields(&self) -> Vec<Field> {
        vec![Field::new("base_url", "base URL", self.target())]
    }

    fn config_keys(&self) -> &'static [&'static str] {
        &[]
    }

    fn example_path(&self) -> String {
        "/projects".into()
    }

    fn rejected_hint(&self) -> &'static str {
        "check the key, or pass --no-verify to store it unchecked"
    }

    fn forbidden_reason(&self) -> &'static str {
        "the Paymo user lacks the permission for this, or the plan does not include it"
    }

    fn base_url(&self) -> Result<Url> {
        match super::env_url(URL_ENV) {
            Some(u) => super::parse_base(&u, URL_ENV),
            None => super::parse_base(DEFAULT_URL, "the Paymo default"),
        }
    }

    fn auth(&self, secret: &SecretString) -> Auth {
        Auth::basic(secret.expose_secret(), "X")
    }

    fn check_path(&self) -> String {
        "/me".into()
    }

    fn check_headers(&self) -> Vec<(&'static str, &'static str)> {
        vec![("Accept", "application/json")]
    }

    fn judge(&self, status: u16, body: &[u8]) -> Verdict {
        match status {
            200..=299 => Verdict::Valid(who(body)),
            401 | 403 => Verdict::Rejected(
                "Paymo rejected the API key: it may be mistyped or revoked; generate a new one on Paymo's My Account page".into(),
            ),
            404 => Verdict::NotFound(format!(
                "no Paymo API at this address (HTTP 404 for /me): {}",
                super::first_line(body)
            )),
            _ => Verdict::Unconfirmed(format!(
                "could not confirm the key: Paymo answered HTTP {status}: {}",
                super::first_line(body)
            )),
        }
    }

    fn docs_url(&self) -> Option<&'static str> {
        Some("https://github.com/paymoapp/api")
    }

    fn api_notes(&self) -> &'static str {
        "A JSON API for projects, tasks, time entries, clients, invoices and users \
(`/me` is the key's own user). Lists are not paginated; narrow them with \
`where` (e.g. `active=true`) and embed related objects with `include`. POST and \
PUT send JSON. Every answer carries X-Ratelimit-Limit, X-Ratelimit-Remaining and \
X-Ratelimit-Decay-Period; past the limit the API answers 429. 403 means the key \
works but the user may not do that (permission or plan)."
    }

    fn pagination(&self) -> Pagination {
        Pagination::None
    }

    fn rate_limit_wait(&self) -> Option<fn(&reqwest::header::HeaderMap) -> Option<Duration>> {
        Some(decay_period)
    }
}

/// Paymo's `X-Ratelimit-Decay-Period`: the seconds until the limit's
/// window resets (sent on every answer, also on a 429 without
/// `Retry-After`).
fn decay_period(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers
        .get("x-ratelimit-decay-period")?
        .to_str()
        .ok()?
        .trim();
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// "Authenticated as NAME <EMAIL>" from `{"users":[{"name":…,"email":…}]}`.
fn who(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let user = v.get("users")?.get(0)?;
    let name = user.get("name").and_then(|n| n.as_str()).unwrap_or("");
    let email = user.get("email").and_then(|n| n.as_str()).unwrap_or("");
    match (name.is_empty(), email.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("Authenticated as {name}")),
        (true, false) => Some(format!("Authenticated as <{email}>")),
        (false, false) => Some(format!("Authenticated as {name} <{email}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_is_basic_key_x() {
        let auth = PaymoConfig {}.auth(&SecretString::from("abc123"));
        // base64("abc123:X")
        assert_eq!(
            auth.header().unwrap().1.expose_secret(),
            "Basic YWJjMTIzOlg="
        );
    }

    #[test]
    fn names_the_user() {
        let body = br#"{"users":[{"id":1,"name":"Ada Lovelace","email":"ada@example.com"}]}"#;
        assert_eq!(
            PaymoConfig {}.judge(200, body),
            Verdict::Valid(Some(
                "Authenticated as Ada Lovelace <ada@example.com>".into()
            ))
        );
        assert_eq!(PaymoConfig {}.judge(200, b"not json"), Verdict::Valid(None));
        assert!(matches!(
            PaymoConfig {}.judge(401, b""),
            Verdict::Rejected(_)
        ));
    }
}
