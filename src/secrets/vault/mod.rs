//! Secrets in OpenBao / HashiCorp Vault, KV version 2, for teams (SPEC §6
//! "vault").
//!
//! One credential is one KV entry at `<mount>/data/cred/<NAME>` (mount
//! `secret` unless `--vault-mount` says), holding:
//!
//! ```json
//! { "secret": "the API key",
//!   "provider": "paligo", "origin": "https://acme.paligoapp.com/api/v2",
//!   "credential": { "provider": "paligo", "instance": "acme", "username": "…",
//!                   "description": "…" } }
//! ```
//!
//! `provider` and `origin` are the secret's binding (where it may be sent);
//! `credential` holds the non-secret fields a teammate's `cred pull` copies
//! into their config.toml. The secret itself is read from Vault at use time
//! and never written to disk. Each write is a new KV version, so Vault's own
//! history keeps the old keys (up to `max_versions`); `remove` deletes the
//! entry with all its versions (`metadata` delete).
//!
//! Every write is check-and-set (`cas`) on the version this command read
//! (`Plan`): `add` and `move` create an entry only where there is none
//! (`cas=0`), `rotate` replaces only the version it read before asking for
//! the key ([`check_writable`]), so a teammate's write is never overwritten
//! silently. Only Vault's own "nothing here" (404, or a deleted or
//! destroyed latest version) means missing (`entry_of`).

mod api;
mod plan;

pub use plan::check_writable;
#[cfg(test)]
use plan::may_write;
use plan::{creating, expected, forget, seen, wrote};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

pub use api::VaultError;
use api::{Action, Api, Settings};

use super::{Binding, SecretStore, StoreError, StoreKind, Stored, StoredEntry};
use crate::config::Credential;

/// The KV v2 mount used unless `--vault-mount` (or the credential's
/// `vault_mount`) says otherwise.
pub const DEFAULT_MOUNT: &str = "secret";

/// Why `mount` cannot be a mount path, if it cannot.
pub fn mount_problem(mount: &str) -> Option<&'static str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    if mount.is_empty()
        || mount.len() > 128
        || !mount.chars().all(ok)
        || mount.starts_with('/')
        || mount.ends_with('/')
        || mount
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        Some(
            "a mount is letters, digits, `-`, `_`, `.` and inner `/`, such as `secret` or `team/kv`",
        )
    } else {
        None
    }
}

/// The clap parser of `--vault-mount`.
pub fn parse_mount(s: &str) -> Result<String, String> {
    match mount_problem(s) {
        Some(why) => Err(why.to_string()),
        None => Ok(s.to_string()),
    }
}

/// The credentials kept under one KV v2 mount.
pub struct Vault {
    mount: String,
    timeout: Duration,
    api: OnceLock<Api>,
    /// The version each write made (Vault's answer says it), for `locate`.
    written: Mutex<HashMap<String, u64>>,
    /// What `status` learnt of the token (`lookup-self`), for `details`.
    token: OnceLock<Value>,
    /// What `status` learnt the token may do (`capabilities-self`).
    may: OnceLock<String>,
}

impl Vault {
    pub fn new(mount: Option<&str>, timeout: Duration) -> Self {
        Vault {
            mount: mount.unwrap_or(DEFAULT_MOUNT).to_string(),
            timeout,
            api: OnceLock::new(),
            written: Mutex::new(HashMap::new()),
            token: OnceLock::new(),
            may: OnceLock::new(),
        }
    }

    fn api(&self) -> Result<&Api, VaultError> {
        if let Some(api) = self.api.get() {
            return Ok(api);
        }
        if let Some(why) = mount_problem(&self.mount) {
            return Err(VaultError::NotKv2 {
                mount: crate::escape::visible(&self.mount).into_owned(),
                why: why.to_string(),
            });
        }
        let api = Api::new(Settings::from_env()?, self.timeout)?;
        Ok(self.api.get_or_init(|| api))
    }

    /// `secret/cred/NAME`, as `bao kv get` takes it.
    pub fn shown_path(&self, name: &str) -> String {
        format!("{}/cred/{name}", self.mount)
    }

    fn data_path(&self, name: &str) -> String {
        format!("{}/data/cred/{name}", self.mount)
    }

    fn metadata_path(&self, name: &str) -> String {
        format!("{}/metadata/cred/{name}", self.mount)
    }

    /// The entry's data, `None` when there is none (never written,
    /// removed, or its latest version deleted or destroyed). Anything
    /// else that is not a KV version 2 entry is an error, never "none":
    /// a hint to write the key again could overwrite a good one.
    fn read(&self, name: &str) -> Result<Option<Value>, VaultError> {
        let api = self.api()?;
        let path = self.data_path(name);
        let action = Action {
            verb: "read",
            path: &path,
        };
        let (status, json) = api.call(Method::GET, &path, None, &action)?;
        let (data, version) = match status {
            200 | 404 => entry_of(status, &json).map_err(|why| api.not_an_entry(&path, why))?,
            _ => return Err(api.fail(status, &json, &action)),
        };
        seen(&path, version);
        let Some(data) = data else {
            return Ok(None);
        };
        if !data.get("secret").is_some_and(Value::is_string) {
            return Err(VaultError::BadData {
                path: self.shown_path(name),
                why: "it has no `secret` string".into(),
            });
        }
        Ok(Some(data))
    }

    /// Where the entry's secret was stored for: its `provider` and
    /// `origin`; without an origin (written by hand), where its credential
    /// fields send it, which must agree on the provider.
    fn binding_in(&self, name: &str, d: &Value) -> Result<Option<Binding>, VaultError> {
        let field = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(match (field("provider"), field("origin")) {
            (Some(provider), Some(origin)) => Some(Binding { provider, origin }),
            (provider, None) => match stored_binding(d) {
                Some(b) if provider.as_ref().is_none_or(|p| *p == b.provider) => Some(b),
                Some(b) => {
                    return Err(VaultError::BadData {
                        path: self.shown_path(name),
                        why: format!(
                            "its `provider` ({}) is not the provider of its `credential` ({})",
                            crate::escape::visible(provider.as_deref().unwrap_or("")),
                            b.provider
                        ),
                    });
                }
                None => None,
            },
            (None, Some(_)) => None,
        })
    }

    /// Writes a new version of the entry, with check-and-set: only over
    /// the version this command read (none: only if there is no entry),
    /// so a teammate's write in between is never overwritten silently
    /// (and mounts with `cas_required` work).
    fn write(&self, name: &str, data: Value) -> Result<(), VaultError> {
        let api = self.api()?;
        let path = self.data_path(name);
        let cas = match expected(&path) {
            Some(v) => v,
            None => {
                self.read(name)?;
                expected(&path).unwrap_or(0)
            }
        };
        let action = Action {
            verb: "write",
            path: &path,
        };
        let secret = data
            .get("secret")
            .and_then(Value::as_str)
            .map(|s| SecretString::from(s.to_string()));
        let body = json!({ "data": data, "options": { "cas": cas } });
        let (status, json) = api.call(Method::POST, &path, Some(&body), &action)?;
        match status {
            200 | 204 => {
                if let Some(v) = json.pointer("/data/version").and_then(Value::as_u64) {
                    lock(&self.written).insert(name.to_string(), v);
                    wrote(&path, v);
                }
                Ok(())
            }
            400 if cas_mismatch(&json) => Err(self.conflict(name, cas)),
            _ => Err(match api.fail(status, &json, &action) {
                VaultError::Unexpected {
                    status,
                    action,
                    path,
                    errors,
                } => VaultError::Unexpected {
                    status,
                    action,
                    path,
                    // Vault may echo what it was sent.
                    errors: api.shown(&errors, secret.as_ref()),
                },
                other => other,
            }),
        }
    }

    /// What a failed check-and-set means: an entry made meanwhile (when
    /// this command meant to create it) or a version written meanwhile.
    fn conflict(&self, name: &str, read: u64) -> VaultError {
        let current = self.current_version(name);
        let path = self.shown_path(name);
        if creating(&self.data_path(name)) {
            return VaultError::Exists {
                name: name.to_string(),
                path,
                version: current.unwrap_or(read),
            };
        }
        VaultError::Changed {
            path,
            read,
            current: current.map_or_else(|| "another".into(), |v| v.to_string()),
        }
    }

    fn delete_entry(&self, name: &str) -> Result<(), VaultError> {
        let api = self.api()?;
        let path = self.metadata_path(name);
        let action = Action {
            verb: "delete",
            path: &path,
        };
        let (status, json) = api.call(Method::DELETE, &path, None, &action)?;
        match status {
            200 | 204 | 404 => {
                forget(&self.data_path(name));
                Ok(())
            }
            _ => Err(api.fail(status, &json, &action)),
        }
    }

    /// The names under `<mount>/metadata/cred/`.
    fn list(&self) -> Result<Vec<String>, VaultError> {
        let api = self.api()?;
        let path = format!("{}/metadata/cred/", self.mount);
        let action = Action {
            verb: "list",
            path: &path,
        };
        let list = Method::from_bytes(b"LIST").expect("LIST is a valid method");
        let (status, json) = api.call(list, &path, None, &action)?;
        match status {
            200 => Ok(json
                .pointer("/data/keys")
                .and_then(Value::as_array)
                .map(|keys| {
                    keys.iter()
                        .filter_map(Value::as_str)
                        // Folders (`x/`) are not cred's.
                        .filter(|k| !k.ends_with('/'))
                        .map(|k| api.shown(k, None))
                        .collect()
                })
                .unwrap_or_default()),
            404 => Ok(Vec::new()),
            _ => Err(api.fail(status, &json, &action)),
        }
    }

    /// Whether the mount is a KV version 2 engine.
    fn check_mount(&self) -> Result<(), VaultError> {
        let api = self.api()?;
        let path = format!("sys/internal/ui/mounts/{}", self.mount);
        let action = Action {
            verb: "look up the mount",
            path: &path,
        };
        let not_kv2 = |why: String| VaultError::NotKv2 {
            mount: self.mount.clone(),
            why,
        };
        let (status, json) = match api.call(Method::GET, &path, None, &action) {
            // A token that may not use the mount at all is told so the
            // same way Vault tells it: no such mount for this token.
            Err(VaultError::Denied { .. }) => (403, Value::Null),
            other => other?,
        };
        if status != 200 {
            return Err(not_kv2(format!(
                "Vault answered {status} when asked about the mount (it does not exist, or this token may not use it)"
            )));
        }
        let kind = json.pointer("/data/type").and_then(Value::as_str);
        let version = json
            .pointer("/data/options/version")
            .and_then(Value::as_str);
        match (kind, version) {
            (Some("kv"), Some("2")) => Ok(()),
            (Some("kv"), _) => Err(not_kv2("it is KV version 1".into())),
            (Some(other), _) => Err(not_kv2(format!(
                "it is a `{}` engine",
                api.shown(other, None)
            ))),
            (None, _) => Err(not_kv2("Vault did not say what it is".into())),
        }
    }

    /// The current version of the entry, if the token may read metadata.
    fn current_version(&self, name: &str) -> Option<u64> {
        let api = self.api().ok()?;
        let path = self.metadata_path(name);
        let action = Action {
            verb: "read",
            path: &path,
        };
        match api.call(Method::GET, &path, None, &action) {
            Ok((200, json)) => json
                .pointer("/data/current_version")
                .and_then(Value::as_u64),
            _ => None,
        }
    }

    /// What the token may do on each of `paths` (`sys/capabilities-self`);
    /// `None` when the token may not ask (it lacks the default policy).
    fn capabilities(
        &self,
        paths: &[String],
    ) -> Result<Option<BTreeMap<String, Vec<String>>>, VaultError> {
        let api = self.api()?;
        let path = "sys/capabilities-self";
        let action = Action {
            verb: "look up the capabilities of",
            path,
        };
        let body = json!({ "paths": paths });
        let json = match api.call(Method::POST, path, Some(&body), &action) {
            Ok((200, json)) => json,
            Ok(_) | Err(VaultError::Denied { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(
            paths
                .iter()
                .map(|p| {
                    let caps = json
                        .pointer("/data")
                        .and_then(|d| d.get(p))
                        .or_else(|| json.get(p))
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    (p.clone(), caps)
                })
                .collect(),
        ))
    }

    /// In words, what the token may do with the mount's credentials:
    /// "read, write, list, delete".
    fn may(&self) -> Result<Option<String>, VaultError> {
        let probe = "NAME";
        let data = self.data_path(probe);
        let meta = self.metadata_path(probe);
        let list = [
            format!("{}/metadata/cred", self.mount),
            format!("{}/metadata/cred/", self.mount),
        ];
        let mut paths = vec![data.clone(), meta.clone()];
        paths.extend(list.iter().cloned());
        let Some(caps) = self.capabilities(&paths)? else {
            return Ok(None);
        };
        let has = |p: &str, want: &[&str]| {
            caps.get(p).is_some_and(|c| {
                !c.iter().any(|x| x == "deny")
                    && c.iter()
                        .any(|x| want.contains(&x.as_str()) || x == "root" || x == "sudo")
            })
        };
        let mut may = Vec::new();
        if has(&data, &["read"]) {
            may.push("read");
        }
        if has(&data, &["create", "update"]) {
            may.push("write");
        }
        if list.iter().any(|p| has(p, &["list"])) {
            may.push("list");
        }
        if has(&meta, &["delete"]) {
            may.push("delete");
        }
        Ok(Some(if may.is_empty() {
            "nothing with cred's entries".into()
        } else {
            may.join(", ")
        }))
    }
}

/// What a KV version 2 data read (200 or 404) says: the entry's data
/// (`None`: there is none, or its latest version is deleted or
/// destroyed) and the entry's current version (0: no entry at all).
/// `Err` says why the answer is not a KV version 2 entry.
fn entry_of(status: u16, json: &Value) -> Result<(Option<Value>, u64), String> {
    let meta = json.pointer("/data/metadata").filter(|m| m.is_object());
    let version = meta.and_then(|m| m.get("version")).and_then(Value::as_u64);
    let gone = meta.is_some_and(|m| {
        m.get("destroyed").and_then(Value::as_bool) == Some(true)
            || m.get("deletion_time")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty())
    });
    match (status, json.pointer("/data/data"), version) {
        (200, Some(d), Some(v)) if d.is_object() => Ok((Some(d.clone()), v)),
        (_, Some(Value::Null), Some(v)) if gone => Ok((None, v)),
        // Vault's own "nothing here": `{"errors": []}`.
        (404, None, None) if json.get("errors").is_some_and(Value::is_array) => Ok((None, 0)),
        (404, ..) => Err("a 404 answer that is not Vault's".into()),
        (_, None, _) if json.is_null() => Err("the answer is empty or not JSON".into()),
        (_, Some(Value::Null), Some(_)) => {
            Err("its `data` is null, but the version is neither deleted nor destroyed".into())
        }
        (_, _, None) => Err("it has no `metadata` with a version".into()),
        _ => Err("its `data` is not an object".into()),
    }
}

/// Whether a 400 answer to a write is a failed check-and-set.
fn cas_mismatch(json: &Value) -> bool {
    json.get("errors")
        .and_then(Value::as_array)
        .is_some_and(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .any(|s| s.contains("check-and-set"))
        })
}

/// What a rotation left of the old key, from the entry's and the mount's
/// `max_versions` (0 means Vault's default, 10): "the old key stays in its
/// history (Vault keeps the last 10 versions)".
pub fn history(mount: Option<&str>, name: &str) -> String {
    let vault = Vault::new(mount, super::deadline::timeout().unwrap_or_default());
    let read = |path: String| -> Option<u64> {
        let api = vault.api().ok()?;
        let action = Action {
            verb: "read",
            path: &path,
        };
        match api.call(Method::GET, &path, None, &action) {
            Ok((200, json)) => json.pointer("/data/max_versions").and_then(Value::as_u64),
            _ => None,
        }
    };
    let kept = match read(vault.metadata_path(name)) {
        Some(n) if n > 0 => Some(n),
        _ => match read(format!("{}/config", vault.mount)) {
            Some(0) => Some(10),
            other => other,
        },
    };
    match kept {
        Some(1) => "the old key is gone: the mount keeps only 1 version (max_versions)".into(),
        Some(n) => format!("the old key stays in its history: Vault keeps the last {n} versions"),
        None => {
            "earlier versions stay in its history as far as the mount's max_versions allows".into()
        }
    }
}

fn data(secret: &SecretString, binding: Option<&Binding>, credential: Option<&Value>) -> Value {
    let mut data = json!({ "secret": secret.expose_secret() });
    if let Some(b) = binding {
        data["provider"] = json!(b.provider);
        data["origin"] = json!(b.origin);
    }
    if let Some(c) = credential {
        data["credential"] = c.clone();
    }
    data
}

/// The fields of a shared credential with each provider's defaults filled
/// in, as `cred add` fills them: an entry written by hand with the fields
/// the README documents is enough (generic: `base_url`; `placement`
/// header, `key_name` Authorization / api_key, `template` `${apiKey}`,
/// `label` API Key).
pub fn with_defaults(mut fields: Value) -> Value {
    let Some(o) = fields.as_object_mut() else {
        return fields;
    };
    if o.get("provider").and_then(Value::as_str) != Some("generic") {
        return fields;
    }
    let placement = o
        .get("placement")
        .cloned()
        .and_then(|p| serde_json::from_value::<crate::providers::Placement>(p).ok())
        .unwrap_or(crate::providers::Placement::Header);
    let defaults = [
        ("placement", placement.id()),
        ("key_name", placement.default_key_name()),
        ("template", crate::providers::generic::PLACEHOLDER),
        ("label", "API Key"),
    ];
    for (k, v) in defaults {
        o.entry(k).or_insert_with(|| Value::String(v.to_string()));
    }
    fields
}

/// Where the `credential` fields of an entry send its secret, when they
/// make a credential.
fn stored_binding(data: &Value) -> Option<Binding> {
    let fields = with_defaults(data.get("credential")?.clone());
    let c: Credential = serde_json::from_value(fields).ok()?;
    Binding::of(&c).ok()
}

/// The fields of `credential` a teammate may copy: no store, no local
/// check results or dates.
fn shared_fields(credential: &Credential) -> Value {
    let mut c = credential.clone();
    c.store = StoreKind::default();
    c.vault_mount = None;
    c.created = None;
    c.last_check = None;
    serde_json::to_value(&c).unwrap_or(Value::Null)
}

impl SecretStore for Vault {
    fn kind(&self) -> StoreKind {
        StoreKind::Vault
    }

    fn name(&self) -> String {
        match self.api() {
            Ok(api) => format!("Vault at {}", api.addr()),
            Err(_) => "Vault".into(),
        }
    }

    fn get(&self, name: &str) -> Result<Option<Stored>, StoreError> {
        let Some(d) = self.read(name)? else {
            return Ok(None);
        };
        let Some(secret) = d.get("secret").and_then(Value::as_str) else {
            return Ok(None);
        };
        Ok(Some(Stored {
            secret: SecretString::from(secret.to_string()),
            binding: self.binding_in(name, &d)?,
        }))
    }

    fn set(
        &self,
        name: &str,
        secret: &SecretString,
        binding: Option<&Binding>,
    ) -> Result<(), StoreError> {
        // Keep what the entry recorded besides the secret.
        let old = self.read(name)?;
        let binding = match binding {
            Some(b) => Some(b.clone()),
            None => match &old {
                Some(d) => self.binding_in(name, d)?,
                None => None,
            },
        };
        let fields = old.as_ref().and_then(|d| d.get("credential"));
        Ok(self.write(name, data(secret, binding.as_ref(), fields))?)
    }

    fn set_credential(
        &self,
        name: &str,
        secret: &SecretString,
        binding: &Binding,
        credential: &Credential,
    ) -> Result<(), StoreError> {
        let fields = shared_fields(credential);
        Ok(self.write(name, data(secret, Some(binding), Some(&fields)))?)
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        Ok(self.delete_entry(name)?)
    }

    fn entries(&self) -> Result<Vec<StoredEntry>, StoreError> {
        let names = self.list()?;
        Ok(names
            .into_iter()
            .map(|name| {
                let account = self.shown_path(&name);
                let store = Vault::new(Some(&self.mount), self.timeout);
                let target = name.clone();
                let reader = Vault::new(Some(&self.mount), self.timeout);
                let read_name = name.clone();
                StoredEntry::new(
                    account,
                    Some(name),
                    Box::new(move || Ok(reader.get(&read_name)?.map(|s| s.secret))),
                    Box::new(move || Ok(store.delete_entry(&target)?)),
                )
            })
            .collect())
    }

    fn status(&self) -> Result<(), StoreError> {
        let token = self.api()?.lookup_self()?;
        self.check_mount()?;
        let _ = self.token.set(token);
        if let Some(may) = self.may()? {
            let _ = self.may.set(may);
        }
        Ok(())
    }

    fn shared(&self, name: &str) -> Result<Option<Value>, StoreError> {
        let Some(d) = self.read(name)? else {
            return Ok(None);
        };
        let provider = d.get("provider").and_then(Value::as_str);
        match d.get("credential") {
            Some(c) if c.is_object() => match (provider, c.get("provider").and_then(Value::as_str))
            {
                (Some(p), Some(q)) if p != q => Err(VaultError::BadData {
                    path: self.shown_path(name),
                    why: format!(
                        "its `provider` ({}) is not the provider of its `credential` ({})",
                        crate::escape::visible(p),
                        crate::escape::visible(q)
                    ),
                }
                .into()),
                _ => Ok(Some(c.clone())),
            },
            _ => Err(VaultError::BadData {
                path: self.shown_path(name),
                why: "it has no `credential` fields (it was not written by `cred add`)".into(),
            }
            .into()),
        }
    }

    fn locate(&self, name: &str) -> Option<String> {
        let path = self.shown_path(name);
        // The version a write of this process made, else Vault's metadata.
        let version = lock(&self.written)
            .get(name)
            .copied()
            .or_else(|| self.current_version(name));
        Some(match version {
            Some(v) => format!("{path}, version {v}"),
            None => path,
        })
    }

    fn configured(&self) -> bool {
        ["BAO_ADDR", "VAULT_ADDR"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|a| !a.is_empty()))
    }

    fn timeout_hint(&self, _terminal: bool) -> String {
        "check VAULT_ADDR and that the server is up and unsealed: `bao status`; CRED_STORE_TIMEOUT=SECONDS waits longer".into()
    }

    /// What `status` found (call it first): no request of its own.
    fn details(&self) -> Vec<(&'static str, Value)> {
        let Ok(api) = self.api() else {
            return Vec::new();
        };
        let mut out = vec![("address", json!(api.addr()))];
        if let Some(ns) = api.namespace() {
            out.push(("namespace", json!(crate::escape::visible(ns))));
        }
        if let Some(token) = self.token.get() {
            out.push(("token", token.clone()));
            // `status` checks the mount right after the token.
            out.push(("mount", json!(format!("{} (KV version 2)", self.mount))));
        } else {
            out.push(("mount", json!(self.mount)));
        }
        if let Some(may) = self.may.get() {
            out.push(("may", json!(may)));
        }
        out
    }
}

/// A map behind a mutex, even one a panicking thread left poisoned.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_vaults_own_nothing_means_missing() {
        // A live version.
        let live = json!({"data": {"data": {"secret": "k"}, "metadata": {"version": 3}}});
        assert_eq!(entry_of(200, &live).unwrap().1, 3);
        // Never written: Vault's empty error list.
        assert_eq!(entry_of(404, &json!({"errors": []})).unwrap(), (None, 0));
        // Deleted or destroyed latest version: missing, but version 2 exists.
        for meta in [
            json!({"version": 2, "deletion_time": "2026-12-05T18:31:24Z", "destroyed": false}),
            json!({"version": 2, "deletion_time": "", "destroyed": true}),
        ] {
            let gone = json!({"data": {"data": null, "metadata": meta}});
            assert_eq!(entry_of(404, &gone).unwrap(), (None, 2));
        }
        // What is not KV v2 is never "missing".
        for (status, bad) in [
            (200, json!({"data": null})),
            (200, Value::Null),
            (200, json!({"data": {"data": {"secret": "k"}}})),
            (
                200,
                json!({"data": {"data": null, "metadata": {"version": 1, "deletion_time": ""}}}),
            ),
            (
                200,
                json!({"data": {"data": "text", "metadata": {"version": 1}}}),
            ),
            (404, Value::Null),
            (404, json!({"message": "not found"})),
        ] {
            assert!(entry_of(status, &bad).is_err(), "{status} {bad}");
        }
    }

    #[test]
    fn write_permission_follows_create_and_update() {
        let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(may_write(&caps(&["create", "read"]), false));
        assert!(!may_write(&caps(&["create", "read"]), true));
        assert!(may_write(&caps(&["update"]), true));
        assert!(may_write(&caps(&["root"]), true));
        assert!(!may_write(&caps(&["read"]), false));
        assert!(!may_write(&caps(&["deny", "update"]), true));
    }

    #[test]
    fn generic_fields_take_add_defaults() {
        let f = with_defaults(json!({"provider": "generic", "base_url": "https://x.test",
                                     "placement": "query"}));
        assert_eq!(f["key_name"], "api_key");
        assert_eq!(f["template"], "${apiKey}");
        assert_eq!(f["label"], "API Key");
        let kept = with_defaults(json!({"provider": "generic", "base_url": "https://x.test",
                                        "key_name": "X-Key"}));
        assert_eq!(kept["key_name"], "X-Key");
        assert_eq!(kept["placement"], "header");
        let paligo = json!({"provider": "paligo", "instance": "acme"});
        assert_eq!(with_defaults(paligo.clone()), paligo);
    }

    #[test]
    fn a_failed_check_and_set_is_told_by_vaults_words() {
        assert!(cas_mismatch(&json!({"errors": [
            "check-and-set parameter did not match the current version"
        ]})));
        assert!(!cas_mismatch(&json!({"errors": ["permission denied"]})));
    }
}
