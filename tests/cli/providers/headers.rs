//! A definition's `headers`: sent on every request to the API (Anthropic's
//! `anthropic-version`, Heroku's `Accept`), by the check, `cred call`,
//! `cred proxy` and `cred mcp`'s call tool; a header the request names
//! itself (`-H`, the proxy's client, the agent) wins.

use super::*;
use crate::mcp::{call as mcp_call, drive};
use crate::proxy::{Proxy, bearer, curl};
use serde_json::json;

/// The values of every header `name` a request carried.
fn all(seen: &Seen, name: &str) -> Vec<String> {
    seen.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// An Anthropic credential against a loopback server, added with a check.
fn anthropic(env: &TestEnv) -> (Server, [(&'static str, String); 1]) {
    let server = Server::start(|_| Reply::json(200, r#"{"data":[],"has_more":false}"#));
    let url = [("CRED_PROVIDER_URL_ANTHROPIC", server.url())];
    env.add(&["anthropic"], &secret("anthropic"), &url).ok();
    (server, url)
}

#[test]
fn the_check_and_cred_call_send_the_providers_headers_and_h_wins() {
    let env = TestEnv::new();
    let (server, url) = anthropic(&env);
    let check = server.requests().remove(0);
    assert_eq!(all(&check, "anthropic-version"), ["2023-06-01"]);

    run_env(&env, &["call", "anthropic", "/v1/models"], &url).ok();
    let seen = server.requests().pop().unwrap();
    assert_eq!(seen.path(), "/v1/models");
    assert_eq!(all(&seen, "anthropic-version"), ["2023-06-01"]);

    // The user's own -H replaces it (once, not twice).
    run_env(
        &env,
        &[
            "call",
            "anthropic",
            "/v1/models",
            "-H",
            "Anthropic-Version: 2099-01-01",
        ],
        &url,
    )
    .ok();
    let seen = server.requests().pop().unwrap();
    assert_eq!(all(&seen, "anthropic-version"), ["2099-01-01"]);

    // --dry-run shows it too.
    let run = run_env(
        &env,
        &["call", "anthropic", "/v1/models", "--dry-run"],
        &url,
    );
    run.ok();
    assert!(
        run.all()
            .to_ascii_lowercase()
            .contains("anthropic-version: 2023-06-01"),
        "{run}"
    );
}

#[test]
fn github_calls_carry_its_api_version_as_the_check_does() {
    let env = TestEnv::new();
    let server = Server::start(|s| match s.header("authorization") {
        Some(_) => Reply::json(200, r#"{"login":"octocat"}"#),
        None => Reply::json(401, r#"{"message":"Requires authentication"}"#),
    });
    let url = [("CRED_PROVIDER_URL_GITHUB", server.url())];
    env.add(&["github"], &secret("github"), &url).ok();
    run_env(&env, &["call", "github", "/user/repos"], &url).ok();
    let seen = server.requests().pop().unwrap();
    assert_eq!(seen.path(), "/user/repos");
    assert_eq!(all(&seen, "x-github-api-version"), ["2022-11-28"]);
    assert_eq!(all(&seen, "accept"), ["application/vnd.github+json"]);
}

#[test]
fn a_providers_accept_replaces_creds_default() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, r#"{"name":"Ana","email":"a@b.c"}"#));
    let url = [("CRED_PROVIDER_URL_HEROKU", server.url())];
    env.add(&["heroku"], &secret("heroku"), &url).ok();
    run_env(&env, &["call", "heroku", "/apps"], &url).ok();
    let seen = server.requests().pop().unwrap();
    assert_eq!(
        all(&seen, "accept"),
        ["application/vnd.heroku+json; version=3"]
    );
}

#[test]
fn the_proxy_adds_the_providers_headers_unless_the_client_sent_them() {
    let env = TestEnv::new();
    let (server, url) = anthropic(&env);
    let proxy = Proxy::start(&env, &url, &["anthropic"]);
    let token = bearer(&proxy.token());
    let out = curl(&["-H", &token, &format!("{}/v1/models", proxy.url())]);
    assert!(out.status.success(), "{out:?}");
    let seen = server.requests().pop().unwrap();
    assert_eq!(seen.path(), "/v1/models");
    assert_eq!(all(&seen, "anthropic-version"), ["2023-06-01"]);

    let out = curl(&[
        "-H",
        &token,
        "-H",
        "anthropic-version: 2099-01-01",
        &format!("{}/v1/models", proxy.url()),
    ]);
    assert!(out.status.success(), "{out:?}");
    let seen = server.requests().pop().unwrap();
    assert_eq!(all(&seen, "anthropic-version"), ["2099-01-01"]);
    proxy.stop();
}

#[test]
fn mcps_call_tool_sends_the_providers_headers_unless_the_agent_did() {
    let env = TestEnv::new();
    let (server, url) = anthropic(&env);
    let s = drive(
        &env,
        &url,
        &["anthropic"],
        vec![
            mcp_call(json!({"credential": "anthropic", "path": "/v1/models"})),
            mcp_call(json!({
                "credential": "anthropic",
                "path": "/v1/models",
                "headers": {"anthropic-version": "2099-01-01"},
            })),
        ],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    assert!(!s.is_error(1), "{}", s.text(1));
    let seen = server.requests();
    let n = seen.len();
    assert_eq!(all(&seen[n - 2], "anthropic-version"), ["2023-06-01"]);
    assert_eq!(all(&seen[n - 1], "anthropic-version"), ["2099-01-01"]);
}

#[test]
fn a_definitions_headers_may_not_carry_the_key_or_a_placeholder() {
    for (headers, says) in [
        ("{ Authorization = \"x\" }", "carries the key"),
        ("{ X-Acme-Key = \"x\" }", "carries the key"),
        ("{ X-Team = \"{team}\" }", "not a plain header value"),
        ("{ Host = \"evil.example\" }", "set by cred itself"),
    ] {
        let env = TestEnv::new();
        let text = ACME.replace(
            "pagination = \"link-header\"",
            &format!("pagination = \"link-header\"\nheaders = {headers}"),
        );
        write_provider(&env, "acme.toml", &text);
        let run = env.run(&["providers", "show", "acme"]);
        run.code(1);
        assert!(run.stderr.contains("line 10"), "{headers}: {run}");
        assert!(run.stderr.contains("headers:"), "{headers}: {run}");
        assert!(run.stderr.contains(says), "{headers}: {run}");
    }
}
