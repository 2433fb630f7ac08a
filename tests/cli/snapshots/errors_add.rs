//! `cred add`: the errors with a hint, from bad flags, bad keys and names
//! to every way the live check can fail.

use std::time::Duration;

use crate::common::*;

const ADD_PAYMO: &[&str] = &["add", "paymo", "--api-key-stdin"];

#[test]
fn add_refuses_bad_input() {
    let env = TestEnv::new();
    let key = secret("add");
    let none: &[(&str, String)] = &[];
    snap!(
        "vault_mount_without_vault",
        &env,
        &["add", "paymo", "--vault-mount", "team", "--api-key-stdin"],
        none,
        stdin = &key
    );
    snap!(
        "description_with_a_control_character",
        &env,
        &[
            "add",
            "paymo",
            "--no-verify",
            "--description",
            "a\u{7}b",
            "--api-key-stdin"
        ],
        none,
        stdin = &key
    );
    snap!(
        "invalid_name",
        &env,
        &[
            "add",
            "paymo",
            "--no-verify",
            "--name",
            "Bad Name",
            "--api-key-stdin"
        ],
        none,
        stdin = &key
    );
    snap!(
        "invalid_instance_flag",
        &env,
        &[
            "add",
            "paligo",
            "--instance",
            "not an instance!",
            "--username",
            EMAIL,
            "--api-key-stdin"
        ],
        none,
        stdin = &key
    );
    snap!(
        "missing_flag_without_a_terminal",
        &env,
        &["add", "paligo", "--api-key-stdin"],
        none,
        stdin = &key
    );
    snap!(
        "http_base_url_not_loopback",
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api",
            "--base-url",
            "http://api.example.com",
            "--api-key-stdin"
        ],
        none,
        stdin = &key
    );
    snap!(
        "base_url_override_over_http",
        &env,
        ADD_PAYMO,
        &[("CRED_PAYMO_URL", "http://paymo.example.com/api".to_string())],
        stdin = &key
    );
}

#[test]
fn add_refuses_bad_keys() {
    let env = TestEnv::new();
    let none: &[(&str, String)] = &[];
    snap!(
        "key_on_two_lines",
        &env,
        ADD_PAYMO,
        none,
        stdin = "one\ntwo\n"
    );
    snap!("key_empty", &env, ADD_PAYMO, none, stdin = "");
    snap!(
        "key_with_control_characters",
        &env,
        ADD_PAYMO,
        none,
        stdin = "ab\u{1}cd"
    );
    snap!("no_key_without_a_terminal", &env, &["add", "paymo"]);
}

#[test]
fn add_an_existing_name() {
    let env = TestEnv::new();
    let server = ok_server();
    add_paymo_unchecked(&env, &server);
    snap!(
        "already_exists",
        &env,
        &["add", "paymo", "--no-verify", "--api-key-stdin"],
        &[paymo_env(&server)],
        stdin = &secret("again")
    );
}

/// The live check of `cred add paymo` against a server answering `status`.
fn check_answered(name: &str, status: u16, body: &str) {
    let body = body.to_string();
    let server = Server::start(move |_| Reply::json(status, &body));
    let env = TestEnv::new();
    snap!(
        name,
        &env,
        ADD_PAYMO,
        &[paymo_env(&server)],
        stdin = &secret("check")
    );
}

#[test]
fn add_check_rejected() {
    check_answered(
        "check_rejected_401",
        401,
        r#"{"message":"Invalid API key"}"#,
    );
}

#[test]
fn add_check_forbidden() {
    check_answered("check_forbidden_403", 403, r#"{"message":"Forbidden"}"#);
}

#[test]
fn add_check_not_found() {
    check_answered("check_not_found_404", 404, r#"{"message":"Not found"}"#);
}

#[test]
fn add_check_rate_limited() {
    let server = Server::start(|_| {
        Reply::json(429, r#"{"message":"slow down"}"#).header("Retry-After", "3600")
    });
    let env = TestEnv::new();
    snap!(
        "check_rate_limited_429",
        &env,
        ADD_PAYMO,
        &[paymo_env(&server)],
        stdin = &secret("check")
    );
}

#[test]
fn add_check_server_error() {
    check_answered("check_server_error_500", 500, r#"{"message":"oops"}"#);
}

#[test]
fn add_check_needs_no_key() {
    // Answers 200 without a credential too: a check that proves nothing.
    let server = Server::open(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    snap!(
        "check_needs_no_key",
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api",
            "--base-url",
            &server.url(),
            "--api-key-stdin"
        ],
        &[],
        stdin = &secret("check")
    );
}

#[test]
fn add_check_cannot_connect() {
    let env = TestEnv::new();
    let url = format!("http://127.0.0.1:{}/api", closed_port());
    snap!(
        "check_connection_refused",
        &env,
        ADD_PAYMO,
        &[("CRED_PAYMO_URL", url)],
        stdin = &secret("check")
    );
}

#[test]
fn add_check_times_out() {
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_secs(10)));
    let env = TestEnv::new();
    snap!(
        "check_timeout",
        &env,
        ADD_PAYMO,
        &[paymo_env(&server), ("CRED_CHECK_TIMEOUT", "1".into())],
        stdin = &secret("check")
    );
    snap!(
        "check_timeout_not_a_number",
        &env,
        ADD_PAYMO,
        &[paymo_env(&server), ("CRED_CHECK_TIMEOUT", "soon".into())],
        stdin = &secret("check")
    );
}

#[test]
fn add_check_refused_by_paligo() {
    for (name, status) in [
        ("check_rejected_paligo", 401),
        ("check_forbidden_paligo", 403),
    ] {
        let server = Server::start(move |_| Reply::json(status, r#"{"message":"no"}"#));
        let env = TestEnv::new();
        snap!(
            name,
            &env,
            &[
                "add",
                "paligo",
                "--instance",
                "acme",
                "--username",
                EMAIL,
                "--api-key-stdin"
            ],
            &[paligo_env(&server)],
            stdin = &secret("check")
        );
    }
}

#[test]
fn add_check_refused_by_a_generic_api() {
    let server = Server::start(|_| Reply::json(401, r#"{"message":"no"}"#));
    let env = TestEnv::new();
    snap!(
        "check_rejected_generic",
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api",
            "--base-url",
            &server.url(),
            "--check-path",
            "/me",
            "--api-key-stdin"
        ],
        &[],
        stdin = &secret("check")
    );
}
