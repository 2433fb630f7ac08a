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
//! history keeps the old keys; `remove` deletes the entry with all its
//! versions (`metadata` delete).

mod api;

use std::collections::HashMap;
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
}

impl Vault {
    pub fn new(mount: Option<&str>, timeout: Duration) -> Self {
        Vault {
            mount: mount.unwrap_or(DEFAULT_MOUNT).to_string(),
            timeout,
            api: OnceLock::new(),
            written: Mutex::new(HashMap::new()),
            token: OnceLock::new(),
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
    /// removed, or its latest version deleted).
    fn read(&self, name: &str) -> Result<Option<Value>, VaultError> {
        let api = self.api()?;
        let path = self.data_path(name);
        let action = Action {
            verb: "read",
            path: &path,
        };
        let (status, json) = api.call(Method::GET, &path, None, &action)?;
        let data = match status {
            200 => json.pointer("/data/data").cloned().unwrap_or(Value::Null),
            404 => Value::Null,
            _ => return Err(Api::fail(status, &json, &action)),
        };
        if data.is_null() {
            return Ok(None);
        }
        if !data.get("secret").is_some_and(Value::is_string) {
            return Err(VaultError::BadData {
                path: self.shown_path(name),
                why: "it has no `secret` string".into(),
            });
        }
        Ok(Some(data))
    }

    /// Writes a new version of the entry.
    fn write(&self, name: &str, data: Value) -> Result<(), VaultError> {
        let api = self.api()?;
        let path = self.data_path(name);
        let action = Action {
            verb: "write",
            path: &path,
        };
        let body = json!({ "data": data });
        let (status, json) = api.call(Method::POST, &path, Some(&body), &action)?;
        match status {
            200 | 204 => {
                if let Some(v) = json.pointer("/data/version").and_then(Value::as_u64) {
                    lock(&self.written).insert(name.to_string(), v);
                }
                Ok(())
            }
            _ => Err(Api::fail(status, &json, &action)),
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
            200 | 204 | 404 => Ok(()),
            _ => Err(Api::fail(status, &json, &action)),
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
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()),
            404 => Ok(Vec::new()),
            _ => Err(Api::fail(status, &json, &action)),
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
                crate::escape::visible(other)
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
}

/// A map behind a mutex, even one a panicking thread left poisoned.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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

/// Where the entry's secret was stored for, when it records both fields.
fn binding_in(data: &Value) -> Option<Binding> {
    let field = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Binding {
        provider: field("provider")?,
        origin: field("origin")?,
    })
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
        Ok(self.read(name)?.and_then(|d| {
            let secret = d.get("secret").and_then(Value::as_str)?;
            Some(Stored {
                secret: SecretString::from(secret.to_string()),
                binding: binding_in(&d),
            })
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
            None => old.as_ref().and_then(binding_in),
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
        Ok(())
    }

    fn shared(&self, name: &str) -> Result<Option<Value>, StoreError> {
        let Some(d) = self.read(name)? else {
            return Ok(None);
        };
        match d.get("credential") {
            Some(c) if c.is_object() => Ok(Some(c.clone())),
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
        if let Some(token) = self.token.get() {
            out.push(("token", token.clone()));
            // `status` checks the mount right after the token.
            out.push(("mount", json!(format!("{} (KV version 2)", self.mount))));
        } else {
            out.push(("mount", json!(self.mount)));
        }
        out
    }
}
