//! `cred call` (SPEC §2 "cred call", §3, §5): authenticated requests for
//! scripts, checked on what a real loopback server received (method, path,
//! query, headers, body bytes, the exact auth bytes per provider) and on
//! what `cred` printed and exited with. Covers every option, every exit code
//! `call` can give (0–6), streaming of large bodies, rate-limit retries,
//! pagination, redirects and absolute URLs that must not carry the key to
//! another origin, and that nothing `cred` prints reveals the secret.

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::common::*;

// ---------------------------------------------------------------- helpers

/// Runs `cred call ARGS` with the given environment (the provider URL).
fn call(env: &TestEnv, vars: &[(&str, String)], args: &[&str]) -> Run {
    let mut full = vec!["call"];
    full.extend_from_slice(args);
    run_env(env, &full, vars)
}

/// A multi-line shell command (`\` continuations) on one line.
fn one_line(command: &str) -> String {
    command.replace(" \\\n  ", " ")
}

/// Echoes every request header back as `x-echo-NAME` headers and as a JSON
/// body (with the URL), like httpbin's /anything.
fn echo(s: &Seen) -> Reply {
    let mut body = serde_json::Map::new();
    body.insert("url".into(), s.url.clone().into());
    let mut reply_headers = Vec::new();
    for (k, v) in &s.headers {
        body.insert(k.to_ascii_lowercase(), v.clone().into());
        reply_headers.push((format!("x-echo-{k}"), v.clone()));
    }
    reply_headers.push(("x-echo-url".into(), s.url.clone()));
    let mut reply = Reply::json(200, &serde_json::Value::Object(body).to_string());
    for (k, v) in reply_headers {
        reply = reply.header(&k, &v);
    }
    reply
}

// ------------------------------------------------------- auth per provider

#[test]
fn paligo_get_sends_basic_email_key_and_prints_the_body_byte_for_byte() {
    let body = "{\"folders\":[{\"id\":1}],  \"x\":\"caf\u{e9}\"}\n";
    let server = Server::start(move |_| Reply::json(200, body));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let run = call(&env, &[paligo_env(&server)], &["paligo", "/documents"]);
    run.ok();
    // A pipe gets the raw bytes, not pretty-printed JSON.
    assert_eq!(run.stdout, body, "{run}");
    assert_eq!(run.stderr, "", "{run}");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, "/acme/api/v2/documents");
    assert_eq!(
        seen[0].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    assert!(
        seen[0]
            .header("user-agent")
            .unwrap_or("")
            .starts_with("cred/"),
        "{:?}",
        seen[0]
    );
}

#[test]
fn paymo_sends_basic_key_x() {
    let server = Server::start(|s| match s.path() {
        "/api/me" => Reply::json(
            200,
            r#"{"users":[{"id":1,"name":"Ada","email":"ada@example.com"}]}"#,
        ),
        _ => Reply::json(200, r#"{"projects":[]}"#),
    });
    let env = TestEnv::new();
    let key = add_paymo_checked(&env, &server);
    let run = call(
        &env,
        &[paymo_env(&server)],
        &["paymo", "projects", "-q", "where=active=true"],
    );
    run.ok();
    assert_eq!(run.stdout, r#"{"projects":[]}"#);
    let seen = server.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.path(), "/api/projects");
    assert_eq!(last.query(), "where=active%3Dtrue");
    // The official form: the key as user name, X as password.
    assert_eq!(
        last.header("authorization"),
        Some(basic(&key, "X").as_str())
    );
}

#[test]
fn generic_header_placement_sends_the_template_in_the_named_header() {
    let server = Server::start(|_| Reply::new(204, ""));
    let env = TestEnv::new();
    let key = add_generic_unchecked(
        &env,
        &server.url(),
        &[
            "--placement",
            "header",
            "--key-name",
            "X-Api-Key",
            "--template",
            "Api-Key ${apiKey}",
        ],
    );
    call(&env, &[], &["api", "/items"]).ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].url, "/v1/items");
    assert_eq!(
        seen[0].header("x-api-key"),
        Some(format!("Api-Key {key}").as_str())
    );
    assert_eq!(seen[0].header("authorization"), None);
}

#[test]
fn generic_query_placement_sends_the_key_as_a_parameter_and_never_prints_it() {
    let server = Server::start(echo);
    let env = TestEnv::new();
    let key = add_generic_unchecked(
        &env,
        &server.url(),
        &["--placement", "query", "--key-name", "token"],
    );
    let run = call(
        &env,
        &[],
        &["api", "/items?page=2", "-q", "q=a b", "-v", "-i"],
    );
    run.ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path(), "/v1/items");
    assert_eq!(
        seen[0].query(),
        format!("page=2&q=a+b&token={}", urlencoded(&key))
    );
    assert_eq!(seen[0].header("authorization"), None);
    // The echo put the URL (with the key) in a header and in the body.
    assert_no_leak(&run, &[key.clone(), urlencoded(&key)]);
    assert!(run.stderr.contains("token=<redacted>"), "{run}");
}

// ------------------------------------------------------------ the request

#[test]
fn method_defaults_to_get_and_may_be_given_in_any_case() {
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    call(&env, &p, &["paligo", "documents/7"]).ok();
    call(&env, &p, &["paligo", "delete", "/documents/7"]).ok();
    call(&env, &p, &["paligo", "PUT", "documents/7", "-d", "x"]).ok();
    call(&env, &p, &["paligo", "HEAD", "/documents"]).ok();
    let seen: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|s| (s.method, s.url))
        .collect();
    let want = [
        ("GET", "/acme/api/v2/documents/7"),
        ("DELETE", "/acme/api/v2/documents/7"),
        ("PUT", "/acme/api/v2/documents/7"),
        ("HEAD", "/acme/api/v2/documents"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(m, u)| (m.to_string(), u.to_string()))
        .collect();
    assert_eq!(seen, want);
    let bad = call(&env, &p, &["paligo", "G(T", "/documents"]);
    bad.code(1);
    assert!(bad.stderr.contains("not an HTTP method"), "{bad}");
    assert_eq!(server.count(), 4);
}

#[test]
fn query_options_are_encoded_and_added_to_the_path_query() {
    let server = Server::start(|_| Reply::new(200, "[]"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    call(
        &env,
        &p,
        &[
            "paligo",
            "/folders?per_page=5",
            "-q",
            "q=a&b c",
            "--query",
            "name=é=1",
            "-q",
            "empty=",
        ],
    )
    .ok();
    // A query containing a URL is still a relative path.
    call(&env, &p, &["paligo", "/go?next=https://example.com/x"]).ok();
    let seen = server.requests();
    assert_eq!(seen[0].path(), "/acme/api/v2/folders");
    assert_eq!(
        seen[0].query(),
        "per_page=5&q=a%26b+c&name=%C3%A9%3D1&empty="
    );
    assert_eq!(seen[1].url, "/acme/api/v2/go?next=https://example.com/x");
    let bad = call(&env, &p, &["paligo", "/folders", "-q", "novalue"]);
    bad.code(1);
    assert!(
        bad.stderr.contains("cred: error: invalid -q `novalue`"),
        "{bad}"
    );
    assert_eq!(server.count(), 2);
}

#[test]
fn headers_are_sent_and_cannot_replace_the_credential() {
    let server = Server::start(|_| Reply::new(200, ""));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    call(
        &env,
        &p,
        &[
            "paligo",
            "/x",
            "-H",
            "X-Trace: abc 123",
            "--header",
            "Accept:text/csv",
            "-H",
            "X-Multi: 1",
            "-H",
            "X-Multi: 2",
        ],
    )
    .ok();
    let seen = server.requests();
    assert_eq!(seen[0].header("x-trace"), Some("abc 123"));
    assert_eq!(seen[0].header("accept"), Some("text/csv"));
    let multi: Vec<&str> = seen[0]
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("x-multi"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(multi, ["1", "2"]);
    assert_eq!(
        seen[0].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );

    let clash = call(
        &env,
        &p,
        &["paligo", "/x", "-H", "authorization: Basic Zm9vOmJhcg=="],
    );
    clash.code(1);
    assert!(
        clash.stderr.contains("would replace the credential's own"),
        "{clash}"
    );
    let bad = call(&env, &p, &["paligo", "/x", "-H", "NoColon"]);
    bad.code(1);
    assert!(bad.stderr.contains("expected 'Name: value'"), "{bad}");
    assert_eq!(server.count(), 1);
}

#[test]
fn data_inline_is_posted_with_a_json_content_type_when_it_is_json() {
    let server = Server::start(|_| Reply::json(201, r#"{"id":9}"#));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let run = call(
        &env,
        &p,
        &["paligo", "/documents", "-d", r#"{"name": "Docs"}"#],
    );
    run.ok();
    assert_eq!(run.stdout, r#"{"id":9}"#);
    call(
        &env,
        &p,
        &["paligo", "PATCH", "/documents/1", "--data", "plain text"],
    )
    .ok();
    call(
        &env,
        &p,
        &[
            "paligo",
            "/documents",
            "-d",
            "a=1",
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
        ],
    )
    .ok();
    let seen = server.requests();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body, br#"{"name": "Docs"}"#);
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(seen[1].body, b"plain text");
    assert_ne!(seen[1].header("content-type"), Some("application/json"));
    assert_eq!(
        seen[2].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen[2].body, b"a=1");
}

#[test]
fn data_from_a_file_and_from_stdin_is_sent_byte_for_byte() {
    let server = Server::start(|_| Reply::new(200, ""));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let file = env.dir.path().join("body.bin");
    std::fs::write(&file, &bytes).unwrap();
    let at_file = format!("@{}", file.display());
    call(&env, &p, &["paligo", "PUT", "/blob", "-d", &at_file]).ok();
    let stdin_body = b"{\"from\":\"stdin\"}".to_vec();
    let env_vars = vec![paligo_env(&server)];
    env.run_with(&["call", "paligo", "/blob", "-d", "@-"], move |c| {
        c.write_stdin(stdin_body);
        for (k, v) in env_vars {
            c.env(k, v);
        }
    })
    .ok();
    let missing = call(
        &env,
        &p,
        &["paligo", "/blob", "-d", "@/nonexistent/body.json"],
    );
    missing.code(1);
    assert!(
        missing.stderr.contains("/nonexistent/body.json"),
        "{missing}"
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "PUT");
    assert!(seen[0].body == bytes, "the file body was altered");
    assert_eq!(seen[1].method, "POST");
    assert_eq!(seen[1].body, b"{\"from\":\"stdin\"}");
    assert_eq!(seen[1].header("content-type"), Some("application/json"));
}

#[test]
fn fields_build_a_json_object_with_typed_values() {
    let server = Server::start(|_| Reply::new(200, ""));
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let p = [paymo_env(&server)];
    call(
        &env,
        &p,
        &[
            "paymo",
            "/tasks",
            "-f",
            "name=Write docs",
            "-f",
            "project_id:=42",
            "--field",
            "tags:=[\"a\",true]",
            "-f",
            "note=a:=b",
            "-f",
            "empty=",
        ],
    )
    .ok();
    let seen = server.requests();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let got: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        got,
        serde_json::json!({"name": "Write docs", "project_id": 42, "tags": ["a", true], "note": "a:=b", "empty": ""})
    );
    let bad = call(&env, &p, &["paymo", "/tasks", "-f", "n:={oops"]);
    bad.code(1);
    assert!(bad.stderr.contains("not JSON"), "{bad}");
    // -d and -f together are a usage error.
    call(&env, &p, &["paymo", "/tasks", "-f", "a=1", "-d", "{}"]).code(2);
    assert_eq!(server.count(), 1);
}

// ------------------------------------------------------------- the output

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
    // 5: nothing listens on the port
    let gone = (
        "CRED_PALIGO_URL",
        format!("http://127.0.0.1:{}/{{instance}}/api/v2", closed_port()),
    );
    let run = call(&env, &[gone], &["paligo", "/ok"]);
    run.code(5);
    assert!(run.stderr.contains("refused"), "{run}");
    assert_eq!(server.count(), 4);
}

#[test]
fn a_server_slower_than_the_timeout_is_a_network_error() {
    let server = Server::start(|s| match s.path() {
        "/v1/slow" => Reply::new(200, "late").delay(Duration::from_secs(4)),
        _ => Reply::new(200, "fast"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let start = Instant::now();
    let run = call(&env, &[], &["api", "/slow", "--timeout", "1"]);
    run.code(5);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
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
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    assert!(run.stderr.contains("--timeout"), "{run}");
}

// --------------------------------------------------- where the key may go

#[test]
fn absolute_urls_under_the_base_are_accepted_others_refused() {
    let home = Server::start(|_| Reply::new(200, "home"));
    let other = Server::start(|_| Reply::new(200, "other"));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &home);
    let p = [paligo_env(&home)];
    let inside = format!("{}/acme/api/v2/documents?x=1", home.url());
    call(&env, &p, &["paligo", &inside]).ok();
    assert_eq!(home.requests()[0].url, "/acme/api/v2/documents?x=1");
    for url in [
        format!("{}/acme/api/v2/documents", other.url()),
        format!("http://localhost:{}/acme/api/v2/documents", home.port),
        format!("{}/acme/api/v2x/documents", home.url()),
        format!("{}/other/api/v2/documents", home.url()),
    ] {
        let run = call(&env, &p, &["paligo", &url]);
        run.code(1);
        assert!(
            run.stderr.contains("not under this credential's base URL"),
            "{run}"
        );
        assert_no_leak(&run, &paligo_forms(&key));
    }
    // Relative paths cannot climb out of the base path either.
    for path in [
        "/../../other",
        "/%2e%2e/%2E%2E/other",
        "docs/..",
        "a/%2e%2e/%2e%2e/%2e%2e/x",
    ] {
        let run = call(&env, &p, &["paligo", path]);
        run.code(1);
        assert!(run.stderr.contains("refusing to call"), "{path}: {run}");
    }
    assert_eq!(other.count(), 0);
    assert_eq!(home.count(), 1);
}

#[test]
fn a_redirect_to_another_origin_is_not_followed_and_the_key_stays_home() {
    let other = Server::start(|_| Reply::new(200, "stolen"));
    let other_url = other.url();
    let home = Server::start(move |s| match s.path() {
        "/acme/api/v2/away" => {
            Reply::new(302, "").header("Location", &format!("{other_url}/collect"))
        }
        "/acme/api/v2/moved" => Reply::new(301, "").header("Location", "/acme/api/v2/here"),
        _ => Reply::json(200, r#"{"here":true}"#),
    });
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &home);
    let p = [paligo_env(&home)];
    let run = call(&env, &p, &["paligo", "/away"]);
    run.code(3);
    assert!(run.stderr.contains("another origin"), "{run}");
    assert!(
        run.stderr.contains(&format!("{}/collect", other.url())),
        "{run}"
    );
    assert_eq!(run.stdout, "");
    let with_key = other
        .requests()
        .iter()
        .filter(|s| {
            s.header("authorization")
                .is_some_and(|a| a.contains(&b64(&format!("{EMAIL}:{key}"))))
        })
        .count();
    assert_eq!(with_key, 0);
    assert_eq!(other.count(), 0);
    // Within the same origin a redirect is followed, with the key.
    let run = call(&env, &p, &["paligo", "/moved"]);
    run.ok();
    assert_eq!(run.stdout, r#"{"here":true}"#);
    let last = home.requests().pop().unwrap();
    assert_eq!(last.path(), "/acme/api/v2/here");
    assert_eq!(
        last.header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
}

#[test]
fn a_not_modified_answer_is_not_mistaken_for_a_redirect() {
    let server = Server::start(|_| Reply::new(304, "").header("ETag", "\"v1\""));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/doc", "-H", "If-None-Match: \"v1\""],
    );
    run.ok();
    assert!(!run.stderr.contains("redirect"), "{run}");
}

/// With query placement the key is part of every URL: no message may show
/// it (a redirect that repeats it, an error status, a network error).
#[test]
fn query_placement_keeps_the_key_out_of_every_message() {
    let other = Server::start(|_| Reply::new(200, "stolen"));
    let other_url = other.url();
    let server = Server::start(move |s| match s.path() {
        // Sends the caller on to another origin, repeating the full URL.
        "/v1/away" => Reply::new(307, "").header("Location", &format!("{other_url}{}", s.url)),
        "/v1/slow" => Reply::new(200, "").delay(Duration::from_secs(3)),
        _ => Reply::new(404, "no such thing").header("X-Request-Url", &s.url),
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    let forms = [key.clone(), urlencoded(&key)];

    let run = call(&env, &[], &["api", "/away", "-v"]);
    run.code(3);
    assert!(run.stderr.contains("another origin"), "{run}");
    assert!(run.stderr.contains("api_key=<redacted>"), "{run}");
    assert_no_leak(&run, &forms);
    assert_eq!(other.count(), 0);

    let run = call(&env, &[], &["api", "/missing", "-i", "-v"]);
    run.code(3);
    assert!(run.stdout.contains("api_key=<redacted>"), "{run}");
    assert_no_leak(&run, &forms);

    let run = call(&env, &[], &["api", "/slow", "--timeout", "1"]);
    run.code(5);
    assert_no_leak(&run, &forms);

    env.run(&["remove", "api", "--yes"]).ok();
    let key = add_generic_unchecked(
        &env,
        &format!("http://127.0.0.1:{}", closed_port()),
        &["--placement", "query"],
    );
    let run = call(&env, &[], &["api", "/items", "-v"]);
    run.code(5);
    assert_no_leak(&run, &[key.clone(), urlencoded(&key)]);
}

#[test]
fn an_echoing_server_cannot_make_cred_print_the_secret() {
    let server = Server::start(echo);
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/anything", "-v", "-i"],
    );
    run.ok();
    // The server did get the key (the echo had something to leak) ...
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    // ... and cred printed headers and body, but no form of it.
    assert!(run.stdout.contains("x-echo-"), "{run}");
    assert!(run.stdout.contains("\"authorization\""), "{run}");
    assert_no_leak(&run, &paligo_forms(&key));
    assert!(run.stderr.contains("redacted"), "{run}");

    // Generic header placement with a Bearer template.
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--template", "Bearer ${apiKey}"]);
    let run = call(&env, &[], &["api", "/anything", "--verbose", "--include"]);
    run.ok();
    assert_no_leak(&run, &[key.clone(), b64(&key)]);
    let out = env.dir.path().join("echo.json");
    let run = call(
        &env,
        &[],
        &["api", "/anything", "-o", out.to_str().unwrap()],
    );
    run.ok();
    assert!(!std::fs::read_to_string(&out).unwrap().contains(&key));
}

// ------------------------------------------------------------ --dry-run

#[test]
fn dry_run_prints_a_curl_command_sends_nothing_and_needs_no_keychain() {
    let server = Server::start(|_| Reply::new(200, ""));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let no_keychain = |args: &[&str]| {
        let mut full = vec!["call"];
        full.extend_from_slice(args);
        let var = p[0].clone();
        env.run_with(&full, move |c| {
            c.env_remove("DBUS_SESSION_BUS_ADDRESS");
            c.env(var.0, var.1);
        })
    };
    // Without the keychain a real call fails (exit 7) ...
    no_keychain(&["paligo", "/documents"]).code(7);
    // ... and the dry run still works.
    let run = no_keychain(&[
        "paligo",
        "POST",
        "/documents",
        "-q",
        "a=b",
        "-f",
        "name=It's",
        "--dry-run",
    ]);
    run.ok();
    assert!(one_line(&run.stdout).starts_with("curl -X POST"), "{run}");
    assert!(
        one_line(&run.stdout).contains(&format!("'{}/acme/api/v2/documents?a=b'", server.url())),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains(&format!("-u \"{EMAIL}:$(cred secret paligo)\"")),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains("content-type: application/json"),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains(r#"--data-binary '{"name":"It'\''s"}'"#),
        "{run}"
    );
    assert_no_leak(&run, &paligo_forms(&key));
    assert_eq!(server.count(), 0);
}

#[test]
fn dry_run_shows_each_placement_of_the_key() {
    let server = Server::start(|s| match s.path() {
        "/api/me" => Reply::json(200, r#"{"users":[{"name":"A","email":"a@b.c"}]}"#),
        _ => Reply::new(200, ""),
    });
    let env = TestEnv::new();
    let paymo_key = add_paymo_checked(&env, &server);
    let checks = server.count();
    let run = call(
        &env,
        &[paymo_env(&server)],
        &["paymo", "/projects", "--dry-run"],
    );
    run.ok();
    assert!(
        one_line(&run.stdout).starts_with(&format!("curl '{}/api/projects'", server.url())),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains("-u \"$(cred secret paymo):X\""),
        "{run}"
    );
    assert!(!run.stdout.contains(&paymo_key), "{run}");

    let header_key = add_generic_unchecked(
        &env,
        &server.url(),
        &["--key-name", "X-Api-Key", "--template", "Api-Key ${apiKey}"],
    );
    let run = call(&env, &[], &["api", "/items", "--dry-run"]);
    run.ok();
    assert!(
        one_line(&run.stdout).contains("-H \"X-Api-Key: Api-Key $(cred secret api)\""),
        "{run}"
    );
    assert!(!run.stdout.contains(&header_key), "{run}");

    env.run(&["remove", "api", "--yes"]).ok();
    let query_key = add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    let run = call(&env, &[], &["api", "/items", "--dry-run"]);
    run.ok();
    assert!(
        one_line(&run.stdout).contains("--url-query \"api_key=$(cred secret api)\""),
        "{run}"
    );
    assert!(!run.stdout.contains(&query_key), "{run}");
    // HEAD is curl's --head (-X HEAD would wait for a body).
    let run = call(&env, &[], &["api", "HEAD", "/items", "--dry-run"]);
    run.ok();
    assert!(one_line(&run.stdout).starts_with("curl --head "), "{run}");
    assert_eq!(server.count(), checks);
}

/// The dry run is a working command: run through a shell with `cred` on
/// PATH, curl sends what `cred call` would have sent.
#[test]
fn dry_run_output_sends_the_same_request_through_curl() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: curl is not installed");
        return;
    }
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let args = [
        "paligo",
        "PUT",
        "/documents/1",
        "-q",
        "lang=en",
        "-H",
        "X-Trace: t",
        "-d",
        "{\"a\": \"$HOME\"}",
    ];
    call(&env, &p, &args).ok();
    // The config directory given by flag, not by the environment: the
    // printed `cred secret` must name it too.
    let config_dir = env.config_dir().to_str().unwrap().to_string();
    let mut dry = vec!["call", "--config-dir", &config_dir];
    dry.extend_from_slice(&args);
    dry.push("--dry-run");
    let var = p[0].clone();
    let command = env.run_with(&dry, move |c| {
        c.env_remove("CRED_CONFIG_DIR");
        c.env(var.0, var.1);
    });
    command.ok();
    assert!(
        command.stdout.contains(&format!(
            "$(cred --config-dir '{config_dir}' secret paligo)"
        )),
        "{command}"
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("{} -sS", command.stdout.trim_end()))
        .env_clear()
        .env("PATH", path_with_cred())
        .env("HOME", env.home())
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    let (cred, curl) = (&seen[0], &seen[1]);
    assert_eq!(curl.method, cred.method);
    assert_eq!(curl.url, cred.url);
    assert_eq!(curl.body, cred.body);
    assert_eq!(curl.body, b"{\"a\": \"$HOME\"}");
    for h in ["authorization", "x-trace", "content-type", "accept"] {
        assert_eq!(curl.header(h), cred.header(h), "{h}");
    }
    assert_eq!(
        curl.header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
}

// ---------------------------------------------------------------- streaming

/// 200 MB generated on the fly, written with -o: same size, same checksum,
/// on disk before the answer is complete, and cred's memory stays small.
#[test]
fn a_200_mb_answer_streams_to_a_file_byte_for_byte() {
    const LEN: u64 = 200 * 1024 * 1024;
    const PAUSE: u64 = 150 * 1024 * 1024;
    let paused = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (p2, r2) = (paused.clone(), release.clone());
    let server = Server::start(move |_| {
        let g = Generated {
            pos: 0,
            len: LEN,
            pause_at: Some(PAUSE),
            paused: p2.clone(),
            release: r2.clone(),
        };
        Reply::stream(200, g, LEN as usize).header("Content-Type", "application/octet-stream")
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let out = env.dir.path().join("big.bin");
    let child = spawn_cred(
        &env,
        &[paligo_env(&server)],
        &["call", "paligo", "/export", "-o", out.to_str().unwrap()],
        Stdio::null(),
    );
    let pid = child.id();
    let mut child = Reap(Some(child));

    // The server sends 150 MB, then holds back the rest: by then cred must
    // have written most of it to the file, without holding it in memory.
    // (cred gives up after 30 s of silence, so do not wait long.)
    let deadline = Instant::now() + Duration::from_secs(60);
    let min_on_disk = PAUSE - 16 * 1024 * 1024;
    let (mut on_disk, mut rss) = (0, 0);
    let mut paused_since: Option<Instant> = None;
    while Instant::now() < deadline {
        rss = rss.max(peak_rss_kib(pid).unwrap_or(0));
        on_disk = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        if on_disk >= min_on_disk {
            break;
        }
        if paused.load(Ordering::SeqCst) {
            let since = *paused_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        if child.0.as_mut().unwrap().try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    rss = rss.max(peak_rss_kib(pid).unwrap_or(0));
    release.store(true, Ordering::SeqCst);
    assert!(
        on_disk >= min_on_disk,
        "only {on_disk} bytes were on disk while the server held back the last 50 MB: the body is not streamed"
    );
    assert!(
        rss > 0 && rss < 64 * 1024,
        "cred's peak memory was {rss} KiB for a streamed body"
    );

    let status = child.0.take().unwrap().wait_with_output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut file = std::fs::File::open(&out).unwrap();
    assert_eq!(file.metadata().unwrap().len(), LEN);
    let mut buf = vec![0u8; 1 << 20];
    let (mut got, mut want, mut k) = (0u64, 0u64, 0u64);
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert_eq!(n % 8, 0, "short read");
        for c in buf[..n].chunks_exact(8) {
            got = mix(got, u64::from_le_bytes(c.try_into().unwrap()));
            want = mix(want, word(k));
            k += 1;
        }
    }
    assert_eq!(k * 8, LEN);
    assert_eq!(got, want, "the file differs from what the server sent");
}

/// The body reaches stdout while the server is still sending.
#[test]
fn the_body_streams_to_stdout_before_the_answer_is_complete() {
    let release = Arc::new(AtomicBool::new(false));
    let r2 = release.clone();
    let server = Server::start(move |_| {
        let mut g = generated(4_000_000);
        g.pause_at = Some(1_000_000);
        g.release = r2.clone();
        Reply::stream(200, g, 4_000_000)
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let mut child = Reap(Some(spawn_cred(
        &env,
        &[paligo_env(&server)],
        &["call", "paligo", "/big"],
        Stdio::piped(),
    )));
    let mut stdout = child.0.as_mut().unwrap().stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        let mut sent_first = false;
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
            if !sent_first && total >= 500_000 {
                sent_first = true;
                let _ = tx.send(total);
            }
        }
        let _ = tx.send(total);
    });
    let early = rx.recv_timeout(Duration::from_secs(30));
    release.store(true, Ordering::SeqCst);
    assert!(
        early.is_ok(),
        "nothing reached stdout while the server held back the rest"
    );
    let total = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(total, 4_000_000);
    let status = child.0.take().unwrap().wait().unwrap();
    assert!(status.success());
}

// ------------------------------------------------------------ rate limits

#[test]
fn a_429_with_retry_after_is_waited_out_and_retried() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::json(429, r#"{"message":"rate limited"}"#).header("Retry-After", "1")
        } else {
            Reply::json(200, r#"{"folders":[]}"#)
        }
    });
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let start = Instant::now();
    let run = call(&env, &[paligo_env(&server)], &["paligo", "/folders"]);
    run.ok();
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "did not wait: {:?}",
        start.elapsed()
    );
    assert_eq!(run.stdout, r#"{"folders":[]}"#, "{run}");
    assert!(
        run.stderr
            .contains("HTTP 429: waiting 1 s before retry 1 of 3"),
        "{run}"
    );
    assert!(run.stderr.contains("retry 2 of 3"), "{run}");
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(s.header("authorization"), Some(basic(EMAIL, &key).as_str()));
    }
}

#[test]
fn a_503_with_retry_after_is_retried_and_without_it_is_not() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |s| match s.path() {
        "/v1/down" => Reply::new(503, "down for good"),
        _ if n2.fetch_add(1, Ordering::SeqCst) == 0 => {
            Reply::new(503, "").header("Retry-After", "1")
        }
        _ => Reply::new(200, "up"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "DELETE", "/items/1"]);
    run.ok();
    assert_eq!(run.stdout, "up");
    assert_eq!(server.count(), 2);
    let run = call(&env, &[], &["api", "/down"]);
    run.code(3);
    assert_eq!(run.stdout, "down for good");
    assert_eq!(server.count(), 3);
}

#[test]
fn retries_are_bounded_by_retries_and_max_wait() {
    let server = Server::start(|s| match s.path() {
        "/v1/long" => Reply::json(429, r#"{"wait":"long"}"#).header("Retry-After", "120"),
        _ => Reply::json(429, r#"{"wait":"short"}"#).header("Retry-After", "1"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    // Retries ran out: 1 + 1 requests.
    let run = call(&env, &[], &["api", "/short", "--retries", "1"]);
    run.code(6);
    assert!(run.stderr.contains("cred: error: HTTP 429"), "{run}");
    assert!(
        run.stderr.contains("after 1 retries") || run.stderr.contains("after 1 retry"),
        "{run}"
    );
    assert!(run.stderr.contains("--retries"), "{run}");
    assert_eq!(server.count(), 2);
    // --retries 0: no retry at all.
    call(&env, &[], &["api", "/short", "--retries", "0"]).code(6);
    assert_eq!(server.count(), 3);
    // A wait past --max-wait (default 60 s) is not even started.
    let start = Instant::now();
    let run = call(&env, &[], &["api", "/long"]);
    run.code(6);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(run.stderr.contains("--max-wait 60"), "{run}");
    assert_eq!(server.count(), 4);
    // Two waits of 1 s do not fit in --max-wait 1.
    let run = call(&env, &[], &["api", "/short", "--max-wait", "1"]);
    run.code(6);
    assert_eq!(server.count(), 6);
}

#[test]
fn a_post_that_is_rate_limited_is_not_retried_unless_allowed() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |_| {
        // POST, PATCH, then the first try of the --retry-unsafe POST.
        if n2.fetch_add(1, Ordering::SeqCst) < 3 {
            Reply::json(429, r#"{"message":"1 per minute"}"#).header("Retry-After", "1")
        } else {
            Reply::json(201, r#"{"id":1}"#)
        }
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let run = call(&env, &p, &["paligo", "POST", "/productions", "-f", "x=1"]);
    run.code(6);
    assert_eq!(server.count(), 1);
    assert_eq!(run.stdout, r#"{"message":"1 per minute"}"#, "{run}");
    assert!(run.stderr.contains("cred: error: HTTP 429"), "{run}");
    assert!(run.stderr.contains("POST is not idempotent"), "{run}");
    assert!(run.stderr.contains("--retry-unsafe"), "{run}");
    // PATCH neither.
    call(
        &env,
        &p,
        &["paligo", "PATCH", "/productions/1", "-f", "x=1"],
    )
    .code(6);
    assert_eq!(server.count(), 2);
    // With --retry-unsafe it is waited out and sent again.
    let run = call(
        &env,
        &p,
        &[
            "paligo",
            "POST",
            "/productions",
            "-f",
            "x=1",
            "--retry-unsafe",
        ],
    );
    run.ok();
    assert_eq!(run.stdout, r#"{"id":1}"#);
    assert_eq!(server.count(), 4);
}

// ------------------------------------------------------------- --paginate

/// A Paligo-shaped list: `per` folders a page, `pages` pages, absolute
/// `next_page` links (empty on the last page).
fn paligo_pages(s: &Seen, pages: usize, per: usize) -> Reply {
    let host = s.header("host").unwrap_or("127.0.0.1").to_string();
    let page: usize = s
        .query()
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let folders: Vec<serde_json::Value> = (0..per)
        .map(
            |i| serde_json::json!({"id": (page - 1) * per + i + 1, "name": format!("f{page}.{i}")}),
        )
        .collect();
    let next = if page < pages {
        format!("http://{host}{}?page={}&per_page={per}", s.path(), page + 1)
    } else {
        String::new()
    };
    let body = serde_json::json!({"page": page, "next_page": next, "total_pages": pages, "folders": folders});
    Reply::json(200, &body.to_string())
}

#[test]
fn paginate_joins_five_paligo_pages_into_one_array() {
    let server = Server::start(|s| paligo_pages(s, 5, 3));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/folders", "-q", "per_page=3", "--paginate"],
    );
    run.ok();
    let items: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("one JSON array");
    let ids: Vec<u64> = items.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=15).collect::<Vec<u64>>());
    assert_eq!(items[0]["name"], "f1.0");
    let seen = server.requests();
    let urls: Vec<&str> = seen.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "/acme/api/v2/folders?per_page=3",
            "/acme/api/v2/folders?page=2&per_page=3",
            "/acme/api/v2/folders?page=3&per_page=3",
            "/acme/api/v2/folders?page=4&per_page=3",
            "/acme/api/v2/folders?page=5&per_page=3",
        ]
    );
    for s in &seen {
        assert_eq!(s.header("authorization"), Some(basic(EMAIL, &key).as_str()));
    }
    // -o gets the same array.
    let out = env.dir.path().join("all.json");
    call(
        &env,
        &[paligo_env(&server)],
        &[
            "paligo",
            "/folders",
            "--paginate",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let from_file: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(from_file.len(), 15);
}

#[test]
fn paginate_accepts_a_bare_array_page() {
    let server = Server::start(|_| Reply::json(200, r#"[{"id":1},{"id":2}]"#));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/languages", "--paginate"],
    );
    run.ok();
    assert_eq!(run.stdout.trim_end(), r#"[{"id":1},{"id":2}]"#);
    assert_eq!(server.count(), 1);
}

#[test]
fn paginate_does_not_follow_a_next_page_outside_the_base_url() {
    let other = Server::start(|s| paligo_pages(s, 2, 1));
    let other_url = other.url();
    let server = Server::start(move |_| {
        Reply::json(
            200,
            &serde_json::json!({"page": 1, "next_page": format!("{other_url}/acme/api/v2/folders?page=2"), "folders": [{"id": 1}]})
                .to_string(),
        )
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/folders", "--paginate"],
    );
    assert!(
        run.stderr.contains("not under the credential's base URL"),
        "{run}"
    );
    assert_eq!(other.count(), 0);
    assert_eq!(server.count(), 1);
    let items: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(items.len(), 1);
}

#[test]
fn paginate_stops_on_an_error_page_with_its_status() {
    let server = Server::start(|s| {
        if s.query().contains("page=3") {
            Reply::json(500, r#"{"error":"boom"}"#)
        } else {
            paligo_pages(s, 5, 2)
        }
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/folders", "--paginate"],
    );
    run.code(3);
    assert!(run.stdout.contains(r#"{"error":"boom"}"#), "{run}");
    assert!(run.stderr.contains("HTTP 500"), "{run}");
    assert_eq!(server.count(), 3);
}

#[test]
fn paginate_follows_generic_link_headers() {
    let server = Server::start(|s| {
        let host = s.header("host").unwrap().to_string();
        let page: usize = s
            .query()
            .strip_prefix("page=")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let items = serde_json::json!([format!("item{}a", page), format!("item{}b", page)]);
        let mut reply = Reply::json(200, &items.to_string());
        let prev = format!("<http://{host}/v1/things?page=1>; rel=\"first\"");
        if page < 4 {
            reply = reply.header(
                "Link",
                &format!(
                    "{prev}, <http://{host}/v1/things?page={}>; rel=\"next\"",
                    page + 1
                ),
            );
        } else {
            reply = reply.header("Link", &prev);
        }
        reply
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--key-name", "X-Key"]);
    let run = call(&env, &[], &["api", "/things", "--paginate"]);
    run.ok();
    let items: Vec<String> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        items,
        [
            "item1a", "item1b", "item2a", "item2b", "item3a", "item3b", "item4a", "item4b"
        ]
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|s| s.header("x-key") == Some(key.as_str())));
}

#[test]
fn paginate_is_refused_for_paymo_and_for_non_get() {
    let server = Server::start(|_| Reply::json(200, "[]"));
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paymo_env(&server)],
        &["paymo", "/projects", "--paginate"],
    );
    run.code(1);
    assert!(run.stderr.contains("Paymo does not paginate"), "{run}");
    assert!(run.stderr.contains("hint: drop --paginate"), "{run}");
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "POST", "/folders", "--paginate"],
    );
    run.code(1);
    assert_eq!(server.count(), 0);
}

#[test]
fn paginate_uses_one_kept_alive_connection() {
    let server = Server::start(|seen| {
        let page: usize = seen
            .url
            .rsplit("page=")
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let host = seen.header("host").unwrap_or("").to_string();
        let next = if page < 5 {
            format!("http://{host}/acme/api/v2/folders?page={}", page + 1)
        } else {
            String::new()
        };
        Reply::json(
            200,
            &serde_json::json!({"page": page, "next_page": next, "total_pages": 5, "folders": [{"id": page}]})
                .to_string(),
        )
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let url = paligo_env(&server);
    let run = call(&env, &[url], &["paligo", "/folders", "--paginate"]);
    run.ok();
    let ids: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(ids.len(), 5);
    let seen = server.requests();
    assert_eq!(seen.len(), 5, "{seen:?}");
    let conns: BTreeSet<usize> = seen.iter().map(|s| s.conn).collect();
    assert_eq!(
        conns.len(),
        1,
        "pages came on several connections: {seen:?}"
    );
}
