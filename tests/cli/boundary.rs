//! Masking at the boundary (issue 29): `Ui` holds the secrets a command has
//! read, so a key placed in any words cred prints (an error's message and
//! cause as `lib::run` prints them, a warning, a `-v` header, a redirect
//! target, the body) never shows, raw, in base64 or percent-encoded, in
//! anything on stdout or stderr.

use crate::common::*;

/// A key with characters that base64 and percent-encoding both change.
fn key() -> String {
    format!("{}/k+y=", secret("edge"))
}

/// The key raw, in base64 (alone and as a `user:KEY` token would carry
/// it), and percent-encoded.
fn forms(key: &str) -> Vec<String> {
    vec![
        key.to_string(),
        b64(key),
        b64(&format!("me:{key}")),
        urlencoded(key),
    ]
}

/// A generic credential `api` with `key`, its base URL `SERVER/v1`.
fn env_with(server: &Server, key: &str) -> TestEnv {
    let env = TestEnv::new();
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        key,
        &["--no-verify"],
    )
    .ok();
    env
}

/// `cred call api ARGS`; nothing it printed holds the key in any form, and
/// stderr says `<redacted>` where the key was.
fn call_masked(env: &TestEnv, key: &str, args: &[&str]) -> Run {
    let mut full = vec!["call", "api"];
    full.extend_from_slice(args);
    let run = env.run(&full);
    assert_no_leak(&run, &forms(key));
    assert!(run.stderr.contains("<redacted>"), "nothing masked: {run}");
    run
}

#[test]
fn a_key_in_an_error_and_its_cause_is_masked_in_every_form() {
    let key = key();
    let (head, tail) = key.split_at(key.len() / 2);
    let body = serde_json::json!({ "a": head, "b": tail }).to_string();
    let server = Server::start(move |_| Reply::json(200, &body));
    let env = env_with(&server, &key);
    // The expression rebuilds the key from pieces the scrubber could not
    // see, and raises it: the error's cause holds it.
    for filter in [
        ".a + .b | error",
        ".a + .b | @base64 | error",
        ".a + .b | @uri | error",
        "\"me:\" + .a + .b | @base64 | error",
    ] {
        let run = call_masked(&env, &key, &["/list", "--jq", filter]);
        run.code(1);
        assert!(
            run.stderr
                .contains("cred: error: the --jq expression failed"),
            "{filter}: {run}"
        );
    }
}

#[test]
fn a_redirect_target_holding_the_key_is_masked_in_the_error() {
    let key = key();
    let other = Server::open(|_| Reply::new(200, "elsewhere"));
    let target = format!(
        "{}/collect?raw={key}&b64={}&pct={}",
        other.url(),
        b64(&key),
        urlencoded(&key)
    );
    let server = Server::start(move |_| Reply::new(302, "").header("Location", &target));
    let env = env_with(&server, &key);
    let run = call_masked(&env, &key, &["/away"]);
    assert!(run.stderr.contains("to another origin"), "{run}");
    assert_eq!(other.count(), 0);
    // Followed without the key: the message and `-v` lines name the
    // target, masked too.
    let run = call_masked(&env, &key, &["/away", "--follow-offsite", "-v"]);
    run.ok();
    assert!(run.stderr.contains("without the key"), "{run}");
}

#[test]
fn a_key_in_a_warning_is_masked() {
    let key = key();
    let other = Server::open(|_| Reply::json(200, "[]"));
    let next = format!("{}/v1/page2?k={key}&b={}", other.url(), b64(&key));
    let server = Server::start(move |_| {
        Reply::json(200, "[1]").header("Link", &format!("<{next}>; rel=\"next\""))
    });
    let env = env_with(&server, &key);
    let run = call_masked(&env, &key, &["/list", "--paginate"]);
    run.ok();
    assert!(
        run.stderr
            .contains("cred: warning: not following the next page"),
        "{run}"
    );
    assert_eq!(other.count(), 0);
}

#[test]
fn a_key_in_a_verbose_header_and_the_body_is_masked() {
    let key = key();
    let echoed = key.clone();
    let server = Server::start(move |_| {
        Reply::json(200, &serde_json::json!({ "key": echoed }).to_string())
            .header("X-Echo-Raw", &echoed)
            .header("X-Echo-B64", &b64(&echoed))
            .header("X-Echo-Pct", &urlencoded(&echoed))
    });
    let env = env_with(&server, &key);
    let run = call_masked(&env, &key, &["/me", "-v", "-i"]);
    run.ok();
    for header in ["x-echo-raw", "x-echo-b64", "x-echo-pct"] {
        assert!(
            run.stderr.contains(&format!("< {header}: <redacted>")),
            "{header}: {run}"
        );
        assert!(
            run.stdout.contains(&format!("{header}: <redacted>")),
            "{header}: {run}"
        );
    }
    assert!(run.stdout.contains(r#""key":"<redacted>""#), "{run}");
}
