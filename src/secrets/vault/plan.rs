//! What one command knows of the Vault entries it touches: the version
//! each write must replace (check-and-set), and which entries it means to
//! create; and [`check_writable`], which `add`, `rotate` and `move --store
//! vault` ask before their first question.

use super::*;

/// What this command knows of the entries it touches (one command is one
/// process): the version each write must replace (`cas`), and which
/// entries it means to create, not replace. Kept here rather than in one
/// `Vault`, because a command opens the store more than once.
struct Plan {
    expected: BTreeMap<String, u64>,
    creating: BTreeSet<String>,
}

static PLAN: Mutex<Plan> = Mutex::new(Plan {
    expected: BTreeMap::new(),
    creating: BTreeSet::new(),
});

/// A read saw `version` at `path`: the version a write replaces, unless
/// the command already decided on one.
pub(super) fn seen(path: &str, version: u64) {
    lock(&PLAN)
        .expected
        .entry(path.to_string())
        .or_insert(version);
}

/// This command wrote `version`: a later write of its own (putting the
/// old key back) replaces that.
pub(super) fn wrote(path: &str, version: u64) {
    let mut plan = lock(&PLAN);
    plan.expected.insert(path.to_string(), version);
    plan.creating.remove(path);
}

/// This command deleted the entry with all its versions.
pub(super) fn forget(path: &str) {
    lock(&PLAN).expected.insert(path.to_string(), 0);
}

pub(super) fn expected(path: &str) -> Option<u64> {
    lock(&PLAN).expected.get(path).copied()
}

pub(super) fn creating(path: &str) -> bool {
    lock(&PLAN).creating.contains(path)
}

/// Capabilities that allow writing a new version.
pub(super) fn may_write(caps: &[String], exists: bool) -> bool {
    let need = if exists { "update" } else { "create" };
    !caps.iter().any(|c| c == "deny")
        && caps.iter().any(|c| c == need || c == "root" || c == "sudo")
}

/// Before the first question of `add`, `rotate` or `move --store vault`:
/// may this token write the entry of `name`, and is there one?
/// `replace` false (`add`, `move` without `--force`): an existing entry
/// is refused (exit 1, naming its version), and the write will create
/// the entry only if there still is none (`cas=0`). `replace` true
/// (`rotate`, `--force`): the write replaces the version read now, and
/// no other. Nothing to do for other stores.
pub fn check_writable(
    kind: StoreKind,
    mount: Option<&str>,
    name: &str,
    replace: bool,
) -> crate::error::Result<()> {
    if kind != StoreKind::Vault {
        return Ok(());
    }
    let vault = Vault::new(mount, crate::secrets::deadline::timeout()?);
    let path = vault.data_path(name);
    let live = vault.read(name)?.is_some();
    let version = expected(&path).unwrap_or(0);
    if let Some(caps) = vault.capabilities(std::slice::from_ref(&path))?
        && !may_write(caps.get(&path).map_or(&[][..], Vec::as_slice), version > 0)
    {
        return Err(VaultError::Denied {
            action: "write",
            path,
        }
        .into());
    }
    if live && !replace {
        return Err(VaultError::Exists {
            name: name.to_string(),
            path: vault.shown_path(name),
            version,
        }
        .into());
    }
    let mut plan = lock(&PLAN);
    plan.expected.insert(path.clone(), version);
    if !replace {
        plan.creating.insert(path);
    }
    Ok(())
}
