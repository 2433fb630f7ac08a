//! The vault store against a real OpenBao dev server on 127.0.0.1: the
//! round trip of one credential, two config dirs sharing it as two
//! teammates, and another KV mount. Failures (policies, revoked tokens, a
//! sealed or stopped server) are in `errors.rs`.

mod compat;
mod errors;
mod hostile;

use crate::common::*;

/// The leak forms of a Paligo key and of the Vault token.
fn forms(key: &str, token: &str) -> Vec<String> {
    let mut f = paligo_forms(key);
    f.extend(key_forms(token, None));
    f
}

/// Every file under the test dir (config, home), checked for the key and
/// the token.
fn assert_no_file_holds(env: &TestEnv, forms: &[String]) {
    for (path, bytes) in env.files() {
        assert_hidden(&path.display().to_string(), &bytes, forms);
    }
}

/// The environment for Paligo at `server` and Vault at `bao` with `token`.
fn vars(server: &Server, bao: &Bao, token: &str) -> Vec<(&'static str, String)> {
    let mut vars = bao.env(token);
    vars.push(paligo_env(server));
    vars
}

/// `cred ARGS` with Paligo at `server` and Vault at `bao` with `token`.
fn run(env: &TestEnv, server: &Server, bao: &Bao, token: &str, args: &[&str]) -> Run {
    run_env(env, args, &vars(server, bao, token))
}

/// `cred add paligo --store vault` with a live check against `server`.
fn add(env: &TestEnv, server: &Server, bao: &Bao, key: &str, extra: &[&str]) -> Run {
    add_with(env, &vars(server, bao, &bao.root), key, extra)
}

/// `cred add paligo --store vault` with exactly these variables.
fn add_with(env: &TestEnv, vars: &[(&str, String)], key: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "paligo",
        "--instance",
        "acme",
        "--username",
        EMAIL,
        "--store",
        "vault",
    ];
    args.extend_from_slice(extra);
    env.add(&args, key, vars)
}

#[test]
fn add_list_secret_call_rotate_remove_round_trip() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("vault");
    let out = add(&env, &server, &bao, &key, &["--description", "team key"]);
    out.ok();
    assert!(
        out.stderr.contains("Vault (secret/cred/paligo, version 1)"),
        "{out}"
    );
    let leaks = forms(&key, &bao.root);
    assert_no_leak(&out, &leaks);

    // Vault holds the key, where it may be sent, and the shared fields.
    let entry = bao.kv_get("secret", "paligo", None);
    let data = &entry["data"]["data"];
    assert_eq!(data["secret"], key.as_str());
    assert_eq!(data["provider"], "paligo");
    assert_eq!(data["origin"], format!("{}/acme/api/v2", server.url()));
    assert_eq!(data["credential"]["instance"], "acme");
    assert_eq!(data["credential"]["username"], EMAIL);
    assert_eq!(data["credential"]["description"], "team key");
    // The config names the store and holds no secret.
    assert_eq!(
        config(&env)["credentials"]["paligo"]["store"].as_str(),
        Some("vault")
    );
    assert_no_file_holds(&env, &leaks);

    let list = run(&env, &server, &bao, &bao.root, &["list"]);
    list.ok();
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("paligo"))
        .unwrap();
    assert!(row.contains("vault"), "{list}");
    assert!(
        list.stdout.lines().next().unwrap().contains("STORE"),
        "{list}"
    );

    let out = run(&env, &server, &bao, &bao.root, &["secret", "paligo"]);
    out.ok();
    assert_eq!(out.stdout, format!("{key}\n"));

    let before = server.requests().len();
    let out = run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["call", "paligo", "/documents"],
    );
    out.ok();
    assert_no_leak(&out, &leaks);
    let seen = &server.requests()[before..];
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );

    // rotate writes version 2; version 1 keeps the old key in Vault's history.
    let new_key = secret("vault-new");
    let out = run_with_stdin(
        &env,
        &server,
        &bao,
        &["rotate", "paligo", "--api-key-stdin"],
        &new_key,
    );
    out.ok();
    assert!(
        out.stderr
            .contains("secret/cred/paligo, version 2 is current"),
        "{out}"
    );
    assert_eq!(
        bao.kv_get("secret", "paligo", None)["data"]["data"]["secret"],
        new_key.as_str()
    );
    assert_eq!(
        bao.kv_get("secret", "paligo", Some(1))["data"]["data"]["secret"],
        key.as_str()
    );
    // The shared fields survive a rotation.
    assert_eq!(
        bao.kv_get("secret", "paligo", None)["data"]["data"]["credential"]["instance"],
        "acme"
    );
    assert_no_leak(&out, &forms(&new_key, &bao.root));

    let out = run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["remove", "paligo", "--yes"],
    );
    out.ok();
    assert!(
        !bao.kv_exists("secret", "paligo"),
        "remove deletes every version"
    );
    assert!(
        !env.config_text().contains("paligo]"),
        "{}",
        env.config_text()
    );
}

fn run_with_stdin(env: &TestEnv, server: &Server, bao: &Bao, args: &[&str], input: &str) -> Run {
    let vars = vars(server, bao, &bao.root);
    let input = input.to_string();
    env.run_with(args, move |c| {
        c.write_stdin(input);
        for (k, v) in vars {
            c.env(k, v);
        }
    })
}

#[test]
fn two_teammates_share_one_credential_and_only_vault_holds_the_key() {
    let bao = Bao::start();
    let server = ok_server();
    let alice = TestEnv::new();
    let bob = TestEnv::new();
    let key = secret("shared");
    add(&alice, &server, &bao, &key, &[]).ok();

    // Bob has his own token, with the policy the README gives a team.
    let token = bao.token_with_policy("cred-team", TEAM_POLICY);
    let leaks = forms(&key, &token);
    let out = run(&bob, &server, &bao, &token, &["pull"]);
    out.ok();
    assert!(
        out.stderr.contains("Pulled `paligo` (paligo, acme)"),
        "{out}"
    );
    assert_no_leak(&out, &leaks);
    let cfg = config(&bob);
    let entry = &cfg["credentials"]["paligo"];
    assert_eq!(entry["store"].as_str(), Some("vault"));
    assert_eq!(entry["instance"].as_str(), Some("acme"));
    assert_eq!(entry["username"].as_str(), Some(EMAIL));

    let before = server.requests().len();
    for args in [
        &["call", "paligo", "/documents"][..],
        &["verify", "paligo"],
        &["show", "paligo"],
    ] {
        let out = run(&bob, &server, &bao, &token, args);
        out.ok();
        assert_no_leak(&out, &leaks);
    }
    let seen = &server.requests()[before..];
    assert_eq!(seen.len(), 2, "call and verify reach the API");
    for r in seen {
        assert_eq!(r.header("authorization"), Some(basic(EMAIL, &key).as_str()));
    }
    // Nothing Bob's cred wrote holds the key or the token.
    assert_no_file_holds(&bob, &leaks);

    // Alice rotates; Bob's next call uses the new key without pulling.
    let new_key = secret("shared-new");
    run_with_stdin(
        &alice,
        &server,
        &bao,
        &["rotate", "paligo", "--api-key-stdin", "--no-verify"],
        &new_key,
    )
    .ok();
    let before = server.requests().len();
    run(
        &bob,
        &server,
        &bao,
        &token,
        &["call", "paligo", "/documents"],
    )
    .ok();
    assert_eq!(
        server.requests()[before].header("authorization"),
        Some(basic(EMAIL, &new_key).as_str())
    );

    // Pulling again is idempotent; a local credential elsewhere is not replaced.
    run(&bob, &server, &bao, &token, &["pull", "paligo"]).ok();
    let carol = TestEnv::new();
    add_paligo_unchecked(&carol, &server);
    let out = run(&carol, &server, &bao, &token, &["pull"]);
    out.code(1);
    assert!(out.stderr.contains("already exists here"), "{out}");
    assert!(out.stderr.contains("--force"), "{out}");
    assert_eq!(config(&carol)["credentials"]["paligo"].get("store"), None);
}

/// The policy the README gives a team's members: use and rotate the
/// shared credentials, list them for `cred pull`.
pub const TEAM_POLICY: &str = r#"
path "secret/data/cred/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/cred/*" { capabilities = ["list", "read"] }
path "secret/metadata/cred" { capabilities = ["list"] }
"#;

#[test]
fn another_kv_mount_is_recorded_and_pulled_from() {
    let bao = Bao::start();
    bao.bao(&["secrets", "enable", "-path=team-kv", "kv-v2"], "");
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("mount");
    add(
        &env,
        &server,
        &bao,
        &key,
        &["--no-verify", "--vault-mount", "team-kv"],
    )
    .ok();
    assert_eq!(
        bao.kv_get("team-kv", "paligo", None)["data"]["data"]["secret"],
        key.as_str()
    );
    assert!(!bao.kv_exists("secret", "paligo"));
    assert_eq!(
        config(&env)["credentials"]["paligo"]["vault_mount"].as_str(),
        Some("team-kv")
    );
    run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["call", "paligo", "/documents"],
    )
    .ok();

    let mate = TestEnv::new();
    let out = run(&mate, &server, &bao, &bao.root, &["pull"]);
    out.ok();
    assert!(out.stderr.contains("Nothing to pull"), "{out}");
    run(
        &mate,
        &server,
        &bao,
        &bao.root,
        &["pull", "--vault-mount", "team-kv"],
    )
    .ok();
    let out = run(&mate, &server, &bao, &bao.root, &["secret", "paligo"]);
    out.ok();
    assert_eq!(out.stdout.trim(), key);

    // --vault-mount belongs to the vault store.
    let out = env.add(
        &["paymo", "--no-verify", "--vault-mount", "team-kv"],
        &key,
        &[],
    );
    out.code(2);
    assert!(out.stderr.contains("--store vault"), "{out}");
}

#[test]
fn move_keychain_to_vault_and_back_keeps_the_secret_and_no_copy() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let out = run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["move", "paligo", "--store", "vault"],
    );
    out.ok();
    assert_no_leak(&out, &forms(&key, &bao.root));
    let data = &bao.kv_get("secret", "paligo", None)["data"]["data"];
    assert_eq!(data["secret"], key.as_str());
    // Moved with its fields and binding, so a teammate can pull it.
    assert_eq!(data["credential"]["instance"], "acme");
    assert_eq!(data["origin"], format!("{}/acme/api/v2", server.url()));
    assert_eq!(keychain_lookup(&env, "paligo"), None, "no copy left behind");
    let mate = TestEnv::new();
    run(&mate, &server, &bao, &bao.root, &["pull", "paligo"]).ok();
    let out = run(&mate, &server, &bao, &bao.root, &["secret", "paligo"]);
    assert_eq!(out.stdout.trim(), key);

    run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["move", "paligo", "--store", "keychain"],
    )
    .ok();
    assert_eq!(
        keychain_lookup(&env, "paligo").as_deref(),
        Some(key.as_str())
    );
    assert!(!bao.kv_exists("secret", "paligo"), "no copy left in Vault");
    assert_eq!(config(&env)["credentials"]["paligo"].get("store"), None);
}

#[test]
fn pull_refuses_an_entry_with_fields_it_does_not_know_and_writes_nothing() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let entry = serde_json::json!({"data": {
        "secret": secret("odd"),
        "provider": "paligo",
        "origin": format!("{}/acme/api/v2", server.url()),
        "credential": {"provider": "paligo", "instance": "acme", "username": EMAIL,
                       "region": "eu"},
    }});
    bao.bao(&["write", "secret/data/cred/odd", "-"], &entry.to_string());
    add(
        &TestEnv::new(),
        &server,
        &bao,
        &secret("fine"),
        &["--no-verify"],
    )
    .ok();
    let out = run(&env, &server, &bao, &bao.root, &["pull"]);
    out.code(1);
    assert_one_error(
        &out,
        "secret/cred/odd in Vault is not a credential this cred can use",
    );
    assert!(out.stderr.contains("`region`"), "{out}");
    assert!(
        !env.config_path().exists(),
        "all or nothing: {}",
        env.config_text()
    );
}
