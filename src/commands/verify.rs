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

use secrecy::SecretString;

use super::Ctx;
use crate::check::{self, Outcome};
use crate::config::{CheckRecord, Config, Credential};
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
    /// The store the credential keeps its secret in.
    store: StoreKind,
    /// `CRED_SECRET_<NAME>`, when the key came from it.
    from_env: Option<String>,
    outcome: Outcome,
    elapsed: Duration,
}

impl Row {
    fn new(name: &str, credential: &Credential, outcome: Outcome) -> Row {
        Row {
            name: name.to_string(),
            provider: credential.provider.provider().kind().id(),
            store: credential.store_kind(),
            from_env: env::var_name_if_set(name),
            outcome,
            elapsed: Duration::ZERO,
        }
    }

    /// The outcome's words; a key from `CRED_SECRET_<NAME>` that the API
    /// refused is fixed where it came from: the CI secret, not the store
    /// (`cred rotate` would change a secret this run never read).
    fn message(&self) -> String {
        match (&self.from_env, &self.outcome) {
            (Some(var), Outcome::Rejected(_)) => format!(
                "{} (the key came from {var}: update that CI secret or variable)",
                self.outcome.message()
            ),
            _ => self.outcome.message(),
        }
    }
}

/// A secret read, to be checked.
struct Job {
    name: String,
    credential: Credential,
    secret: SecretString,
}

pub fn run(ctx: &Ctx, args: VerifyArgs) -> Result<Exit> {
    let config = ctx.config.load()?;
    let names = chosen(&config, &args.names)?;
    if names.is_empty() {
        if args.json {
            ctx.ui.out("[]")?;
        } else {
            ctx.ui
                .status("No credentials to check. Add one with `cred add`.");
        }
        return Ok(Exit::Success);
    }
    let (mut rows, jobs) = read_secrets(ctx, &config, &names)?;
    // A bad CRED_CHECK_TIMEOUT stops here, before anything is sent.
    let limit = check::timeout()?;
    rows.extend(check_all(ctx, jobs, names.len(), limit)?);
    rows.sort_by(|a, b| a.name.cmp(&b.name));

    record(ctx, &rows)?;
    report(ctx, &rows, args.json)?;
    let worst = rows
        .iter()
        .map(|r| r.outcome.exit())
        .max_by_key(|e| e.severity())
        .unwrap_or(Exit::Success);
    explain_stores(ctx, rows);
    Ok(worst)
}

/// The names asked for, each once, all known; every credential when none.
fn chosen(config: &Config, asked: &[String]) -> Result<Vec<String>> {
    if asked.is_empty() {
        return Ok(config.credentials.keys().cloned().collect());
    }
    let mut names = asked.to_vec();
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    for n in &names {
        if !config.credentials.contains_key(n) {
            return Err(crate::config::unknown_credential(n, config));
        }
    }
    Ok(names)
}

/// One store round trip per credential, before any network traffic: the
/// secrets to check, and a row for each credential whose secret could not
/// be had (it fails; the others are still checked).
fn read_secrets(ctx: &Ctx, config: &Config, names: &[String]) -> Result<(Vec<Row>, Vec<Job>)> {
    let secrets = ctx.secrets();
    let mut rows = Vec::new();
    let mut jobs = Vec::new();
    // A local store that could not be used is not asked again for the next
    // credential (a store that never answers costs its deadline once).
    let mut failed: Vec<(StoreKind, Error)> = Vec::new();
    for name in names {
        let credential = &config.credentials[name];
        let kind = credential.store_kind();
        let from_env = env::var_name_if_set(name).is_some();
        if let Some((_, e)) = failed.iter().find(|(k, _)| *k == kind && !from_env) {
            rows.push(Row::new(name, credential, Outcome::Store(e.clone())));
            continue;
        }
        let outcome = match secrets.get_optional(name, credential) {
            Ok(Some(secret)) => {
                jobs.push(Job {
                    name: name.clone(),
                    credential: credential.clone(),
                    secret,
                });
                continue;
            }
            Ok(None) => Outcome::NoSecret {
                name: name.clone(),
                place: kind.place(),
            },
            Err(e) => unread(e)?,
        };
        if let Outcome::Store(e) = &outcome
            && !kind.is_shared()
            && !from_env
        {
            failed.push((kind, e.clone()));
        }
        rows.push(Row::new(name, credential, outcome));
    }
    Ok((rows, jobs))
}

/// Why a secret could not be had, as the outcome of its credential; a
/// person's cancel at a prompt ends the command.
fn unread(e: Error) -> Result<Outcome> {
    if e.is::<secrets::Moved>() {
        // The config now sends it elsewhere.
        Ok(Outcome::Moved(e))
    } else if e.exit() == Exit::Store {
        Ok(Outcome::Store(e))
    } else if e.exit() == Exit::Failure {
        Ok(Outcome::Unreadable(e))
    } else {
        Err(e)
    }
}

/// Checks every secret read, [`CONCURRENCY`] at a time, with a spinner.
fn check_all(ctx: &Ctx, jobs: Vec<Job>, count: usize, limit: Duration) -> Result<Vec<Row>> {
    let client = crate::http::client(limit)?;
    let spinner = ctx.ui.spinner(&format!(
        "Checking {}…",
        crate::human::count(count, "credential", "credentials")
    ));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..CONCURRENCY.min(jobs.len()) {
            s.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let row = check_one(ctx, &spinner, &client, job, limit);
                    done.lock().unwrap_or_else(|e| e.into_inner()).push(row);
                }
            });
        }
    });
    drop(spinner);
    Ok(done.into_inner().unwrap_or_else(|e| e.into_inner()))
}

fn check_one(
    ctx: &Ctx,
    spinner: &crate::ui::Spinner,
    client: &reqwest::blocking::Client,
    job: &Job,
    limit: Duration,
) -> Row {
    let provider = &job.credential.provider;
    let checked = check::check(client, provider, &job.secret, limit, &|wait| {
        let msg = format!(
            "{}: {} is rate limiting; waiting {} s…",
            job.name,
            provider.provider().display_name(),
            wait.as_secs()
        );
        if ctx.ui.stderr_is_terminal() {
            spinner.set_message(&msg);
        } else {
            ctx.ui.status(&msg);
        }
    });
    Row {
        elapsed: checked.elapsed,
        ..Row::new(&job.name, &job.credential, checked.outcome)
    }
}

/// Writes every result into state.toml in one locked update; config.toml
/// is never rewritten for a check.
fn record(ctx: &Ctx, rows: &[Row]) -> Result<()> {
    // A store that could not be used checked nothing: nothing to record.
    let results: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome.was_checked())
        .map(|r| {
            let record = CheckRecord {
                message: r.message(),
                ..r.outcome.record()
            };
            (r.name.clone(), record)
        })
        .collect();
    ctx.config
        .record_checks(&results)
        .map_err(|e| e.context("checked, but the results could not be recorded"))
}

fn report(ctx: &Ctx, rows: &[Row], as_json: bool) -> Result<()> {
    if as_json {
        let items: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "provider": r.provider,
                    "result": r.outcome.id(),
                    "ok": r.outcome.is_valid(),
                    "message": r.message(),
                    "seconds": (r.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                    "exit_code": r.outcome.exit().code(),
                })
            })
            .collect();
        return ctx.ui.out_json(&items);
    }
    let name_w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4);
    let id_w = rows
        .iter()
        .map(|r| r.outcome.id().len())
        .max()
        .unwrap_or(0)
        .max(12);
    let mut lines = Vec::new();
    for r in rows {
        let (mark, color) = if r.outcome.is_valid() {
            ("ok  ", "32")
        } else {
            ("FAIL", "31")
        };
        lines.push(format!(
            "{} {:<name_w$}  {:<7}  {:<id_w$}  {:>6.2}s  {}",
            ctx.ui.paint_out(color, mark),
            r.name,
            r.provider,
            r.outcome.id(),
            r.elapsed.as_secs_f64(),
            r.message()
        ));
    }
    ctx.ui.out(&lines.join("\n"))
}

/// After the table: why the stores that could not be used failed, each
/// said once, about the first credential it stopped, with the ways around
/// it for every credential it stopped (each one's CRED_SECRET_<NAME>).
fn explain_stores(ctx: &Ctx, rows: Vec<Row>) {
    // The failure, its store, the credentials it stopped.
    let mut failures: Vec<(Error, StoreKind, Vec<String>)> = Vec::new();
    for r in rows {
        let Outcome::Store(e) = r.outcome else {
            continue;
        };
        match failures.iter_mut().find(|(f, _, _)| f.message == e.message) {
            Some((_, _, names)) => names.push(r.name),
            None => failures.push((e, r.store, vec![r.name])),
        }
    }
    for (e, kind, names) in failures {
        let others = names[1..].iter().flat_map(|n| {
            let var = env::var_name(n);
            secrets::ways_around(n, kind, kind.describe())
                .into_iter()
                .filter(move |h| h.contains(&var))
        });
        let err = others.fold(e.about(&names[0]), Error::hint);
        ctx.ui.error(&err);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{Binding, Moved};

    #[test]
    fn a_secret_sent_elsewhere_is_its_own_kind_not_an_exit_code() {
        let binding = |origin: &str| Binding {
            provider: "paligo".into(),
            origin: origin.into(),
        };
        let moved = Error::from(Moved {
            name: "p".into(),
            stored: binding("https://a.paligoapp.com/api/v2"),
            now: binding("https://b.paligoapp.com/api/v2"),
        });
        assert!(matches!(unread(moved).unwrap(), Outcome::Moved(_)));
        // Another entry that cannot be used has the same exit code, and
        // another kind.
        let other = Error::user("the store holds several entries for `p`");
        assert!(matches!(unread(other).unwrap(), Outcome::Unreadable(_)));
        assert!(matches!(
            unread(Error::store("cannot reach the OS keychain")).unwrap(),
            Outcome::Store(_)
        ));
        // A person's cancel ends the command.
        assert_eq!(
            unread(Error::cancelled()).unwrap_err().exit(),
            Exit::Cancelled
        );
    }
}
