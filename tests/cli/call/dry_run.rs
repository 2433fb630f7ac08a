//! `cred call --dry-run`: the curl command it prints (every placement of
//! the key as `$(cred secret NAME)` fed to curl's stdin, never the key, and
//! never in curl's argv), that it sends nothing and needs no keychain, and
//! that the command sends the same bytes (binary and 1 MiB bodies).

use super::call;
use crate::common::*;

/// The part of the command that runs curl (after the `printf … |` that
/// feeds it its config).
fn curl_part(command: &str) -> &str {
    command
        .split_once("\n| curl")
        .map(|(_, c)| c)
        .unwrap_or(command)
}

const SED: &str = " | sed 's/[\"\\\\]/\\\\&/g')";

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
    assert!(
        one_line(&run.stdout).starts_with("printf '%s\\n' "),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains("| curl --config - -X POST"),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains(&format!("'{}/acme/api/v2/documents?a=b'", server.url())),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains(&format!(
            "\"user = \\\"{EMAIL}:$(cred secret paligo{SED}\\\"\""
        )),
        "{run}"
    );
    assert!(!curl_part(&run.stdout).contains("cred secret"), "{run}");
    assert!(
        one_line(&run.stdout).contains("content-type: application/json"),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains(r#"'data-raw = "{\"name\":\"It'\''s\"}"'"#),
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
        one_line(&run.stdout).contains(&format!(
            "| curl --config - '{}/api/projects'",
            server.url()
        )),
        "{run}"
    );
    assert!(
        one_line(&run.stdout).contains(&format!("\"user = \\\"$(cred secret paymo{SED}:X\\\"\"")),
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
        one_line(&run.stdout).contains(&format!(
            "\"header = \\\"X-Api-Key: Api-Key $(cred secret api{SED}\\\"\""
        )),
        "{run}"
    );
    assert!(!run.stdout.contains(&header_key), "{run}");

    env.run(&["remove", "api", "--yes"]).ok();
    let query_key = add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    let run = call(&env, &[], &["api", "/items", "--dry-run"]);
    run.ok();
    assert!(
        one_line(&run.stdout).contains(&format!(
            "\"url-query = \\\"api_key=$(cred secret api{SED}\\\"\""
        )),
        "{run}"
    );
    assert!(!run.stdout.contains(&query_key), "{run}");
    // HEAD is curl's --head (-X HEAD would wait for a body).
    let run = call(&env, &[], &["api", "HEAD", "/items", "--dry-run"]);
    run.ok();
    assert!(
        one_line(&run.stdout).contains("| curl --config - --head "),
        "{run}"
    );
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
            "$(cred --config-dir '{config_dir}' secret paligo{SED}"
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
    // curl writes percent escapes in lower case, cred in upper case: the
    // same URL (RFC 3986 §6.2.2.1); compared decoded.
    let decoded = |s: &Seen| -> (String, Vec<(String, String)>) {
        let q = url::form_urlencoded::parse(s.query().as_bytes())
            .into_owned()
            .collect();
        (s.path().to_string(), q)
    };
    assert_eq!(decoded(curl), decoded(cred), "{} vs {}", curl.url, cred.url);
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

/// A `curl` on PATH that records its argv (NUL-separated) to `log`, then
/// runs the real curl: what a `ps` or /proc/PID/cmdline would show.
fn recording_curl(env: &TestEnv) -> (String, std::path::PathBuf) {
    let real = String::from_utf8(
        std::process::Command::new("bash")
            .args(["-c", "command -v curl"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let bin = env.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = env.dir.path().join("curl-argv");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\0' \"$@\" >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        real.trim()
    );
    let path = bin.join("curl");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (format!("{}:{}", bin.display(), path_with_cred()), log)
}

/// Runs `cred call ARGS` and then its `--dry-run` command through bash
/// (curl reading the key from its stdin); returns what the server saw
/// from each.
fn cred_and_curl(
    env: &TestEnv,
    server: &Server,
    vars: &[(&str, String)],
    args: &[&str],
    stdin: Option<&[u8]>,
) -> (Seen, Seen, String) {
    require_command("curl");
    let before = server.count();
    let run_with_stdin = |extra: &[&str]| {
        let mut full = vec!["call"];
        full.extend_from_slice(args);
        full.extend_from_slice(extra);
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let input = stdin.map(|b| b.to_vec());
        let tmp = env.dir.path().to_path_buf();
        env.run_with(&full, move |c| {
            // A body saved for the command lands in the test's directory.
            c.env("TMPDIR", tmp);
            for (k, v) in vars {
                c.env(k, v);
            }
            if let Some(input) = input {
                c.write_stdin(input);
            }
        })
    };
    run_with_stdin(&[]).ok();
    let dry = run_with_stdin(&["--dry-run"]);
    dry.ok();
    let (path, log) = recording_curl(env);
    // The command is a script file for bash (a 1 MiB body is too long for
    // `bash -c`'s own argv; the printed command never puts it in curl's).
    let script = env.dir.path().join("dry-run.sh");
    std::fs::write(
        &script,
        format!("{} -sS -o /dev/null\n", dry.stdout.trim_end()),
    )
    .unwrap();
    let out = std::process::Command::new("bash")
        .arg(&script)
        .env_clear()
        .env("PATH", path)
        .env("HOME", env.home())
        .env("CRED_CONFIG_DIR", env.config_dir())
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dry.stdout
    );
    let seen = server.requests();
    assert_eq!(seen.len(), before + 2);
    let argv = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    (
        seen[before].clone(),
        seen[before + 1].clone(),
        argv + &dry.stderr,
    )
}

fn assert_same_request(cred: &Seen, curl: &Seen) {
    assert_eq!(curl.method, cred.method);
    // curl writes percent escapes in lower case, cred in upper case: the
    // same URL (RFC 3986 §6.2.2.1); compared decoded.
    let decoded = |s: &Seen| -> (String, Vec<(String, String)>) {
        let q = url::form_urlencoded::parse(s.query().as_bytes())
            .into_owned()
            .collect();
        (s.path().to_string(), q)
    };
    assert_eq!(decoded(curl), decoded(cred), "{} vs {}", curl.url, cred.url);
    assert!(
        curl.body == cred.body,
        "bodies differ: {} vs {} bytes",
        curl.body.len(),
        cred.body.len()
    );
    for h in [
        "authorization",
        "x-api-key",
        "content-type",
        "accept",
        "x-trace",
    ] {
        assert_eq!(curl.header(h), cred.header(h), "{h}");
    }
}

#[test]
fn the_printed_command_sends_the_same_bytes_and_keeps_the_key_out_of_argv() {
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    // A 1 MiB binary file: every byte value, NULs and newlines included.
    let data: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let file = env.dir.path().join("body.bin");
    std::fs::write(&file, &data).unwrap();
    let at_file = format!("@{}", file.display());
    let (cred, curl, argv) = cred_and_curl(
        &env,
        &server,
        &p,
        &[
            "paligo",
            "PUT",
            "/documents/1",
            "-d",
            &at_file,
            "-H",
            "X-Trace: t",
        ],
        None,
    );
    assert_same_request(&cred, &curl);
    assert_eq!(curl.body, data);
    assert_eq!(
        curl.header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    assert_hidden("curl's argv", argv.as_bytes(), &paligo_forms(&key));

    // Inline text with quotes, backslashes, newlines, `$` and a leading @.
    let text = "not a file \"q\" \\ $HOME `x`\r\n\ttab é";
    let (cred, curl, argv) = cred_and_curl(
        &env,
        &server,
        &p,
        &["paligo", "POST", "/x", "-d", text],
        None,
    );
    assert_same_request(&cred, &curl);
    assert_eq!(curl.body, text.as_bytes());
    assert_hidden("curl's argv", argv.as_bytes(), &paligo_forms(&key));

    // -f JSON and a 64 KiB text body from stdin: fed through the config,
    // nothing written to disk.
    let text: String = "0123456789abcdef\n".repeat(4 * 1024);
    let (cred, curl, said) = cred_and_curl(
        &env,
        &server,
        &p,
        &["paligo", "POST", "/x", "-d", "@-"],
        Some(text.as_bytes()),
    );
    assert_same_request(&cred, &curl);
    assert_eq!(curl.body, text.as_bytes());
    assert!(!said.contains("saved to"), "{said}");
    // 1 MiB of text on stdin is longer than a curl config line: a file.
    let big: String = "0123456789abcdef\n".repeat(64 * 1024);
    let (cred, curl, said) = cred_and_curl(
        &env,
        &server,
        &p,
        &["paligo", "POST", "/x", "-d", "@-"],
        Some(big.as_bytes()),
    );
    assert_same_request(&cred, &curl);
    assert_eq!(curl.body.len(), big.len());
    assert!(said.contains("saved to"), "{said}");
    let (cred, curl, _) = cred_and_curl(
        &env,
        &server,
        &p,
        &["paligo", "POST", "/x", "-f", "name=It's \"x\""],
        None,
    );
    assert_same_request(&cred, &curl);

    // Binary on stdin cannot ride in a config line: saved to a file, said so.
    let (cred, curl, said) = cred_and_curl(
        &env,
        &server,
        &p,
        &["paligo", "POST", "/x", "-d", "@-"],
        Some(&data[..4096]),
    );
    assert_same_request(&cred, &curl);
    assert!(said.contains("saved to"), "{said}");
}

#[test]
fn the_printed_command_works_for_header_and_query_keys_with_awkward_characters() {
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    let key = format!("{}\"\\/+&=", secret("awkward"));
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &key,
        &[
            "--no-verify",
            "--key-name",
            "X-Api-Key",
            "--template",
            "Api-Key ${apiKey}",
        ],
    )
    .ok();
    let (cred, curl, argv) =
        cred_and_curl(&env, &server, &[], &["api", "/items", "-q", "a=b c"], None);
    assert_same_request(&cred, &curl);
    assert_eq!(
        curl.header("x-api-key"),
        Some(format!("Api-Key {key}").as_str())
    );
    assert_hidden("curl's argv", argv.as_bytes(), &key_forms(&key, None));

    env.run(&["remove", "api", "--yes"]).ok();
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &key,
        &["--no-verify", "--placement", "query", "--key-name", "token"],
    )
    .ok();
    let (cred, curl, argv) = cred_and_curl(
        &env,
        &server,
        &[],
        &["api", "DELETE", "/items/1", "-q", "a=b c"],
        None,
    );
    assert_same_request(&cred, &curl);
    assert!(
        cred.query()
            .ends_with(&format!("token={}", urlencoded(&key))),
        "{}",
        cred.url
    );
    assert_hidden("curl's argv", argv.as_bytes(), &key_forms(&key, None));
}
