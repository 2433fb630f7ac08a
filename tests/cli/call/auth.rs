//! `cred call`: the credential each provider sends (Paligo's and Paymo's
//! Basic auth, a generic key in a header or in the query), checked on the
//! exact bytes the server received.

use super::{call, echo};
use crate::common::*;

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
