//! What the vault store says when it cannot be used: every case exits 7
//! with its own cause and fix, and never shows the token.

use super::{add, add_with, run, run_with_stdin, vars};
use crate::common::*;

#[test]
fn no_address_and_no_token_are_named_before_any_question() {
    let env = TestEnv::new();
    let key = secret("noaddr");
    let out = env.add(&["paymo", "--no-verify", "--store", "vault"], &key, &[]);
    out.code(7);
    assert_one_error(&out, "no Vault address is set");
    assert!(out.stderr.contains("hint: set VAULT_ADDR"), "{out}");

    let out = env.add(
        &["paymo", "--no-verify", "--store", "vault"],
        &key,
        &[("VAULT_ADDR", format!("http://127.0.0.1:{}", closed_port()))],
    );
    out.code(7);
    assert_one_error(&out, "no Vault token is set");
    assert!(out.stderr.contains("bao login"), "{out}");

    // Plain http to another host would send the token in clear text.
    let out = env.add(
        &["paymo", "--no-verify", "--store", "vault"],
        &key,
        &[
            ("VAULT_ADDR", "http://vault.example.com:8200".into()),
            ("VAULT_TOKEN", "t".into()),
        ],
    );
    out.code(7);
    assert!(out.stderr.contains("clear text"), "{out}");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn a_read_only_token_can_call_but_not_rotate() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("ro");
    add(&env, &server, &bao, &key, &["--no-verify"]).ok();
    let ro = bao.token_with_policy(
        "cred-read",
        r#"path "secret/data/cred/*" { capabilities = ["read"] }"#,
    );
    run(&env, &server, &bao, &ro, &["call", "paligo", "/documents"]).ok();

    let new_key = secret("ro-new");
    let vars = vars(&server, &bao, &ro);
    let out = env.run_with(
        &["rotate", "paligo", "--api-key-stdin", "--no-verify"],
        |c| {
            c.write_stdin(new_key.clone());
            for (k, v) in vars {
                c.env(k, v);
            }
        },
    );
    out.code(7);
    assert_one_error(
        &out,
        "Vault's policy does not let this token write `secret/data/cred/paligo`",
    );
    assert!(out.stderr.contains("the token itself is valid"), "{out}");
    assert!(out.stderr.contains("bao token capabilities"), "{out}");
    assert_no_leak(&out, &key_forms(&ro, None));
    assert_eq!(
        bao.kv_get("secret", "paligo", None)["data"]["data"]["secret"],
        key.as_str()
    );
}

#[test]
fn a_revoked_token_is_told_apart_from_a_policy() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    add(&env, &server, &bao, &secret("rev"), &["--no-verify"]).ok();
    let token = bao.token_with_policy(
        "cred-read",
        r#"path "secret/data/cred/*" { capabilities = ["read"] }"#,
    );
    bao.bao(&["token", "revoke", &token], "");
    let out = run(
        &env,
        &server,
        &bao,
        &token,
        &["call", "paligo", "/documents"],
    );
    out.code(7);
    assert_one_error(
        &out,
        "the Vault token was refused: it is invalid, expired or revoked",
    );
    assert!(out.stderr.contains("bao token lookup"), "{out}");
    assert_no_leak(&out, &key_forms(&token, None));
    assert!(server.requests().is_empty(), "no request without the key");
}

#[test]
fn a_sealed_vault_and_a_stopped_one_exit_7_with_the_fix() {
    let mut bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("seal");
    add(&env, &server, &bao, &key, &["--no-verify"]).ok();
    bao.bao(&["operator", "seal"], "");
    let out = run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["call", "paligo", "/documents"],
    );
    out.code(7);
    assert_one_error(&out, &format!("Vault at {} is sealed", bao.addr()));
    assert!(out.stderr.contains("bao operator unseal"), "{out}");

    // The server stops mid-run: between two commands of one script.
    bao.stop();
    let out = run(&env, &server, &bao, &bao.root, &["secret", "paligo"]);
    out.code(7);
    assert_one_error(&out, &format!("cannot reach Vault at {}", bao.addr()));
    assert!(out.stderr.contains("refused the connection"), "{out}");
    assert!(out.stderr.contains("bao status"), "{out}");
    let new_key = secret("seal-new");
    let out = run_with_stdin(
        &env,
        &server,
        &bao,
        &["rotate", "paligo", "--api-key-stdin", "--no-verify"],
        &new_key,
    );
    out.code(7);
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert!(out.stderr.contains("cannot reach Vault"), "{out}");
    assert_no_leak(&out, &key_forms(&bao.root, None));
}

#[test]
fn doctor_reports_the_address_the_token_and_the_mount() {
    let bao = Bao::start();
    bao.bao(
        &["secrets", "enable", "-path=old-kv", "-version=1", "kv"],
        "",
    );
    let server = ok_server();
    let env = TestEnv::new();
    add(&env, &server, &bao, &secret("doc"), &["--no-verify"]).ok();
    let token = bao.token_with_policy("cred-team", super::TEAM_POLICY);
    let out = run(&env, &server, &bao, &token, &["doctor", "--json"]);
    let doc = json(&out);
    let vault = doc["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == "vault")
        .expect("a vault report")
        .clone();
    assert_eq!(vault["ok"], true, "{out}");
    assert_eq!(vault["details"]["address"], bao.addr());
    let ttl = vault["details"]["token"]["ttl"].as_u64().unwrap();
    assert!(ttl > 0, "a created token has a TTL: {vault}");
    assert!(
        vault["details"]["token"]["policies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "cred-team")
    );
    assert_eq!(vault["details"]["mount"], "secret (KV version 2)");
    assert_no_leak(&out, &key_forms(&token, None));

    let out = run(&env, &server, &bao, &token, &["doctor"]);
    assert!(
        out.stdout.contains(&format!("address: {}", bao.addr())),
        "{out}"
    );
    // The token's time left in human units ("767h 59m 58s"), not seconds.
    let ttl_text = out
        .stdout
        .split("ttl=")
        .nth(1)
        .and_then(|rest| rest.split([',', '\n']).next())
        .unwrap_or_default();
    assert!(
        humantime::parse_duration(ttl_text).is_ok() && ttl_text.contains(['h', 'm']),
        "{out}"
    );

    // A KV version 1 mount is named as such.
    let out = run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["pull", "--vault-mount", "old-kv"],
    );
    out.code(7);
    assert_one_error(&out, "`old-kv` is not a KV version 2 secrets engine");
    assert!(out.stderr.contains("KV version 1"), "{out}");
    // The command that works on a KV v1 mount (enabling kv-v2 there fails).
    assert!(
        out.stderr.contains("`bao kv enable-versioning old-kv`"),
        "{out}"
    );
    assert!(!out.stderr.contains("secrets enable"), "{out}");
}

#[test]
fn a_private_ca_is_trusted_through_vault_cacert_only() {
    let bao = Bao::start_tls();
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("tls");
    let mut vars = vars(&server, &bao, &bao.root);
    // Without the CA the server's certificate is not trusted: nothing stored.
    let out = add_with(&env, &vars, &key, &["--no-verify"]);
    out.code(7);
    assert_one_error(&out, &format!("cannot reach Vault at {}", bao.addr()));
    assert!(out.stderr.contains("TLS"), "{out}");
    assert!(out.stderr.contains("VAULT_CACERT"), "{out}");
    assert!(!bao.kv_exists("secret", "paligo"));

    vars.push(("VAULT_CACERT", bao.ca().display().to_string()));
    add_with(&env, &vars, &key, &["--no-verify"]).ok();
    let out = run_env(&env, &["secret", "paligo"], &vars);
    out.ok();
    assert_eq!(out.stdout.trim(), key);
}

#[test]
fn a_failed_config_write_leaves_nothing_in_vault() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("failwrite");
    let mut vars = vars(&server, &bao, &bao.root);
    vars.push(("CRED_TEST_FAIL_CONFIG_WRITE", "1".into()));
    let out = add_with(&env, &vars, &key, &["--no-verify"]);
    out.code(1);
    assert!(out.stderr.contains("nothing was stored"), "{out}");
    assert!(
        !bao.kv_exists("secret", "paligo"),
        "no orphan secret in Vault"
    );
}
