//! Paligo (component content management): instance, username (email) and an
//! API key, sent as HTTP Basic `email:key` to
//! `https://INSTANCE.paligoapp.com/api/v2` (override: `CRED_PALIGO_URL`, a
//! template with `{instance}`).

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Asker, Auth, Field, Pagination, Provider, ProviderKind, Question, Verdict};
use crate::error::Result;

pub const URL_ENV: &str = "CRED_PALIGO_URL";
const DEFAULT_URL: &str = "https://{instance}.paligoapp.com/api/v2";

/// What the wizard tells a person before asking anything.
pub const GUIDE: &str = "\
Paligo: you need three things. Only Paligo admins can use the API.
  1. Your instance name: the part of your browser's address between
     https:// and .paligoapp.com (pasting the whole address works too).
  2. Your username: the email address you sign in with.
  3. An API key: in Paligo click your avatar (top right) > My Profile >
     API Keys > Create New Key, give it a name, press the refresh button on
     the Token field to generate the token, copy it now (it is shown only
     once), then click Create.";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PaligoConfig {
    pub instance: String,
    pub username: String,
}

impl Provider for PaligoConfig {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Paligo
    }

    fn display_name(&self) -> &'static str {
        "Paligo"
    }

    fn target(&self) -> String {
        self.instance.clone()
    }

    fn fields(&self) -> Vec<Field> {
        vec![
            Field::new("instance", "instance", &self.instance),
            Field::new("username", "username", &self.username),
        ]
    }

    fn config_keys(&self) -> &'static [&'static str] {
        &["instance", "username"]
    }

    fn exec_fields(&self) -> Vec<Field> {
        self.fields()
    }

    fn example_path(&self) -> String {
        "/folders".into()
    }

    fn rejected_hint(&self) -> &'static str {
        "check the username and the key, or pass --no-verify to store it unchecked"
    }

    fn forbidden_hint(&self) -> &'static str {
        "ask a Paligo admin to give your user admin rights, or to create the key with an admin account; then try again"
    }

    fn forbidden_reason(&self) -> &'static str {
        "only Paligo admin users may use the API; ask an admin to make you one, or to make the key"
    }

    fn dns_failure(&self, host: &str) -> Option<String> {
        let name = host.strip_suffix(".paligoapp.com")?;
        Some(format!(
            "no Paligo instance named `{name}` (the address does not resolve): check the part of your Paligo address before .paligoapp.com"
        ))
    }

    fn base_url(&self) -> Result<Url> {
        let (template, source) = match super::env_url(URL_ENV) {
            Some(t) => (t, URL_ENV),
            None => (DEFAULT_URL.to_string(), "the Paligo default"),
        };
        // config.toml may have been edited by hand: the instance must still
        // be a bare DNS label, or the key could go to another host.
        if normalize_instance(&self.instance).as_deref() != Ok(self.instance.as_str()) {
            return Err(crate::error::Error::user(format!(
                "the Paligo instance `{}` in config.toml is not a valid instance name",
                self.instance
            ))
            .hint(
                "fix it in config.toml, or add the credential again with `cred add paligo --force`",
            ));
        }
        super::parse_base(&template.replace("{instance}", &self.instance), source)
    }

    fn auth(&self, secret: &SecretString) -> Auth {
        Auth::basic(&self.username, secret.expose_secret())
    }

    fn check_path(&self) -> String {
        "/folders?per_page=1".into()
    }

    fn judge(&self, status: u16, body: &[u8]) -> Verdict {
        match status {
            200..=299 => Verdict::Valid(None),
            401 => Verdict::Rejected(
                "Paligo rejected the username or API key: check both; keys are shown only once, so make a new one if unsure".into(),
            ),
            403 => Verdict::Forbidden(format!(
                "Paligo accepted the key but {} may not use the API: only admin users can; ask an admin to make you one or to create the key",
                self.username
            )),
            404 => Verdict::NotFound(self.not_found()),
            _ => Verdict::Unconfirmed(format!(
                "could not confirm the key: Paligo answered HTTP {status}: {}",
                super::first_line(body)
            )),
        }
    }

    fn docs_url(&self) -> Option<&'static str> {
        Some("https://paligo.net/docs/apidocs/en/index-en.html")
    }

    fn api_notes(&self) -> &'static str {
        "A JSON API: folders, documents (topics and publications), forks, images, \
publish settings, productions (start a publication with POST, then poll it with \
GET until `status` is `done` or `cancelled`) and imports. Lists are paginated: \
`per_page` sets the page size, and an answer carries `page`, `total_pages` and \
`next_page` (empty on the last page). Rate limits are per minute and endpoint \
(about 50 lists, 10 updates, 1 production a minute); past them the API answers \
429 with Retry-After. 403 means the user is not an admin."
    }

    fn pagination(&self) -> Pagination {
        Pagination::NextPageField
    }
}

impl PaligoConfig {
    pub fn not_found(&self) -> String {
        format!(
            "no Paligo instance named `{}`: check the part of your Paligo address before .paligoapp.com",
            self.instance
        )
    }
}

/// The wizard's questions: instance and username.
pub fn collect(asker: &mut dyn Asker) -> Result<PaligoConfig> {
    Ok(PaligoConfig {
        instance: asker.text(Question {
            flag: "--instance",
            prompt: "Paligo instance (mycompany, or paste your Paligo address)",
            default: None,
            example: "mycompany",
            validate: &normalize_instance,
        })?,
        username: asker.text(Question {
            flag: "--username",
            prompt: "Username (the email you sign in with)",
            default: None,
            example: "me@example.com",
            validate: &validate_email,
        })?,
    })
}

/// Accepts `acme`, `acme.paligoapp.com` or a pasted address such as
/// `https://acme.paligoapp.com/document/edit/12`; returns `acme`.
pub fn normalize_instance(input: &str) -> Result<String, String> {
    let mut s = input.trim();
    if s.is_empty() {
        return Err("the instance name is empty".into());
    }
    if let Some(rest) = s.split_once("://").map(|(_, rest)| rest) {
        s = rest;
    }
    let host = s.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let label = match host.strip_suffix(".paligoapp.com") {
        Some(l) => l.to_string(),
        None if host.contains('.') => {
            return Err(format!(
                "`{host}` is not a Paligo address: expected NAME or NAME.paligoapp.com"
            ));
        }
        None => host,
    };
    validate_dns_label(&label)?;
    Ok(label)
}

fn validate_dns_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("the instance name is empty".into());
    }
    if label.len() > 63 {
        return Err(format!(
            "`{label}` is {} characters long; an instance name has at most 63",
            label.len()
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "`{label}` contains `{c}`; an instance name has only letters, digits and hyphens"
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "`{label}` starts or ends with a hyphen, which an instance name cannot"
        ));
    }
    Ok(())
}

/// The username is the account's email address.
pub fn validate_email(input: &str) -> Result<String, String> {
    let s = input.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return Err(format!(
            "`{s}` is not an email address: Paligo usernames are the email you sign in with"
        ));
    };
    let bad_domain = domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains('@');
    if local.is_empty()
        || bad_domain
        || s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || c == ':' || ('\u{80}'..='\u{9f}').contains(&c)
        })
    {
        return Err(format!(
            "`{s}` is not an email address: Paligo usernames are the email you sign in with"
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_forms() {
        for input in [
            "acme",
            " ACME ",
            "acme.paligoapp.com",
            "https://acme.paligoapp.com",
            "https://acme.paligoapp.com/document/edit/12",
            "acme.paligoapp.com/api/v2?x=1",
        ] {
            assert_eq!(normalize_instance(input).as_deref(), Ok("acme"), "{input}");
        }
    }

    #[test]
    fn instance_refusals_say_why() {
        assert!(normalize_instance("").unwrap_err().contains("empty"));
        assert!(normalize_instance("ac_me").unwrap_err().contains("`_`"));
        assert!(normalize_instance("-acme").unwrap_err().contains("hyphen"));
        assert!(
            normalize_instance("example.com")
                .unwrap_err()
                .contains("not a Paligo address")
        );
        assert!(
            normalize_instance(&"a".repeat(64))
                .unwrap_err()
                .contains("63")
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            validate_email(" me@acme.com ").as_deref(),
            Ok("me@acme.com")
        );
        for bad in [
            "me",
            "me@",
            "@acme.com",
            "me@acme",
            "me @acme.com",
            "a:b@c.d",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auth_is_basic_email_key() {
        let p = PaligoConfig {
            instance: "acme".into(),
            username: "me@acme.com".into(),
        };
        let auth = p.auth(&SecretString::from("k3y"));
        let (name, value) = auth.header().unwrap();
        assert_eq!(name, "Authorization");
        // base64("me@acme.com:k3y")
        assert_eq!(value.expose_secret(), "Basic bWVAYWNtZS5jb206azN5");
    }

    #[test]
    fn statuses() {
        let p = PaligoConfig {
            instance: "acme".into(),
            username: "me@acme.com".into(),
        };
        assert_eq!(p.judge(200, b""), Verdict::Valid(None));
        assert!(
            matches!(p.judge(401, b""), Verdict::Rejected(m) if m.contains("username or API key"))
        );
        assert!(matches!(p.judge(403, b""), Verdict::Forbidden(m) if m.contains("admin")));
        assert!(matches!(p.judge(404, b""), Verdict::NotFound(m) if m.contains("`acme`")));
        assert!(
            matches!(p.judge(500, b"boom\n"), Verdict::Unconfirmed(m) if m.contains("500: boom"))
        );
    }
}
