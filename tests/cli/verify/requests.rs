//! Live checks: the request each provider's check sends (method, path,
//! the exact auth bytes, user agent), with the key only where it belongs.

use super::FOLDERS;
use crate::common::*;

fn user_agent() -> String {
    format!("cred/{}", env!("CARGO_PKG_VERSION"))
}

#[test]
fn paligo_check_is_get_folders_with_basic_email_and_key() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, r#"{"page":1,"total_pages":1,"folders":[]}"#));
    let key = secret("paligo");
    let out = add_paligo(&env, &server, &key, &[]);
    out.ok();

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, FOLDERS);
    assert_eq!(
        seen[0].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    assert_eq!(seen[0].header("user-agent"), Some(user_agent().as_str()));

    assert_eq!(stored_secret(&env, "paligo"), key);
    let (result, at) = last_check(&env, "paligo").expect("add records its check");
    assert_eq!(result, "valid");
    assert!(at.ends_with('Z') && at.contains('T'), "{at}");
    assert!(!out.all().contains(&key), "{out}");
}

#[test]
fn paymo_check_is_get_me_with_basic_key_x_and_names_the_user() {
    let env = TestEnv::new();
    let server = Server::start(|_| {
        Reply::json(
            200,
            r#"{"users":[{"id":7,"name":"Ada Lovelace","email":"ada@example.com"}]}"#,
        )
    });
    let key = secret("paymo");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.ok();
    assert!(
        out.all()
            .contains("Authenticated as Ada Lovelace <ada@example.com>"),
        "{out}"
    );

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, "/api/me");
    assert_eq!(
        seen[0].header("authorization"),
        Some(basic(&key, "X").as_str())
    );
    assert_eq!(seen[0].header("accept"), Some("application/json"));
    assert_eq!(seen[0].header("user-agent"), Some(user_agent().as_str()));
    assert_eq!(stored_secret(&env, "paymo"), key);

    // verify names the user too, and records it.
    let out = env.run_with(&["verify", "paymo"], |c| {
        let (k, v) = paymo_env(&server);
        c.env(k, v);
    });
    out.ok();
    assert!(
        out.stdout
            .contains("Authenticated as Ada Lovelace <ada@example.com>"),
        "{out}"
    );
    assert_eq!(
        server.requests()[1].header("authorization"),
        Some(basic(&key, "X").as_str())
    );
}

#[test]
fn generic_header_check_goes_to_the_check_path_with_the_template() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("generic-header");
    let base = format!("{}/v1", server.url());
    let out = add_generic(
        &env,
        "gh",
        &base,
        &key,
        &[
            "--key-name",
            "X-Api-Key",
            "--template",
            "Api-Key ${apiKey}",
            "--check-path",
            "/whoami",
        ],
    );
    out.ok();

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, "/v1/whoami");
    assert_eq!(
        seen[0].header("x-api-key"),
        Some(format!("Api-Key {key}").as_str())
    );
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[0].header("user-agent"), Some(user_agent().as_str()));
}

#[test]
fn generic_default_check_requests_the_base_url_with_the_raw_key_in_authorization() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::new(204, ""));
    let key = secret("generic-default");
    let base = format!("{}/v2/api", server.url());
    add_generic(&env, "plain", &base, &key, &[]).ok();

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path(), "/v2/api");
    assert_eq!(seen[0].query(), "");
    assert_eq!(seen[0].header("authorization"), Some(key.as_str()));
}

#[test]
fn generic_query_check_puts_the_key_in_the_named_parameter_only() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "[]"));
    let key = secret("generic-query");
    let base = format!("{}/v1", server.url());
    let out = add_generic(
        &env,
        "q",
        &base,
        &key,
        &[
            "--placement",
            "query",
            "--key-name",
            "token",
            "--check-path",
            "/status?verbose=1",
        ],
    );
    out.ok();
    assert!(
        out.stderr.contains("logs"),
        "query placement warns about logs\n{out}"
    );

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path(), "/v1/status");
    assert_eq!(seen[0].query(), format!("verbose=1&token={key}"));
    for (name, value) in &seen[0].headers {
        assert!(!value.contains(&key), "the key is in header {name}");
    }
}
