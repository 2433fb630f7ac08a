//! `cred call`: the request as asked for: the method, `-q` query
//! parameters, `-H` headers (which cannot replace the credential), `-d`
//! bodies inline, from a file or stdin, and `-f` fields built into JSON.

use super::call;
use crate::common::*;

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
