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
//! as served by the environment. A store no credential here needs (only
//! those would use it, or none) gets one quiet line and never fails the
//! run; each problem is said once: the table names it, the error below it
//! says why and what to do.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::Ctx;
use crate::config::Config;
use crate::error::{Error, Exit, Result};
use crate::human;
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
    /// Whether a credential here keeps its secret there (and does not take
    /// it from `CRED_SECRET_<NAME>`).
    needed: bool,
    /// Looking inside would ask for a passphrase: its entries were not
    /// checked.
    locked: bool,
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

/// Everything doctor found, for the table or `--json`.
struct Found<'a> {
    path: std::path::PathBuf,
    config: &'a Result<Config>,
    known: &'a Config,
    reports: Vec<StoreReport>,
    /// Credentials whose secret comes from CRED_SECRET_<NAME> (CI), with
    /// the variable: no store is asked for them.
    from_env: Vec<(String, String)>,
    /// Duplicates `--fix` left as they are.
    unresolved: Vec<String>,
}

pub fn run(ctx: &Ctx, args: DoctorArgs) -> Result<Exit> {
    let config = ctx.config.load();
    let empty = Config::default();
    let known = config.as_ref().unwrap_or(&empty);
    let mut reports = examine_all(ctx, known)?;
    let unresolved = if args.fix {
        repair::fix(ctx, &mut reports, known, args.yes)?
    } else {
        Vec::new()
    };
    let found = Found {
        path: ctx.config.path(),
        config: &config,
        known,
        reports,
        from_env: served_by_env(known),
        unresolved,
    };
    let (problems, worst) = problems(&found);
    if args.json {
        ctx.ui.out_json(&as_json(&found, worst))?;
    } else {
        ctx.ui.out(&table(&found).join("\n"))?;
    }
    config?;
    for p in &problems {
        ctx.ui.error(p);
    }
    Ok(worst)
}

/// Every store that says it is set up here (the keychain always, Vault
/// when its address is set, the file store when its file exists), and
/// every store a credential uses, each looked at.
fn examine_all(ctx: &Ctx, known: &Config) -> Result<Vec<StoreReport>> {
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
    places
        .into_iter()
        .map(|(kind, mount)| examine(ctx, kind, mount, known))
        .collect()
}

/// The credentials served by `CRED_SECRET_<NAME>`, with the variable.
fn served_by_env(known: &Config) -> Vec<(String, String)> {
    known
        .credentials
        .keys()
        .filter_map(|n| env::var_name_if_set(n).map(|v| (n.clone(), v)))
        .collect()
}

fn as_json(found: &Found<'_>, worst: Exit) -> serde_json::Value {
    let stores: Vec<_> = found
        .reports
        .iter()
        .map(|r| {
            json!({
                "store": r.kind.id(),
                "vault_mount": r.mount,
                "needed": r.needed,
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
    json!({
        "status": if worst == Exit::Success { "ok" } else { "problems" },
        "exit": worst.code(),
        "unresolved": found.unresolved,
        "config": {
            "path": found.path.display().to_string(),
            "ok": found.config.is_ok(),
            "error": found.config.as_ref().err().map(|e| e.message.clone()),
            "credentials": found.known.credentials.len(),
        },
        "stores": stores,
        "environment": found.from_env.iter().map(|(n, v)| json!({"name": n, "variable": v})).collect::<Vec<_>>(),
    })
}

/// The report for people: one line per fact; what fails is named here
/// and explained once, by the error printed after it.
fn table(found: &Found<'_>) -> Vec<String> {
    let config_text = match (found.config, found.path.exists()) {
        (Ok(c), true) => format!(
            "ok, {}",
            human::count(c.credentials.len(), "credential", "credentials")
        ),
        (Ok(_), false) => "not there yet (no credentials)".to_string(),
        (Err(_), _) => "broken (the error below says why)".to_string(),
    };
    let mut lines = vec![format!(
        "config      {}: {config_text}",
        found.path.display()
    )];
    if !found.from_env.is_empty() {
        let served: Vec<String> = found
            .from_env
            .iter()
            .map(|(n, v)| format!("`{n}` from {v}"))
            .collect();
        lines.push(format!(
            "environment {} (no store is asked for {})",
            served.join(", "),
            if found.from_env.len() == 1 {
                "it"
            } else {
                "them"
            }
        ));
    }
    for r in &found.reports {
        lines.extend(store_lines(r));
    }
    lines
}

/// A store's lines: one for a store nothing here needs (its status, and
/// why not when it cannot be used: no error follows for it); otherwise its
/// status, details and what is missing; then any entry to repair.
fn store_lines(r: &StoreReport) -> Vec<String> {
    let name = match &r.mount {
        Some(m) => format!("{} ({m})", r.kind.id()),
        None => r.kind.id().to_string(),
    };
    let status = match (&r.status, r.needed) {
        (Err(e), false) => format!(
            "unavailable, and no credential here needs it: {}",
            e.message
        ),
        (Ok(()), false) if r.locked => "locked, and no credential here needs it".to_string(),
        (Ok(()), false) => "ok, and no credential here needs it".to_string(),
        (Err(_), true) => "unavailable (the error below says why)".to_string(),
        (Ok(()), true) if r.locked => {
            "locked: its entries were not checked (run `cred unlock` first)".to_string()
        }
        (Ok(()), true) => "ok".to_string(),
    };
    let mut lines = vec![format!("{name:<11} {status}")];
    let pad = "";
    if r.needed {
        lines.extend(r.details.iter().map(|d| format!("{pad:<11} {d}")));
        lines.extend(
            r.missing
                .iter()
                .map(|m| format!("{pad:<11} `{m}` has no secret there: run `cred rotate {m}`")),
        );
    }
    lines.extend(r.orphans.iter().map(|o| {
        format!(
            "{pad:<11} orphan: {} (no credential of that name in config.toml)",
            o.account
        )
    }));
    lines.extend(r.duplicates.iter().map(|(n, entries)| {
        format!(
            "{pad:<11} duplicate: `{n}` has {}",
            human::count(entries.len(), "entry", "entries")
        )
    }));
    lines
}

/// The problems doctor found, each as the error it prints, and the worst
/// exit among them. A store nothing needs is reported, not failed on.
fn problems(found: &Found<'_>) -> (Vec<Error>, Exit) {
    let mut errors = Vec::new();
    for r in &found.reports {
        let problem = match &r.status {
            Err(_) if !r.needed => None,
            Err(e) => Some(with_env_hint(e, r, found.known)),
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
                    "{} {} no secret in {}: {}",
                    human::count(r.missing.len(), "credential", "credentials"),
                    if r.missing.len() == 1 { "has" } else { "have" },
                    r.kind.describe(),
                    r.missing.join(", ")
                ))
                .hint("store one with `cred rotate NAME`"),
            ),
            Ok(()) => None,
        };
        errors.extend(problem);
    }
    let unresolved = &found.unresolved;
    if !unresolved.is_empty() {
        errors.push(
            Error::user(format!(
                "{} left as {}: {}",
                human::count(unresolved.len(), "duplicate", "duplicates"),
                if unresolved.len() == 1 { "it is" } else { "they are" },
                unresolved.join("; ")
            ))
            .hint("run `cred doctor --fix` on a terminal to pick the copy to keep, or store the right key with `cred rotate NAME` after removing the wrong copy"),
        );
    }
    let start = if found.config.is_ok() {
        Exit::Success
    } else {
        Exit::Failure
    };
    let worst = errors.iter().map(Error::exit).fold(start, |worst, e| {
        if e.severity() > worst.severity() {
            e
        } else {
            worst
        }
    });
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

/// Whether a credential needs the store `kind` (at `mount`): one that
/// keeps its secret there and does not take it from CRED_SECRET_<NAME>.
fn needed(known: &Config, kind: StoreKind, mount: &Option<String>) -> bool {
    known.credentials.iter().any(|(n, c)| {
        c.store_kind() == kind && c.vault_mount == *mount && env::var_name_if_set(n).is_none()
    })
}

/// A detail for people: strings as they are, lists joined, a token's
/// lookup as `key=value` pairs with its time left in human units.
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
                ("ttl", Some(n)) => {
                    format!("ttl={}", human::duration(Duration::from_secs(n)))
                }
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
        needed: needed(config, kind, &mount),
        locked: false,
        details: Vec::new(),
        details_json: None,
        mount,
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
            report.locked = true;
            return Ok(report);
        }
    }
    let status = store.status();
    add_facts(&mut report, &store);
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
    sort_entries(&mut report, entries, config);
    Ok(report)
}

/// What the store learnt while checking its status (Vault: the token, the
/// mount), without asking it again.
fn add_facts(report: &mut StoreReport, store: &crate::secrets::Guarded<'_>) {
    let facts = store.details();
    if facts.is_empty() {
        return;
    }
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

/// Sorts a store's entries into the credentials' own, orphans and
/// duplicates, and finds the credentials with none.
fn sort_entries(report: &mut StoreReport, entries: Vec<StoredEntry>, config: &Config) {
    let (kind, mount) = (report.kind, report.mount.clone());
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
}
