//! `cred call`: where the key may go: absolute URLs only under the base
//! URL, redirects followed only within its origin, and no message (an
//! error, `-v`, `-i`, an echoing server) that shows the key.

use std::time::Duration;

use super::{call, echo};
use crate::common::*;

#[test]
fn absolute_urls_under_the_base_are_accepted_others_refused() {
    let home = Server::start(|_| Reply::new(200, "home"));
    let other = Server::open(|_| Reply::new(200, "other"));
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
        "docs/../..",
        "a/%2e%2e/%2e%2e/%2e%2e/x",
        // A `..` the URL parser leaves alone, which a server that decodes
        // (or drops `;` parameters) before resolving would still climb.
        "/..%2f..%2fother",
        "/docs/..;/..;/other",
        "/docs/%252e%252e%252f%252e%252e%252fother",
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
    let other = Server::open(|_| Reply::new(200, "stolen"));
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
    let other = Server::open(|_| Reply::new(200, "stolen"));
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

/// `--follow-offsite`: a presigned or CDN redirect is followed without the
/// key: no auth header, no query key, no Referer; the default still
/// refuses, and the hint names the flag.
#[test]
fn follow_offsite_follows_another_origin_without_any_credential() {
    let cdn = Server::open(|_| {
        Reply::new(200, "tarball bytes").header("Content-Type", "application/gzip")
    });
    let cdn_url = cdn.url();
    let home = Server::start(move |s| match s.path() {
        "/v1/export" => Reply::new(302, "").header(
            "Location",
            &format!("{cdn_url}/bucket/export.tgz?X-Signature=abc"),
        ),
        _ => Reply::new(404, ""),
    });
    let env = TestEnv::new();
    // Query placement: the key would ride along in the URL if copied.
    let key = add_generic_unchecked(
        &env,
        &home.url(),
        &["--placement", "query", "--key-name", "token"],
    );
    let forms = key_forms(&key, None);
    let run = call(&env, &[], &["api", "/export"]);
    run.code(3);
    assert!(run.stderr.contains("--follow-offsite"), "{run}");
    assert_eq!(cdn.count(), 0);

    let out = env.dir.path().join("export.tgz");
    let run = call(
        &env,
        &[],
        &[
            "api",
            "/export",
            "--follow-offsite",
            "-o",
            out.to_str().unwrap(),
            "-H",
            "X-Trace: 1",
        ],
    );
    run.ok();
    assert_eq!(std::fs::read(&out).unwrap(), b"tarball bytes");
    assert!(run.stderr.contains("without the key"), "{run}");
    assert_no_leak(&run, &forms);
    let got = cdn.only();
    assert_eq!(got.url, "/bucket/export.tgz?X-Signature=abc");
    assert_eq!(got.header("authorization"), None);
    assert_eq!(got.header("referer"), None);
    assert!(!got.query().contains("token"), "{}", got.url);
    assert_no_key_in_any_request(&cdn, &forms);
    // The home request did carry the key.
    assert!(home.requests()[0].query().contains("token="));
}

#[test]
fn follow_offsite_never_sends_a_header_key_and_stops_after_ten_hops() {
    let cdn = Server::open(|s| match s.path() {
        "/loop" => Reply::new(302, "").header("Location", "/loop"),
        _ => Reply::new(200, "ok"),
    });
    let cdn_url = cdn.url();
    let home = Server::start(move |s| match s.path() {
        "/v1/loop" => Reply::new(302, "").header("Location", &format!("{cdn_url}/loop")),
        _ => Reply::new(307, "").header("Location", &format!("{cdn_url}/file")),
    });
    let env = TestEnv::new();
    let key = add_paligo_like_header(&env, &home);
    let run = call(&env, &[], &["api", "/file", "--follow-offsite"]);
    run.ok();
    assert_eq!(run.stdout, "ok");
    let run = call(&env, &[], &["api", "/loop", "--follow-offsite"]);
    run.code(3);
    assert!(run.stderr.contains("too many redirects"), "{run}");
    assert_no_key_in_any_request(&cdn, &key_forms(&key, None));
    for s in cdn.requests() {
        assert_eq!(s.header("authorization"), None);
        assert_eq!(s.header("referer"), None);
    }
}

/// A generic credential with the key in the Authorization header.
fn add_paligo_like_header(env: &TestEnv, home: &Server) -> String {
    add_generic_unchecked(env, &home.url(), &["--template", "Bearer ${apiKey}"])
}
