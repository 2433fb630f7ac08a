//! `cred pull [NAME…]`: a teammate copies credentials shared in Vault into
//! their own config.toml (`store = "vault"`). Only the non-secret fields
//! are written; the secret stays in Vault and is read at use time, never
//! written to disk. All or nothing: every named credential is read and
//! checked before the config is written once, under the lock.

use super::{Ctx, validate_name};
use crate::config::{Config, Credential, control_field};
use crate::error::{Error, Exit, Result};
use crate::providers::ProviderConfig;
use crate::secrets::vault::{DEFAULT_MOUNT, parse_mount};
use crate::secrets::{Binding, Guarded, StoreKind};

/// Copy credentials shared in Vault into this config (the secret stays in Vault)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Reads VAULT_ADDR and VAULT_TOKEN (or BAO_ADDR / BAO_TOKEN, or ~/.vault-token),
and VAULT_CACERT for a private CA.

Examples:
  cred pull                 every credential under secret/cred/
  cred pull paligo          just one
  cred pull --vault-mount team-kv")]
pub struct PullArgs {
    /// Credentials to copy [default: every one under cred/ in the mount]
    pub names: Vec<String>,

    /// Vault's KV version 2 mount [default: secret]
    #[arg(long, value_name = "MOUNT", value_parser = parse_mount)]
    pub vault_mount: Option<String>,

    /// Replace local credentials of the same name that live elsewhere
    #[arg(long)]
    pub force: bool,

    /// Accept a credential whose plain http:// base URL is not loopback (its key would cross the network unencrypted)
    #[arg(long)]
    pub allow_http: bool,
}

pub fn run(ctx: &Ctx, args: PullArgs) -> Result<Exit> {
    for name in &args.names {
        validate_name(name)?;
    }
    let mount = args.vault_mount.clone().filter(|m| m != DEFAULT_MOUNT);
    let store = ctx.secrets().open(StoreKind::Vault, mount.as_deref())?;
    store.status()?;
    let shown_mount = mount.as_deref().unwrap_or(DEFAULT_MOUNT);
    let names: Vec<String> = if args.names.is_empty() {
        store
            .entries()?
            .into_iter()
            .filter_map(|e| e.name)
            // Entries whose name cred would refuse are not cred's.
            .filter(|n| crate::config::name_problem(n).is_none())
            .collect()
    } else {
        args.names.clone()
    };
    if names.is_empty() {
        ctx.ui.status(&format!(
            "Nothing to pull: Vault holds no credentials under {shown_mount}/cred/."
        ));
        return Ok(Exit::Success);
    }

    let mut pulled = Vec::new();
    for name in &names {
        pulled.push((
            name.clone(),
            fetch(&store, name, shown_mount, &mount, args.allow_http)?,
        ));
    }

    let mut locked = ctx.config.lock()?;
    refuse_clashes(&locked.config, &pulled, &mount, args.force)?;
    merge(&mut locked.config, &pulled);
    locked.save()?;
    for (name, c) in &pulled {
        let p = c.provider.provider();
        ctx.ui.success(&format!(
            "Pulled `{name}` ({}, {}) from Vault ({shown_mount}/cred/{name}); the key stays in Vault.",
            p.kind().id(),
            p.target()
        ));
    }
    ctx.ui.status(&format!(
        "Try it: cred verify {}",
        names.first().map(String::as_str).unwrap_or("NAME")
    ));
    Ok(Exit::Success)
}

/// A local credential of the same name that keeps its secret elsewhere
/// stops the pull (before anything is written), unless `--force`.
fn refuse_clashes(
    config: &Config,
    pulled: &[(String, Credential)],
    mount: &Option<String>,
    force: bool,
) -> Result<()> {
    for (name, _) in pulled {
        let Some(local) = config.credentials.get(name) else {
            continue;
        };
        let same_place = local.store == StoreKind::Vault && local.vault_mount == *mount;
        if !same_place && !force {
            return Err(Error::user(format!(
                "`{name}` already exists here and keeps its secret in {}",
                local.store_kind().describe()
            ))
            .cause("nothing was pulled")
            .hint(format!(
                "pull it under the same name with --force (the local credential is replaced; its secret stays where it is), or remove it first: cred remove {name}"
            )));
        }
    }
    Ok(())
}

/// The pulled credentials into the config, each keeping what a teammate
/// checked locally when it did not change.
fn merge(config: &mut Config, pulled: &[(String, Credential)]) {
    for (name, credential) in pulled {
        let previous = config.credentials.insert(name.clone(), credential.clone());
        // What a teammate checked locally stays, if the credential did not change.
        if let Some(prev) = previous
            && prev.store == StoreKind::Vault
            && prev.provider == credential.provider
            && let Some(c) = config.credentials.get_mut(name)
        {
            c.last_check = prev.last_check;
            c.created = prev.created;
        }
    }
}

/// Reads one shared credential and checks it as cred checks its own
/// config: known fields, no control characters, an address it may send a
/// key to.
fn fetch(
    store: &Guarded<'_>,
    name: &str,
    shown_mount: &str,
    mount: &Option<String>,
    allow_http: bool,
) -> Result<Credential> {
    let at = format!("{shown_mount}/cred/{name}");
    let Some(fields) = store.shared(name)? else {
        return Err(Error::user(format!("Vault holds no credential at {at}"))
            .hint(format!(
                "see what there is with `bao kv list {shown_mount}/cred`, or `cred pull` without names"
            )));
    };
    let bad = |why: String| {
        Error::user(format!(
            "{at} in Vault is not a credential this cred can use"
        ))
        .cause(why)
        .hint("whoever added it can write it again with `cred rotate`; or update cred")
    };
    let fields = crate::secrets::vault::with_defaults(fields);
    let mut credential: Credential =
        serde_json::from_value(fields.clone()).map_err(|e| bad(e.to_string()))?;
    // A field this cred does not know (a newer cred wrote it) would be
    // dropped silently; say so instead, as for config.toml.
    let known = credential.provider.provider().config_keys();
    if let Some(unknown) = fields.as_object().and_then(|o| {
        o.keys().find(|k| {
            !["provider", "description"].contains(&k.as_str()) && !known.contains(&k.as_str())
        })
    }) {
        return Err(bad(format!(
            "it has a field this cred does not know: `{}`",
            crate::escape::visible(unknown)
        )));
    }
    if let Some((key, shown)) = control_field(&credential) {
        return Err(bad(format!(
            "its {key} holds a control character ({shown})"
        )));
    }
    Binding::of(&credential).map_err(|e| bad(e.message.clone()))?;
    // Plain http to another machine is the puller's choice to make, not
    // the writer's: the key would cross the network in clear from here.
    if let ProviderConfig::Generic(g) = &credential.provider
        && g.allow_http
        && let Ok(url) = url::Url::parse(&g.base_url)
        && url.scheme() == "http"
        && !crate::http::is_loopback(&url)
    {
        let host = crate::escape::visible(url.host_str().unwrap_or("?")).into_owned();
        if !allow_http {
            return Err(Error::user(format!(
                "{at} in Vault sends its key over plain http to {host}"
            ))
            .cause("its base URL is http:// (allow_http = true): the key would cross the network unencrypted, readable by anyone on the way")
            .cause("nothing was pulled")
            .hint(format!(
                "pull it only if you accept that: cred pull --allow-http {name}; better, ask whoever added it for an https:// base URL"
            )));
        }
    }
    credential.store = StoreKind::Vault;
    credential.vault_mount = mount.clone();
    credential.created = Some(crate::config::now_rfc3339());
    credential.last_check = None;
    Ok(credential)
}
