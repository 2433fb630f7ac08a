//! `cred rotate`: the new key is checked before it replaces the old one; a
//! rejected key or a network failure keeps the old secret and its record.

use super::FOLDERS;
use crate::common::*;

/// A Paligo server that accepts exactly the keys in `good`.
fn paligo_accepting(good: Vec<String>) -> Server {
    Server::start(move |seen| {
        let ok = good
            .iter()
            .any(|k| seen.header("authorization") == Some(basic(EMAIL, k).as_str()));
        if ok {
            Reply::json(200, r#"{"folders":[]}"#)
        } else {
            Reply::json(401, "{}")
        }
    })
}

#[test]
fn rotate_with_a_rejected_key_keeps_the_old_secret() {
    let env = TestEnv::new();
    let old = secret("old");
    let new = secret("new");
    let server = paligo_accepting(vec![old.clone()]);
    add_paligo(&env, &server, &old, &[]).ok();
    let before = last_check(&env, "paligo").unwrap();

    let out = env.run_with(&["rotate", "paligo", "--api-key-stdin"], |c| {
        c.write_stdin(new.clone());
        let (k, v) = paligo_env(&server);
        c.env(k, v);
    });
    out.code(4);
    assert!(out.stderr.contains("username or API key"), "{out}");
    assert!(out.stderr.contains("old secret"), "{out}");
    assert!(!out.all().contains(&new), "{out}");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].header("authorization"),
        Some(basic(EMAIL, &new).as_str()),
        "the new key was checked"
    );

    assert_eq!(stored_secret(&env, "paligo"), old);
    assert_eq!(
        last_check(&env, "paligo").unwrap(),
        before,
        "the record of the old key stays"
    );
    // …and the old key still works.
    let out = env.run_with(&["verify", "paligo"], |c| {
        let (k, v) = paligo_env(&server);
        c.env(k, v);
    });
    out.ok();
    assert_eq!(
        server.requests()[2].header("authorization"),
        Some(basic(EMAIL, &old).as_str())
    );
}

#[test]
fn rotate_with_a_good_key_replaces_the_old_one() {
    let env = TestEnv::new();
    let old = secret("old");
    let new = secret("new");
    let server = paligo_accepting(vec![old.clone(), new.clone()]);
    add_paligo(&env, &server, &old, &[]).ok();

    let out = env.run_with(&["rotate", "paligo"], |c| {
        c.env("CRED_API_KEY", &new);
        let (k, v) = paligo_env(&server);
        c.env(k, v);
    });
    out.ok();
    assert!(!out.all().contains(&new), "{out}");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].url, FOLDERS);
    assert_eq!(
        seen[1].header("authorization"),
        Some(basic(EMAIL, &new).as_str())
    );
    assert_eq!(stored_secret(&env, "paligo"), new);
    assert_eq!(last_check(&env, "paligo").unwrap().0, "valid");
}

#[test]
fn rotate_on_a_network_failure_keeps_the_old_secret_with_exit_5() {
    let env = TestEnv::new();
    let old = secret("old");
    let base = format!("http://127.0.0.1:{}", closed_port());
    add_generic(&env, "g", &base, &old, &["--no-verify"]).ok();
    let out = env.run_with(&["rotate", "g"], |c| {
        c.env("CRED_API_KEY", secret("new"));
    });
    out.code(5);
    assert_eq!(stored_secret(&env, "g"), old);
}
