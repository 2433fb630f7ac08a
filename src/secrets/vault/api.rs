//! Vault's HTTP API, as the vault store uses it: where the server is and
//! which token to send ([`Settings`]), one request through the project's
//! one pipeline ([`Api::call`]), and what a failure means ([`VaultError`]).
//!
//! The token goes only to `VAULT_ADDR`'s origin, as a sensitive
//! `X-Vault-Token` header; it is never printed: `lookup-self`'s `id` is
//! dropped, and every string Vault sends back is shown through
//! [`Api::shown`], which masks the token wherever a server echoes it.
//! Answers are read up to 1 MiB; a success that is bigger or not JSON is
//! [`VaultError::NotAnEntry`], never taken as "nothing there".

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use crate::error::{Error, Exit};
use crate::http::{Body, Pipeline, Request, SendError};
use crate::providers::Auth;
use crate::scrub::Secrets;
use crate::secrets::{Failure, StoreError};

/// The answer bodies cred reads from Vault are small; anything bigger is
/// cut here, so memory stays bounded whatever the server sends.
const MAX_ANSWER: u64 = 1024 * 1024;

/// Why Vault could not be used. Every kind exits 7, with its own cause
/// and fix.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no Vault address is set")]
    NoAddress,
    #[error("no Vault token is set")]
    NoToken,
    #[error("the Vault address `{addr}` cannot be used: {why}")]
    BadAddress { addr: String, why: String },
    #[error("cannot read the Vault CA certificate {}", path.display())]
    CaCert { path: PathBuf, why: String },
    #[error("cannot reach Vault at {addr}")]
    Unreachable {
        addr: String,
        #[source]
        source: SendError,
    },
    #[error("Vault at {addr} is sealed")]
    Sealed { addr: String },
    #[error("the Vault token was refused: it is invalid, expired or revoked")]
    BadToken,
    #[error("Vault's policy does not let this token {action} `{path}`")]
    Denied { action: &'static str, path: String },
    #[error("`{mount}` is not a KV version 2 secrets engine in this Vault")]
    NotKv2 { mount: String, why: String },
    #[error("Vault answered {status} to {action} `{path}`")]
    Unexpected {
        status: u16,
        action: &'static str,
        path: String,
        errors: String,
    },
    #[error("`{path}` in Vault is not a credential cred wrote: {why}")]
    BadData { path: String, why: String },
    #[error("Vault at {addr} answered something that is not a KV version 2 entry")]
    NotAnEntry {
        addr: String,
        path: String,
        why: String,
    },
    #[error("{var} is set: cred never skips TLS verification")]
    SkipVerify { var: &'static str },
    #[error("{path} already exists in Vault (version {version})")]
    Exists {
        name: String,
        path: String,
        version: u64,
    },
    #[error(
        "{path} was changed in Vault meanwhile: version {read} was read, version {current} is current"
    )]
    Changed {
        path: String,
        read: u64,
        current: String,
    },
}

impl VaultError {
    /// What kind of failure this is, whatever the store.
    pub fn failure(&self) -> Failure {
        match self {
            VaultError::NoAddress
            | VaultError::NoToken
            | VaultError::BadAddress { .. }
            | VaultError::CaCert { .. }
            | VaultError::NotKv2 { .. } => Failure::Misconfigured,
            VaultError::Unreachable { .. } => Failure::Unreachable,
            VaultError::Sealed { .. } => Failure::Locked,
            VaultError::BadToken | VaultError::Denied { .. } => Failure::Refused,
            VaultError::Unexpected { .. } => Failure::Unreadable,
            VaultError::BadData { .. } => Failure::Malformed,
            VaultError::NotAnEntry { .. } => Failure::Unreadable,
            VaultError::SkipVerify { .. } => Failure::Misconfigured,
            VaultError::Exists { .. } | VaultError::Changed { .. } => Failure::Conflict,
        }
    }
}

impl From<VaultError> for StoreError {
    fn from(e: VaultError) -> StoreError {
        StoreError::new(e.failure(), Error::from(e))
    }
}

impl From<VaultError> for Error {
    fn from(e: VaultError) -> Error {
        let err = Error::new(Exit::Store, e.to_string());
        match &e {
            VaultError::NoAddress => err
                .cause("neither VAULT_ADDR nor BAO_ADDR is set")
                .hint("set VAULT_ADDR to your server, e.g. export VAULT_ADDR=https://vault.example.com:8200"),
            VaultError::NoToken => err
                .cause("neither VAULT_TOKEN nor BAO_TOKEN is set, and there is no ~/.vault-token")
                .hint("log in with `bao login` (or `vault login`), or set VAULT_TOKEN"),
            VaultError::BadAddress { .. } => err.hint(
                "use an https:// address (http:// only for 127.0.0.1, ::1 or localhost)",
            ),
            VaultError::CaCert { why, .. } => err
                .cause(why)
                .hint("point VAULT_CACERT at the PEM file of the CA that signed the server's certificate (or VAULT_CAPATH at a directory of them)"),
            VaultError::Unreachable { source, .. } => {
                let hint = match source {
                    SendError::Tls { .. } => {
                        "if the server's certificate comes from a private CA, point VAULT_CACERT at the CA's PEM file (or VAULT_CAPATH at a directory of them); cred never skips verification"
                    }
                    _ => "check VAULT_ADDR and that the server is up: `bao status`",
                };
                err.cause(source.to_string()).hint(hint)
            }
            VaultError::Sealed { .. } => err
                .cause("a sealed Vault answers every request with 503")
                .hint("unseal it (`bao operator unseal`), or ask whoever runs it"),
            VaultError::BadToken => err
                .cause("Vault answered 403 to auth/token/lookup-self")
                .hint("check it with `bao token lookup`, then log in again (`bao login`) or set a fresh VAULT_TOKEN"),
            VaultError::Denied { path, .. } => {
                let hint = format!(
                    "ask for a policy granting it on `{path}` (see the README, \"Team credentials in Vault\"); `bao token capabilities {path}` shows what the token may do"
                );
                err.cause("Vault answered 403; the token itself is valid").hint(hint)
            }
            VaultError::NotKv2 { mount, why } => {
                let hint = if why.contains("KV version 1") {
                    format!(
                        "upgrade it to version 2 (existing secrets are kept): `bao kv enable-versioning {mount}`; or pass another mount with --vault-mount"
                    )
                } else {
                    format!(
                        "pass the mount of a KV v2 engine with --vault-mount, or enable one: `bao secrets enable -path={mount} kv-v2`"
                    )
                };
                err.cause(why.clone()).hint(hint)
            }
            VaultError::Unexpected { errors, .. } if !errors.is_empty() => {
                err.cause(format!("Vault said: {errors}"))
            }
            VaultError::Unexpected { .. } => err,
            VaultError::BadData { .. } => err.hint(
                "look at it with `bao kv get`; write it again with `cred rotate NAME`, or remove it",
            ),
            VaultError::NotAnEntry { path, why, .. } => err
                .cause(format!("asked for `{path}`: {why}"))
                .cause("nothing was changed; the entry may be fine")
                .hint("check that VAULT_ADDR points at Vault itself (`bao status`), not at a proxy or another service"),
            VaultError::SkipVerify { .. } => err
                .cause("it asks to trust any certificate, which would hand the token to whoever answers")
                .hint("unset it; for a server whose certificate comes from a private CA, point VAULT_CACERT at the CA's PEM file (or VAULT_CAPATH at a directory of them)"),
            VaultError::Exists { name, .. } => {
                let hint = format!(
                    "to use it, copy it into this config: `cred pull {name}`; to replace its key for everyone, add --force (Vault keeps the old key as an earlier version)"
                );
                Error::user(e.to_string())
                    .cause("a teammate (or another config) stored it; nothing was changed")
                    .hint(hint)
            }
            VaultError::Changed { path, .. } => {
                let hint = format!(
                    "look at what is there now with `bao kv get {path}`, then run the command again if you still mean it"
                );
                Error::user(e.to_string())
                    .cause("someone else wrote it since this command read it (check-and-set); nothing was changed")
                    .hint(hint)
            }
        }
    }
}

/// Where the Vault server is and how cred authenticates to it, from the
/// environment Vault's own CLI reads.
pub struct Settings {
    pub addr: Url,
    token: SecretString,
    ca: Option<PathBuf>,
    /// `VAULT_CAPATH`: a directory of PEM files, each a trusted CA.
    ca_dir: Option<PathBuf>,
    /// `X-Vault-Namespace` (Vault Enterprise and OpenBao namespaces).
    pub namespace: Option<String>,
}

/// The first of `names` that is set and not empty. `bao` reads `BAO_*`
/// before `VAULT_*`, so callers list them in that order.
fn env(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        std::env::var(n)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// `VAULT_SKIP_VERIFY` (or `BAO_SKIP_VERIFY`) set to anything but a false
/// value, as Vault's CLI parses it.
fn skip_verify() -> Option<&'static str> {
    ["BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"]
        .into_iter()
        .find(|n| {
            std::env::var(n).is_ok_and(|v| {
                let v = v.trim().to_ascii_lowercase();
                !v.is_empty() && !["0", "false", "f", "no", "off"].contains(&v.as_str())
            })
        })
}

impl Settings {
    /// `BAO_ADDR` (or `VAULT_ADDR`), `BAO_TOKEN` (or `VAULT_TOKEN`, or the
    /// `~/.vault-token` that `bao login` writes), `BAO_CACERT` /
    /// `VAULT_CACERT`, `BAO_CAPATH` / `VAULT_CAPATH`, `BAO_NAMESPACE` /
    /// `VAULT_NAMESPACE`: `BAO_*` first, as `bao` reads them.
    /// `VAULT_SKIP_VERIFY` is refused, never honoured.
    pub fn from_env() -> Result<Settings, VaultError> {
        if let Some(var) = skip_verify() {
            return Err(VaultError::SkipVerify { var });
        }
        let raw = env(&["BAO_ADDR", "VAULT_ADDR"]).ok_or(VaultError::NoAddress)?;
        let addr = address(&raw)?;
        let token = match env(&["BAO_TOKEN", "VAULT_TOKEN"]) {
            Some(t) => t,
            None => token_file().ok_or(VaultError::NoToken)?,
        };
        let namespace = env(&["BAO_NAMESPACE", "VAULT_NAMESPACE"])
            .map(|n| n.trim_matches('/').to_string())
            .filter(|n| !n.is_empty());
        if let Some(ns) = &namespace
            && HeaderValue::from_str(ns).is_err()
        {
            return Err(VaultError::BadAddress {
                addr: crate::escape::visible(&raw).into_owned(),
                why: format!(
                    "the namespace `{}` cannot be sent in a header",
                    crate::escape::visible(ns)
                ),
            });
        }
        Ok(Settings {
            addr,
            token: SecretString::from(token),
            ca: env(&["BAO_CACERT", "VAULT_CACERT"]).map(PathBuf::from),
            ca_dir: env(&["BAO_CAPATH", "VAULT_CAPATH"]).map(PathBuf::from),
            namespace,
        })
    }

    /// The address as people write it: `https://vault.example.com:8200`.
    pub fn shown_addr(&self) -> String {
        self.addr.as_str().trim_end_matches('/').to_string()
    }
}

/// The certificates of every PEM file in `dir` (`VAULT_CAPATH`), as
/// Vault's CLI loads them.
fn certs_in(dir: &std::path::Path) -> Result<Vec<reqwest::Certificate>, VaultError> {
    let ca_error = |why: String| VaultError::CaCert {
        path: dir.to_path_buf(),
        why,
    };
    let mut certs = Vec::new();
    let list = std::fs::read_dir(dir).map_err(|e| ca_error(e.to_string()))?;
    for entry in list {
        let path = entry.map_err(|e| ca_error(e.to_string()))?.path();
        if !path.is_file() {
            continue;
        }
        let pem = std::fs::read(&path).map_err(|e| ca_error(format!("{}: {e}", path.display())))?;
        let found = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| ca_error(format!("{}: not a PEM certificate: {e}", path.display())))?;
        certs.extend(found);
    }
    if certs.is_empty() {
        return Err(ca_error(
            "the directory (VAULT_CAPATH) holds no PEM certificate".into(),
        ));
    }
    Ok(certs)
}

/// The token `bao login` / `vault login` saved, if any.
fn token_file() -> Option<String> {
    let home = std::env::var_os("HOME")?;
    let text = std::fs::read_to_string(PathBuf::from(home).join(".vault-token")).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The server's address: https, or http on loopback only (as for generic
/// base URLs), with a trailing slash so that API paths join under it.
fn address(raw: &str) -> Result<Url, VaultError> {
    let bad = |why: &str| VaultError::BadAddress {
        addr: crate::escape::visible(raw).into_owned(),
        why: why.to_string(),
    };
    let mut url = Url::parse(raw).map_err(|_| bad("it is not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if crate::http::is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "plain http would send the token in clear text; only loopback may use it",
            ));
        }
        _ => return Err(bad("it is not an http(s) address")),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("it holds a query, fragment or user name"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A connection to one Vault server.
pub struct Api {
    settings: Settings,
    client: reqwest::blocking::Client,
    auth: Auth,
    timeout: Duration,
    /// The token's forms: masked in every string Vault sends back before
    /// it is shown (a server may echo it).
    scrub: Secrets,
}

/// What a request was for, for messages: `read`, `secret/data/cred/x`.
pub struct Action<'a> {
    pub verb: &'static str,
    pub path: &'a str,
}

impl Api {
    pub fn new(settings: Settings, timeout: Duration) -> Result<Api, VaultError> {
        let mut builder = crate::http::builder(timeout)
            .tls_built_in_root_certs(settings.addr.scheme() == "https");
        if let Some(path) = &settings.ca {
            let ca_error = |why: String| VaultError::CaCert {
                path: path.clone(),
                why,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ca_error(format!("not a PEM certificate: {e}")))?;
            if certs.is_empty() {
                return Err(ca_error("it holds no PEM certificate".into()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(dir) = &settings.ca_dir {
            for cert in certs_in(dir)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| VaultError::BadAddress {
            addr: settings.shown_addr(),
            why: format!("the HTTP client could not be set up: {e}"),
        })?;
        let auth = Auth::Header {
            name: "X-Vault-Token".into(),
            value: settings.token.clone(),
        };
        let scrub = Secrets::new(&settings.token, &auth);
        Ok(Api {
            settings,
            client,
            auth,
            timeout,
            scrub,
        })
    }

    pub fn addr(&self) -> String {
        self.settings.shown_addr()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.settings.namespace.as_deref()
    }

    /// `text` from Vault, fit to be shown: the token (and `also`, a
    /// secret being written) masked, control characters escaped.
    pub fn shown(&self, text: &str, also: Option<&SecretString>) -> String {
        match also {
            Some(secret) => {
                let mut s = self.scrub.clone();
                s.add(secret, None);
                s.shown(text)
            }
            None => self.scrub.shown(text),
        }
    }

    /// Every string in `value` made fit to be shown ([`Api::shown`]).
    pub fn shown_value(&self, value: &Value) -> Value {
        self.scrub.shown_value(value)
    }

    /// Sends `method` to `/v1/{path}` with an optional JSON body: the
    /// status and the JSON answer (`Null` when there is none). Sealed,
    /// unreachable and refused-token answers are errors here; other
    /// statuses are the caller's to judge ([`Api::fail`]).
    pub fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        action: &Action<'_>,
    ) -> Result<(u16, Value), VaultError> {
        let url = self
            .settings
            .addr
            .join(&format!("v1/{path}"))
            .map_err(|e| VaultError::BadAddress {
                addr: self.addr(),
                why: e.to_string(),
            })?;
        let mut request = Request {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
        };
        if let Some(body) = body {
            request
                .headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            request.body = Some(Body::Bytes(body.to_string().into_bytes()));
        }
        if let Some(ns) = self.namespace()
            && let Ok(v) = HeaderValue::from_str(ns)
        {
            request.headers.insert("x-vault-namespace", v);
        }
        let base = &self.settings.addr;
        let sent = Pipeline::new(&self.client, &self.auth, base, self.timeout)
            .send(&request)
            .map_err(|source| VaultError::Unreachable {
                addr: self.addr(),
                source,
            })?;
        let status = sent.response.status().as_u16();
        let mut text = Vec::new();
        // One byte more than allowed tells a body that is too big; the
        // rest of it is never read.
        sent.response
            .take(MAX_ANSWER + 1)
            .read_to_end(&mut text)
            .map_err(|e| VaultError::Unreachable {
                addr: self.addr(),
                source: SendError::BodyBroken { source: e },
            })?;
        let too_big = text.len() as u64 > MAX_ANSWER;
        let parsed = if too_big {
            None
        } else {
            serde_json::from_slice::<Value>(&text).ok()
        };
        // A success must say what it did in JSON (or say nothing: 204).
        if (200..300).contains(&status) && !text.is_empty() && parsed.is_none() {
            let why = if too_big {
                format!(
                    "the answer ({status}) is larger than {} MiB",
                    MAX_ANSWER / (1024 * 1024)
                )
            } else {
                format!("the answer ({status}) is not JSON")
            };
            return Err(self.not_an_entry(action.path, why));
        }
        let json = parsed.unwrap_or(Value::Null);
        match status {
            503 if self.sealed() => Err(VaultError::Sealed { addr: self.addr() }),
            403 if path != "auth/token/lookup-self" => Err(match self.token_valid() {
                Ok(()) => VaultError::Denied {
                    action: action.verb,
                    path: action.path.to_string(),
                },
                Err(e) => e,
            }),
            403 => Err(VaultError::BadToken),
            _ => Ok((status, json)),
        }
    }

    /// The answer at `path` is not what Vault's KV version 2 sends.
    pub fn not_an_entry(&self, path: &str, why: String) -> VaultError {
        VaultError::NotAnEntry {
            addr: self.addr(),
            path: path.to_string(),
            why,
        }
    }

    /// An answer the caller did not expect, with what Vault said.
    pub fn fail(&self, status: u16, json: &Value, action: &Action<'_>) -> VaultError {
        VaultError::Unexpected {
            status,
            action: action.verb,
            path: action.path.to_string(),
            errors: self.shown(&vault_errors(json), None),
        }
    }

    /// What `auth/token/lookup-self` says of the token (never its `id`).
    pub fn lookup_self(&self) -> Result<Value, VaultError> {
        let path = "auth/token/lookup-self";
        let action = Action {
            verb: "look up",
            path,
        };
        let (status, json) = self.call(Method::GET, path, None, &action)?;
        if status != 200 {
            return Err(self.fail(status, &json, &action));
        }
        let data = json.get("data").cloned().unwrap_or(Value::Null);
        let keep = [
            "display_name",
            "policies",
            "meta",
            "ttl",
            "expire_time",
            "renewable",
        ];
        // A server may echo the token in any of these: masked.
        Ok(Value::Object(
            keep.iter()
                .filter_map(|k| {
                    data.get(*k)
                        .filter(|v| !v.is_null())
                        .map(|v| (k.to_string(), self.shown_value(v)))
                })
                .collect(),
        ))
    }

    fn token_valid(&self) -> Result<(), VaultError> {
        self.lookup_self().map(|_| ())
    }

    /// Whether `sys/health` (which needs no token) says the server is sealed.
    fn sealed(&self) -> bool {
        let Ok(url) = self.settings.addr.join("v1/sys/health") else {
            return false;
        };
        let quiet = Auth::Header {
            name: "X-Vault-Request".into(),
            value: SecretString::from("true"),
        };
        let Ok(sent) = Pipeline::new(&self.client, &quiet, &self.settings.addr, self.timeout)
            .send(&Request::get(url))
        else {
            return false;
        };
        let mut text = Vec::new();
        if sent
            .response
            .take(MAX_ANSWER)
            .read_to_end(&mut text)
            .is_err()
        {
            return false;
        }
        serde_json::from_slice::<Value>(&text)
            .ok()
            .and_then(|v| v.get("sealed").and_then(Value::as_bool))
            .unwrap_or(false)
    }
}

/// Vault's `{"errors": […]}`, joined (shown through [`Api::shown`]).
fn vault_errors(json: &Value) -> String {
    json.get("errors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            address("https://vault.example.com:8200").unwrap().as_str(),
            "https://vault.example.com:8200/"
        );
        assert_eq!(
            address("http://127.0.0.1:8200/base").unwrap().as_str(),
            "http://127.0.0.1:8200/base/"
        );
        assert!(address("http://vault.example.com:8200").is_err());
        assert!(address("vault.example.com").is_err());
        assert!(address("https://u:p@vault.example.com").is_err());
    }

    #[test]
    fn errors_are_joined_on_one_line() {
        let json = serde_json::json!({"errors": ["1 error occurred:\n\t* permission denied\n\n"]});
        assert_eq!(vault_errors(&json), "1 error occurred: * permission denied");
    }
}
