//! Nothing falsely "valid", no way in for a child, and failure kinds from
//! types (SPEC §7 "An honest check", "exec", §3): a check path that
//! answers without any key proves nothing; `cred exec`'s child gets no
//! identity file; a Vault that does not answer is named as Vault with
//! Vault's fix; a key that cannot be sent, a corrupt body and a rate limit
//! without `Retry-After` each get their own kind and exit code.

use std::io::Write;

use crate::common::*;
use crate::file_store::FileEnv;

/// An API whose every path answers 200, key or no key (the root of many
/// real APIs does), but `/user` only with `Bearer GOOD`.
fn open_api(good: &str) -> Server {
    let good = format!("Bearer {good}");
    Server::open(move |r| {
        if r.path().ends_with("/user") && r.header("authorization") != Some(good.as_str()) {
            Reply::json(401, r#"{"message":"Requires authentication"}"#)
        } else {
            Reply::json(200, r#"{"login":"ana"}"#)
        }
    })
}

#[test]
fn a_check_path_that_answers_without_a_key_never_calls_a_key_valid() {
    let good = secret("good");
    let server = open_api(&good);
    let env = TestEnv::new();
    let base = format!("{}/api", server.url());
    let template = ["--template", "Bearer ${apiKey}"];
    let run = add_generic(&env, "gh", &base, "totally-wrong", &template);
    run.code(1);
    assert!(run.stderr.contains("cannot confirm the key"), "{run}");
    assert!(run.stderr.contains("without any key"), "{run}");
    assert!(run.stderr.contains("--check-path /user"), "{run}");
    assert!(!run.all().contains("the key works"), "{run}");
    assert_nothing_stored(&env, "gh", Some("totally-wrong"));
    // Two requests carried no key at all: the look before the key is read
    // (is there an API at that address?) and the honest check's.
    let bare = server
        .requests()
        .into_iter()
        .filter(|r| r.header("authorization").is_none())
        .count();
    assert_eq!(bare, 2, "two requests without the key");

    // A path that needs the key tells a wrong key from a right one.
    let mut flags = template.to_vec();
    flags.extend_from_slice(&["--check-path", "/user"]);
    add_generic(&env, "gh", &base, "totally-wrong", &flags).code(4);
    add_generic(&env, "gh", &base, &good, &flags).ok();

    // verify of a credential whose check path answers anyone: exit 1 and
    // the result is recorded as such, never "valid".
    add_generic(&env, "open", &base, &good, &["--no-verify"]).ok();
    let run = env.run(&["verify", "open", "--json"]);
    run.code(1);
    let doc = json(&run);
    assert!(doc.to_string().contains("cannot-confirm"), "{doc}");
    let list = env.run(&["list", "--json"]);
    assert!(
        !list.stdout.contains(r#""valid""#) || list.stdout.contains(r#""gh""#),
        "{list}"
    );
}

#[test]
fn execs_child_cannot_open_the_file_store_with_the_identity_file() {
    let f = FileEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let base = format!("{}/v1", server.url());
    let one = secret("one");
    let other = secret("other");
    f.add(
        &[
            "generic",
            "--name",
            "one",
            "--base-url",
            &base,
            "--no-verify",
        ],
        &one,
        &[],
    )
    .ok();
    f.add(
        &[
            "generic",
            "--name",
            "other",
            "--base-url",
            &base,
            "--no-verify",
        ],
        &other,
        &[],
    )
    .ok();
    let script =
        "printf 'identity file: %s\\n' \"${CRED_IDENTITY_FILE-absent}\"; cred secret other";
    let run = f.run(
        &["exec", "one", "--", "sh", "-c", script],
        &[("PATH", path_with_cred())],
    );
    assert_ne!(run.code, 0, "the child read another credential: {run}");
    assert!(run.stdout.contains("identity file: absent"), "{run}");
    assert!(!run.all().contains(&other), "{run}");
    assert!(
        run.stderr.contains("nothing can open the file store"),
        "{run}"
    );
}

#[test]
fn a_vault_that_does_not_answer_is_named_with_vaults_fix() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4) {
            held.push(stream);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    });
    let env = TestEnv::new();
    let run = run_env(
        &env,
        &["pull"],
        &[
            ("VAULT_ADDR", addr.clone()),
            ("VAULT_TOKEN", "t0ken-never-shown".into()),
            ("CRED_STORE_TIMEOUT", "1".into()),
        ],
    );
    run.code(7);
    assert!(run.stderr.contains(&format!("Vault at {addr}")), "{run}");
    assert!(run.stderr.contains("bao status"), "{run}");
    assert!(!run.stderr.to_lowercase().contains("keyring"), "{run}");
    assert!(!run.stderr.contains("keychain"), "{run}");
    assert!(!run.all().contains("t0ken-never-shown"), "{run}");
    drop(hold);
}

#[test]
fn a_key_vault_hands_back_with_a_newline_is_exit_1_everywhere_never_network() {
    let bao = Bao::start();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let mut vars = bao.env(&bao.root);
    let base = format!("{}/v1", server.url());
    let key = secret("nl");
    env.add(
        &[
            "generic",
            "--name",
            "api",
            "--base-url",
            &base,
            "--no-verify",
            "--store",
            "vault",
        ],
        &key,
        &vars,
    )
    .ok();
    bao.bao(
        &["kv", "patch", "secret/cred/api", &format!("secret={key}\n")],
        "",
    );
    vars.push(("CRED_CHECK_TIMEOUT", "5".into()));
    let verify = run_env(&env, &["verify", "api"], &vars);
    verify.code(1);
    assert!(!verify.all().contains("network"), "{verify}");
    let call = run_env(&env, &["call", "api", "/x"], &vars);
    call.code(1);
    assert!(call.stderr.contains("cannot be sent"), "{call}");
    assert_eq!(server.count(), 0, "nothing was sent");
}

#[test]
fn a_corrupt_gzip_body_is_the_apis_fault_not_the_network() {
    let server = Server::start(|_| {
        Reply::new(200, b"\x1f\x8b\x08\x00garbage-that-is-not-deflate".to_vec())
            .header("Content-Encoding", "gzip")
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["call", "api", "/x"]);
    run.code(1);
    assert!(run.stderr.contains("corrupt compressed body"), "{run}");
    assert!(!run.stderr.contains("network"), "{run}");
}

#[test]
fn a_429_without_retry_after_says_cred_chose_the_wait() {
    let server = Server::start(|_| Reply::json(429, "{}"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["call", "api", "/x", "--max-wait", "0"]);
    run.code(6);
    assert!(run.stderr.contains("named no wait"), "{run}");
    assert!(!run.stderr.contains("the server asks to wait"), "{run}");
    let server = Server::start(|_| Reply::json(429, "{}").header("Retry-After", "30"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["call", "api", "/x", "--max-wait", "1"]);
    run.code(6);
    assert!(run.stderr.contains("the server asks to wait 30 s"), "{run}");
    let _ = std::io::stderr().flush();
}
