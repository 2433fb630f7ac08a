//! The checks a definition passes after serde has read it: ids, texts,
//! the base URL, fields, auth, headers, the check and paging. Each refusal
//! is the key it is about (`auth.value`, `fields.2.pattern`) and why;
//! [`super::parse`] turns the key into a line of the file.

use super::*;

pub(super) type Invalid = (String, String);

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

pub(super) fn validate(def: &mut Definition, stem: Option<&str>) -> Result<(), Invalid> {
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
