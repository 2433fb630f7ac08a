//! Storing credentials the way many tests need them, and reading back what
//! was stored: the parsed config, a credential's last check, its secret, and
//! the check that nothing at all was stored.

use super::*;

/// The Paligo user (an email address) of the tests' Paligo credentials.
pub const EMAIL: &str = "me@acme.com";

/// `cred add paligo --instance acme --username EMAIL [EXTRA] --api-key-stdin`,
/// with Paligo at `server`.
pub fn add_paligo(env: &TestEnv, server: &Server, key: &str, extra: &[&str]) -> Run {
    let mut args = vec!["paligo", "--instance", "acme", "--username", EMAIL];
    args.extend_from_slice(extra);
    env.add(&args, key, &[paligo_env(server)])
}

/// A Paligo credential `paligo` (instance `acme`) stored without a check;
/// returns its key.
pub fn add_paligo_unchecked(env: &TestEnv, server: &Server) -> String {
    let key = secret("paligo");
    add_paligo(env, server, &key, &["--no-verify"]).ok();
    key
}

/// A Paligo credential `paligo` (no check) for `cred exec` tests, with a key
/// that has characters every encoding changes (`/+&"`); returns the key.
/// The test's HOME exists afterwards (for files the program writes).
pub fn add_paligo_for_exec(env: &TestEnv, tag: &str) -> String {
    let key = format!("{}/+&\"x", secret(tag));
    let args = [
        "paligo",
        "--instance",
        "acme",
        "--username",
        EMAIL,
        "--no-verify",
    ];
    env.add(&args, &key, &[]).ok();
    std::fs::create_dir_all(env.home()).unwrap();
    key
}

/// A Paymo credential `paymo` stored after a successful check of `/me` on
/// `server`; returns its key.
pub fn add_paymo_checked(env: &TestEnv, server: &Server) -> String {
    let key = secret("paymo");
    env.add(&["paymo"], &key, &[paymo_env(server)]).ok();
    key
}

/// A Paymo credential `paymo` stored without a check; returns its key.
pub fn add_paymo_unchecked(env: &TestEnv, server: &Server) -> String {
    let key = secret("paymo");
    env.add(&["paymo", "--no-verify"], &key, &[paymo_env(server)])
        .ok();
    key
}

/// `cred add generic --name NAME --base-url BASE [EXTRA] --api-key-stdin`.
pub fn add_generic(env: &TestEnv, name: &str, base: &str, key: &str, extra: &[&str]) -> Run {
    let mut args = vec!["generic", "--name", name, "--base-url", base];
    args.extend_from_slice(extra);
    env.add(&args, key, &[])
}

/// A generic credential `api` with base URL `BASE/v1` and the given flags,
/// stored without a check; returns its key.
pub fn add_generic_unchecked(env: &TestEnv, base: &str, flags: &[&str]) -> String {
    let key = secret("api");
    let mut extra = vec!["--no-verify"];
    extra.extend_from_slice(flags);
    add_generic(env, "api", &format!("{base}/v1"), &key, &extra).ok();
    key
}

/// `cred add ARGS` with the key in `CRED_API_KEY` and nothing on stdin.
pub fn add_env_key(env: &TestEnv, args: &[&str], key: &str, extra: &[(&str, String)]) -> Run {
    let mut full = vec!["add"];
    full.extend_from_slice(args);
    env.run_with(&full, |c| {
        c.env("CRED_API_KEY", key);
        for (k, v) in extra {
            c.env(k, v);
        }
    })
}

/// The parsed config.toml (empty when there is none).
pub fn config(env: &TestEnv) -> toml::Table {
    env.config_text().parse().expect("config.toml parses")
}

/// The state file where cred records check results (never config.toml).
pub fn state_path(env: &TestEnv) -> std::path::PathBuf {
    env.home().join(".local/state/cred/state.toml")
}

/// The last check of credential NAME as (result, at), if recorded (in
/// state.toml, under this environment's config directory).
pub fn last_check(env: &TestEnv, name: &str) -> Option<(String, String)> {
    let text = std::fs::read_to_string(state_path(env)).ok()?;
    let state: toml::Table = text.parse().expect("state.toml parses");
    let dir = std::fs::canonicalize(env.config_dir()).unwrap_or_else(|_| env.config_dir());
    let check = state
        .get("checks")?
        .get(dir.display().to_string().as_str())?
        .get(name)?;
    Some((
        check.get("result")?.as_str()?.to_string(),
        check.get("at")?.as_str()?.to_string(),
    ))
}

/// The secret `cred secret NAME` prints (which must succeed).
pub fn stored_secret(env: &TestEnv, name: &str) -> String {
    let out = env.run(&["secret", name]);
    out.ok();
    out.stdout.trim_end_matches('\n').to_string()
}

/// Nothing is stored under `name`: the config (which must parse) has no
/// entry for it, the real keychain (seen with `secret-tool`) has none, and
/// `cred secret NAME` fails. With `key`: `cred secret` did not print it and
/// no file in the test's directory holds it.
pub fn assert_nothing_stored(env: &TestEnv, name: &str, key: Option<&str>) {
    let text = env.config_text();
    assert!(
        !text.contains(&format!("[credentials.{name}]")),
        "config has `{name}`: {text}"
    );
    assert!(
        config(env)
            .get("credentials")
            .and_then(|c| c.get(name))
            .is_none(),
        "`{name}` is in the config:\n{text}"
    );
    assert_eq!(keychain_lookup(env, name), None, "keychain has `{name}`");
    let out = env.run(&["secret", name]);
    out.code(1);
    if let Some(key) = key {
        assert!(!out.stdout.contains(key), "{out}");
        for (path, bytes) in env.files() {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(key),
                "the key is in {}",
                path.display()
            );
        }
    }
}
