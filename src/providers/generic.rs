//! Any HTTP API that takes an API key (Nango's "Private API (Generic)" model):
//! the user says where the key goes (header or query parameter), under which
//! name, and how it is wrapped (`Bearer ${apiKey}`).

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Asker, Auth, Field, Pagination, Provider, ProviderKind, Question, Verdict};
use crate::error::Result;

pub const PLACEHOLDER: &str = "${apiKey}";

pub const GUIDE: &str = "\
Generic API: any HTTP API that takes an API key. You will be asked for the
API's base URL, whether the key goes in a header (usual) or a query
parameter, the header or parameter name, how the key is written there, with
${apiKey} standing for the key (e.g. `Bearer ${apiKey}`), and a path that
checks it. Press Enter to take the default shown in brackets.";

pub const QUERY_WARNING: &str =
    "keys in URLs end up in server, proxy and CDN logs; prefer a header if the API accepts one";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// In a request header (default)
    Header,
    /// In a query parameter (ends up in logs)
    Query,
}

impl Placement {
    pub fn id(self) -> &'static str {
        match self {
            Placement::Header => "header",
            Placement::Query => "query",
        }
    }

    pub fn default_key_name(self) -> &'static str {
        match self {
            Placement::Header => "Authorization",
            Placement::Query => "api_key",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GenericConfig {
    pub base_url: String,
    pub placement: Placement,
    pub key_name: String,
    pub template: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_path: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
}

impl Provider for GenericConfig {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Generic
    }

    fn display_name(&self) -> &'static str {
        "the API"
    }

    fn target(&self) -> String {
        self.base_url.clone()
    }

    fn fields(&self) -> Vec<Field> {
        let mut f = vec![
            Field::new("base_url", "base URL", &self.base_url),
            Field::new("placement", "placement", self.placement.id()),
            Field::new("key_name", "key name", &self.key_name),
            Field::new("template", "template", &self.template),
            Field::new("label", "label", &self.label),
            Field::new(
                "check_path",
                "check path",
                self.check_path
                    .clone()
                    .unwrap_or_else(|| "(the base URL)".into()),
            ),
        ];
        if self.allow_http {
            f.push(Field::new("allow_http", "allow http", "yes"));
        }
        f
    }

    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "base_url",
            "placement",
            "key_name",
            "template",
            "label",
            "check_path",
            "allow_http",
        ]
    }

    fn secret_label(&self) -> String {
        self.label.clone()
    }

    fn example_path(&self) -> String {
        match &self.check_path {
            Some(p) if !p.is_empty() => p.clone(),
            _ => "/".into(),
        }
    }

    fn rejected_hint(&self) -> &'static str {
        "check the key, the key name and the template, or pass --no-verify to store it unchecked"
    }

    fn base_url(&self) -> Result<Url> {
        // The https-only rule holds for a hand-edited config.toml too.
        validate_base_url(&self.base_url, self.allow_http).map_err(|why| {
            crate::error::Error::user(format!(
                "the base URL in config.toml is not usable: {why}"
            ))
            .hint("fix base_url in config.toml, or add the credential again with `cred add generic --force`")
        })?;
        // Checked above, --allow-http included.
        Url::parse(&self.base_url).map_err(|e| {
            crate::error::Error::user("the base URL in config.toml is not a URL").cause(e)
        })
    }

    fn auth(&self, secret: &SecretString) -> Auth {
        let value = SecretString::from(self.template.replacen(
            PLACEHOLDER,
            secret.expose_secret(),
            1,
        ));
        match self.placement {
            Placement::Header => Auth::Header {
                name: self.key_name.clone(),
                value,
            },
            Placement::Query => Auth::Query {
                name: self.key_name.clone(),
                value,
            },
        }
    }

    fn check_path(&self) -> String {
        self.check_path.clone().unwrap_or_default()
    }

    fn judge(&self, status: u16, body: &[u8]) -> Verdict {
        match status {
            200..=299 => Verdict::Valid(None),
            401 | 403 => Verdict::Rejected(format!(
                "the API rejected the key (HTTP {status}): check the key, and the {} name and template",
                self.placement.id()
            )),
            _ => Verdict::Unconfirmed(format!(
                "could not confirm the key: the API answered HTTP {status}: {}",
                super::first_line(body)
            )),
        }
    }

    fn api_notes(&self) -> &'static str {
        "An HTTP API that cred knows only by its base URL and how the key is sent. \
Lists may be paginated with RFC 8288 `Link: <…>; rel=\"next\"` headers."
    }

    fn pagination(&self) -> Pagination {
        Pagination::LinkHeader
    }
}

/// The wizard's questions: base URL, placement, key name, template and
/// check path; the label only when more options are asked for.
pub fn collect(asker: &mut dyn Asker) -> Result<GenericConfig> {
    let mut allow_http = asker.switch("--allow-http");
    let base_url = ask_base_url(asker, &mut allow_http)?;
    let placement = ask_placement(asker)?;
    let key_name = ask_key_name(asker, placement)?;
    let template = ask_template(asker, &key_name)?;
    let check_path = ask_check_path(asker)?;
    let label = ask_label(asker)?;
    Ok(GenericConfig {
        base_url,
        placement,
        key_name,
        template,
        label,
        check_path,
        allow_http,
    })
}

/// The base URL, asked until accepted; on a terminal a plain-http address
/// is offered as a choice (which sets `allow_http`).
fn ask_base_url(asker: &mut dyn Asker, allow_http: &mut bool) -> Result<String> {
    loop {
        let (url, plain, note) = ask_base_url_once(asker, *allow_http)?;
        if plain {
            if !accept_plain_http(asker, &url)? {
                asker.reask("--base-url");
                continue;
            }
            *allow_http = true;
            asker.warn("plain http:// accepted: the key crosses the network unencrypted");
        }
        if let Some(note) = note {
            asker.warn(&note);
        }
        return Ok(url);
    }
}

/// One ask of the base URL: the URL, whether it is plain http offered as a
/// choice, and the note of the accepted answer.
fn ask_base_url_once(
    asker: &mut dyn Asker,
    allow_http: bool,
) -> Result<(String, bool, Option<String>)> {
    // On a terminal a plain-http address is offered as a choice, not
    // refused with a flag to pass.
    let offer = asker.interactive() && !allow_http;
    // The note belongs to the answer as typed (a scheme added, plain
    // http accepted): keep the one of the accepted answer.
    let note = std::cell::RefCell::new(None);
    let plain = std::cell::Cell::new(false);
    let url = asker.text(Question {
        flag: "--base-url",
        prompt: "API base URL",
        default: None,
        example: "https://api.example.com/v1",
        validate: &|s: &str| {
            plain.set(false);
            let (url, n) = match validate_base_url(s, allow_http) {
                Err(why) if offer => match validate_base_url(s, true) {
                    Ok((url, _)) if url.starts_with("http://") => {
                        plain.set(true);
                        (url, None)
                    }
                    _ => return Err(why),
                },
                other => other?,
            };
            *note.borrow_mut() = n;
            Ok(url)
        },
    })?;
    Ok((url, plain.get(), note.take()))
}

/// Whether the user takes the plain-http address anyway.
fn accept_plain_http(asker: &mut dyn Asker, url: &str) -> Result<bool> {
    let prompt = format!("`{url}` is plain http://: the key would cross the network unencrypted.");
    let choice = asker.choose(
        "--allow-http",
        &prompt,
        &[
            ("no", "Enter another address (https://)"),
            ("yes", "Use this plain-http address anyway"),
        ],
    )?;
    Ok(choice == "yes")
}

/// Header or query parameter (the latter with a warning).
fn ask_placement(asker: &mut dyn Asker) -> Result<Placement> {
    let placement = match asker.choose(
        "--placement",
        "Where does the key go?",
        &[
            ("header", "header: in a request header (usual)"),
            ("query", "query: in a query parameter (ends up in logs)"),
        ],
    )? {
        "query" => Placement::Query,
        _ => Placement::Header,
    };
    if placement == Placement::Query {
        asker.warn(QUERY_WARNING);
    }
    Ok(placement)
}

/// The header or query parameter name.
fn ask_key_name(asker: &mut dyn Asker, placement: Placement) -> Result<String> {
    let (key_prompt, key_example) = match placement {
        Placement::Header => ("Header name", "X-Api-Key"),
        Placement::Query => ("Query parameter name", "api_key"),
    };
    asker.text(Question {
        flag: "--key-name",
        prompt: key_prompt,
        default: Some(placement.default_key_name()),
        example: key_example,
        validate: &|s: &str| validate_key_name(s, placement),
    })
}

/// How the key is written, `${apiKey}` standing for it.
fn ask_template(asker: &mut dyn Asker, key_name: &str) -> Result<String> {
    // The example fits where the key goes: a bearer token in Authorization,
    // the bare key elsewhere.
    let template_prompt = if key_name.eq_ignore_ascii_case("authorization") {
        "How the key is written, ${apiKey} for the key, e.g. Bearer ${apiKey}"
    } else {
        "How the key is written, ${apiKey} for the key; usually the key alone"
    };
    asker.text(Question {
        flag: "--template",
        prompt: template_prompt,
        default: Some(PLACEHOLDER),
        example: "'Bearer ${apiKey}'",
        validate: &validate_template,
    })
}

/// The path that checks the key; empty means the base URL itself.
fn ask_check_path(asker: &mut dyn Asker) -> Result<Option<String>> {
    Ok(asker
        .optional(Question {
            flag: "--check-path",
            prompt: "Path to check the key with (empty: the base URL itself)",
            default: None,
            example: "/me",
            validate: &validate_check_path,
        })?
        .filter(|c| !c.is_empty()))
}

/// The key's label, asked only when more options are asked for.
fn ask_label(asker: &mut dyn Asker) -> Result<String> {
    if asker.more(
        &["--label"],
        "More options (what the prompts call the key)?",
    )? {
        asker.text(Question {
            flag: "--label",
            prompt: "What the API calls the key (shown when asking for it)",
            default: Some(DEFAULT_LABEL),
            example: "'Access token'",
            validate: &validate_label,
        })
    } else {
        Ok(DEFAULT_LABEL.to_string())
    }
}

/// What prompts call the key unless told otherwise.
pub const DEFAULT_LABEL: &str = "API Key";

fn validate_label(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.chars().any(char::is_control) {
        Err("the label must be a non-empty line".to_string())
    } else {
        Ok(s.to_string())
    }
}

/// `https://` only; `http://` for loopback hosts, or anywhere with
/// `--allow-http`. A bare host (`api.example.com/v1`) is read as
/// `https://api.example.com/v1`. Returns the URL without a trailing slash,
/// and a note when plain HTTP was accepted or a scheme was added.
pub fn validate_base_url(
    input: &str,
    allow_http: bool,
) -> Result<(String, Option<String>), String> {
    let s = input.trim();
    let bare_host = !s.contains("://")
        && s.split(['/', '?', '#'])
            .next()
            .is_some_and(|host| host.contains('.') || host.starts_with("localhost"))
        && !s.chars().any(char::is_whitespace);
    let with_scheme = format!("https://{s}");
    let s = if bare_host { with_scheme.as_str() } else { s };
    let url = Url::parse(s).map_err(|e| format!("`{s}` is not a URL ({e}); expected https://…"))?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(format!("`{s}` is not an http(s) URL with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the base URL must not contain a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("the base URL must not contain a #fragment".into());
    }
    let note = match url.scheme() {
        "https" => None,
        "http" if crate::http::is_loopback(&url) => Some(
            "plain http:// accepted because the host is loopback (this machine only)".to_string(),
        ),
        "http" if allow_http => Some(
            "plain http:// accepted because of --allow-http: the key crosses the network unencrypted".to_string(),
        ),
        "http" => {
            return Err(format!(
                "`{s}` uses plain http://, which would send the key unencrypted; use https://, or pass --allow-http if you must"
            ));
        }
        other => return Err(format!("`{other}://` is not supported; the base URL must be https://")),
    };
    let text = url.as_str().trim_end_matches('/').to_string();
    let note = match note {
        None if bare_host => Some(format!("no scheme given: read as {text}")),
        other => other,
    };
    Ok((text, note))
}

/// `${apiKey}` must appear exactly once, on one line.
pub fn validate_template(input: &str) -> Result<String, String> {
    let count = input.matches(PLACEHOLDER).count();
    if count != 1 {
        return Err(format!(
            "the template must contain {PLACEHOLDER} exactly once (found {count} times), e.g. `Bearer {PLACEHOLDER}`"
        ));
    }
    if input.chars().any(|c| c.is_control()) {
        return Err("the template must be a single line without control characters".into());
    }
    Ok(input.to_string())
}

/// A header name is an HTTP token; a query parameter name is non-empty text
/// without spaces.
pub fn validate_key_name(input: &str, placement: Placement) -> Result<String, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("the name is empty".into());
    }
    match placement {
        Placement::Header => {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if let Some(c) = s.chars().find(|c| !token(*c)) {
                return Err(format!(
                    "`{s}` is not a valid header name (it contains `{c}`)"
                ));
            }
        }
        Placement::Query => {
            if s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || "&=#".contains(c))
            {
                return Err(format!(
                    "`{s}` is not a valid query parameter name (no spaces, &, = or #)"
                ));
            }
        }
    }
    Ok(s.to_string())
}

/// The check path is a path relative to the base URL (may carry a query).
pub fn validate_check_path(input: &str) -> Result<String, String> {
    let s = input.trim();
    if s.contains("://") {
        return Err(format!(
            "`{s}` is a full URL; give a path relative to the base URL, such as /me"
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{s}` contains spaces or control characters"));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(placement: Placement, key_name: &str, template: &str) -> GenericConfig {
        GenericConfig {
            base_url: "https://api.example.com/v1".into(),
            placement,
            key_name: key_name.into(),
            template: template.into(),
            label: "API Key".into(),
            check_path: None,
            allow_http: false,
        }
    }

    #[test]
    fn header_auth_bytes() {
        let auth = config(Placement::Header, "x-api-key", "Api-Key ${apiKey}")
            .auth(&SecretString::from("s3cr3t"));
        let (name, value) = auth.header().unwrap();
        assert_eq!(name, "x-api-key");
        assert_eq!(value.expose_secret(), "Api-Key s3cr3t");
    }

    #[test]
    fn query_auth_bytes() {
        let auth =
            config(Placement::Query, "api_key", "${apiKey}").auth(&SecretString::from("s3cr3t"));
        let (name, value) = auth.query().unwrap();
        assert_eq!(name, "api_key");
        assert_eq!(value.expose_secret(), "s3cr3t");
        assert!(auth.header().is_none());
    }

    #[test]
    fn template_placeholder_once() {
        assert!(validate_template("Bearer ${apiKey}").is_ok());
        assert!(
            validate_template("Bearer")
                .unwrap_err()
                .contains("found 0 times")
        );
        assert!(
            validate_template("${apiKey}${apiKey}")
                .unwrap_err()
                .contains("found 2 times")
        );
        assert!(validate_template("Bearer ${apiKey}\r\nX: y").is_err());
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            validate_base_url("https://api.example.com/v1/", false).unwrap(),
            ("https://api.example.com/v1".to_string(), None)
        );
        assert!(
            validate_base_url("http://127.0.0.1:8080", false)
                .unwrap()
                .1
                .is_some()
        );
        assert!(validate_base_url("http://localhost/x", false).is_ok());
        assert!(
            validate_base_url("http://api.example.com", false)
                .unwrap_err()
                .contains("--allow-http")
        );
        assert!(validate_base_url("http://api.example.com", true).is_ok());
        assert!(
            validate_base_url("ftp://example.com", false)
                .unwrap_err()
                .contains("not supported")
        );
        assert_eq!(
            validate_base_url("api.example.com/v1", false).unwrap(),
            (
                "https://api.example.com/v1".to_string(),
                Some("no scheme given: read as https://api.example.com/v1".to_string())
            )
        );
        assert!(
            validate_base_url("no-dots", false)
                .unwrap_err()
                .contains("not a URL")
        );
        assert!(validate_base_url("https://u:p@example.com", false).is_err());
    }

    #[test]
    fn key_names() {
        assert!(validate_key_name("X-Api-Key", Placement::Header).is_ok());
        assert!(validate_key_name("X Api", Placement::Header).is_err());
        assert!(validate_key_name("api_key", Placement::Query).is_ok());
        assert!(validate_key_name("a=b", Placement::Query).is_err());
    }

    #[test]
    fn statuses() {
        let c = config(Placement::Header, "Authorization", "Bearer ${apiKey}");
        assert_eq!(c.judge(204, b""), Verdict::Valid(None));
        assert!(matches!(c.judge(403, b""), Verdict::Rejected(_)));
        assert!(
            matches!(c.judge(404, b"nope"), Verdict::Unconfirmed(m) if m.contains("404: nope"))
        );
    }
}
