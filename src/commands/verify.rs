//! `cred verify [NAME…]`: re-checks stored credentials against the live APIs,
//! several at once, records when and with what result, and exits with the
//! code of the worst failure. Every credential gets its line: a store that
//! cannot be used fails only the credentials kept in it (exit 7, its error
//! said once after the table with each one's `CRED_SECRET_<NAME>`), and a
//! rejected key from `CRED_SECRET_<NAME>` says to update that variable.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use super::Ctx;
use crate::check::{self, Outcome};
use crate::config::Credential;
use crate::error::{Error, Exit, Result};
use crate::secrets::{self, StoreKind, env};

/// How many checks run at once.
const CONCURRENCY: usize = 8;

/// Re-check credentials against the live APIs and record the result
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Credentials to check [default: all]
    #[arg(add = crate::complete::names())]
    pub names: Vec<String>,

    /// Check every stored credential (the default when no NAME is given)
    #[arg(long, conflicts_with = "names")]
    pub all: bool,

    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

struct Row {
    name: String,
    provider: &'static str,
    outcome: Outcome,
    elapsed: Duration,
    /// The store this credential's secret is in could not be used: no
    /// check was made (the outcome only carries the message).
    store: Option<Error>,
}

impl Row {
    fn exit(&self) -> Exit {
        match &self.store {
            Some(e) => e.exit(),
            None => self.outcome.exit(),
        }
    }

    fn id(&self) -> &'static str {
        match &self.store {
            Some(_) => "store-unavailable",
            None => self.outcome.id(),
        }
    }
}

pub fn run(ctx: &Ctx, args: VerifyArgs) -> Result<Exit> {
    let config = ctx.config.load()?;
    let names: Vec<String> = if args.names.is_empty() {
        config.credentials.keys().cloned().collect()
    } else {
        let mut names = args.names.clone();
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        for n in &names {
            if !config.credentials.contains_key(n) {
                return Err(crate::config::unknown_credential(n, &config));
            }
        }
        names
    };
    if names.is_empty() {
        if args.json {
            ctx.ui.out("[]")?;
        } else {
            ctx.ui
                .status("No credentials to check. Add one with `cred add`.");
        }
        return Ok(Exit::Success);
    }

    // One store round trip per credential, before any network traffic.
    let secrets = ctx.secrets();
    let mut jobs = Vec::new();
    let mut rows = Vec::new();
    // A local store that could not be used is not asked again for the next
    // credential (a store that never answers costs its deadline once).
    let mut failed: Vec<(StoreKind, String, Error)> = Vec::new();
    for name in &names {
        let credential: &Credential = &config.credentials[name];
        let kind = credential.store_kind();
        let known_failure = failed
            .iter()
            .find(|(k, _, _)| *k == kind)
            .filter(|_| env::var_name_if_set(name).is_none());
        if let Some((_, first, e)) = known_failure {
            let again = same_failure(e, first, name, kind);
            rows.push(Row {
                name: name.clone(),
                provider: credential.provider.provider().kind().id(),
                outcome: Outcome::Error(again.message.clone()),
                elapsed: Duration::ZERO,
                store: Some(again),
            });
            continue;
        }
        let found = match secrets.get_optional(name, credential) {
            Ok(found) => found,
            // The config now sends it elsewhere: this one fails, the
            // others are checked.
            Err(e) if e.exit() == Exit::Failure => {
                rows.push(Row {
                    name: name.clone(),
                    provider: credential.provider.provider().kind().id(),
                    outcome: Outcome::Error(e.message),
                    elapsed: Duration::ZERO,
                    store: None,
                });
                continue;
            }
            // Its store cannot be used now: this one fails (exit 7), the
            // others are still checked.
            Err(e) if e.exit() == Exit::Store => {
                if !kind.is_shared() && env::var_name_if_set(name).is_none() {
                    failed.push((kind, name.clone(), same_failure(&e, name, name, kind)));
                }
                rows.push(Row {
                    name: name.clone(),
                    provider: credential.provider.provider().kind().id(),
                    outcome: Outcome::Error(e.message.clone()),
                    elapsed: Duration::ZERO,
                    store: Some(e),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        match found {
            Some(secret) => jobs.push((name.clone(), credential.provider.clone(), secret)),
            None => rows.push(Row {
                name: name.clone(),
                provider: credential.provider.provider().kind().id(),
                outcome: Outcome::NotFound(format!(
                    "no secret in {}: run `cred rotate {name}`",
                    credential.store_kind().place()
                )),
                elapsed: Duration::ZERO,
                store: None,
            }),
        }
    }

    // A bad CRED_CHECK_TIMEOUT stops here, before anything is sent.
    let limit = check::timeout()?;
    let client = crate::http::client(limit)?;
    let spinner = ctx
        .ui
        .spinner(&format!("Checking {} credential(s)…", names.len()));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(rows);
    std::thread::scope(|s| {
        for _ in 0..CONCURRENCY.min(jobs.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((name, provider, secret)) = jobs.get(i) else {
                        break;
                    };
                    let checked = check::check(&client, provider, secret, limit, &|wait| {
                        let msg = format!(
                            "{name}: {} is rate limiting; waiting {} s…",
                            provider.provider().display_name(),
                            wait.as_secs()
                        );
                        if ctx.ui.stderr_is_terminal() {
                            spinner.set_message(&msg);
                        } else {
                            ctx.ui.status(&msg);
                        }
                    });
                    done.lock().unwrap_or_else(|e| e.into_inner()).push(Row {
                        name: name.clone(),
                        provider: provider.provider().kind().id(),
                        outcome: from_env(name, checked.outcome),
                        elapsed: checked.elapsed,
                        store: None,
                    });
                }
            });
        }
    });
    drop(spinner);
    let mut rows = done.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.sort_by(|a, b| a.name.cmp(&b.name));

    record(ctx, &rows)?;
    report(ctx, &rows, args.json)?;
    explain_stores(ctx, &rows);
    let worst = rows
        .iter()
        .map(Row::exit)
        .max_by_key(|e| e.severity())
        .unwrap_or(Exit::Success);
    Ok(worst)
}

/// Writes every result into state.toml in one locked update; config.toml
/// is never rewritten for a check.
fn record(ctx: &Ctx, rows: &[Row]) -> Result<()> {
    // A store that could not be used checked nothing: nothing to record.
    let results: Vec<_> = rows
        .iter()
        .filter(|r| r.store.is_none())
        .map(|r| (r.name.clone(), r.outcome.record()))
        .collect();
    ctx.config.record_checks(&results).map_err(|mut e| {
        e.message = format!("checked, but {}", e.message);
        e
    })
}

fn report(ctx: &Ctx, rows: &[Row], as_json: bool) -> Result<()> {
    if as_json {
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "provider": r.provider,
                    "result": r.id(),
                    "ok": r.store.is_none() && r.outcome.is_valid(),
                    "message": r.outcome.message(),
                    "seconds": (r.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                    "exit_code": r.exit().code(),
                })
            })
            .collect();
        return ctx.ui.out_json(&items);
    }
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4);
    let id_w = rows.iter().map(|r| r.id().len()).max().unwrap_or(0).max(12);
    let mut lines = Vec::new();
    for r in rows {
        let (mark, color) = if r.store.is_none() && r.outcome.is_valid() {
            ("ok  ", "32")
        } else {
            ("FAIL", "31")
        };
        lines.push(format!(
            "{} {:<name_w$}  {:<7}  {:<id_w$}  {:>6.2}s  {}",
            ctx.ui.paint_out(color, mark),
            r.name,
            r.provider,
            r.id(),
            r.elapsed.as_secs_f64(),
            r.outcome.message()
        ));
    }
    ctx.ui.out(&lines.join("\n"))
}

/// The failure of a store already found unusable for credential `first`,
/// said for `name`: the same message and causes, the hints that name a
/// credential made for `name`.
fn same_failure(e: &Error, first: &str, name: &str, kind: StoreKind) -> Error {
    let theirs = secrets::ways_around(first, kind, kind.describe());
    let mut again = Error::new(e.exit(), e.message.clone());
    again.causes = e.cause_lines();
    again.hints = e
        .hints
        .iter()
        .filter(|h| !theirs.contains(h))
        .cloned()
        .chain(secrets::ways_around(name, kind, kind.describe()))
        .collect();
    again
}

/// A key from `CRED_SECRET_<NAME>` that the API refused is fixed where it
/// came from: the CI secret, not the store (`cred rotate` would change a
/// secret this run never read).
fn from_env(name: &str, outcome: Outcome) -> Outcome {
    match (env::var_name_if_set(name), outcome) {
        (Some(var), Outcome::Rejected(m)) => Outcome::Rejected(format!(
            "{m} (the key came from {var}: update that CI secret or variable)"
        )),
        (_, outcome) => outcome,
    }
}

/// After the table: why the stores that could not be used failed, and
/// the ways around them, each said once.
fn explain_stores(ctx: &Ctx, rows: &[Row]) {
    let mut said: Vec<&str> = Vec::new();
    for r in rows {
        let Some(e) = &r.store else { continue };
        if said.contains(&e.message.as_str()) {
            // The same store, once more: only the hints that name this
            // credential (its CRED_SECRET_<NAME>) are new.
            continue;
        }
        said.push(&e.message);
        let mut err = Error::new(e.exit(), format!("`{}`: {}", r.name, e.message));
        err.causes = e.cause_lines();
        let mut hints = e.hints.clone();
        for other in rows.iter().filter(|o| o.name != r.name) {
            if let Some(oe) = &other.store
                && oe.message == e.message
            {
                let var = env::var_name(&other.name);
                hints.extend(oe.hints.iter().filter(|h| h.contains(&var)).cloned());
            }
        }
        err.hints = hints;
        ctx.ui.error(&err);
    }
}
