//! Live checks and redirects: the key never crosses to another origin (not
//! even the same host on another port), and a same-origin redirect is
//! followed with it.

use std::sync::atomic::Ordering;

use super::FOLDERS;
use crate::common::*;

#[test]
fn a_redirect_to_another_origin_does_not_carry_the_key() {
    let other = Server::open(|_| Reply::json(200, r#"{"folders":[]}"#));
    let target = format!("{}/acme/api/v2/folders?per_page=1", other.url());
    let server = Server::start(move |_| Reply::new(302, "").header("Location", &target));
    let env = TestEnv::new();
    let key = secret("redirect");
    let out = add_paligo(&env, &server, &key, &[]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("redirect"), "{out}");
    assert!(
        out.stderr.contains(&other.url()),
        "names where it was sent\n{out}"
    );
    assert!(!out.all().contains(&key), "{out}");
    assert_eq!(server.count(), 1);
    assert_eq!(
        other.count(),
        0,
        "the other origin was contacted: {:?}",
        other.requests()
    );
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn a_redirect_to_another_origin_does_not_carry_a_query_key() {
    // A hostile server copies the query (with the key) into the Location.
    let other = Server::open(|_| Reply::json(200, "{}"));
    let other_url = other.url();
    let server = Server::start(move |seen| {
        Reply::new(301, "").header("Location", &format!("{other_url}/steal?{}", seen.query()))
    });
    let env = TestEnv::new();
    let key = secret("redirect-query");
    let out = add_generic(&env, "q", &server.url(), &key, &["--placement", "query"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(!out.all().contains(&key), "{out}");
    assert_eq!(
        other.count(),
        0,
        "the other origin was contacted: {:?}",
        other.requests()
    );
    assert_no_key_in_any_request(&other, std::slice::from_ref(&key));
    assert_nothing_stored(&env, "q", Some(&key));
}

#[test]
fn a_redirect_from_verify_to_another_origin_does_not_carry_the_key() {
    let env = TestEnv::new();
    let key = secret("redirect-verify");
    let other = Server::open(|_| Reply::json(200, "{}"));
    let target = format!("{}/api/me", other.url());
    let moved = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = moved.clone();
    let server = Server::start(move |_| {
        if flag.load(Ordering::SeqCst) {
            Reply::new(307, "").header("Location", &target)
        } else {
            Reply::json(200, r#"{"users":[]}"#)
        }
    });
    env.add(&["paymo"], &key, &[paymo_env(&server)]).ok();
    moved.store(true, Ordering::SeqCst);
    let out = env.run_with(&["verify", "paymo"], |c| {
        let (k, v) = paymo_env(&server);
        c.env(k, v);
    });
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stdout.contains("redirect"), "{out}");
    assert_eq!(
        other.count(),
        0,
        "the other origin was contacted: {:?}",
        other.requests()
    );
    assert!(!out.all().contains(&key), "{out}");
}

#[test]
fn a_same_origin_redirect_is_followed_with_the_key() {
    let server = Server::start(|seen| {
        if seen.path() == "/acme/api/v2/folders" {
            Reply::new(302, "").header("Location", "/acme/api/v2/moved/folders?per_page=1")
        } else {
            Reply::json(200, r#"{"folders":[]}"#)
        }
    });
    let env = TestEnv::new();
    let key = secret("same-origin");
    add_paligo(&env, &server, &key, &[]).ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].url, FOLDERS);
    assert_eq!(seen[1].url, "/acme/api/v2/moved/folders?per_page=1");
    assert_eq!(
        seen[1].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    assert_eq!(stored_secret(&env, "paligo"), key);
}

#[test]
fn a_same_host_redirect_to_another_port_is_another_origin() {
    // localhost and 127.0.0.1 on one port are different origins too, but a
    // different port is the sharpest case: the host name alone matches.
    let other = Server::open(|_| Reply::json(200, "{}"));
    let target = format!("http://127.0.0.1:{}/v1/me", other.port);
    let server = Server::start(move |_| Reply::new(308, "").header("Location", &target));
    let env = TestEnv::new();
    let key = secret("port");
    let out = add_generic(
        &env,
        "g",
        &format!("{}/v1", server.url()),
        &key,
        &["--check-path", "/me"],
    );
    assert_ne!(out.code, 0, "{out}");
    assert_eq!(other.count(), 0);
    assert_nothing_stored(&env, "g", Some(&key));
}
