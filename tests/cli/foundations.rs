//! What every command stands on: a server cannot crash cred (a huge
//! `Retry-After` from `call` and from a live check), redirects are followed
//! by cred's own loop (at most 10, the auth put on every same-origin hop,
//! never a `Referer`), a 403 on a call is not blamed on the key, and a bug
//! is one `internal error` line with exit 1, never a Rust panic message.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;

fn call(env: &TestEnv, vars: &[(&str, String)], args: &[&str]) -> Run {
    let mut full = vec!["call"];
    full.extend_from_slice(args);
    run_env(env, &full, vars)
}

/// Answers 429 with `Retry-After: 1`, then with the largest u64.
fn ever_longer_waits() -> Server {
    let n = Arc::new(AtomicUsize::new(0));
    Server::start(move |_| {
        let wait = if n.fetch_add(1, Ordering::SeqCst) == 0 {
            "1"
        } else {
            "18446744073709551615"
        };
        Reply::json(429, r#"{"message":"slow down"}"#).header("Retry-After", wait)
    })
}

fn assert_no_panic(run: &Run) {
    for bad in ["panicked", "overflow", "RUST_BACKTRACE", "internal error"] {
        assert!(!run.stderr.contains(bad), "{bad}: {run}");
    }
}

#[test]
fn a_huge_retry_after_on_a_call_is_a_rate_limit_not_a_panic() {
    let server = ever_longer_waits();
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/x"]);
    run.code(6);
    assert_no_panic(&run);
    assert!(run.stderr.contains("would pass --max-wait 60"), "{run}");
    assert_eq!(server.count(), 2);
}

#[test]
fn a_huge_retry_after_on_a_check_is_a_rate_limit_not_a_panic() {
    let server = ever_longer_waits();
    let env = TestEnv::new();
    let key = secret("api");
    let run = add_generic(&env, "api", &format!("{}/v1", server.url()), &key, &[]);
    run.code(6);
    assert_no_panic(&run);
    assert!(run.stderr.contains("rate limiting"), "{run}");
    assert_eq!(server.count(), 2);
    assert_nothing_stored(&env, "api", Some(&key));
}

#[test]
fn more_than_ten_redirects_is_exit_3_too_many_redirects() {
    let server = Server::start(|s| {
        let n: u32 = s
            .path()
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Reply::new(302, "").header("Location", &format!("/v1/hop/{}", n + 1))
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/hop/0"]);
    run.code(3);
    assert_one_error(&run, "too many redirects (more than 10)");
    // The first request and ten redirects followed, then it stopped.
    assert_eq!(server.count(), 11);
    assert_no_leak(&run, &key_forms(&key, None));
}

#[test]
fn a_same_origin_redirect_carries_the_query_key_again_and_no_referer() {
    let server = Server::start(|s| match s.path() {
        "/v1/old" => Reply::new(307, "").header("Location", "/v1/new?page=2"),
        _ => Reply::new(200, "moved here"),
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    let run = call(&env, &[], &["api", "/old"]);
    run.ok();
    assert_eq!(run.stdout, "moved here");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path(), "/v1/new");
    assert_eq!(seen[1].query(), format!("page=2&api_key={key}"), "{run}");
    for s in &seen {
        assert_eq!(s.header("referer"), None);
    }
}

#[test]
fn a_403_on_a_call_says_the_key_was_accepted_and_why_it_may_not() {
    let server = Server::start(|s| match s.path() {
        "/acme/api/v2/forbidden" => Reply::json(403, r#"{"message":"Forbidden"}"#),
        _ => Reply::json(401, r#"{"message":"Unauthorized"}"#),
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let run = call(&env, &p, &["paligo", "/forbidden"]);
    run.code(4);
    assert!(
        run.stderr
            .contains("the key was accepted but may not do this: only Paligo admin users"),
        "{run}"
    );
    assert!(!run.stderr.contains("cred rotate"), "{run}");
    // Only a 401 blames the key.
    let run = call(&env, &p, &["paligo", "/other"]);
    run.code(4);
    assert!(run.stderr.contains("cred rotate paligo"), "{run}");
}

#[test]
fn a_bug_is_one_internal_error_line_and_exit_1() {
    let env = TestEnv::new();
    for (how, backtrace) in [("main", "0"), ("main", "1"), ("thread", "full")] {
        let run = run_env(
            &env,
            &["list"],
            &[
                ("CRED_TEST_PANIC", how.to_string()),
                ("RUST_BACKTRACE", backtrace.to_string()),
            ],
        );
        run.code(1);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{run}");
        assert!(
            lines[0].starts_with("cred: error: internal error: a test panic"),
            "{run}"
        );
        assert!(lines[1].starts_with("hint: this is a bug in cred"), "{run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
        assert!(!run.stderr.contains("stack backtrace"), "{run}");
    }
}

#[test]
fn following_offsite_never_carries_a_query_key_in_a_kept_query() {
    let other = Server::open(|_| Reply::new(200, "cdn"));
    let other_url = other.url();
    // Like nginx's `return 301 https://elsewhere$request_uri;`: the query,
    // key included, is kept in the Location.
    let home = Server::start(move |s| {
        Reply::new(301, "").header("Location", &format!("{other_url}{}", s.url))
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &home.url(), &["--placement", "query"]);
    let run = call(&env, &[], &["api", "/file?part=1", "--follow-offsite"]);
    run.ok();
    assert_eq!(run.stdout, "cdn");
    let seen = other.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].query(), "part=1", "{:?}", seen[0]);
    assert_no_key_in_any_request(&other, &key_forms(&key, None));
}
