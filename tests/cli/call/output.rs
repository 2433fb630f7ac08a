//! `cred call`: what is printed: `-i` (status line and headers), `-o`
//! (the body to a file), `-v` (both heads on stderr, the secret redacted).

use super::call;
use crate::common::*;

#[test]
fn include_prints_the_status_line_and_headers_before_the_body() {
    let server = Server::start(|_| Reply::json(200, r#"{"a":1}"#).header("X-Custom", "yes"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(&env, &[paligo_env(&server)], &["paligo", "/a", "-i"]);
    run.ok();
    assert!(run.stdout.starts_with("HTTP/1.1 200 OK\n"), "{run}");
    assert!(
        run.stdout
            .to_ascii_lowercase()
            .contains("\nx-custom: yes\n"),
        "{run}"
    );
    assert!(run.stdout.ends_with("\n\n{\"a\":1}"), "{run}");
}

#[test]
fn output_writes_the_body_to_a_file_and_nothing_to_stdout() {
    let server = Server::start(|s| match s.path() {
        "/acme/api/v2/missing" => Reply::json(404, r#"{"error":"nope"}"#),
        _ => Reply::new(200, b"\x00\x01binary\xff".to_vec()),
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let out = env.dir.path().join("out.bin");
    let run = call(&env, &p, &["paligo", "/file", "-o", out.to_str().unwrap()]);
    run.ok();
    assert_eq!(run.stdout, "");
    assert_eq!(std::fs::read(&out).unwrap(), b"\x00\x01binary\xff");
    // An error status still writes the body, and exits 3.
    let err = env.dir.path().join("err.json");
    let run = call(
        &env,
        &p,
        &["paligo", "/missing", "--output", err.to_str().unwrap()],
    );
    run.code(3);
    assert_eq!(
        std::fs::read_to_string(&err).unwrap(),
        r#"{"error":"nope"}"#
    );
    assert!(run.stderr.contains("HTTP 404"), "{run}");
    // A file that cannot be created: exit 1, naming it.
    let run = call(&env, &p, &["paligo", "/file", "-o", "/nonexistent/dir/out"]);
    run.code(1);
    assert!(run.stderr.contains("/nonexistent/dir/out"), "{run}");
}

#[test]
fn verbose_prints_request_and_response_heads_on_stderr_with_the_secret_redacted() {
    let server = Server::start(|_| Reply::json(200, "{}").header("X-Ratelimit-Remaining", "49"));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &[
            "paligo",
            "/folders",
            "-q",
            "page=2",
            "-v",
            "-H",
            "X-Trace: t1",
        ],
    );
    run.ok();
    assert_eq!(run.stdout, "{}");
    let err = run.stderr.to_ascii_lowercase();
    assert!(
        err.contains("> get /acme/api/v2/folders?page=2 http/1.1"),
        "{run}"
    );
    assert!(err.contains("> authorization: <redacted>"), "{run}");
    assert!(err.contains("> x-trace: t1"), "{run}");
    assert!(err.contains("< http/1.1 200 ok"), "{run}");
    assert!(err.contains("< x-ratelimit-remaining: 49"), "{run}");
    assert_no_leak(&run, &paligo_forms(&key));
}
