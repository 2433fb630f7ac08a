//! `cred add` without a terminal, where the wizard would recover: every
//! missing flag named in one error with a whole example command line; an
//! unknown instance refused before the key is read; an https:// address
//! of a plain-HTTP server named as such; with no key source at all, no
//! request before the error.

use crate::common::*;

#[test]
fn every_missing_flag_is_named_at_once() {
    let env = TestEnv::new();
    // Nothing at all: both flags and the key.
    let run = env.run(&["add", "paligo"]);
    run.code(1);
    assert_one_error(
        &run,
        "missing --instance, --username and the API key (--api-key-stdin or CRED_API_KEY), and there is no terminal to ask for them",
    );
    assert!(
        run.stderr.contains(
            "hint: pass every value, e.g. printf %s \"$KEY\" | cred add paligo --instance mycompany --username me@example.com --api-key-stdin"
        ),
        "{run}"
    );
    // The key piped in: the flags only.
    let run = env.add(&["paligo", "--no-verify", "--name", "docs"], "k3y-123", &[]);
    run.code(1);
    assert_one_error(
        &run,
        "missing --instance and --username, and there is no terminal to ask for them",
    );
    assert!(
        run.stderr.contains(
            "e.g. cred add paligo --name docs --instance mycompany --username me@example.com"
        ),
        "{run}"
    );
    // One flag given: the other.
    let run = env.add(
        &["paligo", "--no-verify", "--username", "me@acme.com"],
        "k3y-123",
        &[],
    );
    run.code(1);
    assert_one_error(
        &run,
        "missing --instance, and there is no terminal to ask for it",
    );
    assert_nothing_stored(&env, "paligo", None);
    assert_nothing_stored(&env, "docs", None);
}

#[test]
fn an_unknown_instance_is_refused_before_the_key_is_read() {
    let env = TestEnv::new();
    let server = Server::open(|r| {
        if r.url.starts_with("/acme/") {
            Reply::json(200, r#"{"page":1,"folders":[]}"#)
        } else {
            Reply::json(404, r#"{"message":"no such instance"}"#)
        }
    });
    let key = secret("unknown");
    let run = add_paligo_flags(&env, &server, "acmee", &key);
    run.code(1);
    assert_one_error(&run, "no Paligo instance named `acmee`");
    assert!(run.stderr.contains("nothing was stored"), "{run}");
    // The only request carried no key.
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].header("authorization"), None);
    assert_nothing_stored(&env, "paligo", Some(&key));

    // A known instance: a 401 without the key lets the check go on.
    let server = Server::start(|_| Reply::json(200, r#"{"page":1,"folders":[]}"#));
    add_paligo_flags(&env, &server, "acme", &key).ok();
    assert_eq!(server.refused(), 2, "the probe and the honest check");
}

fn add_paligo_flags(env: &TestEnv, server: &Server, instance: &str, key: &str) -> Run {
    env.add(
        &[
            "paligo",
            "--instance",
            instance,
            "--username",
            "me@acme.com",
        ],
        key,
        &[paligo_env(server)],
    )
}

#[test]
fn an_https_address_of_a_plain_http_server_is_named_as_such() {
    let env = TestEnv::new();
    let base = format!("https://127.0.0.1:{}", plain_http_port());
    let run = add_generic(&env, "api", &base, &secret("tls"), &[]);
    run.code(5);
    assert!(
        run.stderr
            .contains("127.0.0.1 does not speak TLS; is it http://…?"),
        "{run}"
    );
    assert_nothing_stored(&env, "api", None);
    // A call says so too, with what to check.
    add_generic(&env, "api", &base, &secret("tls"), &["--no-verify"]).ok();
    let run = env.run(&["call", "api", "/"]);
    run.code(5);
    assert_one_error(&run, "127.0.0.1 does not speak TLS; is it http://…?");
    assert!(
        run.stderr
            .contains("hint: the server answered in plain HTTP where https:// expects TLS"),
        "{run}"
    );
}

#[test]
fn without_any_key_nothing_is_sent_before_the_error() {
    let env = TestEnv::new();
    let server = Server::open(|_| Reply::json(404, "{}"));
    let (var, url) = paligo_env(&server);
    let run = env.run_with(
        &[
            "add",
            "paligo",
            "--instance",
            "acme",
            "--username",
            "me@acme.com",
        ],
        |c| {
            c.env(var, url);
        },
    );
    run.code(1);
    assert_one_error(&run, "no API key given");
    assert_eq!(server.all_requests().len(), 0);
}
