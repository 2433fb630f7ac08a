//! Vault as `bao` sees it (issue 24): namespaces, `BAO_*` over `VAULT_*`,
//! `VAULT_CAPATH`, `VAULT_SKIP_VERIFY` refused, the README's hand-written
//! entry, a read-only token in `doctor`, check-and-set mounts, the truth
//! about history, the write check before any question, and the provider
//! of an entry without `origin`.

use super::{add, add_with, run, run_with_stdin, vars};
use crate::common::*;

#[test]
fn a_namespace_is_used_for_every_request_and_shown_by_doctor() {
    let bao = Bao::start();
    let server = ok_server();
    bao.bao(&["namespace", "create", "ns1"], "");
    let ns = [("VAULT_NAMESPACE", "ns1")];
    bao.bao_env(&ns, &["secrets", "enable", "-path=secret", "kv-v2"], "");
    let env = TestEnv::new();
    let key = secret("ns");
    let mut with_ns = vars(&server, &bao, &bao.root);
    with_ns.push(("VAULT_NAMESPACE", "ns1".into()));
    add_with(&env, &with_ns, &key, &["--no-verify"]).ok();
    let got: serde_json::Value = serde_json::from_str(&bao.bao_env(
        &ns,
        &["kv", "get", "-format=json", "secret/cred/paligo"],
        "",
    ))
    .unwrap();
    assert_eq!(got["data"]["data"]["secret"], key.as_str());
    assert!(
        !bao.kv_exists("secret", "paligo"),
        "nothing in the root namespace"
    );

    let out = run_env(&env, &["doctor", "--json"], &with_ns);
    let doc = json(&out);
    let vault = doc["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == "vault")
        .unwrap()
        .clone();
    assert_eq!(vault["details"]["namespace"], "ns1", "{out}");

    // A teammate with BAO_NAMESPACE finds it; without a namespace, nothing.
    let mate = TestEnv::new();
    let out = run(&mate, &server, &bao, &bao.root, &["pull"]);
    out.ok();
    assert!(out.stderr.contains("Nothing to pull"), "{out}");
    let mut bao_ns = vars(&server, &bao, &bao.root);
    bao_ns.push(("BAO_NAMESPACE", "ns1".into()));
    run_env(&mate, &["pull", "paligo"], &bao_ns).ok();
    let out = run_env(&mate, &["secret", "paligo"], &bao_ns);
    out.ok();
    assert_eq!(out.stdout.trim(), key);
}

#[test]
fn bao_variables_win_over_vault_ones_as_in_bao() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("prec");
    let mut v = vec![
        paligo_env(&server),
        ("VAULT_ADDR", format!("http://127.0.0.1:{}", closed_port())),
        ("BAO_ADDR", bao.addr()),
        ("VAULT_TOKEN", "bogus".into()),
        ("BAO_TOKEN", bao.root.clone()),
    ];
    add_with(&env, &v, &key, &["--no-verify"]).ok();
    let out = run_env(&env, &["secret", "paligo"], &v);
    out.ok();
    assert_eq!(out.stdout.trim(), key);
    // And the reverse is refused, as `bao` refuses it.
    v.retain(|(k, _)| !k.starts_with("BAO_"));
    v.push(("BAO_TOKEN", "bogus".into()));
    v.push(("VAULT_TOKEN", bao.root.clone()));
    v.push(("BAO_ADDR", bao.addr()));
    let out = run_env(&env, &["secret", "paligo"], &v);
    out.code(7);
    assert_one_error(
        &out,
        "the Vault token was refused: it is invalid, expired or revoked",
    );
}

#[test]
fn vault_capath_is_trusted_and_skip_verify_is_refused() {
    let bao = Bao::start_tls();
    let server = ok_server();
    let env = TestEnv::new();
    let key = secret("capath");
    let mut v = vars(&server, &bao, &bao.root);
    v.push(("VAULT_SKIP_VERIFY", "true".into()));
    let out = add_with(&env, &v, &key, &["--no-verify"]);
    out.code(7);
    assert_one_error(
        &out,
        "VAULT_SKIP_VERIFY is set: cred never skips TLS verification",
    );
    assert!(out.stderr.contains("VAULT_CACERT"), "{out}");
    assert!(!bao.kv_exists("secret", "paligo"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(bao.ca(), dir.path().join("team-ca.pem")).unwrap();
    v.pop();
    v.push(("VAULT_CAPATH", dir.path().display().to_string()));
    add_with(&env, &v, &key, &["--no-verify"]).ok();
    let out = run_env(&env, &["secret", "paligo"], &v);
    out.ok();
    assert_eq!(out.stdout.trim(), key);
}

/// The README's `bao kv put` example, exactly as written.
fn readme_example() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("# a generic credential written with bao itself")
        .expect("the README shows a hand-written Vault entry");
    let end = start + readme[start..].find("```").unwrap();
    readme[start..end].to_string()
}

#[test]
fn the_readmes_hand_written_entry_is_enough_for_pull() {
    let bao = Bao::start();
    let env = TestEnv::new();
    let example = readme_example();
    // Run it as written: `bao` and `cred` on PATH, the server in the environment.
    let path = format!("{}:{}", bao.bin_dir().display(), path_with_cred());
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("set -e\n{example}"))
        .env_clear()
        .envs(env.sealed_env())
        .env("PATH", path)
        .env("VAULT_ADDR", bao.addr())
        .env("VAULT_TOKEN", &bao.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = config(&env);
    let gh = &cfg["credentials"]["gh"];
    assert_eq!(gh["store"].as_str(), Some("vault"));
    assert_eq!(gh["key_name"].as_str(), Some("Authorization"));
    assert_eq!(gh["template"].as_str(), Some("Bearer ${apiKey}"));
    let out = run_env(&env, &["secret", "gh"], &bao.env(&bao.root));
    out.ok();
    assert_eq!(out.stdout.trim(), "ghp_example0123456789");
}

#[test]
fn doctor_with_a_read_only_token_says_what_it_may_do_and_exits_0() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    add(&env, &server, &bao, &secret("ro-doc"), &["--no-verify"]).ok();
    let ro = bao.token_with_policy(
        "cred-read",
        r#"path "secret/data/cred/*" { capabilities = ["read"] }"#,
    );
    let out = run(&env, &server, &bao, &ro, &["doctor"]);
    assert!(out.stdout.contains("may: read"), "{out}");
    assert!(!out.stdout.contains("may: read, write"), "{out}");
    assert_no_leak(&out, &key_forms(&ro, None));
    out.ok();
}

#[test]
fn a_cas_required_mount_takes_adds_and_rotations() {
    let bao = Bao::start();
    bao.bao(&["write", "secret/config", "cas_required=true"], "");
    let server = ok_server();
    let env = TestEnv::new();
    add(&env, &server, &bao, &secret("cas"), &["--no-verify"]).ok();
    let new_key = secret("cas-new");
    run_with_stdin(
        &env,
        &server,
        &bao,
        &["rotate", "paligo", "--api-key-stdin", "--no-verify"],
        &new_key,
    )
    .ok();
    assert_eq!(
        bao.kv_get("secret", "paligo", None)["data"]["data"]["secret"],
        new_key.as_str()
    );
}

#[test]
fn rotate_tells_the_truth_about_the_old_key() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    add(&env, &server, &bao, &secret("hist"), &["--no-verify"]).ok();
    let rotate = |tag: &str| {
        run_with_stdin(
            &env,
            &server,
            &bao,
            &["rotate", "paligo", "--api-key-stdin", "--no-verify"],
            &secret(tag),
        )
    };
    let out = rotate("hist-2");
    out.ok();
    assert!(
        out.stderr.contains("Vault keeps the last 10 versions"),
        "{out}"
    );
    bao.bao(
        &[
            "kv",
            "metadata",
            "put",
            "-max-versions=1",
            "secret/cred/paligo",
        ],
        "",
    );
    let out = rotate("hist-3");
    out.ok();
    assert!(out.stderr.contains("the old key is gone"), "{out}");
    assert!(!out.stderr.contains("stays in its history"), "{out}");
}

#[test]
fn add_with_a_read_only_token_stops_before_the_live_check() {
    let bao = Bao::start();
    let server = ok_server();
    let ro = bao.token_with_policy(
        "cred-read",
        r#"path "secret/data/cred/*" { capabilities = ["read"] }"#,
    );
    let env = TestEnv::new();
    let key = secret("ro-add");
    let out = add_with(&env, &vars(&server, &bao, &ro), &key, &[]);
    out.code(7);
    assert_one_error(
        &out,
        "Vault's policy does not let this token write `secret/data/cred/paligo`",
    );
    assert!(server.requests().is_empty(), "no live check ran");
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn an_entry_without_origin_is_checked_against_the_provider() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    // Pulled as Paligo…
    add(
        &TestEnv::new(),
        &server,
        &bao,
        &secret("prov"),
        &["--no-verify"],
    )
    .ok();
    run(&env, &server, &bao, &bao.root, &["pull", "paligo"]).ok();
    // …then rewritten by hand as a Paymo key, without `origin`.
    let paymo_key = secret("paymo-key");
    let entry = serde_json::json!({
        "secret": paymo_key,
        "provider": "paymo",
        "credential": {"provider": "paymo"},
    });
    bao.bao(
        &["kv", "put", "secret/cred/paligo", "-"],
        &entry.to_string(),
    );
    let out = run(
        &env,
        &server,
        &bao,
        &bao.root,
        &["call", "paligo", "/documents"],
    );
    out.code(1);
    assert!(
        out.stderr
            .contains("its provider changed from paymo to paligo"),
        "{out}"
    );
    assert!(server.requests().is_empty(), "the key was not sent");

    // An entry whose `provider` and `credential` disagree is not pulled.
    let odd = serde_json::json!({
        "secret": secret("odd"),
        "provider": "paymo",
        "credential": {"provider": "paligo", "instance": "acme", "username": EMAIL},
    });
    bao.bao(&["kv", "put", "secret/cred/odd", "-"], &odd.to_string());
    // A malformed entry is exit 1, as every malformed entry is.
    let out = run(&TestEnv::new(), &server, &bao, &bao.root, &["pull", "odd"]);
    out.code(1);
    assert!(
        out.stderr
            .contains("is not the provider of its `credential`"),
        "{out}"
    );
}
