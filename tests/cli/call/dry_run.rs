//! `cred call --dry-run`: the curl command it prints (every placement of
//! the key as `$(cred secret NAME)`, never the key), that it sends nothing
//! and needs no keychain, and that the command works.

use super::call;
use crate::common::*;

/// A multi-line shell command (`\` continuations) on one line.
fn one_line(command: &str) -> String {
    command.replace(" \\\n  ", " ")
}

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
    // A missing curl is a broken environment: fail, never skip.
    require_command("curl");
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
