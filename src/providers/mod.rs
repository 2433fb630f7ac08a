//! The APIs `cred` knows (SPEC §1) behind one [`Provider`] trait.
//!
//! A provider knows its stored fields, its base URL, how the secret is
//! presented ([`Auth`]: the one place a key becomes request bytes), which
//! request checks a key, what its answers mean, how its lists paginate, and
//! every word cred says about it: the wizard's guide and questions
//! ([`ProviderKind::collect`] through an [`Asker`]), the secret's label,
//! the hints after a rejection. `add`, `verify`, `rotate`, `show` and
//! `call` all go through it; no command matches on the provider kind.

pub mod ask;
pub mod catalog;
pub mod data;
pub mod definition;
pub mod generic;
pub mod missing;

use std::collections::BTreeMap;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Exit, Result};
use crate::http::retry::ProviderWait;

pub use ask::{Asker, Question};
pub use data::CatalogConfig;
pub use definition::Definition;
pub use generic::{GenericConfig, Placement};

/// A provider `cred add` knows: one of the catalog (built in, or the
/// user's own file), or the generic one.
#[derive(Debug, Clone, Copy)]
pub enum ProviderKind {
    Catalog(&'static Definition),
    Generic,
    /// An id as typed on the command line, not looked up yet (the user's
    /// providers folder is known only once the config directory is):
    /// [`ProviderKind::resolved`] makes it one of the others.
    Named(&'static str),
}

/// `cred add ID`'s value parser: `generic`, or an id to look up later.
pub fn parse_id(text: &str) -> std::result::Result<ProviderKind, String> {
    let id = text.trim().to_ascii_lowercase();
    if id == "generic" {
        return Ok(ProviderKind::Generic);
    }
    let ok = !id.is_empty()
        && id.len() <= 40
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(
            "a provider id is 1-40 of a-z, 0-9 and `-` (`cred providers list` shows them)".into(),
        );
    }
    Ok(ProviderKind::Named(Box::leak(id.into_boxed_str())))
}

impl PartialEq for ProviderKind {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl ProviderKind {
    /// The catalog definition behind it (`None`: the generic provider, or
    /// an id not looked up yet), so commands need not match on the kind.
    pub fn definition(self) -> Option<&'static Definition> {
        match self {
            ProviderKind::Catalog(d) => Some(d),
            ProviderKind::Generic | ProviderKind::Named(_) => None,
        }
    }

    /// The provider of `id` (`generic`, or the catalog's), or an error
    /// naming the closest id (exit 2, as a usage error).
    pub fn resolve(id: &str) -> Result<ProviderKind> {
        if id == "generic" {
            return Ok(ProviderKind::Generic);
        }
        match catalog::lookup(id)? {
            Some(def) => Ok(ProviderKind::Catalog(def)),
            None => {
                let mut err = catalog::unknown(id);
                err.kind = Exit::Usage.into();
                Err(err)
            }
        }
    }

    /// A [`ProviderKind::Named`] looked up in the catalog (the user's
    /// files first); the others as they are.
    pub fn resolved(self) -> Result<ProviderKind> {
        match self {
            ProviderKind::Named(id) => ProviderKind::resolve(id),
            other => Ok(other),
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            ProviderKind::Catalog(d) => &d.id,
            ProviderKind::Generic => "generic",
            ProviderKind::Named(id) => id,
        }
    }

    /// What the wizard tells a person before asking anything.
    pub fn guide(self) -> &'static str {
        match self {
            ProviderKind::Catalog(d) => &d.guide,
            ProviderKind::Generic => generic::GUIDE,
            ProviderKind::Named(_) => "",
        }
    }

    /// Asks for (or takes from flags) the non-secret fields.
    pub fn collect(self, asker: &mut dyn Asker) -> Result<ProviderConfig> {
        Ok(match self.resolved()? {
            ProviderKind::Catalog(d) => ProviderConfig::Catalog(data::collect(d, asker)?),
            _ => ProviderConfig::Generic(generic::collect(asker)?),
        })
    }

    /// Whether the provider's id is a good name for its credential
    /// (`github`); `generic` says nothing about the API, so the wizard asks.
    pub fn id_names_the_api(self) -> bool {
        !matches!(self, ProviderKind::Generic)
    }

    /// Whether the wizard can usefully ask the other answers again after a
    /// failed check (a provider with no fields has none).
    pub fn has_answers(self) -> bool {
        match self {
            ProviderKind::Catalog(d) => !d.fields.is_empty(),
            ProviderKind::Generic | ProviderKind::Named(_) => true,
        }
    }
}

/// One stored field, for `show` (label) and `show --json` (key).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The name in config.toml and JSON: `base_url`.
    pub key: &'static str,
    /// The name for people: `base URL`.
    pub label: &'static str,
    pub value: String,
}

impl Field {
    pub fn new(key: &'static str, label: &'static str, value: impl Into<String>) -> Self {
        Field {
            key,
            label,
            value: value.into(),
        }
    }
}

/// The stored, non-secret fields of a credential, by provider. In
/// config.toml: `provider = "ID"` and the fields (serde below: a catalog
/// id is looked up, so a user's provider file is read only when a
/// credential names it).
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderConfig {
    Catalog(CatalogConfig),
    Generic(GenericConfig),
    /// A provider id whose definition cannot be had (a deleted or broken
    /// user file): the credential loads, and every use of it fails.
    Missing(missing::MissingProvider),
}

impl ProviderConfig {
    pub fn provider(&self) -> &dyn Provider {
        match self {
            ProviderConfig::Catalog(p) => p,
            ProviderConfig::Generic(p) => p,
            ProviderConfig::Missing(p) => p,
        }
    }

    /// Why the credential cannot be used, if its provider is missing.
    pub fn missing(&self) -> Option<&missing::MissingProvider> {
        match self {
            ProviderConfig::Missing(m) => Some(m),
            _ => None,
        }
    }

    /// A catalog credential of built-in `id` with these field values (for
    /// tests).
    #[cfg(test)]
    pub fn catalog(id: &str, values: &[(&str, &str)]) -> Result<ProviderConfig> {
        let def = catalog::lookup(id)?.ok_or_else(|| catalog::unknown(id))?;
        Ok(ProviderConfig::Catalog(CatalogConfig {
            def,
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }))
    }

    /// Points the live check at `path` (validated), where the provider
    /// lets the user choose it; `Err` says why not.
    pub fn set_check_path(&mut self, path: &str) -> Result<(), String> {
        match self {
            ProviderConfig::Generic(g) => {
                let path = generic::validate_check_path(path)?;
                g.check_path = Some(path).filter(|p| !p.is_empty());
                Ok(())
            }
            _ => Err(format!(
                "{} has a fixed check",
                self.provider().display_name()
            )),
        }
    }
}

/// The generic provider as config.toml has always held it.
#[derive(Serialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
enum TaggedGeneric<'a> {
    Generic(&'a GenericConfig),
}

impl Serialize for ProviderConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ProviderConfig::Generic(g) => TaggedGeneric::Generic(g).serialize(s),
            ProviderConfig::Missing(m) => {
                // Written back as it was read.
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("provider", &m.id)?;
                for (k, v) in &m.values {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            ProviderConfig::Catalog(c) => {
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("provider", &c.def.id)?;
                // In the definition's order.
                for f in &c.def.fields {
                    if let Some(v) = c.values.get(&f.id) {
                        map.serialize_entry(&f.id, v)?;
                    }
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ProviderConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = BTreeMap::<String, toml::Value>::deserialize(d)?;
        let id = match table.remove("provider") {
            Some(toml::Value::String(id)) => id,
            Some(_) => return Err(D::Error::custom("`provider` is not a string")),
            None => return Err(D::Error::missing_field("provider")),
        };
        if id == "generic" {
            let rest: toml::Table = table.into_iter().collect();
            return GenericConfig::deserialize(toml::Value::Table(rest))
                .map(ProviderConfig::Generic)
                .map_err(|e| D::Error::custom(e.message()));
        }
        // A definition that cannot be had makes this credential unusable,
        // not the whole file: the others still work.
        let why = match catalog::lookup(&id) {
            Ok(Some(def)) => Ok(def),
            Ok(None) => Err(match catalog::user_dir() {
                Some(d) => format!(
                    "provider definition missing: {}",
                    d.join(format!("{}.toml", crate::escape::visible(&id)))
                        .display()
                ),
                None => format!(
                    "unknown provider `{}`: cred has no built-in provider of that id",
                    crate::escape::visible(&id)
                ),
            }),
            Err(e) => {
                let mut text = format!("provider definition broken: {}", e.message);
                for c in e.cause_lines() {
                    text.push_str(": ");
                    text.push_str(&c);
                }
                Err(text)
            }
        };
        let def = match why {
            Ok(def) => def,
            Err(why) => {
                let mut values = toml::Table::new();
                for (k, v) in table {
                    if ![
                        "store",
                        "vault_mount",
                        "description",
                        "created",
                        "last_check",
                    ]
                    .contains(&k.as_str())
                    {
                        values.insert(k, v);
                    }
                }
                return Ok(ProviderConfig::Missing(missing::MissingProvider::new(
                    id, why, values,
                )));
            }
        };
        let mut values = BTreeMap::new();
        for f in &def.fields {
            match table.remove(&f.id) {
                Some(toml::Value::String(v)) => {
                    values.insert(f.id.clone(), v);
                }
                Some(other) => {
                    return Err(D::Error::custom(format!(
                        "invalid type: {}, expected a string for `{}`",
                        other.type_str(),
                        f.id
                    )));
                }
                None => return Err(D::Error::custom(format!("missing field `{}`", f.id))),
            }
        }
        // Keys left over are for `unknown_fields` to name with their line.
        Ok(ProviderConfig::Catalog(CatalogConfig { def, values }))
    }
}

/// How the pages of a list are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pagination {
    /// `{"next_page": "https://…", "<items>": [...]}` (Paligo).
    NextPageField,
    /// RFC 8288 `Link: <…>; rel="next"` headers.
    LinkHeader,
    /// Page numbers: `?page=2`, then 3, … until a page is empty or short.
    PageParam(crate::http::pages::PageNumbers),
    /// The API does not paginate (Paymo).
    None,
}

/// What an answer to the check request means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The key works; optionally who it belongs to.
    Valid(Option<String>),
    /// 401/403, with a provider-specific explanation.
    Rejected(String),
    /// 403 where the provider means "the key is good, the user may not use
    /// the API" (a Paligo user who is not an admin).
    Forbidden(String),
    /// The instance or API does not exist there.
    NotFound(String),
    /// Any other status: could not confirm.
    Unconfirmed(String),
}

/// One API's behaviour.
pub trait Provider {
    fn kind(&self) -> ProviderKind;

    /// The provider's name for people: "Paligo".
    fn display_name(&self) -> &'static str;

    /// What `cred list` shows as the target: instance or base URL.
    fn target(&self) -> String;

    /// The stored fields, for `cred show` (and later `exec`'s variables).
    fn fields(&self) -> Vec<Field>;

    /// The keys its table in config.toml may hold (besides the common ones).
    fn config_keys(&self) -> &'static [&'static str];

    /// The fields `cred exec` hands a program besides the key and the base
    /// URL (`username` → `NAME_USERNAME`).
    fn exec_fields(&self) -> Vec<Field> {
        Vec::new()
    }

    /// What prompts call the secret: "API key".
    fn secret_label(&self) -> String {
        "API key".to_string()
    }

    /// A path that works in `cred call NAME PATH`, for "Try it:".
    fn example_path(&self) -> String;

    /// What to do when the live check rejected the key on add or rotate.
    fn rejected_hint(&self) -> &'static str;

    /// What to do when the live check says the key is good but the user may
    /// not use the API ([`Verdict::Forbidden`]).
    fn forbidden_hint(&self) -> &'static str {
        self.rejected_hint()
    }

    /// Why a call may be refused with 403 although the key is good.
    fn forbidden_reason(&self) -> &'static str {
        "the user or key lacks the permission for this request"
    }

    /// The message for a host name that does not resolve, where the
    /// provider can say more than the resolver ("no Paligo instance …").
    fn dns_failure(&self, _host: &str) -> Option<String> {
        None
    }

    /// The API base every path is relative to (environment overrides apply).
    fn base_url(&self) -> Result<Url>;

    /// How the secret is presented on each request.
    fn auth(&self, secret: &SecretString) -> Auth;

    /// The path (relative to the base URL) that checks a key.
    fn check_path(&self) -> String;

    /// The check request's method.
    fn check_method(&self) -> &'static str {
        "GET"
    }

    /// The body of the check request (a POST's), if it has one.
    fn check_body(&self) -> Option<&'static str> {
        None
    }

    /// Extra headers the check request needs: [`Provider::headers`],
    /// with the check's own added or put in their place.
    fn check_headers(&self) -> Vec<(&'static str, &'static str)> {
        self.headers()
    }

    /// Headers every request to the API carries (Anthropic's
    /// `anthropic-version`), unless the request names the header itself:
    /// `cred call` (a `-H` wins), the proxy (the client's wins), `cred
    /// mcp`'s call tool and the check.
    fn headers(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// What a check answer with this status and body means.
    fn judge(&self, status: u16, body: &[u8]) -> Verdict;

    fn pagination(&self) -> Pagination;

    /// Where the API's own reference is, for people and agents (`cred mcp`'s
    /// `describe`).
    fn docs_url(&self) -> Option<&'static str> {
        None
    }

    /// What an agent calling the API should know: its shape, lists, limits
    /// (`cred mcp`'s `describe`).
    fn api_notes(&self) -> &'static str;

    /// How long a 429 without `Retry-After` asks to wait, read from the
    /// provider's own rate-limit headers (`None`: cred backs off).
    fn rate_limit_wait(&self) -> Option<ProviderWait> {
        None
    }
}

/// Adds a provider's [`Provider::headers`] (`defaults`) that `headers`
/// does not hold yet (a header the request names itself wins).
pub fn add_default_headers(
    headers: &mut reqwest::header::HeaderMap,
    defaults: &[(&'static str, &'static str)],
) {
    use reqwest::header::{HeaderName, HeaderValue};
    for &(name, value) in defaults {
        if let Ok(name) = HeaderName::from_bytes(name.as_bytes())
            && !headers.contains_key(&name)
        {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
}

/// The secret as it goes on the wire.
pub enum Auth {
    /// `Authorization: Basic base64(user:password)`; either side may hold
    /// the key (Paligo: email:key, Paymo: key:X).
    Basic {
        user: SecretString,
        password: SecretString,
    },
    /// A request header, such as `X-Api-Key: Api-Key …`.
    Header { name: String, value: SecretString },
    /// A query parameter, such as `?api_key=…`.
    Query { name: String, value: SecretString },
}

impl Auth {
    #[cfg(test)]
    pub fn basic(user: &str, password: &str) -> Auth {
        Auth::Basic {
            user: SecretString::from(user.to_string()),
            password: SecretString::from(password.to_string()),
        }
    }

    /// The header this auth sends, if it is a header: name and exact value.
    pub fn header(&self) -> Option<(&str, SecretString)> {
        match self {
            Auth::Basic { user, password } => {
                // Every intermediate copy of the key is zeroed when dropped.
                let pair = zeroize::Zeroizing::new(format!(
                    "{}:{}",
                    user.expose_secret(),
                    password.expose_secret()
                ));
                let token = zeroize::Zeroizing::new(
                    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()),
                );
                Some((
                    "Authorization",
                    SecretString::from(format!("Basic {}", token.as_str())),
                ))
            }
            Auth::Header { name, value } => Some((name.as_str(), value.clone())),
            Auth::Query { .. } => None,
        }
    }

    /// The query parameter this auth sends, if it is one.
    pub fn query(&self) -> Option<(&str, &SecretString)> {
        match self {
            Auth::Query { name, value } => Some((name.as_str(), value)),
            _ => None,
        }
    }
}

#[cfg(test)]
pub fn paymo_credential_for_tests() -> crate::config::Credential {
    crate::config::Credential {
        provider: ProviderConfig::catalog("paymo", &[]).expect("paymo is built in"),
        store: crate::secrets::StoreKind::default(),
        vault_mount: None,
        description: None,
        created: None,
        last_check: None,
    }
}

/// The first line of a body, for messages: at most 200 characters.
pub fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// The environment variables that move a provider's base URL (tests, a
/// mirror): `CRED_PROVIDER_URL_<ID>` for every provider, the id
/// upper-cased with `-` as `_`.
pub const URL_VAR_PREFIX: &str = "CRED_PROVIDER_URL_";

/// The older names of two of them, still read (after the new one).
const LEGACY_URL_VARS: [(&str, &str); 2] =
    [("paligo", "CRED_PALIGO_URL"), ("paymo", "CRED_PAYMO_URL")];

/// `CRED_PROVIDER_URL_<ID>` of a provider id.
pub fn url_var_of(id: &str) -> String {
    format!(
        "{URL_VAR_PREFIX}{}",
        id.to_ascii_uppercase().replace('-', "_")
    )
}

/// The variables that may move provider `id`'s base URL, in the order
/// they are read.
pub fn url_vars(id: &str) -> Vec<String> {
    let mut vars = vec![url_var_of(id)];
    vars.extend(
        LEGACY_URL_VARS
            .iter()
            .filter(|(p, _)| *p == id)
            .map(|(_, v)| v.to_string()),
    );
    vars
}

/// The variable the person most likely used to move `id` (the older name
/// where there is one), for hints.
pub fn url_var(id: &str) -> String {
    url_vars(id).pop().unwrap_or_else(|| url_var_of(id))
}

/// The override of provider `id`'s base URL that is set: `(variable,
/// value)`.
pub fn env_url(id: &str) -> Option<(String, String)> {
    url_vars(id).into_iter().find_map(|var| {
        let v = std::env::var(&var).ok().filter(|v| !v.trim().is_empty())?;
        Some((var, v))
    })
}

pub fn parse_base(text: &str, source: &str) -> Result<Url> {
    let url = Url::parse(text).map_err(|e| {
        crate::error::Error::user(format!("the base URL `{text}` from {source} is not a URL"))
            .cause(e)
    })?;
    // An override (a mirror, a test server) obeys the generic rule: the
    // key goes over https, or plain http only to this machine.
    match url.scheme() {
        "https" => Ok(url),
        "http" if crate::http::is_loopback(&url) => Ok(url),
        other => Err(crate::error::Error::user(format!(
            "the base URL `{text}` from {source} uses {other}://, which would send the key unencrypted"
        ))
        .hint("use https://, or http:// only for a loopback address (127.0.0.1, localhost)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_bytes() {
        let auth = Auth::basic("me@acme.com", "k3y");
        let (name, value) = auth.header().unwrap();
        assert_eq!(name, "Authorization");
        assert_eq!(value.expose_secret(), "Basic bWVAYWNtZS5jb206azN5");
    }

    #[test]
    fn first_line_is_trimmed_and_bounded() {
        assert_eq!(first_line(b"\n  oops  \nmore"), "oops");
        assert_eq!(first_line(&[b'x'; 300]).chars().count(), 201);
    }
}
