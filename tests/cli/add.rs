//! `cred add` without a terminal (SPEC §2): where the key comes from
//! (`--api-key-stdin`, `CRED_API_KEY`), bad input refused with one
//! `cred: error:` line and the right exit code, missing values named by
//! their flag, never waiting on input nobody can give, replacing with
//! `--force`, and a failed live check that stores nothing.

use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;

// ---------------------------------------------------------------------------
// Where the key comes from.

#[test]
fn key_from_env_is_checked_and_stored() {
    let env = TestEnv::new();
    let server = ok_server();
    let key = secret("env");
    let run = add_env_key(&env, &["paymo"], &key, &[paymo_env(&server)]);
    run.ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some(&*basic(&key, "X")));
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{key}\n"));
}

#[test]
fn key_from_env_works_for_generic_and_paligo() {
    let env = TestEnv::new();
    let (g, p) = (secret("genv"), secret("penv"));
    add_env_key(
        &env,
        &[
            "generic",
            "--no-verify",
            "--base-url",
            "https://api.example.com",
        ],
        &g,
        &[],
    )
    .ok();
    add_env_key(
        &env,
        &[
            "paligo",
            "--no-verify",
            "--instance",
            "acme",
            "--username",
            "me@acme.com",
        ],
        &p,
        &[],
    )
    .ok();
    assert_eq!(env.run(&["secret", "generic"]).stdout, format!("{g}\n"));
    assert_eq!(env.run(&["secret", "paligo"]).stdout, format!("{p}\n"));
}

#[test]
fn key_on_stdin_loses_its_trailing_newline() {
    let env = TestEnv::new();
    let key = secret("nl");
    env.add(&["paymo", "--no-verify"], &format!("{key}\n"), &[])
        .ok();
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*key));
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{key}\n"));
}

#[test]
fn empty_or_multiline_stdin_is_refused() {
    let env = TestEnv::new();
    let run = env.add(&["paymo", "--no-verify"], "", &[]);
    run.code(1);
    assert_one_error(&run, "the API key is empty");
    let run = env.add(&["paymo", "--no-verify"], "one\ntwo\n", &[]);
    run.code(1);
    assert_one_error(&run, "standard input holds more than one line");
    assert_nothing_stored(&env, "paymo", None);
}

#[test]
fn without_a_key_source_it_says_how_and_does_not_wait() {
    let env = TestEnv::new();
    // stdin stays open and empty: cred must not read it without
    // --api-key-stdin, nor wait for a prompt nobody can answer.
    let mut child = std_cmd(&env)
        .args(["add", "paymo", "--no-verify"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    // A timing bound is the point here ("does not wait"); a generous one,
    // since cred exits at once when it does not wait.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(15) {
            child.kill().unwrap();
            panic!("cred add waited for input without a terminal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("cred: error: no API key given"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("cred: error:").count(), 1, "{stderr}");
    assert!(
        stderr.contains("--api-key-stdin") && stderr.contains("CRED_API_KEY"),
        "{stderr}"
    );
    assert_nothing_stored(&env, "paymo", None);
}

// ---------------------------------------------------------------------------
// Bad input.

#[test]
fn bad_name_is_refused() {
    let env = TestEnv::new();
    let run = env.add(
        &["paymo", "--no-verify", "--name", "Bad_Name!"],
        "k3y-123",
        &[],
    );
    run.code(1);
    assert_one_error(&run, "`Bad_Name!` is not a valid credential name");
    assert!(run.stderr.contains("hint:"), "{run}");
    assert!(!env.config_path().exists());
}

#[test]
fn unknown_provider_is_a_usage_error() {
    let env = TestEnv::new();
    let run = env.add(&["foo"], "k3y-123", &[]);
    run.code(2);
    assert_one_error(&run, "invalid value 'foo'");
    assert!(
        run.stderr
            .contains("possible values: paligo, paymo, generic"),
        "{run}"
    );
    let run = env.add(
        &[
            "generic",
            "--base-url",
            "https://api.example.com",
            "--placement",
            "body",
        ],
        "k3y-123",
        &[],
    );
    run.code(2);
    assert_one_error(&run, "invalid value 'body'");
    assert!(!env.config_path().exists());
}

#[test]
fn api_key_is_never_a_flag_value() {
    let env = TestEnv::new();
    let run = env.run(&["add", "paymo", "--api-key", "k3y-123"]);
    run.code(2);
    assert!(run.stderr.starts_with("cred: error:"), "{run}");
    assert!(!run.all().contains("k3y-123"), "{run}");
    assert!(!env.config_path().exists());
}

#[test]
fn base_url_must_be_http_or_https() {
    let env = TestEnv::new();
    let run = env.add(
        &["generic", "--no-verify", "--base-url", "ftp://x"],
        "k3y-123",
        &[],
    );
    run.code(1);
    assert_one_error(&run, "invalid --base-url");
    assert!(run.stderr.contains("https://"), "{run}");
    assert_nothing_stored(&env, "generic", None);
}

#[test]
fn a_base_url_without_a_scheme_is_read_as_https_and_says_so() {
    let env = TestEnv::new();
    let run = env.add(
        &["generic", "--no-verify", "--base-url", "api.example.com/v1"],
        "k3y-1234567",
        &[],
    );
    run.ok();
    assert!(
        run.stderr
            .contains("no scheme given: read as https://api.example.com/v1"),
        "{run}"
    );
    let shown = json(env.run(&["show", "generic", "--json"]).ok());
    assert_eq!(shown["target"], "https://api.example.com/v1");
    // The "Try it" line is a command that runs: the base URL itself.
    assert!(
        run.stderr.contains("Try it: cred call generic GET /"),
        "{run}"
    );
}

#[test]
fn plain_http_needs_allow_http_unless_loopback() {
    let env = TestEnv::new();
    let run = env.add(
        &["generic", "--no-verify", "--base-url", "http://example.com"],
        "k3y-123",
        &[],
    );
    run.code(1);
    assert_one_error(&run, "invalid --base-url");
    assert!(run.stderr.contains("--allow-http"), "{run}");
    assert_nothing_stored(&env, "generic", None);

    let run = env.add(
        &[
            "generic",
            "--no-verify",
            "--base-url",
            "http://example.com",
            "--allow-http",
        ],
        "k3y-123",
        &[],
    );
    run.ok();
    assert!(run.stderr.contains("unencrypted"), "says why: {run}");
    let shown = json(&env.run(&["show", "generic", "--json"]));
    assert_eq!(shown["target"], "http://example.com");

    let run = env.add(
        &[
            "generic",
            "--no-verify",
            "--name",
            "local",
            "--base-url",
            "http://127.0.0.1:9/x",
        ],
        "k3y-123",
        &[],
    );
    run.ok();
    assert!(run.stderr.contains("loopback"), "says why: {run}");
}

#[test]
fn template_must_hold_the_placeholder_once() {
    let env = TestEnv::new();
    for template in ["Bearer", "${apiKey}${apiKey}", "Bearer $apiKey"] {
        let run = env.add(
            &[
                "generic",
                "--no-verify",
                "--base-url",
                "https://api.example.com",
                "--template",
                template,
            ],
            "k3y-123",
            &[],
        );
        run.code(1);
        assert_one_error(&run, "invalid --template");
        assert!(run.stderr.contains("${apiKey}"), "{run}");
    }
    assert_nothing_stored(&env, "generic", None);
}

#[test]
fn other_generic_fields_are_validated() {
    let env = TestEnv::new();
    let base = [
        "generic",
        "--no-verify",
        "--base-url",
        "https://api.example.com",
    ];
    let cases: &[(&[&str], &str)] = &[
        (&["--key-name", "X Api Key"], "invalid --key-name"),
        (
            &["--check-path", "https://elsewhere.example/me"],
            "invalid --check-path",
        ),
        (&["--label", " "], "invalid --label"),
    ];
    for (extra, message) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let run = env.add(&args, "k3y-123", &[]);
        run.code(1);
        assert_one_error(&run, message);
    }
    assert_nothing_stored(&env, "generic", None);
}

#[test]
fn paligo_without_terminal_names_the_missing_flags() {
    let env = TestEnv::new();
    let run = env.add(&["paligo", "--no-verify"], "k3y-123", &[]);
    run.code(1);
    assert_one_error(&run, "missing --instance");
    assert!(run.stderr.contains("--instance mycompany"), "{run}");

    let run = env.add(
        &["paligo", "--no-verify", "--instance", "acme"],
        "k3y-123",
        &[],
    );
    run.code(1);
    assert_one_error(&run, "missing --username");

    let run = env.add(
        &[
            "paligo",
            "--no-verify",
            "--instance",
            "ac_me",
            "--username",
            "me@acme.com",
        ],
        "k3y-123",
        &[],
    );
    run.code(1);
    assert_one_error(&run, "invalid --instance");
    let run = env.add(
        &[
            "paligo",
            "--no-verify",
            "--instance",
            "acme",
            "--username",
            "not-an-email",
        ],
        "k3y-123",
        &[],
    );
    run.code(1);
    assert_one_error(&run, "invalid --username");
    assert!(run.stderr.contains("email"), "{run}");
    assert_nothing_stored(&env, "paligo", None);
}

#[test]
fn generic_without_terminal_needs_base_url() {
    let env = TestEnv::new();
    let run = env.add(&["generic", "--no-verify"], "k3y-123", &[]);
    run.code(1);
    assert_one_error(&run, "missing --base-url");
    assert_nothing_stored(&env, "generic", None);
}

// ---------------------------------------------------------------------------
// An existing name.

#[test]
fn existing_name_needs_force() {
    let env = TestEnv::new();
    let (old, new) = (secret("old"), secret("new"));
    env.add(
        &["paymo", "--no-verify", "--description", "first"],
        &old,
        &[],
    )
    .ok();
    let run = env.add(
        &["paymo", "--no-verify", "--description", "second"],
        &new,
        &[],
    );
    run.code(1);
    assert_one_error(&run, "a credential named `paymo` already exists");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("hint:") && l.contains("--force")),
        "{run}"
    );
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{old}\n"));

    let run = env.add(
        &["paymo", "--no-verify", "--force", "--description", "second"],
        &new,
        &[],
    );
    run.ok();
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{new}\n"));
    let listed = json(&env.run(&["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["description"], "second");
}

#[test]
fn force_can_change_the_provider() {
    let env = TestEnv::new();
    env.add(&["paymo", "--no-verify", "--name", "x"], &secret("a"), &[])
        .ok();
    let key = secret("b");
    env.add(
        &[
            "generic",
            "--no-verify",
            "--force",
            "--name",
            "x",
            "--base-url",
            "https://api.example.com",
        ],
        &key,
        &[],
    )
    .ok();
    let shown = json(&env.run(&["show", "x", "--json"]));
    assert_eq!(shown["provider"], "generic");
    assert_eq!(env.run(&["secret", "x"]).stdout, format!("{key}\n"));
}

// ---------------------------------------------------------------------------
// A live check that fails stores nothing.

#[test]
fn rejected_key_exits_4_and_stores_nothing() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, r#"{"message":"bad key"}"#));
    let key = secret("bad");
    let run = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    run.code(4);
    assert_error_line(&run, "Paymo rejected the API key");
    assert!(run.stderr.contains("nothing was stored"), "{run}");
    assert!(run.stderr.contains("--no-verify"), "{run}");
    assert_nothing_stored(&env, "paymo", Some(&key));
    assert_eq!(server.count(), 1);
}

#[test]
fn paligo_statuses_explain_themselves() {
    let env = TestEnv::new();
    let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(403));
    let s = status.clone();
    let server =
        Server::start(move |_| Reply::json(s.load(std::sync::atomic::Ordering::SeqCst), "{}"));
    let args = ["paligo", "--instance", "acme", "--username", "me@acme.com"];
    let run = env.add(&args, &secret("p"), &[paligo_env(&server)]);
    run.code(4);
    assert_error_line(&run, "");
    assert!(
        run.stderr
            .contains("may not use the API: only admin users can"),
        "403 means not an admin: {run}"
    );

    status.store(404, std::sync::atomic::Ordering::SeqCst);
    let run = env.add(&args, &secret("p"), &[paligo_env(&server)]);
    run.code(1);
    assert_error_line(&run, "");
    assert!(
        run.stderr.contains("no Paligo instance named `acme`"),
        "{run}"
    );
    assert_nothing_stored(&env, "paligo", None);
}

#[test]
fn unreachable_api_exits_5_and_no_verify_skips_the_check() {
    let env = TestEnv::new();
    let base = format!("http://127.0.0.1:{}", closed_port());
    let args = ["generic", "--base-url", base.as_str()];
    let run = env.add(&args, &secret("net"), &[]);
    run.code(5);
    assert_error_line(&run, "");
    assert!(run.stderr.contains("refused"), "{run}");
    assert_nothing_stored(&env, "generic", None);
    let mut args = args.to_vec();
    args.push("--no-verify");
    env.add(&args, &secret("net"), &[]).ok();
    let listed = json(&env.run(&["list", "--json"]));
    assert!(listed[0]["last_check"].is_null(), "{listed}");
}

#[test]
fn stdin_key_is_read_once_when_spawned_by_a_script() {
    // The documented pipe form: `printf %s "$KEY" | cred add … --api-key-stdin`,
    // with stdin written in pieces.
    let env = TestEnv::new();
    let key = secret("pipe");
    let mut child = spawn_add_reading_stdin(&env);
    {
        let mut stdin = child.stdin.take().unwrap();
        let (a, b) = key.split_at(5);
        stdin.write_all(a.as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        stdin.write_all(b.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*key));
}
