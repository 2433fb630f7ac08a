//! A provider definition: one TOML file (`docs/providers.md`), read with
//! serde (`deny_unknown_fields`) and then validated, so that a definition
//! that loads can be used without further checks: its templates name only
//! its own fields, its header names and values are valid, its base URL is
//! https (or http on loopback), its statuses are 4xx/5xx and disjoint.
//! Errors name the file and the line.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

const FORMAT_HINT: &str = "the format is cred's docs/providers.md; `cred providers show paligo --json` shows a complete definition";

/// Everything cred knows of one API-key HTTP API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub docs: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub base_url: String,
    #[serde(default = "default_secret_label")]
    pub secret_label: String,
    pub example_path: String,
    #[serde(default)]
    pub pagination: PaginationStyle,
    /// (page-param) The page number's query parameter [default: page].
    #[serde(default)]
    pub page_param: Option<String>,
    /// (page-param) The page size's query parameter (`per_page`).
    #[serde(default)]
    pub per_page_param: Option<String>,
    /// (page-param) The page size to ask for when the caller names none.
    #[serde(default)]
    pub per_page: Option<u32>,
    #[serde(default)]
    pub api_notes: Option<String>,
    /// Headers every request to the API carries (`anthropic-version`),
    /// unless the request names the header itself.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub guide: String,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    pub auth: AuthDef,
    pub check: CheckDef,
    #[serde(default)]
    pub rate_limit: Option<RateLimitDef>,
    /// Where it was read from: `built in`, or the user's file.
    #[serde(skip)]
    pub origin: Origin,
    /// The field ids, for config.toml's known keys.
    #[serde(skip)]
    pub keys: Vec<&'static str>,
    /// Leaked `(name, value)` pairs of [`Definition::headers`].
    #[serde(skip)]
    pub header_pairs: Vec<(&'static str, &'static str)>,
}

fn default_secret_label() -> String {
    "API key".into()
}

/// Where a definition comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    #[default]
    BuiltIn,
    /// A file in the config directory's `providers/`; `overrides` when a
    /// built-in of the same id exists.
    User {
        path: std::path::PathBuf,
        overrides: bool,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaginationStyle {
    LinkHeader,
    NextPageField,
    PageParam,
    #[default]
    None,
}

impl PaginationStyle {
    pub fn id(self) -> &'static str {
        match self {
            PaginationStyle::LinkHeader => "link-header",
            PaginationStyle::NextPageField => "next-page-field",
            PaginationStyle::PageParam => "page-param",
            PaginationStyle::None => "none",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub id: String,
    pub prompt: String,
    #[serde(default)]
    pub help: Option<String>,
    pub example: String,
    #[serde(default)]
    pub kind: FieldKind,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default = "yes")]
    pub exec: bool,
    /// The flag that answers it: `--instance`, `--username`, else
    /// `--field ID`.
    #[serde(skip)]
    pub flag: String,
    /// The name for people: the id with `_` as spaces.
    #[serde(skip)]
    pub label: String,
    #[serde(skip)]
    pub regex: Option<regex::Regex>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    #[default]
    Text,
    Email,
    Subdomain,
    Number,
}

/// The flags `cred add` has for a field of these ids (besides
/// `--field ID=VALUE`, which answers any field).
pub const NAMED_FLAGS: [&str; 2] = ["instance", "username"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "scheme", rename_all = "lowercase")]
pub enum AuthDef {
    Header {
        header: String,
        value: String,
    },
    Query {
        param: String,
        #[serde(default = "key_only")]
        value: String,
    },
    Basic {
        user: String,
        password: String,
    },
}

fn key_only() -> String {
    "{key}".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    #[serde(default = "get")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A body for a POST check (a GraphQL query), sent as it is.
    #[serde(default)]
    pub body: Option<String>,
    pub rejected: Vec<u16>,
    #[serde(default)]
    pub forbidden: Vec<u16>,
    #[serde(default)]
    pub not_found: Vec<u16>,
    #[serde(default)]
    pub identity: Option<String>,
    /// A JSON pointer that must find a value other than `false` and
    /// `null` in a 2xx answer, else the key is rejected (Slack's `"ok":
    /// false`, a GraphQL answer with `errors` and no viewer).
    #[serde(default)]
    pub ok_pointer: Option<String>,
    pub rejected_message: String,
    #[serde(default)]
    pub forbidden_message: Option<String>,
    #[serde(default)]
    pub not_found_message: Option<String>,
    #[serde(default)]
    pub dns_message: Option<String>,
    #[serde(default)]
    pub rejected_hint: Option<String>,
    #[serde(default)]
    pub forbidden_hint: Option<String>,
    #[serde(default)]
    pub forbidden_reason: Option<String>,
    /// Leaked `(name, value)` pairs for the check request.
    #[serde(skip)]
    pub header_pairs: Vec<(&'static str, &'static str)>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitDef {
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(default)]
    pub wait_header: Option<String>,
    #[serde(default)]
    pub reset_header: Option<String>,
}

/// The placeholders `{…}` in a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Reads and validates one definition. `file` names it in errors (a
/// path, or `src/providers/catalog/ID.toml` for a built-in); `stem`, when
/// given, is the id the file name says it holds.
pub fn parse(file: &str, text: &str, stem: Option<&str>) -> Result<Definition> {
    let mut def: Definition = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| format!(", line {}", line_of_offset(text, s.start)))
            .unwrap_or_default();
        Error::user(format!("invalid provider definition {file}{line}"))
            .cause(e.message().trim().to_string())
            .hint(FORMAT_HINT)
    })?;
    if let Err((key, why)) = validate(&mut def, stem) {
        let line = line_of_key(text, &key)
            .map(|l| format!(", line {l}"))
            .unwrap_or_default();
        return Err(
            Error::user(format!("invalid provider definition {file}{line}"))
                .cause(format!("{key}: {why}"))
                .hint(FORMAT_HINT),
        );
    }
    Ok(def)
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line of `key` (`auth.value`, `fields.2.pattern`, `id`): the line
/// `key = …` in the table it belongs to, or the table's header.
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let parts: Vec<&str> = key.split('.').collect();
    let (table, index, leaf) = match parts.as_slice() {
        [leaf] => (None, 0, *leaf),
        [table, leaf] => (Some(*table), 0, *leaf),
        [table, i, leaf] => (Some(*table), i.parse().unwrap_or(0), *leaf),
        [table, i, ..] => (Some(*table), i.parse().unwrap_or(0), ""),
        [] => return None,
    };
    let mut current: Option<String> = None;
    let mut seen = 0usize;
    let mut header_line = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix("[[").and_then(|t| t.split("]]").next()) {
            let h = h.trim().to_string();
            if Some(h.as_str()) == table {
                seen += 1;
            }
            current = Some(h);
        } else if let Some(h) = t.strip_prefix('[').and_then(|t| t.split(']').next()) {
            current = Some(h.trim().to_string());
            seen = 1;
        }
        let here = current.as_deref() == table && (table.is_none() || seen == index + 1);
        if here && header_line.is_none() && table.is_some() && t.starts_with('[') {
            header_line = Some(n + 1);
        }
        if here
            && !leaf.is_empty()
            && let Some(rest) = t.strip_prefix(leaf)
            && rest.trim_start().starts_with('=')
        {
            return Some(n + 1);
        }
    }
    // A top-level table written as `[leaf]` (`[headers]`): its header.
    if table.is_none() && header_line.is_none() {
        let own = format!("[{leaf}]");
        return text.lines().position(|l| l.trim() == own).map(|n| n + 1);
    }
    header_line
}

mod normalize;
mod validate;

#[cfg(test)]
pub use normalize::email;
pub use normalize::normalize;
use validate::validate;

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"id = "x"
name = "X"
summary = "X API"
docs = "https://x.example"
base_url = "https://api.x.example"
example_path = "/me"
guide = """X: a key."""

[auth]
scheme = "header"
header = "Authorization"
value = "Bearer {key}"

[check]
path = "/me"
rejected = [401]
rejected_message = "X rejected the key"
"#;

    fn refusal(text: &str) -> String {
        let e = parse("x.toml", text, Some("x")).unwrap_err();
        format!("{} / {}", e.message, e.cause_lines().join(" / "))
    }

    #[test]
    fn a_minimal_definition_loads() {
        let d = parse("x.toml", MINIMAL, Some("x")).unwrap();
        assert_eq!(d.secret_label, "API key");
        assert_eq!(d.pagination, PaginationStyle::None);
    }

    #[test]
    fn refusals_name_the_key_and_line() {
        let cases = [
            (MINIMAL.replace("Bearer {key}", "Bearer"), "auth.value", 12),
            (
                MINIMAL.replace("https://api.x.example", "http://api.x.example"),
                "base_url",
                5,
            ),
            (
                MINIMAL.replace("https://api.x.example", "https://{team}.x.example"),
                "base_url",
                5,
            ),
            (MINIMAL.replace("[401]", "[401, 429]"), "check.rejected", 16),
            (MINIMAL.replace("[401]", "[200]"), "check.rejected", 16),
            (
                MINIMAL.replace(
                    "rejected = [401]",
                    "headers = { X = \"é\" }\nrejected = [401]",
                ),
                "check.headers",
                16,
            ),
            (MINIMAL.replace("id = \"x\"", "id = \"y\""), "id", 1),
            (
                format!("{MINIMAL}\n[headers]\nAuthorization = \"x\"\n"),
                "headers",
                19,
            ),
            (
                MINIMAL.replace("guide =", "headers = { X-Api-Key = \"{key}\" }\nguide ="),
                "headers",
                7,
            ),
            (MINIMAL.replace("id = \"x\"", "id = \"generic\""), "id", 1),
        ];
        for (text, key, line) in cases {
            let why = refusal(&text);
            assert!(why.contains(&format!("line {line}")), "{key}: {why}");
            assert!(why.contains(key), "{key}: {why}");
        }
        // A subdomain field needs its domain.
        let with_field = format!(
            "{MINIMAL}\n[[fields]]\nid = \"site\"\nprompt = \"Site\"\nexample = \"acme\"\nkind = \"subdomain\"\n"
        );
        assert!(
            refusal(&with_field).contains("fields.0.kind"),
            "{}",
            refusal(&with_field)
        );
        // serde's own refusals carry their line too.
        let typo = MINIMAL.replace("summary", "sumary");
        assert!(refusal(&typo).contains("line 3"), "{}", refusal(&typo));
    }
}
