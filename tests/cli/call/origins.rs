//! `cred call`: where the key may go: absolute URLs only under the base
//! URL, redirects followed only within its origin, and no message (an
//! error, `-v`, `-i`, an echoing server) that shows the key.

use std::time::Duration;

use super::{call, echo};
use crate::common::*;

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
