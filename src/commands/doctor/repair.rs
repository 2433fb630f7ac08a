//! `cred doctor --fix`: removes orphans and extra copies without ever
//! losing a working key.
//!
//! Copies of one credential that hold the same secret collapse to one,
//! cred's own item when there is one. Copies that hold different secrets
//! are each checked against the live API: when it accepts exactly one
//! secret, a copy holding it is kept (and re-bound as cred's own) and the
//! others removed, also under `--yes`; when it accepts both or neither,
//! nothing is removed: a person at a terminal may pick the copy to keep,
//! anyone else gets the copies named and exit 1.

use secrecy::{ExposeSecret, SecretString};

use super::StoreReport;
use crate::check::{self, Outcome};
use crate::commands::Ctx;
use crate::config::{Config, Credential};
use crate::error::{Error, Result};
use crate::secrets::{Binding, Guarded, StoredEntry};

/// What the live API said of one copy's secret.
#[derive(Clone, PartialEq)]
enum Verdict {
    Accepted,
    Rejected,
    /// Not decided (network, rate limit, "cannot confirm"): why.
    Unknown(String),
}

impl Verdict {
    fn text(&self) -> String {
        match self {
            Verdict::Accepted => "the API accepts its key".into(),
            Verdict::Rejected => "the API rejects its key".into(),
            Verdict::Unknown(why) => format!("not checked: {why}"),
        }
    }
}

/// One removal, and why.
struct Removal {
    entry: StoredEntry,
    why: String,
}

/// What to do in one store.
#[derive(Default)]
struct Plan {
    removals: Vec<Removal>,
    /// Credentials whose kept copy is to be re-bound as cred's own, with
    /// the secret it holds.
    rebind: Vec<(String, SecretString)>,
    /// Copies left for a person to choose from: name, copies, verdicts.
    undecided: Vec<(String, Vec<StoredEntry>, Vec<Verdict>)>,
}

/// Repairs what `reports` found, after asking; returns the duplicates left
/// as they are (one line each, naming the copies).
pub(super) fn fix(
    ctx: &Ctx,
    reports: &mut [StoreReport],
    config: &Config,
    yes: bool,
) -> Result<Vec<String>> {
    let plans = plan_all(ctx, reports, config);
    let count: usize = plans.iter().map(|p| p.removals.len()).sum();
    let undecided: usize = plans.iter().map(|p| p.undecided.len()).sum();
    if count == 0 && undecided == 0 {
        ctx.ui.status("Nothing to fix.");
        return Ok(Vec::new());
    }
    if count > 0 {
        for r in plans.iter().flat_map(|p| &p.removals) {
            ctx.ui
                .status(&format!("will remove {}: {}", r.entry.describe(), r.why));
        }
        if !confirmed(ctx, count, yes)? {
            ctx.ui.status("Nothing removed.");
            return Ok(report_undecided(plans));
        }
    }
    let mut left = Vec::new();
    for (report, plan) in reports.iter().zip(plans) {
        let store = ctx.secrets().open(report.kind, report.mount.as_deref())?;
        left.extend(carry_out(ctx, &store, plan, config, yes)?);
    }
    Ok(left)
}

/// What to do in each store: its orphans go, its duplicates are planned.
fn plan_all(ctx: &Ctx, reports: &mut [StoreReport], config: &Config) -> Vec<Plan> {
    let mut plans = Vec::new();
    for report in reports.iter_mut() {
        let mut plan = Plan::default();
        for orphan in std::mem::take(&mut report.orphans) {
            plan.removals.push(Removal {
                entry: orphan,
                why: "no credential of that name in config.toml".into(),
            });
        }
        for (name, entries) in std::mem::take(&mut report.duplicates) {
            match config.credentials.get(&name) {
                Some(credential) => plan_duplicate(ctx, &mut plan, &name, credential, entries),
                None => plan.undecided.push((name, entries, Vec::new())),
            }
        }
        plans.push(plan);
    }
    plans
}

/// Carries out one store's plan; returns the duplicates left as they are.
fn carry_out(
    ctx: &Ctx,
    store: &Guarded<'_>,
    plan: Plan,
    config: &Config,
    yes: bool,
) -> Result<Vec<String>> {
    for r in plan.removals {
        let shown = r.entry.describe();
        store.remove(r.entry)?;
        ctx.ui.status(&format!("Removed {shown}."));
    }
    for (name, secret) in plan.rebind {
        if let Some(credential) = config.credentials.get(&name) {
            let binding = Binding::of(credential)?;
            store.set(&name, &secret, Some(&binding))?;
            ctx.ui
                .status(&format!("Kept the working copy of `{name}` as cred's own."));
        }
    }
    let mut left = Vec::new();
    for (name, entries, verdicts) in plan.undecided {
        match choose(ctx, yes, &name, &entries, &verdicts)? {
            Some(keep) => keep_one(ctx, store, &name, entries, keep, config)?,
            None => left.push(undecided_line(&name, &entries, &verdicts)),
        }
    }
    Ok(left)
}

/// Keeps the copy a person picked (re-bound as cred's own) and removes
/// the others.
fn keep_one(
    ctx: &Ctx,
    store: &Guarded<'_>,
    name: &str,
    entries: Vec<StoredEntry>,
    keep: usize,
    config: &Config,
) -> Result<()> {
    let mut kept = None;
    for (i, entry) in entries.into_iter().enumerate() {
        if i == keep {
            kept = entry.read().ok().flatten();
            continue;
        }
        let shown = entry.describe();
        store.remove(entry)?;
        ctx.ui.status(&format!("Removed {shown}."));
    }
    if let (Some(secret), Some(credential)) = (kept, config.credentials.get(name)) {
        store.set(name, &secret, Some(&Binding::of(credential)?))?;
    }
    Ok(())
}

/// Plans the repair of the copies of one credential: exact copies
/// collapse to one; different keys are each checked, and the copy whose
/// key the API accepts is kept when it accepts exactly one.
fn plan_duplicate(
    ctx: &Ctx,
    plan: &mut Plan,
    name: &str,
    credential: &Credential,
    entries: Vec<StoredEntry>,
) {
    let secrets: Option<Vec<SecretString>> =
        entries.iter().map(|e| e.read().ok().flatten()).collect();
    // A copy cred cannot read is never judged: leave all of them.
    let Some(secrets) = secrets else {
        let verdicts = vec![Verdict::Unknown("could not read one copy".into()); entries.len()];
        plan.undecided.push((name.to_string(), entries, verdicts));
        return;
    };
    let same = secrets
        .iter()
        .all(|s| s.expose_secret() == secrets[0].expose_secret());
    if same {
        // Exact copies: keep cred's own (it records where the key goes).
        let keep = entries.iter().position(|e| e.own).unwrap_or(0);
        push_all_but(plan, entries, keep, "an exact copy of the entry kept");
        return;
    }
    let verdicts = judge_all(ctx, credential, &secrets);
    let accepted: Vec<&SecretString> = secrets
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Verdict::Accepted)
        .map(|(s, _)| s)
        .collect();
    let one_accepted = !accepted.is_empty()
        && accepted
            .iter()
            .all(|s| s.expose_secret() == accepted[0].expose_secret());
    if !one_accepted {
        plan.undecided.push((name.to_string(), entries, verdicts));
        return;
    }
    let good = accepted[0].clone();
    keep_working(plan, name, entries, &secrets, verdicts, good);
}

/// Asks the API about each distinct secret, once.
fn judge_all(ctx: &Ctx, credential: &Credential, secrets: &[SecretString]) -> Vec<Verdict> {
    let limit = match check::timeout() {
        Ok(l) => l,
        Err(e) => return vec![Verdict::Unknown(e.message); secrets.len()],
    };
    let client = crate::http::client(limit).ok();
    let mut judged: Vec<(String, Verdict)> = Vec::new();
    secrets
        .iter()
        .map(|secret| {
            if let Some((_, v)) = judged.iter().find(|(s, _)| s == secret.expose_secret()) {
                return v.clone();
            }
            let verdict = match &client {
                Some(client) => judge(ctx, client, credential, secret, limit),
                None => Verdict::Unknown("no HTTP client".into()),
            };
            judged.push((secret.expose_secret().to_string(), verdict.clone()));
            verdict
        })
        .collect()
}

/// Plans keeping one copy that holds `good` (cred's own if one does) and
/// removing the rest; a kept copy not cred's own is re-bound.
fn keep_working(
    plan: &mut Plan,
    name: &str,
    entries: Vec<StoredEntry>,
    secrets: &[SecretString],
    verdicts: Vec<Verdict>,
    good: SecretString,
) {
    let holds_good = |i: usize| secrets[i].expose_secret() == good.expose_secret();
    let keep = (0..entries.len())
        .find(|&i| holds_good(i) && entries[i].own)
        .or_else(|| (0..entries.len()).find(|&i| holds_good(i)))
        .unwrap_or(0);
    let rebind = !entries[keep].own;
    for (i, (entry, verdict)) in entries.into_iter().zip(verdicts).enumerate() {
        if i == keep {
            continue;
        }
        let why = if holds_good(i) {
            "an exact copy of the entry kept".to_string()
        } else {
            format!("{}; another copy's key works", verdict.text())
        };
        plan.removals.push(Removal { entry, why });
    }
    if rebind {
        plan.rebind.push((name.to_string(), good));
    }
}

fn push_all_but(plan: &mut Plan, entries: Vec<StoredEntry>, keep: usize, why: &str) {
    for (i, entry) in entries.into_iter().enumerate() {
        if i != keep {
            plan.removals.push(Removal {
                entry,
                why: why.to_string(),
            });
        }
    }
}

/// Asks the live API whether `secret` works for `credential`.
fn judge(
    ctx: &Ctx,
    client: &reqwest::blocking::Client,
    credential: &Credential,
    secret: &SecretString,
    limit: std::time::Duration,
) -> Verdict {
    let spinner = ctx.ui.spinner("Checking a copy of the key with the API…");
    let checked = check::check(client, &credential.provider, secret, limit, &|_| {});
    spinner.finish();
    match checked.outcome {
        Outcome::Valid(_) => Verdict::Accepted,
        Outcome::Rejected(_) => Verdict::Rejected,
        other => Verdict::Unknown(other.message()),
    }
}

fn confirmed(ctx: &Ctx, count: usize, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    let mut prompter = ctx.ui.prompter();
    if !prompter.can_prompt() {
        return Err(Error::user(format!(
            "not removing {count} secret-store {} without confirmation",
            if count == 1 { "entry" } else { "entries" }
        ))
        .cause("there is no terminal to ask on")
        .hint("pass --yes: cred doctor --fix --yes"));
    }
    prompter.confirm(
        &format!(
            "Remove {count} secret-store {}?",
            if count == 1 { "entry" } else { "entries" }
        ),
        false,
    )
}

/// Which copy to keep, when the API could not decide: asked on a terminal
/// (without `--yes`); `None` leaves them all.
fn choose(
    ctx: &Ctx,
    yes: bool,
    name: &str,
    entries: &[StoredEntry],
    verdicts: &[Verdict],
) -> Result<Option<usize>> {
    let mut prompter = ctx.ui.prompter();
    if yes || !prompter.can_prompt() {
        return Ok(None);
    }
    let mut items: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| match verdicts.get(i) {
            Some(v) => format!("keep {} ({})", e.describe(), v.text()),
            None => format!("keep {}", e.describe()),
        })
        .collect();
    items.push("keep all of them for now".into());
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let pick = prompter.select(
        &format!("`{name}` has copies holding different keys, and the API did not settle which works. Which one should cred keep?"),
        &refs,
        entries.len(),
    )?;
    Ok((pick < entries.len()).then_some(pick))
}

fn undecided_line(name: &str, entries: &[StoredEntry], verdicts: &[Verdict]) -> String {
    let copies: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| match verdicts.get(i) {
            Some(v) => format!("{} ({})", e.describe(), v.text()),
            None => e.describe(),
        })
        .collect();
    format!("`{name}`: {}", copies.join(", "))
}

fn report_undecided(plans: Vec<Plan>) -> Vec<String> {
    plans
        .into_iter()
        .flat_map(|p| p.undecided)
        .map(|(name, entries, verdicts)| undecided_line(&name, &entries, &verdicts))
        .collect()
}
