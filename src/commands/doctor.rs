//! `cred doctor [--fix] [--yes] [--json]`: is everything where cred expects
//! it? The config file and whether it parses, each store's status with the
//! precise cause of a failure, credentials without a secret, and entries
//! a store holds under cred's name that no credential uses (orphans,
//! left by a hand-edited config) or that exist twice (duplicates, made by
//! another client such as Python's keyring). `--fix` removes orphans and
//! the extra copies after asking (`--yes` without a terminal), and never
//! loses a working key: copies holding the same secret collapse to one
//! (cred's own); copies holding different secrets are each checked against
//! the live API, the one it accepts is kept, and when it accepts both or
//! neither nothing is removed (a person at a terminal may pick one).
//! Credentials whose secret comes from `CRED_SECRET_<NAME>` (CI) are listed
//! as served by the environment; a store only they would use is not needed,
//! so its failure is reported, not failed on.

use std::collections::BTreeMap;

use serde_json::json;

use super::Ctx;
use crate::config::Config;
use crate::error::{Error, Exit, Result};
use crate::secrets::{StoreKind, StoredEntry, env};

mod repair;

/// Check the config and the secret stores; repair orphans and duplicates
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Remove orphaned entries and extra copies (keeping the copy the API accepts; asks first)
    #[arg(long)]
    pub fix: bool,

    /// Do not ask before removing (needed with --fix without a terminal)
    #[arg(long, short = 'y', requires = "fix")]
    pub yes: bool,

    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

/// What the doctor found in one store.
struct StoreReport {
    kind: StoreKind,
    /// Vault's mount, when not the default.
    mount: Option<String>,
    /// What else there is to say about it, one line each (the file store:
    /// path, modes, what would open it, the cached unlock; Vault: address,
    /// token, mount), and the same for `--json`.
    details: Vec<String>,
    details_json: Option<serde_json::Value>,
    /// `Err(cause)` when the store cannot be used.
    status: std::result::Result<(), Error>,
    /// Entries of this config directory that no credential names.
    orphans: Vec<StoredEntry>,
    /// Credential name → its entries, where there is more than one.
    duplicates: BTreeMap<String, Vec<StoredEntry>>,
    /// Credentials whose secret is not in the store.
    missing: Vec<String>,
}

pub fn run(ctx: &Ctx, args: DoctorArgs) -> Result<Exit> {
    let path = ctx.config.path();
    let config = ctx.config.load();
    let config_text = match (&config, path.exists()) {
        (Ok(c), true) => format!("ok, {} credential(s)", c.credentials.len()),
        (Ok(_), false) => "not there yet (no credentials)".to_string(),
        (Err(e), _) => format!("broken: {}", e.message),
    };
    let empty = Config::default();
    let known = config.as_ref().unwrap_or(&empty);
    // Every store that says it is set up here (the keychain always, Vault
    // when its address is set, the file store when its file exists), and
    // every store a credential uses.
    let mut places: Vec<(StoreKind, Option<String>)> = Vec::new();
    for kind in [StoreKind::Keychain, StoreKind::Vault, StoreKind::File] {
        if ctx.secrets().open(kind, None).is_ok_and(|s| s.configured()) {
            places.push((kind, None));
        }
    }
    for c in known.credentials.values() {
        let place = (c.store_kind(), c.vault_mount.clone());
        if !places.contains(&place) {
            places.push(place);
        }
    }
    let mut reports = Vec::new();
    for (kind, mount) in places {
        reports.push(examine(ctx, kind, mount, known)?);
    }

    // Credentials whose secret comes from CRED_SECRET_<NAME> (CI): no
    // store is asked for them.
    let from_env: Vec<(String, String)> = known
        .credentials
        .keys()
        .filter_map(|n| env::var_name_if_set(n).map(|v| (n.clone(), v)))
        .collect();

    let unresolved = if args.fix {
        repair::fix(ctx, &mut reports, known, args.yes)?
    } else {
        Vec::new()
    };

    let (problems, worst) = problems(&reports, known, config.is_ok(), &unresolved);

    if args.json {
        let stores: Vec<_> = reports
            .iter()
            .map(|r| {
                json!({
                    "store": r.kind.id(),
                    "vault_mount": r.mount,
                    "details": r.details_json,
                    "ok": r.status.is_ok(),
                    "error": r.status.as_ref().err().map(|e| e.message.clone()),
                    "causes": r.status.as_ref().err().map(|e| e.cause_lines()),
                    "orphans": r.orphans.iter().map(|o| &o.account).collect::<Vec<_>>(),
                    "duplicates": r.duplicates.iter().map(|(n, e)| json!({
                        "name": n,
                        "entries": e.iter().map(|x| json!({"account": x.account, "made_by": x.made_by, "written": x.written, "own": x.own})).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                    "missing": r.missing,
                })
            })
            .collect();
        let doc = json!({
            "status": if worst == Exit::Success { "ok" } else { "problems" },
            "exit": worst.code(),
            "unresolved": unresolved,
            "config": {
                "path": path.display().to_string(),
                "ok": config.is_ok(),
                "error": config.as_ref().err().map(|e| e.message.clone()),
                "credentials": known.credentials.len(),
            },
            "stores": stores,
            "environment": from_env.iter().map(|(n, v)| json!({"name": n, "variable": v})).collect::<Vec<_>>(),
        });
        ctx.ui.out_json(&doc)?;
    } else {
        let mut lines = vec![format!("config      {}: {config_text}", path.display())];
        if !from_env.is_empty() {
            let served: Vec<String> = from_env
                .iter()
                .map(|(n, v)| format!("`{n}` from {v}"))
                .collect();
            lines.push(format!(
                "environment {} (no store is asked for {})",
                served.join(", "),
                if from_env.len() == 1 { "it" } else { "them" }
            ));
        }
        for r in &reports {
            let name = match &r.mount {
                Some(m) => format!("{} ({m})", r.kind.id()),
                None => r.kind.id().to_string(),
            };
            match &r.status {
                Ok(()) => lines.push(format!("{name:<11} ok")),
                Err(e) if !r.needed(known) && !known.credentials.is_empty() => {
                    lines.push(format!(
                        "{name:<11} unavailable, and no credential here needs it: {}",
                        e.message
                    ));
                }
                Err(e) => {
                    lines.push(format!("{name:<11} unavailable: {}", e.message));
                    for c in e.cause_lines() {
                        lines.push(format!("{:<11}   cause: {c}", ""));
                    }
                }
            }
            for d in &r.details {
                lines.push(format!("{:<11} {d}", ""));
            }
            for m in &r.missing {
                lines.push(format!(
                    "{:<11} `{m}` has no secret there: run `cred rotate {m}`",
                    ""
                ));
            }
            for o in &r.orphans {
                lines.push(format!(
                    "{:<11} orphan: {} (no credential of that name in config.toml)",
                    "", o.account
                ));
            }
            for (n, entries) in &r.duplicates {
                lines.push(format!(
                    "{:<11} duplicate: `{n}` has {} entries",
                    "",
                    entries.len()
                ));
            }
        }
        ctx.ui.out(&lines.join("\n"))?;
    }
    config?;
    for p in &problems {
        ctx.ui.error(p);
    }
    Ok(worst)
}

/// The problems doctor found, each as the error it prints, and the worst
/// exit among them. A store nothing uses is reported, not failed on.
fn problems(
    reports: &[StoreReport],
    known: &Config,
    config_ok: bool,
    unresolved: &[String],
) -> (Vec<Error>, Exit) {
    let any_credential = !known.credentials.is_empty();
    let mut errors = Vec::new();
    for r in reports {
        let in_use = r.needed(known);
        let problem = match &r.status {
            Err(_) if !in_use && any_credential => None,
            Err(e) => Some(with_env_hint(e, r, known)),
            Ok(()) if !r.orphans.is_empty() || !r.duplicates.is_empty() => Some(
                Error::user(format!(
                    "{} holds entries under cred's name that need a repair: {} orphaned, {} duplicated",
                    r.kind.describe(),
                    r.orphans.len(),
                    r.duplicates.len()
                ))
                .hint("run `cred doctor --fix` to remove them (it keeps the copy the API accepts)"),
            ),
            Ok(()) if !r.missing.is_empty() => Some(
                Error::user(format!(
                    "{} credential(s) have no secret in {}: {}",
                    r.missing.len(),
                    r.kind.describe(),
                    r.missing.join(", ")
                ))
                .hint("store one with `cred rotate NAME`"),
            ),
            Ok(()) => None,
        };
        errors.extend(problem);
    }
    if !unresolved.is_empty() {
        errors.push(
            Error::user(format!(
                "{} duplicate(s) left as they are: {}",
                unresolved.len(),
                unresolved.join("; ")
            ))
            .hint("run `cred doctor --fix` on a terminal to pick the copy to keep, or store the right key with `cred rotate NAME` after removing the wrong copy"),
        );
    }
    let mut worst = if config_ok {
        Exit::Success
    } else {
        Exit::Failure
    };
    for p in &errors {
        if p.exit().severity() > worst.severity() {
            worst = p.exit();
        }
    }
    (errors, worst)
}

/// A store the credentials here need cannot be used: its own words, and
/// the variables that would serve those credentials without it (CI).
fn with_env_hint(e: &Error, r: &StoreReport, known: &Config) -> Error {
    let err = e.clone();
    let vars: Vec<String> = known
        .credentials
        .iter()
        .filter(|(n, c)| {
            c.store_kind() == r.kind
                && c.vault_mount == r.mount
                && env::var_name_if_set(n).is_none()
        })
        .map(|(n, _)| env::var_name(n))
        .collect();
    if vars.is_empty() {
        return err;
    }
    err.hint(format!(
        "in CI or a script, set {} to the key{}: cred then opens no store for {}",
        vars.join(", "),
        if vars.len() == 1 { "" } else { "s" },
        if vars.len() == 1 { "it" } else { "them" }
    ))
}

impl StoreReport {
    /// Whether a credential needs this store: one that keeps its secret
    /// there and does not take it from CRED_SECRET_<NAME>.
    fn needed(&self, known: &Config) -> bool {
        known.credentials.iter().any(|(n, c)| {
            c.store_kind() == self.kind
                && c.vault_mount == self.mount
                && env::var_name_if_set(n).is_none()
        })
    }
}

/// A detail for people: strings as they are, lists joined, a token's
/// lookup as `key=value` pairs with its time left.
fn detail_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(detail_text).collect::<Vec<_>>().join(","),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| match (k.as_str(), v.as_u64()) {
                ("ttl", Some(0)) => "ttl=never expires".to_string(),
                ("ttl", Some(n)) => format!("ttl={n}s"),
                _ => match detail_text(v) {
                    t if t.is_empty() => t,
                    t => format!("{k}={t}"),
                },
            })
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    crate::escape::visible(&text).into_owned()
}

/// Looks at one store: can it be used, and what does it hold for cred?
fn examine(
    ctx: &Ctx,
    kind: StoreKind,
    mount: Option<String>,
    config: &Config,
) -> Result<StoreReport> {
    let store = ctx.secrets().open(kind, mount.as_deref())?;
    let mut report = StoreReport {
        kind,
        details: Vec::new(),
        details_json: None,
        mount: mount.clone(),
        status: Ok(()),
        orphans: Vec::new(),
        duplicates: BTreeMap::new(),
        missing: Vec::new(),
    };
    if let Some(overview) = store.inspect() {
        report.details = overview.lines;
        report.details_json = Some(overview.json);
        if overview.closed {
            // Looking inside would ask for the passphrase: doctor asks nothing.
            report
                .details
                .push("locked: its entries were not checked (run `cred unlock` first)".into());
            return Ok(report);
        }
    }
    let status = store.status();
    // What the store learnt while checking its status (Vault: the token,
    // the mount), without asking it again.
    let facts = store.details();
    if !facts.is_empty() {
        report.details = facts
            .iter()
            .map(|(k, v)| format!("{k}: {}", detail_text(v)))
            .collect();
        report.details_json = Some(serde_json::Value::Object(
            facts
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ));
    }
    let entries = match status.and_then(|()| store.entries()) {
        Ok(e) => e,
        // A shared store's token may read but not list (a CI token): the
        // entries are not checked, which is no failure of the store.
        Err(e) if kind.is_shared() && e.failure == crate::secrets::Failure::Refused => {
            report.details.push(format!(
                "entries: not checked ({})",
                crate::escape::visible(e.message())
            ));
            return Ok(report);
        }
        Err(e) => {
            report.status = Err(Error::from(e));
            return Ok(report);
        }
    };
    let here = |c: &crate::config::Credential| c.store_kind() == kind && c.vault_mount == mount;
    let mut mine: BTreeMap<String, Vec<StoredEntry>> = BTreeMap::new();
    for entry in entries {
        match entry.name.clone() {
            Some(name) if config.credentials.get(&name).is_some_and(here) => {
                mine.entry(name).or_default().push(entry)
            }
            // In a shared store, a teammate's (`cred pull` copies it).
            Some(_) if kind.is_shared() => {}
            Some(_) => report.orphans.push(entry),
            // Another config directory's: not ours to judge.
            None => {}
        }
    }
    for (name, c) in &config.credentials {
        if here(c) && !mine.contains_key(name) && env::var_name_if_set(name).is_none() {
            report.missing.push(name.clone());
        }
    }
    report.duplicates = mine.into_iter().filter(|(_, e)| e.len() > 1).collect();
    Ok(report)
}
