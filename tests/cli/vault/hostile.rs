//! Vault as a hostile or careless peer (issue 31): a teammate's entry is
//! never overwritten by `add` or `move` (check-and-set `cas=0`), an answer
//! that is not a KV version 2 entry is a store failure (never "missing"),
//! the token is never shown even when the server echoes it, and `pull`
//! takes plain http to another host only with `--allow-http`.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{add, forms, run, vars};
use crate::common::*;

/// `cred add paligo --name team --store vault` for one teammate.
fn add_team(env: &TestEnv, server: &Server, bao: &Bao, key: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--name", "team", "--no-verify"];
    args.extend_from_slice(extra);
    add(env, server, bao, key, &args)
}

fn vault_key(bao: &Bao, name: &str) -> String {
    bao.kv_get("secret", name, None)["data"]["data"]["secret"]
        .as_str()
        .unwrap()
        .to_string()
}

fn current_version(bao: &Bao, name: &str) -> u64 {
    bao.kv_metadata("secret", name)["data"]["current_version"]
        .as_u64()
        .unwrap()
}

#[test]
fn add_refuses_a_teammates_vault_entry_and_changes_nothing() {
    let bao = Bao::start();
    let server = ok_server();
    let alice = TestEnv::new();
    let bob = TestEnv::new();
    let alice_key = secret("alice");
    add_team(&alice, &server, &bao, &alice_key, &[]).ok();

    let bob_key = secret("bob");
    let out = add_team(&bob, &server, &bao, &bob_key, &[]);
    out.code(1);
    assert_one_error(&out, "secret/cred/team already exists in Vault (version 1)");
    assert!(out.stderr.contains("cred pull team"), "{out}");
    assert!(out.stderr.contains("--force"), "{out}");
    assert_no_leak(&out, &forms(&bob_key, &bao.root));
    // Nothing changed: not Vault, not Bob's config, not his keychain.
    assert_eq!(vault_key(&bao, "team"), alice_key);
    assert_eq!(current_version(&bao, "team"), 1);
    assert!(!bob.config_path().exists(), "{}", bob.config_text());
    assert_eq!(keychain_lookup(&bob, "team"), None);

    // --force replaces it on purpose, as a new version.
    let out = add_team(&bob, &server, &bao, &bob_key, &["--force"]);
    out.ok();
    assert!(out.stderr.contains("secret/cred/team, version 2"), "{out}");
    assert_eq!(vault_key(&bao, "team"), bob_key);
    assert_eq!(
        bao.kv_get("secret", "team", Some(1))["data"]["data"]["secret"],
        alice_key.as_str()
    );
}

#[test]
fn move_to_vault_refuses_a_teammates_entry_and_changes_nothing() {
    let bao = Bao::start();
    let server = ok_server();
    let alice = TestEnv::new();
    let bob = TestEnv::new();
    let alice_key = secret("alice-mv");
    add_team(&alice, &server, &bao, &alice_key, &[]).ok();

    // Bob's own `team`, in his keychain.
    let bob_key = secret("bob-mv");
    bob.add(
        &[
            "paligo",
            "--name",
            "team",
            "--instance",
            "acme",
            "--username",
            EMAIL,
            "--no-verify",
        ],
        &bob_key,
        &[paligo_env(&server)],
    )
    .ok();
    let before = bob.config_text();
    let out = run(
        &bob,
        &server,
        &bao,
        &bao.root,
        &["move", "team", "--store", "vault"],
    );
    out.code(1);
    assert_one_error(&out, "secret/cred/team already exists in Vault (version 1)");
    assert!(out.stderr.contains("cred pull team"), "{out}");
    assert_no_leak(&out, &forms(&bob_key, &bao.root));
    assert_eq!(vault_key(&bao, "team"), alice_key);
    assert_eq!(current_version(&bao, "team"), 1);
    assert_eq!(bob.config_text(), before, "config unchanged");
    assert_eq!(keychain_lookup(&bob, "team").as_deref(), Some(&*bob_key));

    let out = run(
        &bob,
        &server,
        &bao,
        &bao.root,
        &["move", "team", "--store", "vault", "--force"],
    );
    out.ok();
    assert_eq!(vault_key(&bao, "team"), bob_key);
    assert_eq!(current_version(&bao, "team"), 2);
    assert_eq!(keychain_lookup(&bob, "team"), None);
}

/// A config holding `x` (Paligo) whose secret is in Vault.
fn vault_config(env: &TestEnv) {
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_path(),
        format!(
            "[credentials.x]\nprovider = \"paligo\"\ninstance = \"acme\"\nusername = \"{EMAIL}\"\nstore = \"vault\"\n\n[credentials.y]\nprovider = \"paymo\"\nstore = \"vault\"\n"
        ),
    )
    .unwrap();
}

/// A server on 127.0.0.1 posing as Vault: a valid token and a KV v2 mount
/// `secret`, and `entry` as the answer to reading `secret/cred/x`.
fn fake_vault(token: &str, entry: impl Fn() -> Reply + Send + Sync + 'static) -> Server {
    let echo = token.to_string();
    Server::start(move |r| match (r.method.as_str(), r.path()) {
        ("GET", "/v1/auth/token/lookup-self") => Reply::json(
            200,
            &serde_json::json!({"data": {
                "display_name": format!("token-{echo}"),
                "policies": ["default", echo],
                "meta": {"note": format!("issued as {echo}")},
                "ttl": 3600,
            }})
            .to_string(),
        ),
        ("GET", "/v1/sys/internal/ui/mounts/secret") => {
            Reply::json(200, r#"{"data":{"type":"kv","options":{"version":"2"}}}"#)
        }
        ("POST", "/v1/sys/capabilities-self") => Reply::json(200, r#"{"data":{}}"#),
        ("LIST", "/v1/secret/metadata/cred/") | ("GET", "/v1/secret/metadata/cred/") => {
            Reply::json(200, r#"{"data":{"keys":["x"]}}"#)
        }
        ("GET", "/v1/secret/data/cred/x") => entry(),
        _ => Reply::json(
            500,
            &serde_json::json!({"errors": [format!("no such thing for {echo}")]}).to_string(),
        ),
    })
}

fn fake_env(vault: &Server, token: &str) -> Vec<(&'static str, String)> {
    vec![("VAULT_ADDR", vault.url()), ("VAULT_TOKEN", token.into())]
}

/// What the fake Vault answers to the data read.
type Answer = dyn Fn() -> Reply + Send + Sync;

#[test]
fn an_answer_that_is_not_a_kv2_entry_is_a_store_failure_never_missing() {
    let token = secret("tok");
    let big = 300 * 1024 * 1024;
    let answers: Vec<(&str, Box<Answer>)> = vec![
        ("null", Box::new(|| Reply::json(200, r#"{"data": null}"#))),
        (
            "garbage",
            Box::new(|| Reply::new(200, "<html>Sign in to continue</html>")),
        ),
        (
            "300 MiB",
            Box::new(move || Reply::stream(200, std::io::repeat(b' ').take(big as u64), big)),
        ),
    ];
    for (what, answer) in answers {
        let vault = fake_vault(&token, answer);
        let env = TestEnv::new();
        vault_config(&env);
        let vars = fake_env(&vault, &token);
        for args in [&["secret", "x"][..], &["call", "x", "/documents"]] {
            let out = run_env(&env, args, &vars);
            out.code(7);
            assert_one_error(
                &out,
                &format!(
                    "Vault at {} answered something that is not a KV version 2 entry",
                    vault.url()
                ),
            );
            assert!(!out.stderr.contains("rotate"), "{what}: {out}");
            assert!(!out.stderr.contains("no secret"), "{what}: {out}");
            assert_no_leak(&out, &key_forms(&token, None));
        }
    }
}

#[test]
fn a_token_vault_echoes_is_never_shown() {
    let token = secret("echoed");
    let vault = fake_vault(&token, || {
        Reply::json(
            200,
            r#"{"data":{"data":{"secret":"k","provider":"paligo"},"metadata":{"version":1}}}"#,
        )
    });
    let env = TestEnv::new();
    vault_config(&env);
    let vars = fake_env(&vault, &token);
    let leaks = key_forms(&token, None);
    for args in [&["doctor"][..], &["doctor", "--json"]] {
        let out = run_env(&env, args, &vars);
        assert!(out.stdout.contains("token"), "{out}");
        assert_no_leak(&out, &leaks);
    }
    // An error Vault words with the token in it.
    let out = run_env(&env, &["secret", "y"], &vars);
    out.code(7);
    assert!(
        out.stderr.contains("Vault said: no such thing for"),
        "{out}"
    );
    assert_no_leak(&out, &leaks);
}

#[test]
fn pull_takes_plain_http_to_another_host_only_with_allow_http() {
    let bao = Bao::start();
    let entry = serde_json::json!({
        "secret": secret("plain"),
        "provider": "generic",
        "origin": "http://api.example.com/v1",
        "credential": {"provider": "generic", "base_url": "http://api.example.com/v1",
                       "placement": "header", "key_name": "Authorization",
                       "template": "${apiKey}", "label": "API Key", "allow_http": true},
    });
    bao.bao(&["kv", "put", "secret/cred/plain", "-"], &entry.to_string());
    let env = TestEnv::new();
    let vars = bao.env(&bao.root);
    let out = run_env(&env, &["pull", "plain"], &vars);
    out.code(1);
    assert_one_error(
        &out,
        "secret/cred/plain in Vault sends its key over plain http to api.example.com",
    );
    assert!(out.stderr.contains("--allow-http"), "{out}");
    assert!(!env.config_path().exists(), "{}", env.config_text());

    let out = run_env(&env, &["pull", "--allow-http", "plain"], &vars);
    out.ok();
    assert_eq!(
        config(&env)["credentials"]["plain"]["allow_http"].as_bool(),
        Some(true)
    );
}

#[test]
fn two_teammates_rotating_at_once_the_second_gets_a_conflict() {
    let bao = Bao::start();
    let server = ok_server();
    let alice = TestEnv::new();
    let bob = TestEnv::new();
    let first = secret("first");
    add(&alice, &server, &bao, &first, &["--no-verify"]).ok();
    run(&bob, &server, &bao, &bao.root, &["pull", "paligo"]).ok();

    // Alice's live check waits at a Paligo that answers when told to.
    let arrived = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (a, r) = (arrived.clone(), release.clone());
    let slow = Server::start(move |_| {
        a.store(true, Ordering::SeqCst);
        while !r.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Reply::json(200, r#"{"users":[{"id":1}]}"#)
    });
    let alice_key = secret("alice-rot");
    let mut cmd = std_cmd(&alice);
    cmd.args(["rotate", "paligo", "--api-key-stdin"]);
    for (k, v) in vars(&slow, &bao, &bao.root) {
        cmd.env(k, v);
    }
    let child = spawn_with_stdin(&mut cmd, &alice_key);
    let start = std::time::Instant::now();
    while !arrived.load(Ordering::SeqCst) {
        assert!(start.elapsed().as_secs() < 60, "alice's check never came");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Bob rotates while Alice's check runs.
    let bob_key = secret("bob-rot");
    let out = bob.run_with(
        &["rotate", "paligo", "--api-key-stdin", "--no-verify"],
        |c| {
            c.write_stdin(bob_key.clone());
            for (k, v) in vars(&server, &bao, &bao.root) {
                c.env(k, v);
            }
        },
    );
    out.ok();
    release.store(true, Ordering::SeqCst);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("secret/cred/paligo was changed in Vault meanwhile: version 1 was read, version 2 is current"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    // Bob's key stands; Alice's never replaced it.
    assert_eq!(vault_key(&bao, "paligo"), bob_key);
    assert_eq!(current_version(&bao, "paligo"), 2);
}
