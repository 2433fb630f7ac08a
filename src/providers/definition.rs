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

type Invalid = (String, String);

/// Checks that a template's placeholders are fields (or the extra names).
type Known<'a> = dyn Fn(&str, &str, &[&str]) -> Result<(), Invalid> + 'a;

fn bad(key: impl Into<String>, why: impl Into<String>) -> Invalid {
    (key.into(), why.into())
}

const RESERVED: [&str; 9] = [
    "key",
    "provider",
    "store",
    "vault_mount",
    "description",
    "created",
    "last_check",
    "base_url",
    "name",
];

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// One line of text: no control or format character.
fn line(key: &str, value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(bad(key, "is empty"));
    }
    match crate::escape::control_in(value) {
        Some(shown) => Err(bad(key, format!("holds a control character ({shown})"))),
        None => Ok(()),
    }
}

/// Text that may span lines: no control character but line breaks.
fn text(key: &str, value: &str) -> Result<(), Invalid> {
    for l in value.lines() {
        if let Some(shown) = crate::escape::control_in(l) {
            return Err(bad(key, format!("holds a control character ({shown})")));
        }
    }
    Ok(())
}

fn validate(def: &mut Definition, stem: Option<&str>) -> Result<(), Invalid> {
    validate_id(def, stem)?;
    validate_texts(def)?;
    validate_paging(def)?;
    validate_fields(def)?;
    let ids: Vec<String> = def.fields.iter().map(|f| f.id.clone()).collect();
    let known = |key: &str, template: &str, extra: &[&str]| -> Result<(), Invalid> {
        for p in placeholders(template) {
            if !ids.iter().any(|i| i == p) && !extra.contains(&p) {
                return Err(bad(
                    key,
                    format!(
                        "`{{{p}}}` names no field of this provider (fields: {})",
                        fields_list(&ids)
                    ),
                ));
            }
        }
        Ok(())
    };
    validate_base_url(def, &known)?;
    validate_auth(def, &known)?;
    def.header_pairs = plain_headers("headers", &def.headers, &def.auth)?;
    validate_check(def, &known)?;
    validate_rate_limit(def)?;
    def.keys = def.fields.iter().map(|f| leak(&f.id)).collect();
    Ok(())
}

/// The id: 1-40 of a-z, 0-9 and `-`, not `generic`, and the file's stem.
fn validate_id(def: &Definition, stem: Option<&str>) -> Result<(), Invalid> {
    let id_ok = !def.id.is_empty()
        && def.id.len() <= 40
        && def
            .id
            .starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && def
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        return Err(bad(
            "id",
            format!(
                "`{}` is not a provider id: 1-40 of a-z, 0-9 and `-`, starting with a letter or digit",
                def.id
            ),
        ));
    }
    if def.id == "generic" {
        return Err(bad("id", "`generic` is cred's own provider for any API"));
    }
    if let Some(stem) = stem
        && stem != def.id
    {
        return Err(bad(
            "id",
            format!("the file is named {stem}.toml, so its id must be `{stem}`"),
        ));
    }
    Ok(())
}

/// The one-line and multi-line texts: name, summary, label, keywords,
/// docs, guide, API notes and example path.
fn validate_texts(def: &Definition) -> Result<(), Invalid> {
    line("name", &def.name)?;
    line("summary", &def.summary)?;
    line("secret_label", &def.secret_label)?;
    for k in &def.keywords {
        line("keywords", k)?;
    }
    if !def.docs.starts_with("https://") {
        return Err(bad("docs", "must be an https:// address"));
    }
    line("docs", &def.docs)?;
    text("guide", &def.guide)?;
    if def.guide.trim().is_empty() {
        return Err(bad("guide", "is empty"));
    }
    if let Some(n) = &def.api_notes {
        text("api_notes", n)?;
    }
    if !def.example_path.starts_with('/') {
        return Err(bad("example_path", "must start with `/`"));
    }
    line("example_path", &def.example_path)?;
    Ok(())
}

/// The base URL, with every field at its example, is https (or http on
/// loopback).
fn validate_base_url(def: &Definition, known: &Known) -> Result<(), Invalid> {
    line("base_url", &def.base_url)?;
    known("base_url", &def.base_url, &[])?;
    let mut sample = def.base_url.clone();
    for f in &def.fields {
        sample = sample.replace(&format!("{{{}}}", f.id), &f.example);
    }
    match url::Url::parse(&sample) {
        Ok(u) if u.scheme() == "https" => {}
        Ok(u) if u.scheme() == "http" && crate::http::is_loopback(&u) => {}
        Ok(u) => {
            return Err(bad(
                "base_url",
                format!(
                    "uses {}://; the key goes over https, or plain http only to a loopback address",
                    u.scheme()
                ),
            ));
        }
        Err(e) => return Err(bad("base_url", format!("`{sample}` is not a URL: {e}"))),
    }
    if !def.base_url.starts_with("https://") && !def.base_url.starts_with("http://") {
        return Err(bad("base_url", "must start with https://"));
    }
    Ok(())
}

/// The rate limit's hint and header names.
fn validate_rate_limit(def: &Definition) -> Result<(), Invalid> {
    if let Some(r) = &def.rate_limit {
        if let Some(h) = &r.hint {
            line("rate_limit.hint", h)?;
        }
        for (key, h) in [
            ("rate_limit.wait_header", &r.wait_header),
            ("rate_limit.reset_header", &r.reset_header),
        ] {
            if let Some(h) = h
                && reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err()
            {
                return Err(bad(key, format!("`{h}` is not a header name")));
            }
        }
    }
    Ok(())
}

fn validate_paging(def: &Definition) -> Result<(), Invalid> {
    let paged = def.pagination == PaginationStyle::PageParam;
    for (key, set) in [
        ("page_param", def.page_param.is_some()),
        ("per_page_param", def.per_page_param.is_some()),
        ("per_page", def.per_page.is_some()),
    ] {
        if set && !paged {
            return Err(bad(key, "only for pagination = \"page-param\""));
        }
    }
    for (key, p) in [
        ("page_param", &def.page_param),
        ("per_page_param", &def.per_page_param),
    ] {
        if let Some(p) = p
            && (p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.[]".contains(c)))
        {
            return Err(bad(key, format!("`{p}` is not a query parameter name")));
        }
    }
    match (def.per_page, &def.per_page_param) {
        (Some(0), _) => Err(bad("per_page", "must be at least 1")),
        (Some(_), None) => Err(bad(
            "per_page",
            "needs per_page_param, the parameter it goes in",
        )),
        _ => Ok(()),
    }
}

fn fields_list(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".into()
    } else {
        ids.join(", ")
    }
}

fn validate_fields(def: &mut Definition) -> Result<(), Invalid> {
    let mut seen: Vec<String> = Vec::new();
    for (i, f) in def.fields.iter_mut().enumerate() {
        let key = |leaf: &str| format!("fields.{i}.{leaf}");
        let ok = f.id.starts_with(|c: char| c.is_ascii_lowercase())
            && f.id.len() <= 40
            && f.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(bad(
                key("id"),
                format!(
                    "`{}` is not a field id: a-z, 0-9 and `_`, starting with a letter",
                    f.id
                ),
            ));
        }
        if RESERVED.contains(&f.id.as_str()) {
            return Err(bad(
                key("id"),
                format!("`{}` is a name cred uses itself", f.id),
            ));
        }
        if seen.contains(&f.id) {
            return Err(bad(key("id"), format!("`{}` is there twice", f.id)));
        }
        seen.push(f.id.clone());
        line(&key("prompt"), &f.prompt)?;
        line(&key("example"), &f.example)?;
        if let Some(h) = &f.help {
            line(&key("help"), h)?;
        }
        match (f.kind, &f.domain) {
            (FieldKind::Subdomain, None) => {
                return Err(bad(key("kind"), "a subdomain field needs `domain`"));
            }
            (FieldKind::Subdomain, Some(d))
                if d.is_empty() || !d.contains('.') || d.starts_with('.') =>
            {
                return Err(bad(key("domain"), format!("`{d}` is not a domain")));
            }
            (FieldKind::Subdomain, Some(_)) => {}
            (_, Some(_)) => {
                return Err(bad(key("domain"), "only a subdomain field has a domain"));
            }
            _ => {}
        }
        if let Some(p) = &f.pattern {
            f.regex = Some(
                regex::Regex::new(p)
                    .map_err(|e| bad(key("pattern"), format!("not a regex: {e}")))?,
            );
        }
        f.label = f.id.replace('_', " ");
        f.flag = if NAMED_FLAGS.contains(&f.id.as_str()) {
            format!("--{}", f.id)
        } else {
            format!("--field {}", f.id)
        };
        let name = def.name.clone();
        let check = |leaf: &str, v: &str| {
            normalize(f, &name, v)
                .map(|_| ())
                .map_err(|why| bad(key(leaf), format!("`{v}` is not accepted: {why}")))
        };
        check("example", &f.example)?;
        if let Some(d) = &f.default {
            check("default", d)?;
        }
    }
    Ok(())
}

fn validate_auth(def: &Definition, known: &Known) -> Result<(), Invalid> {
    let once = |key: &str, t: &str| -> Result<(), Invalid> {
        line(key, t)?;
        known(key, t, &["key"])?;
        match t.matches("{key}").count() {
            1 => Ok(()),
            n => Err(bad(
                key,
                format!("must hold {{key}} exactly once (it has {n})"),
            )),
        }
    };
    match &def.auth {
        AuthDef::Header { header, value } => {
            if reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return Err(bad(
                    "auth.header",
                    format!("`{header}` is not a header name"),
                ));
            }
            once("auth.value", value)
        }
        AuthDef::Query { param, value } => {
            line("auth.param", param)?;
            once("auth.value", value)
        }
        AuthDef::Basic { user, password } => {
            known("auth.user", user, &["key"])?;
            known("auth.password", password, &["key"])?;
            text("auth.user", user)?;
            text("auth.password", password)?;
            match (
                user.matches("{key}").count(),
                password.matches("{key}").count(),
            ) {
                (1, 0) | (0, 1) => {}
                _ => {
                    return Err(bad(
                        "auth.user",
                        "{key} goes exactly once into one of user and password",
                    ));
                }
            }
            if user.contains(':') && !user.contains('{') {
                return Err(bad("auth.user", "a Basic user name holds no `:`"));
            }
            Ok(())
        }
    }
}

/// Headers a definition sends as they are: valid names, plain visible
/// ASCII values without placeholders, and never the key's own header
/// (`Authorization`, or the auth scheme's header): those are cred's.
fn plain_headers(
    key: &str,
    headers: &BTreeMap<String, String>,
    auth: &AuthDef,
) -> Result<Vec<(&'static str, &'static str)>, Invalid> {
    let auth_header = match auth {
        AuthDef::Header { header, .. } => Some(header.as_str()),
        _ => None,
    };
    let mut pairs = Vec::new();
    for (name, value) in headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(bad(key, format!("`{name}` is not a header name")));
        }
        if name.eq_ignore_ascii_case("authorization")
            || auth_header.is_some_and(|h| h.eq_ignore_ascii_case(name))
        {
            return Err(bad(
                key,
                format!("`{name}` carries the key: cred sets it from [auth]"),
            ));
        }
        if [
            "host",
            "content-length",
            "transfer-encoding",
            "connection",
            "cookie",
        ]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
        {
            return Err(bad(key, format!("`{name}` is set by cred itself")));
        }
        // Visible ASCII only: requests build it with `from_static`.
        let visible = value.chars().all(|c| c == '\t' || (' '..='~').contains(&c));
        if !visible || reqwest::header::HeaderValue::from_str(value).is_err() || value.contains('{')
        {
            return Err(bad(key, format!("`{value}` is not a plain header value")));
        }
        pairs.push((leak(name), leak(value)));
    }
    Ok(pairs)
}

fn validate_check(def: &mut Definition, known: &Known) -> Result<(), Invalid> {
    let c = &mut def.check;
    validate_check_request(c, known)?;
    c.header_pairs = plain_headers("check.headers", &c.headers, &def.auth)?;
    validate_check_body(c)?;
    validate_statuses(c)?;
    validate_check_texts(c, known)?;
    Ok(())
}

/// The check's method and path.
fn validate_check_request(c: &CheckDef, known: &Known) -> Result<(), Invalid> {
    if !["GET", "POST", "HEAD"].contains(&c.method.as_str()) {
        return Err(bad("check.method", "must be GET, POST or HEAD"));
    }
    if !c.path.starts_with('/') {
        return Err(bad("check.path", "must start with `/`"));
    }
    line("check.path", &c.path)?;
    known("check.path", &c.path, &[])?;
    Ok(())
}

/// A check body: POST only, and its type said in the check's headers.
fn validate_check_body(c: &CheckDef) -> Result<(), Invalid> {
    if let Some(body) = &c.body {
        if c.method != "POST" {
            return Err(bad("check.body", "only a POST check sends a body"));
        }
        text("check.body", body)?;
        if !c
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            return Err(bad(
                "check.body",
                "say its type in check.headers (e.g. Content-Type = \"application/json\")",
            ));
        }
    }
    Ok(())
}

/// The statuses of a wrong key, a forbidden user and a wrong address:
/// 4xx or 5xx (not 429), each listed once.
fn validate_statuses(c: &CheckDef) -> Result<(), Invalid> {
    if c.rejected.is_empty() {
        return Err(bad(
            "check.rejected",
            "name the statuses of a wrong key (e.g. [401])",
        ));
    }
    let mut all: Vec<u16> = Vec::new();
    for (key, list) in [
        ("check.rejected", &c.rejected),
        ("check.forbidden", &c.forbidden),
        ("check.not_found", &c.not_found),
    ] {
        for s in list {
            if !(400..=599).contains(s) || *s == 429 {
                return Err(bad(
                    key,
                    format!("{s} is not a 4xx or 5xx status (other than 429)"),
                ));
            }
            if all.contains(s) {
                return Err(bad(key, format!("{s} is listed twice")));
            }
            all.push(*s);
        }
    }
    Ok(())
}

/// The check's messages and hints, OK pointer and identity.
fn validate_check_texts(c: &CheckDef, known: &Known) -> Result<(), Invalid> {
    let messages = [
        ("check.rejected_message", Some(&c.rejected_message)),
        ("check.forbidden_message", c.forbidden_message.as_ref()),
        ("check.not_found_message", c.not_found_message.as_ref()),
        ("check.dns_message", c.dns_message.as_ref()),
        ("check.rejected_hint", c.rejected_hint.as_ref()),
        ("check.forbidden_hint", c.forbidden_hint.as_ref()),
        ("check.forbidden_reason", c.forbidden_reason.as_ref()),
    ];
    for (key, m) in messages {
        if let Some(m) = m {
            line(key, m)?;
            known(key, m, &["status", "body"])?;
        }
    }
    if let Some(p) = &c.ok_pointer
        && !p.starts_with('/')
    {
        return Err(bad(
            "check.ok_pointer",
            format!("`{p}` is not a JSON pointer (they start with `/`)"),
        ));
    }
    if let Some(identity) = &c.identity {
        line("check.identity", identity)?;
        let pointers = placeholders(identity);
        if pointers.is_empty() {
            return Err(bad(
                "check.identity",
                "names no JSON pointer: write them in braces, e.g. {/login}",
            ));
        }
        if let Some(p) = pointers.iter().find(|p| !p.starts_with('/')) {
            return Err(bad(
                "check.identity",
                format!("`{{{p}}}` is not a JSON pointer (they start with `/`)"),
            ));
        }
    }
    Ok(())
}

/// Checks a field's answer and returns the value to store, or why not:
/// trimmed; a subdomain from a pasted address; an email; a number; then
/// the pattern, if any.
pub fn normalize(f: &FieldDef, provider: &str, input: &str) -> Result<String, String> {
    let s = input.trim();
    let value = match f.kind {
        FieldKind::Subdomain => subdomain(
            s,
            f.domain.as_deref().unwrap_or(""),
            provider,
            &f.id.replace('_', " "),
        )?,
        FieldKind::Email => email(s, provider)?,
        FieldKind::Number => {
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("`{s}` is not a number"));
            }
            s.to_string()
        }
        FieldKind::Text => {
            if s.is_empty() {
                return Err(format!("the {} is empty", f.id.replace('_', " ")));
            }
            s.to_string()
        }
    };
    if let Some(re) = &f.regex
        && !re.is_match(&value)
    {
        return Err(format!("`{value}` does not look like {}", f.example));
    }
    Ok(value)
}

/// Accepts `acme`, `acme.DOMAIN` or a pasted address such as
/// `https://acme.DOMAIN/document/edit/12`; returns `acme`.
pub fn subdomain(input: &str, domain: &str, provider: &str, noun: &str) -> Result<String, String> {
    let mut s = input.trim();
    if s.is_empty() {
        return Err(format!("the {noun} name is empty"));
    }
    if let Some(rest) = s.split_once("://").map(|(_, rest)| rest) {
        s = rest;
    }
    let host = s.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let label = match host.strip_suffix(&format!(".{domain}")) {
        Some(l) => l.to_string(),
        None if host.contains('.') => {
            return Err(format!(
                "`{host}` is not a {provider} address: expected NAME or NAME.{domain}"
            ));
        }
        None => host,
    };
    dns_label(&label, noun)?;
    Ok(label)
}

fn dns_label(label: &str, noun: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err(format!("the {noun} name is empty"));
    }
    if label.len() > 63 {
        return Err(format!(
            "`{label}` is {} characters long; {} name has at most 63",
            label.len(),
            article(noun)
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "`{label}` contains `{c}`; {} name has only letters, digits and hyphens",
            article(noun)
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "`{label}` starts or ends with a hyphen, which {} name cannot",
            article(noun)
        ));
    }
    Ok(())
}

/// "an instance", "a subdomain".
fn article(noun: &str) -> String {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// An email address (a user name that is one).
pub fn email(input: &str, provider: &str) -> Result<String, String> {
    let s = input.trim();
    let refuse = || {
        Err(format!(
            "`{s}` is not an email address: {provider} usernames are the email you sign in with"
        ))
    };
    let Some((local, domain)) = s.split_once('@') else {
        return refuse();
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
        return refuse();
    }
    Ok(s.to_string())
}

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
