//! `cred call`: failures: error statuses (body printed, status named),
//! every exit code `call` can give, and `--timeout` for a server that does
//! not answer or stops sending.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::call;
use crate::common::*;

#[test]
fn error_statuses_print_the_body_and_are_named_on_stderr() {
    let server = Server::start(|s| match s.path() {
        "/acme/api/v2/missing" => Reply::json(404, r#"{"message":"no such document"}"#),
        "/acme/api/v2/bad" => Reply::json(422, r#"{"message":"invalid"}"#),
        "/acme/api/v2/boom" => Reply::new(500, "oops"),
        "/acme/api/v2/unauthorized" => Reply::json(401, r#"{"message":"bad key"}"#),
        "/acme/api/v2/forbidden" => Reply::json(403, r#"{"message":"admins only"}"#),
        _ => Reply::json(200, "[]"),
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    for (path, code, body, status) in [
        (
            "/missing",
            3,
            r#"{"message":"no such document"}"#,
            "HTTP 404",
        ),
        ("/bad", 3, r#"{"message":"invalid"}"#, "HTTP 422"),
        ("/boom", 3, "oops", "HTTP 500"),
        ("/unauthorized", 4, r#"{"message":"bad key"}"#, "HTTP 401"),
        ("/forbidden", 4, r#"{"message":"admins only"}"#, "HTTP 403"),
    ] {
        let run = call(&env, &p, &["paligo", path]);
        run.code(code);
        assert_eq!(run.stdout, body, "{run}");
        assert!(
            run.stderr.starts_with(&format!("cred: error: {status}")),
            "{run}"
        );
    }
    let run = call(&env, &p, &["paligo", "/unauthorized"]);
    assert!(run.stderr.contains("cred rotate paligo"), "{run}");
}

/// Exit codes of SPEC §3 that `call` can give, one case each (3, 4 and 6
/// have their own tests too).
#[test]
fn every_exit_code_call_can_give() {
    let server = Server::start(|s| match s.path() {
        "/acme/api/v2/missing" => Reply::new(404, "not here"),
        "/acme/api/v2/denied" => Reply::new(401, ""),
        "/acme/api/v2/limited" => Reply::new(429, "slow down").header("Retry-After", "3600"),
        _ => Reply::json(200, "[]"),
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    // 0
    call(&env, &p, &["paligo", "/ok"]).code(0);
    // 1: unknown credential, bad input
    let run = call(&env, &p, &["nosuch", "/ok"]);
    run.code(1);
    assert!(run.stderr.starts_with("cred: error:"), "{run}");
    assert!(run.stderr.contains("nosuch"), "{run}");
    call(&env, &p, &["paligo", "/ok", "-q", "x"]).code(1);
    // 2: usage (missing PATH, a number that is not one, an unknown flag)
    for args in [
        &["call"][..],
        &["call", "paligo", "/ok", "--retries", "many"],
        &["call", "paligo", "/ok", "--bogus"],
    ] {
        let run = env.run_with(args, |c| {
            c.env(p[0].0, p[0].1.clone());
        });
        run.code(2);
        assert!(run.stderr.starts_with("cred: error:"), "{run}");
    }
    // 3, 4, 6
    call(&env, &p, &["paligo", "/missing"]).code(3);
    call(&env, &p, &["paligo", "/denied"]).code(4);
    call(&env, &p, &["paligo", "/limited"]).code(6);
    assert_eq!(server.count(), 4);
    // 5: nothing listens on the port any more (the same address: pointing
    // the credential at another one would be refused before any request,
    // as the key was not stored for it).
    drop(server);
    let run = call(&env, &p, &["paligo", "/ok"]);
    run.code(5);
    assert!(run.stderr.contains("refused"), "{run}");
}

#[test]
fn a_server_slower_than_the_timeout_is_a_network_error() {
    let server = Server::start(|s| match s.path() {
        "/v1/slow" => Reply::new(200, "late").delay(Duration::from_secs(4)),
        _ => Reply::new(200, "fast"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/slow", "--timeout", "1"]);
    // The answer ("late", a 200) comes 4 s after the request: exit 5 and no
    // body show cred gave up before it, and the message that it waited the
    // 1 s asked for. No stopwatch: a loaded machine could fail it for nothing.
    run.code(5);
    assert_eq!(server.count(), 1);
    assert!(run.stderr.contains("did not answer within 1 s"), "{run}");
    assert!(run.stderr.contains("--timeout"), "{run}");
    assert_eq!(run.stdout, "");
    // The same server within the timeout is fine.
    call(&env, &[], &["api", "/fast", "--timeout", "1"]).ok();
}

#[test]
fn a_body_that_stalls_longer_than_the_timeout_is_a_network_error() {
    let env = TestEnv::new();
    // Sends half of the promised body, then nothing.
    let stall = Arc::new(AtomicBool::new(false));
    let server = Server::start(move |_| {
        let mut g = generated(2_000_000);
        g.pause_at = Some(1_000_000);
        g.release = stall.clone();
        Reply::stream(200, g, 2_000_000)
    });
    add_generic_unchecked(&env, &server.url(), &[]);
    let out = env.dir.path().join("partial.bin");
    let start = Instant::now();
    let run = call(
        &env,
        &[],
        &["api", "/big", "--timeout", "1", "-o", out.to_str().unwrap()],
    );
    run.code(5);
    // The rest of the body never came (the server holds it back for a
    // minute): cred gave up on the stall.
    let written = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    assert!(written < 2_000_000, "{written} bytes written\n{run}");
    // A timing bound is the point here (the stall is noticed, not sat out),
    // kept generous (30 s for a 1 s --timeout) so that load cannot fail it.
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    assert!(run.stderr.contains("--timeout"), "{run}");
}
