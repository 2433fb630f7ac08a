//! A provider made from a definition ([`Definition`], one TOML file) and a
//! credential's stored field values: every provider of the catalog,
//! Paligo and Paymo included, is this one type.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::definition::{self, AuthDef, Definition, FieldDef, FieldKind, PaginationStyle};
use super::{Asker, Auth, Field, Pagination, Provider, ProviderKind, Question, Verdict};
use crate::error::{Error, Result};
use crate::http::retry::ProviderWait;

/// A catalog credential: its definition and its field values.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    pub def: &'static Definition,
    /// Field id → value, as config.toml holds them.
    pub values: BTreeMap<String, String>,
}

impl PartialEq for CatalogConfig {
    fn eq(&self, other: &Self) -> bool {
        self.def.id == other.def.id && self.values == other.values
    }
}

const DEFAULT_REJECTED_HINT: &str = "check the key, or pass --no-verify to store it unchecked";
const DEFAULT_FORBIDDEN_REASON: &str = "the user or key lacks the permission for this request";

/// The wizard's questions: the definition's fields, in order.
pub fn collect(def: &'static Definition, asker: &mut dyn Asker) -> Result<CatalogConfig> {
    let mut values = BTreeMap::new();
    for f in &def.fields {
        let validate = |s: &str| definition::normalize(f, &def.name, s);
        let v = asker.text(Question {
            flag: &f.flag,
            prompt: &f.prompt,
            default: f.default.as_deref(),
            example: &f.example,
            validate: &validate,
        })?;
        values.insert(f.id.clone(), v);
    }
    Ok(CatalogConfig { def, values })
}

impl CatalogConfig {
    fn value(&self, id: &str) -> &str {
        self.values.get(id).map(String::as_str).unwrap_or("")
    }

    /// `template` with every `{field}` replaced by its value (and the
    /// `{status}` / `{body}` of an answer, where given).
    fn fill(&self, template: &str, answer: Option<(u16, &[u8])>) -> String {
        let mut out = template.to_string();
        for f in &self.def.fields {
            out = out.replace(&format!("{{{}}}", f.id), self.value(&f.id));
        }
        if let Some((status, body)) = answer {
            out = out
                .replace("{status}", &status.to_string())
                .replace("{body}", &super::first_line(body));
        }
        out
    }

    /// A field value from config.toml that goes into the base URL must
    /// still be what the wizard would have stored (a hand edit could
    /// otherwise send the key to another host).
    fn check_url_field(&self, f: &FieldDef) -> Result<()> {
        let v = self.value(&f.id);
        let label = f.id.replace('_', " ");
        let fix = format!(
            "fix it in config.toml, or add the credential again with `cred add {} --force`",
            self.def.id
        );
        // A port after a host name (`git.example.com:8443`) is the one `:`
        // allowed; the definition's pattern says whether the field takes it.
        let host = match v.rsplit_once(':') {
            Some((host, port))
                if (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                host
            }
            _ => v,
        };
        let plain = !host.is_empty()
            && !host
                .chars()
                .any(|c| c.is_whitespace() || "/?#@:\\%[]{}".contains(c));
        match definition::normalize(f, &self.def.name, v) {
            Ok(n) if n == v && plain => Ok(()),
            _ if f.kind == FieldKind::Subdomain => Err(Error::user(format!(
                "the {} {label} `{v}` in config.toml is not a valid {label} name",
                self.def.name
            ))
            .hint(fix)),
            _ => Err(Error::user(format!(
                "the {} {label} `{v}` in config.toml is not valid in an address",
                self.def.name
            ))
            .hint(fix)),
        }
    }

    /// The base URL template and where it came from.
    fn template(&self) -> (String, String) {
        match super::env_url(&self.def.id) {
            Some((var, t)) => (t, var),
            None => (
                self.def.base_url.clone(),
                format!("the {} default", self.def.name),
            ),
        }
    }

    /// Whether a 2xx body says yes where the definition asks
    /// (`ok_pointer`: a value is there, and it is neither `false` nor
    /// `null`: Slack's `"ok": true`, Linear's viewer id).
    fn ok(&self, body: &[u8]) -> bool {
        let Some(pointer) = self.def.check.ok_pointer.as_deref() else {
            return true;
        };
        let json = serde_json::from_slice::<serde_json::Value>(body).ok();
        !matches!(
            json.as_ref().and_then(|v| v.pointer(pointer)),
            None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false))
        )
    }

    /// The identity from a 2xx body: the definition's template with each
    /// `{/pointer}` replaced; a part whose pointer finds nothing drops out
    /// (with the brackets around it), and with none found there is none.
    fn identity(&self, body: &[u8]) -> Option<String> {
        let template = self.def.check.identity.as_deref()?;
        let json: serde_json::Value = serde_json::from_slice(body).ok()?;
        let mut out = String::new();
        let mut rest = template;
        let mut found = false;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let pointer = &rest[start + 1..start + len];
            let value = match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
                _ => None,
            };
            let mut before = &rest[..start];
            let mut after = &rest[start + len + 1..];
            match value {
                Some(v) => {
                    found = true;
                    out.push_str(before);
                    out.push_str(&v);
                }
                None => {
                    // `<{/email}>`, `({/name})`: the brackets go too.
                    for (open, close) in [('<', '>'), ('(', ')'), ('[', ']')] {
                        if before.ends_with(open) && after.starts_with(close) {
                            before = &before[..before.len() - 1];
                            after = &after[1..];
                        }
                    }
                    out.push_str(before);
                }
            }
            rest = after;
        }
        out.push_str(rest);
        if !found {
            return None;
        }
        let joined = out.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(crate::escape::visible(&joined).into_owned())
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

impl Provider for CatalogConfig {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Catalog(self.def)
    }

    fn display_name(&self) -> &'static str {
        &self.def.name
    }

    fn target(&self) -> String {
        match self
            .def
            .fields
            .iter()
            .find(|f| f.kind == FieldKind::Subdomain)
        {
            Some(f) => self.value(&f.id).to_string(),
            None => self
                .base_url()
                .map(|u| u.to_string())
                .unwrap_or_else(|_| self.fill(&self.def.base_url, None)),
        }
    }

    fn fields(&self) -> Vec<Field> {
        if self.def.fields.is_empty() {
            return vec![Field::new("base_url", "base URL", self.target())];
        }
        self.def
            .fields
            .iter()
            .map(|f| Field::new(&f.id, &f.label, self.value(&f.id)))
            .collect()
    }

    fn config_keys(&self) -> &'static [&'static str] {
        &self.def.keys
    }

    fn exec_fields(&self) -> Vec<Field> {
        let def = self.def;
        def.fields
            .iter()
            .filter(|f| f.exec)
            .map(|f| Field::new(&f.id, &f.label, self.value(&f.id)))
            .collect()
    }

    fn secret_label(&self) -> String {
        self.def.secret_label.clone()
    }

    fn example_path(&self) -> String {
        self.def.example_path.clone()
    }

    fn rejected_hint(&self) -> &'static str {
        self.def
            .check
            .rejected_hint
            .as_deref()
            .unwrap_or(DEFAULT_REJECTED_HINT)
    }

    fn forbidden_hint(&self) -> &'static str {
        match &self.def.check.forbidden_hint {
            Some(h) => h,
            None => self.rejected_hint(),
        }
    }

    fn forbidden_reason(&self) -> &'static str {
        self.def
            .check
            .forbidden_reason
            .as_deref()
            .unwrap_or(DEFAULT_FORBIDDEN_REASON)
    }

    fn dns_failure(&self, host: &str) -> Option<String> {
        let message = self.def.check.dns_message.as_deref()?;
        // Only for the provider's own address: a moved base URL is
        // another host, with the resolver's words.
        if super::env_url(&self.def.id).is_some() {
            return None;
        }
        let default = Url::parse(&self.fill(&self.def.base_url, None)).ok()?;
        (default.host_str() == Some(host)).then(|| self.fill(message, None))
    }

    fn base_url(&self) -> Result<Url> {
        let (template, source) = self.template();
        for f in &self.def.fields {
            if template.contains(&format!("{{{}}}", f.id)) {
                self.check_url_field(f)?;
            }
        }
        super::parse_base(&self.fill(&template, None), &source)
    }

    fn auth(&self, secret: &SecretString) -> Auth {
        // Every copy of the key is zeroed when dropped.
        let with_key = |template: &str| {
            let filled = zeroize::Zeroizing::new(self.fill(template, None));
            SecretString::from(filled.replacen("{key}", secret.expose_secret(), 1))
        };
        match &self.def.auth {
            AuthDef::Header { header, value } => Auth::Header {
                name: header.clone(),
                value: with_key(value),
            },
            AuthDef::Query { param, value } => Auth::Query {
                name: param.clone(),
                value: with_key(value),
            },
            AuthDef::Basic { user, password } => Auth::Basic {
                user: with_key(user),
                password: with_key(password),
            },
        }
    }

    fn check_method(&self) -> &'static str {
        &self.def.check.method
    }

    fn check_path(&self) -> String {
        self.fill(&self.def.check.path, None)
    }

    fn check_body(&self) -> Option<&'static str> {
        self.def.check.body.as_deref()
    }

    fn check_headers(&self) -> Vec<(&'static str, &'static str)> {
        let own = &self.def.check.header_pairs;
        let mut out: Vec<(&'static str, &'static str)> = self
            .headers()
            .into_iter()
            .filter(|(n, _)| !own.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)))
            .collect();
        out.extend(own.iter().copied());
        out
    }

    fn headers(&self) -> Vec<(&'static str, &'static str)> {
        self.def.header_pairs.clone()
    }

    fn judge(&self, status: u16, body: &[u8]) -> Verdict {
        let c = &self.def.check;
        let message = |m: &Option<String>| {
            m.as_deref()
                .map(|m| self.fill(m, Some((status, body))))
                .unwrap_or_else(|| self.fill(&c.rejected_message, Some((status, body))))
        };
        match status {
            200..=299 if !self.ok(body) => {
                Verdict::Rejected(self.fill(&c.rejected_message, Some((status, body))))
            }
            200..=299 => Verdict::Valid(self.identity(body)),
            s if c.rejected.contains(&s) => {
                Verdict::Rejected(self.fill(&c.rejected_message, Some((status, body))))
            }
            s if c.forbidden.contains(&s) => Verdict::Forbidden(message(&c.forbidden_message)),
            s if c.not_found.contains(&s) => Verdict::NotFound(match &c.not_found_message {
                Some(m) => self.fill(m, Some((status, body))),
                None => format!(
                    "no {} API at this address (HTTP {status} for {}): {}",
                    self.def.name,
                    self.check_path(),
                    super::first_line(body)
                ),
            }),
            _ => Verdict::Unconfirmed(format!(
                "could not confirm the key: {} answered HTTP {status}: {}",
                self.def.name,
                super::first_line(body)
            )),
        }
    }

    fn pagination(&self) -> Pagination {
        match self.def.pagination {
            PaginationStyle::LinkHeader => Pagination::LinkHeader,
            PaginationStyle::NextPageField => Pagination::NextPageField,
            PaginationStyle::PageParam => Pagination::PageParam(crate::http::pages::PageNumbers {
                param: self.def.page_param.as_deref().unwrap_or("page"),
                per_page_param: self.def.per_page_param.as_deref(),
                per_page: self.def.per_page,
            }),
            PaginationStyle::None => Pagination::None,
        }
    }

    fn docs_url(&self) -> Option<&'static str> {
        Some(&self.def.docs)
    }

    fn api_notes(&self) -> &'static str {
        match &self.def.api_notes {
            Some(n) => n,
            None => &self.def.summary,
        }
    }

    fn rate_limit_wait(&self) -> Option<ProviderWait> {
        let r = self.def.rate_limit.as_ref()?;
        if let Some(h) = &r.wait_header {
            return Some(ProviderWait::Seconds(leak(h.to_ascii_lowercase())));
        }
        r.reset_header
            .as_ref()
            .map(|h| ProviderWait::ResetAt(leak(h.to_ascii_lowercase())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderConfig;

    fn paligo() -> CatalogConfig {
        match ProviderConfig::catalog(
            "paligo",
            &[("instance", "acme"), ("username", "me@acme.com")],
        )
        .unwrap()
        {
            ProviderConfig::Catalog(c) => c,
            _ => unreachable!(),
        }
    }

    fn paymo() -> CatalogConfig {
        match ProviderConfig::catalog("paymo", &[]).unwrap() {
            ProviderConfig::Catalog(c) => c,
            _ => unreachable!(),
        }
    }

    fn instance(input: &str) -> Result<String, String> {
        let p = paligo();
        definition::normalize(&p.def.fields[0], "Paligo", input)
    }

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
            assert_eq!(instance(input).as_deref(), Ok("acme"), "{input}");
        }
    }

    #[test]
    fn instance_refusals_say_why() {
        assert!(instance("").unwrap_err().contains("empty"));
        assert!(instance("ac_me").unwrap_err().contains("`_`"));
        assert!(instance("-acme").unwrap_err().contains("hyphen"));
        assert!(
            instance("example.com")
                .unwrap_err()
                .contains("not a Paligo address")
        );
        assert!(instance(&"a".repeat(64)).unwrap_err().contains("63"));
    }

    #[test]
    fn emails() {
        let email = |s: &str| definition::email(s, "Paligo");
        assert_eq!(email(" me@acme.com ").as_deref(), Ok("me@acme.com"));
        for bad in [
            "me",
            "me@",
            "@acme.com",
            "me@acme",
            "me @acme.com",
            "a:b@c.d",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paligo_auth_is_basic_email_key() {
        let auth = paligo().auth(&SecretString::from("k3y"));
        let (name, value) = auth.header().unwrap();
        assert_eq!(name, "Authorization");
        // base64("me@acme.com:k3y")
        assert_eq!(value.expose_secret(), "Basic bWVAYWNtZS5jb206azN5");
    }

    #[test]
    fn paligo_statuses() {
        let p = paligo();
        assert_eq!(p.judge(200, b""), Verdict::Valid(None));
        assert!(
            matches!(p.judge(401, b""), Verdict::Rejected(m) if m.contains("username or API key"))
        );
        assert!(
            matches!(p.judge(403, b""), Verdict::Forbidden(m) if m.contains("admin") && m.contains("me@acme.com"))
        );
        assert!(matches!(p.judge(404, b""), Verdict::NotFound(m) if m.contains("`acme`")));
        assert!(
            matches!(p.judge(500, b"boom\n"), Verdict::Unconfirmed(m) if m.contains("500: boom"))
        );
        assert_eq!(p.check_path(), "/folders?per_page=1");
        assert_eq!(p.pagination(), Pagination::NextPageField);
    }

    #[test]
    fn paligo_dns_failure_names_the_instance() {
        let p = paligo();
        let m = p.dns_failure("acme.paligoapp.com").unwrap();
        assert!(m.starts_with("no Paligo instance named `acme`"), "{m}");
        assert_eq!(p.dns_failure("example.com"), None);
    }

    #[test]
    fn a_hand_edited_instance_is_refused() {
        let mut p = paligo();
        p.values.insert("instance".into(), "evil.com/x".into());
        let err = p.base_url().unwrap_err();
        assert!(
            err.message.contains("is not a valid instance name"),
            "{}",
            err.message
        );
    }

    #[test]
    fn paymo_auth_is_basic_key_x() {
        let auth = paymo().auth(&SecretString::from("abc123"));
        // base64("abc123:X")
        assert_eq!(
            auth.header().unwrap().1.expose_secret(),
            "Basic YWJjMTIzOlg="
        );
    }

    #[test]
    fn paymo_names_the_user() {
        let p = paymo();
        let body = br#"{"users":[{"id":1,"name":"Ada Lovelace","email":"ada@example.com"}]}"#;
        assert_eq!(
            p.judge(200, body),
            Verdict::Valid(Some(
                "Authenticated as Ada Lovelace <ada@example.com>".into()
            ))
        );
        let only_email = br#"{"users":[{"email":"ada@example.com"}]}"#;
        assert_eq!(
            p.judge(200, only_email),
            Verdict::Valid(Some("Authenticated as <ada@example.com>".into()))
        );
        let only_name = br#"{"users":[{"name":"Ada","email":""}]}"#;
        assert_eq!(
            p.judge(200, only_name),
            Verdict::Valid(Some("Authenticated as Ada".into()))
        );
        assert_eq!(p.judge(200, b"not json"), Verdict::Valid(None));
        assert_eq!(p.judge(200, b"{}"), Verdict::Valid(None));
        assert!(matches!(p.judge(401, b""), Verdict::Rejected(_)));
        assert!(matches!(p.judge(403, b""), Verdict::Rejected(_)));
        assert!(matches!(p.judge(404, b"gone"), Verdict::NotFound(m) if m.ends_with("/me): gone")));
    }

    #[test]
    fn an_ok_pointer_that_is_not_true_is_a_rejection() {
        let text = crate::providers::catalog::BUILT_IN
            .iter()
            .find(|(id, _)| *id == "paymo")
            .unwrap()
            .1
            .replace(
                "rejected = [401, 403]",
                "rejected = [401, 403]\nok_pointer = \"/ok\"",
            );
        let def = definition::parse("paymo.toml", &text, None).unwrap();
        let p = CatalogConfig {
            def: Box::leak(Box::new(def)),
            values: BTreeMap::new(),
        };
        assert!(matches!(
            p.judge(200, br#"{"ok":false}"#),
            Verdict::Rejected(_)
        ));
        assert!(matches!(p.judge(200, b"not json"), Verdict::Rejected(_)));
        assert!(matches!(p.judge(200, br#"{"ok":true}"#), Verdict::Valid(_)));
        assert!(matches!(
            p.judge(200, br#"{"ok":null}"#),
            Verdict::Rejected(_)
        ));
        assert!(matches!(p.judge(200, br#"{}"#), Verdict::Rejected(_)));
        assert!(matches!(p.judge(200, br#"{"ok":"u1"}"#), Verdict::Valid(_)));
    }

    #[test]
    fn identity_is_sanitised() {
        let p = paymo();
        let body = br#"{"users":[{"name":"Ada\u001b[31m","email":"a@b.c"}]}"#;
        let Verdict::Valid(Some(who)) = p.judge(200, body) else {
            panic!()
        };
        assert!(!who.contains('\u{1b}'), "{who}");
    }

    #[test]
    fn paymo_waits_as_its_decay_period_says() {
        let wait = paymo().rate_limit_wait().unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("X-Ratelimit-Decay-Period", "3".parse().unwrap());
        assert_eq!(wait.read(&h), Some(std::time::Duration::from_secs(3)));
    }
}
