//! The real keychain, seen independently of `cred`: the test keyring's
//! private bus, and `secret-tool` lookups and deletions of a credential's
//! entry.

use std::io::Write;
use std::process::{Command, Stdio};

use super::TestEnv;

/// The private session bus of the test keyring (scripts/with-keyring.sh).
pub fn bus_address() -> String {
    match (
        std::env::var("CRED_TEST_KEYRING"),
        std::env::var("DBUS_SESSION_BUS_ADDRESS"),
    ) {
        (Ok(v), Ok(addr)) if v == "1" => addr,
        _ => panic!(
            "these tests need the real Secret Service started by scripts/test.sh \
             (or run them under scripts/with-keyring.sh cargo test)"
        ),
    }
}

/// The keychain account of credential `name` in this environment's config
/// directory: `NAME@<canonical config dir>`.
pub fn account(env: &TestEnv, name: &str) -> String {
    let dir = std::fs::canonicalize(env.config_dir()).unwrap_or_else(|_| env.config_dir());
    format!("{name}@{}", dir.display())
}

fn secret_tool(args: &[&str]) -> std::process::Output {
    std::process::Command::new("secret-tool")
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
        .stdin(Stdio::null())
        .output()
        .expect("secret-tool (libsecret-tools) is needed by the tests")
}

/// What the real Secret Service holds for credential `name` (looked up with
/// `secret-tool`, independently of `cred`), if anything.
pub fn keychain_lookup(env: &TestEnv, name: &str) -> Option<String> {
    // The keyring crate stores the account in the `username` attribute.
    let out = secret_tool(&["lookup", "service", "cred", "username", &account(env, name)]);
    // Not found: exit 1 and silence. Anything on stderr means the lookup
    // itself failed, which must not pass for "nothing stored".
    assert!(
        out.stderr.is_empty(),
        "secret-tool lookup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !value.is_empty()).then_some(value)
}

/// Deletes the keychain entry of credential `name` behind `cred`'s back.
pub fn keychain_clear(env: &TestEnv, name: &str) {
    let out = secret_tool(&["clear", "service", "cred", "username", &account(env, name)]);
    assert!(out.status.success(), "secret-tool clear failed: {out:?}");
}

/// Stores an item with `secret-tool`, as another client would (with the
/// `application` attribute Python's keyring library sets).
pub fn secret_tool_store(service: &str, account: &str, value: &str) {
    // As Python's keyring library stores it: its own `application`
    // attribute, so the item sits beside cred's instead of replacing it.
    let attributes = [
        ("service", service),
        ("username", account),
        ("application", "Python keyring library"),
    ];
    secret_tool_store_with("test item", &attributes, value);
}

/// Stores `value` with `secret-tool store --label LABEL` and these
/// attributes, the value on standard input.
pub fn secret_tool_store_with(label: &str, attributes: &[(&str, &str)], value: &str) {
    let mut args = vec!["store", "--label", label];
    for (k, v) in attributes {
        args.extend([*k, *v]);
    }
    let mut child = Command::new("secret-tool")
        .args(&args)
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// What `secret-tool search --all` shows of the items with this service
/// and account: each item's path, label, attributes (stdout and stderr).
pub fn items_listing(service: &str, account: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", service, "username", account])
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// How many items have this service and account.
pub fn count_items(service: &str, account: &str) -> usize {
    items_listing(service, account)
        .lines()
        .filter(|l| l.starts_with("[/"))
        .count()
}
