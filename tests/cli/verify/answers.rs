//! Live checks on `add`: how each kind of answer is classified (rejected,
//! not an admin, no such instance, server error, refused, too slow, rate
//! limited), with its message and exit code, and that a failed check
//! stores nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::FOLDERS;
use crate::common::*;

#[test]
fn paligo_401_is_rejected_with_exit_4_and_nothing_is_stored() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, r#"{"message":"Unauthorized"}"#));
    let key = secret("wrong");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(4);
    assert!(out.stderr.contains("cred: error:"), "{out}");
    assert!(out.stderr.contains("username or API key"), "{out}");
    assert!(out.stderr.contains("shown only once"), "{out}");
    assert!(out.stderr.contains("nothing was stored"), "{out}");
    assert!(!out.all().contains(&key), "{out}");
    assert_eq!(server.count(), 1);
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn paligo_403_says_the_user_is_not_an_admin() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(403, r#"{"message":"Forbidden"}"#));
    let key = secret("notadmin");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(4);
    assert!(out.stderr.contains("admin"), "{out}");
    assert!(out.stderr.contains(EMAIL), "{out}");
    // The hint is about admin rights, not about the username or the key.
    assert!(out.stderr.contains("hint: ask a Paligo admin"), "{out}");
    assert!(!out.stderr.contains("check the username"), "{out}");
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn paligo_404_says_there_is_no_such_instance() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::new(404, "Not Found"));
    let key = secret("noinstance");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(1);
    assert!(
        out.stderr.contains("no Paligo instance named `acme`"),
        "{out}"
    );
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn paymo_401_is_rejected() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, r#"{"message":"Invalid API key"}"#));
    let key = secret("paymo-wrong");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.code(4);
    assert!(out.stderr.contains("rejected the API key"), "{out}");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn generic_401_and_403_are_rejected() {
    for status in [401, 403] {
        let env = TestEnv::new();
        let server = Server::start(move |_| Reply::new(status, "nope"));
        let key = secret("generic-wrong");
        let out = add_generic(&env, "g", &server.url(), &key, &["--check-path", "/me"]);
        out.code(4);
        assert!(out.stderr.contains(&format!("HTTP {status}")), "{out}");
        assert_nothing_stored(&env, "g", Some(&key));
    }
}

#[test]
fn server_error_could_not_confirm_with_status_and_first_line_exit_3() {
    let body = "\ndatabase on fire\n  at line 2 of the stack trace\n";
    // Paligo
    let env = TestEnv::new();
    let server = Server::start(move |_| Reply::new(500, body));
    let key = secret("p500");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(3);
    assert!(out.stderr.contains("could not confirm"), "{out}");
    assert!(out.stderr.contains("HTTP 500: database on fire"), "{out}");
    assert!(!out.stderr.contains("stack trace"), "{out}");
    assert!(
        !out.stderr.contains("did not accept"),
        "an unconfirmed key is not a refused one\n{out}"
    );
    assert_nothing_stored(&env, "paligo", Some(&key));
    // Generic
    let env = TestEnv::new();
    let key = secret("g500");
    let out = add_generic(&env, "g", &server.url(), &key, &[]);
    out.code(3);
    assert!(out.stderr.contains("could not confirm"), "{out}");
    assert!(out.stderr.contains("HTTP 500: database on fire"), "{out}");
    assert_nothing_stored(&env, "g", Some(&key));
    // Paymo
    let env = TestEnv::new();
    let key = secret("m500");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.code(3);
    assert!(out.stderr.contains("could not confirm"), "{out}");
    assert!(out.stderr.contains("HTTP 500: database on fire"), "{out}");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn connection_refused_is_a_network_error_exit_5_that_says_so() {
    let env = TestEnv::new();
    let key = secret("refused");
    let base = format!("http://127.0.0.1:{}/api", closed_port());
    let out = add_generic(&env, "down", &base, &key, &[]);
    out.code(5);
    assert!(out.stderr.contains("refused the connection"), "{out}");
    assert!(out.stderr.contains("hint:"), "{out}");
    assert!(!out.all().contains(&key), "{out}");
    assert_nothing_stored(&env, "down", Some(&key));
}

#[test]
fn a_server_slower_than_the_check_timeout_is_a_timeout_exit_5() {
    let env = TestEnv::new();
    // The answer (a 200) comes 3 s after the request: exit 5 shows the
    // check gave up before it, and the message that it waited the 1 s asked
    // for. No stopwatch: a loaded machine could make that fail for nothing.
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_secs(3)));
    let key = secret("slow");
    let out = env.add(
        &["paligo", "--instance", "acme", "--username", EMAIL],
        &key,
        &[paligo_env(&server), ("CRED_CHECK_TIMEOUT", "1".into())],
    );
    out.code(5);
    assert!(out.stderr.contains("did not answer within 1 s"), "{out}");
    assert_eq!(server.count(), 1);
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn a_bad_check_timeout_is_refused_naming_the_variable() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("badtimeout");
    let out = env.add(
        &["paligo", "--instance", "acme", "--username", EMAIL],
        &key,
        &[paligo_env(&server), ("CRED_CHECK_TIMEOUT", "soon".into())],
    );
    out.code(1);
    assert!(out.stderr.contains("CRED_CHECK_TIMEOUT"), "{out}");
    assert_eq!(server.count(), 0);
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn rate_limit_with_retry_after_is_waited_out_and_retried() {
    let env = TestEnv::new();
    let calls = AtomicUsize::new(0);
    let server = Server::start(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::json(429, r#"{"message":"Too Many Attempts."}"#).header("Retry-After", "1")
        } else {
            Reply::json(200, r#"{"folders":[]}"#)
        }
    });
    let key = secret("ratelimited");
    let out = add_paligo(&env, &server, &key, &[]);
    out.ok();
    assert!(
        out.stderr.contains("waiting 1 s"),
        "the wait is shown\n{out}"
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    // The retry came after the wait, as the server saw it (a lower bound:
    // load only lengthens the gap).
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_secs(1), "it did not wait: {gap:?}");
    assert!(seen.iter().all(
        |s| s.url == FOLDERS && s.header("authorization") == Some(basic(EMAIL, &key).as_str())
    ));
    assert_eq!(stored_secret(&env, "paligo"), key);
}

#[test]
fn rate_limit_past_the_longest_wait_exits_6_without_waiting() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(429, "{}").header("Retry-After", "3600"));
    let key = secret("ratelimited-long");
    let start = Instant::now();
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(6);
    // No wait was started: none announced (cred says "waiting N s" before
    // each), and no second request.
    assert!(!out.stderr.contains("waiting"), "{out}");
    assert_eq!(server.count(), 1);
    // And none sat out silently. A timing bound is the point here, kept
    // generous (10 s against the 3600 s asked for) so that load cannot
    // make it fail.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert!(out.stderr.contains("429"), "{out}");
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn rate_limit_that_never_ends_gives_up_after_the_retries_with_exit_6() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(429, "{}").header("Retry-After", "1"));
    let key = secret("ratelimited-always");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.code(6);
    assert_eq!(server.count(), 3, "one try and two retries");
    assert_nothing_stored(&env, "paymo", Some(&key));
}
