//! Security rules (SPEC §5): a secret appears in no output of any command
//! but `cred secret`, in no file, and in no process's argv; the config is
//! private to the user (directory 0700, file 0600).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn secret_appears_only_in_cred_secret() {
    let env = TestEnv::new();
    // 200 for the good keys, 401 for a key named "bad".
    let server = Server::start(|seen| {
        let rejected =
            seen.url.contains("bad") || seen.header("x-api-key").is_some_and(|v| v.contains("bad"));
        if rejected {
            Reply::json(401, r#"{"error":"no"}"#)
        } else {
            Reply::json(
                200,
                r#"{"users":[{"id":1,"name":"Ada","email":"ada@example.com"}]}"#,
            )
        }
    });
    let closed = closed_port();
    let (pm, pl, gq, gh, gn) = (
        secret("pm"),
        secret("pl"),
        secret("gq"),
        secret("gh"),
        secret("gn"),
    );
    let all_forms: Vec<String> = [
        key_forms(&pm, Some(&basic(&pm, "X"))),
        key_forms(&pl, Some(&basic("me@acme.com", &pl))),
        key_forms(&gq, None),
        key_forms(&gh, None),
        key_forms(&gn, None),
    ]
    .concat();
    let extra = [paymo_env(&server), paligo_env(&server)];
    let base = format!("{}/v1", server.url());
    let dead = format!("http://127.0.0.1:{closed}/v1");
    let mut outputs: Vec<(String, Run)> = Vec::new();
    let record = |outputs: &mut Vec<(String, Run)>, label: &str, run: Run| {
        outputs.push((label.to_string(), run))
    };

    // add, with the live check, in every placement.
    record(
        &mut outputs,
        "add paymo",
        env.add(&["paymo", "--name", "pm"], &pm, &extra),
    );
    record(
        &mut outputs,
        "add paligo",
        env.add(
            &[
                "paligo",
                "--name",
                "pl",
                "--instance",
                "acme",
                "--username",
                "me@acme.com",
            ],
            &pl,
            &extra,
        ),
    );
    record(
        &mut outputs,
        "add generic query",
        env.add(
            &[
                "generic",
                "--name",
                "gq",
                "--base-url",
                &base,
                "--placement",
                "query",
                "--check-path",
                "/me",
            ],
            &gq,
            &extra,
        ),
    );
    record(
        &mut outputs,
        "add generic header",
        env.add(
            &[
                "generic",
                "--name",
                "gh",
                "--base-url",
                &base,
                "--key-name",
                "x-api-key",
                "--template",
                "Api-Key ${apiKey}",
            ],
            &gh,
            &extra,
        ),
    );
    record(
        &mut outputs,
        "add unreachable",
        env.add(
            &[
                "generic",
                "--name",
                "gn",
                "--base-url",
                &dead,
                "--placement",
                "query",
                "--no-verify",
            ],
            &gn,
            &extra,
        ),
    );
    for (label, run) in &outputs {
        assert_eq!(run.code, 0, "{label}\n{run}");
    }
    // Errors: a rejected key in the URL and in a header, an existing name.
    let bad_q = format!("bad-{gq}");
    let bad_h = format!("bad-{gh}");
    let rejected_forms = [key_forms(&bad_q, None), key_forms(&bad_h, None)].concat();
    record(
        &mut outputs,
        "add rejected query",
        env.add(
            &[
                "generic",
                "--name",
                "bq",
                "--base-url",
                &base,
                "--placement",
                "query",
            ],
            &bad_q,
            &extra,
        ),
    );
    record(
        &mut outputs,
        "add rejected header",
        env.add(
            &[
                "generic",
                "--name",
                "bh",
                "--base-url",
                &base,
                "--key-name",
                "x-api-key",
            ],
            &bad_h,
            &extra,
        ),
    );
    record(
        &mut outputs,
        "add existing",
        env.add(&["paymo", "--name", "pm"], &pm, &extra),
    );
    let names = ["pm", "pl", "gq", "gh", "gn"];
    record(&mut outputs, "list", run_env(&env, &["list"], &extra));
    record(
        &mut outputs,
        "list --json",
        run_env(&env, &["list", "--json"], &extra),
    );
    for name in names {
        record(
            &mut outputs,
            &format!("show {name}"),
            run_env(&env, &["show", name], &extra),
        );
        record(
            &mut outputs,
            &format!("show {name} --json"),
            run_env(&env, &["show", name, "--json"], &extra),
        );
        record(
            &mut outputs,
            &format!("verify {name}"),
            run_env(&env, &["verify", name], &extra),
        );
        record(
            &mut outputs,
            &format!("call {name}"),
            run_env(&env, &["call", name, "/me"], &extra),
        );
        record(
            &mut outputs,
            &format!("call -v {name}"),
            run_env(&env, &["call", name, "/me", "-v"], &extra),
        );
        record(
            &mut outputs,
            &format!("call --dry-run {name}"),
            run_env(&env, &["call", name, "/me", "--dry-run"], &extra),
        );
        record(
            &mut outputs,
            &format!("call elsewhere {name}"),
            run_env(&env, &["call", name, "http://127.0.0.2:9/me"], &extra),
        );
    }
    record(
        &mut outputs,
        "verify --all --json",
        run_env(&env, &["verify", "--all", "--json"], &extra),
    );
    let rotate = env.run_with(&["rotate", "gq", "--api-key-stdin"], |c| {
        c.write_stdin(bad_q.clone());
        c.env(extra[0].0, &extra[0].1);
    });
    record(&mut outputs, "rotate rejected", rotate);

    // Each command did what it should, so its output is worth checking:
    // the unreachable API fails the network way, rejected keys exit 4, a
    // URL outside the base is refused, everything else works.
    for (label, run) in &outputs {
        let expected = match label.as_str() {
            "verify gn" | "call gn" | "call -v gn" | "verify --all --json" => 5,
            "add rejected query" | "add rejected header" | "rotate rejected" => 4,
            "add existing" => 1,
            l if l.starts_with("call elsewhere") => 1,
            _ => 0,
        };
        assert_eq!(run.code, expected, "{label}\n{run}");
    }

    // The check of the leak check: `cred secret` does print the key.
    for (name, key) in names.iter().zip([&pm, &pl, &gq, &gh, &gn]) {
        let run = env.run(&["secret", name]);
        assert_eq!(run.stdout, format!("{key}\n"));
        assert!(
            revealed(run.stdout.as_bytes(), &all_forms).is_some(),
            "the leak check does not see the key"
        );
    }

    // Files, while everything is stored.
    for (path, bytes) in env.files() {
        assert_hidden(&path.display().to_string(), &bytes, &all_forms);
        assert_hidden(&path.display().to_string(), &bytes, &rejected_forms);
    }
    for name in names {
        record(
            &mut outputs,
            &format!("remove {name}"),
            env.run(&["remove", name, "--yes"]),
        );
    }
    record(
        &mut outputs,
        "remove again",
        env.run(&["remove", "pm", "--yes"]),
    );
    for (label, run) in &outputs {
        let both = format!("{}{}", run.stdout, run.stderr);
        assert_hidden(label, both.as_bytes(), &all_forms);
        assert_hidden(label, both.as_bytes(), &rejected_forms);
    }
    for (path, bytes) in env.files() {
        assert_hidden(&path.display().to_string(), &bytes, &all_forms);
    }
}

#[test]
fn secret_is_never_in_argv_or_environment() {
    let env = TestEnv::new();
    let key = secret("argv");
    let mut child = spawn_add_reading_stdin(&env);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(key.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // cred now holds the key and waits for the end of stdin.
    let pid = child.id();
    let proc_dir = format!("/proc/{pid}");
    // Polls until cred sleeps on stdin; the 10 s bound only stops a hang.
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("{proc_dir}/stat")).unwrap();
        let state = stat.rsplit(") ").next().unwrap().chars().next().unwrap();
        let cmdline = std::fs::read(format!("{proc_dir}/cmdline")).unwrap();
        if state == 'S' && cmdline.starts_with(env!("CARGO_BIN_EXE_cred").as_bytes()) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "cred never blocked on stdin"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "cred exited before stdin closed"
    );
    let forms = key_forms(&key, None);
    let cmdline = std::fs::read(format!("{proc_dir}/cmdline")).unwrap();
    assert!(String::from_utf8_lossy(&cmdline).contains("--api-key-stdin"));
    assert_hidden("cred's argv", &cmdline, &forms);
    assert_hidden(
        "cred's environment",
        &std::fs::read(format!("{proc_dir}/environ")).unwrap(),
        &forms,
    );
    // No process at all (helpers included) carries it in its argv.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().chars().all(|c| c.is_ascii_digit())
            && let Ok(argv) = std::fs::read(entry.path().join("cmdline"))
        {
            assert_hidden(&format!("argv of pid {name:?}"), &argv, &forms);
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{key}\n"));
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn config_is_private_to_the_user() {
    let env = TestEnv::new();
    env.add(&["paymo", "--no-verify"], &secret("p"), &[]).ok();
    assert_eq!(mode(&env.config_dir()), 0o700, "config dir");
    assert_eq!(mode(&env.config_path()), 0o600, "config.toml");
    for (path, _) in env.files() {
        if path.starts_with(env.config_dir()) {
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is readable by others",
                path.display()
            );
        }
    }
    // A rewrite keeps it private, and a pre-existing loose file is tightened.
    std::fs::set_permissions(env.config_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    env.add(&["paymo", "--no-verify", "--name", "b"], &secret("b"), &[])
        .ok();
    env.run(&["remove", "paymo", "--yes"]).ok();
    assert_eq!(
        mode(&env.config_path()),
        0o600,
        "config.toml after rewrites"
    );
    let text = env.config_text();
    assert!(
        text.contains("[credentials.b]") && !text.contains("[credentials.paymo]"),
        "{text}"
    );
}

/// An API that quotes the request (URL and headers) in the first line of
/// its error pages, as many do.
fn echoing_error_server() -> Server {
    Server::start(|seen| {
        let auth = seen.header("authorization").unwrap_or("");
        Reply::new(500, format!("oops {} {} {}\n", seen.method, seen.url, auth))
    })
}

#[test]
fn check_messages_never_carry_the_key() {
    let server = echoing_error_server();
    let env = TestEnv::new();
    let key = secret("echo");
    let all = key_forms(&key, None);
    let base = format!("{}/v1", server.url());
    let query = [
        "generic",
        "--name",
        "q",
        "--base-url",
        &base,
        "--placement",
        "query",
    ];
    // A failed add prints the server's first line: without the key.
    let failed = env.add(&query, &key, &[]);
    failed.code(3);
    assert!(
        failed.stderr.contains("oops GET /v1?"),
        "the echo is quoted\n{failed}"
    );
    assert_hidden("failed add", failed.all().as_bytes(), &all);
    // Stored unchecked, then verified: output, JSON and config stay clean.
    let mut unchecked = query.to_vec();
    unchecked.push("--no-verify");
    env.add(&unchecked, &key, &[]).ok();
    let header = [
        "generic",
        "--name",
        "h",
        "--base-url",
        &base,
        "--template",
        "Bearer ${apiKey}",
        "--no-verify",
    ];
    env.add(&header, &key, &[]).ok();
    for args in [
        &["verify"][..],
        &["verify", "--json"],
        &["show", "q"],
        &["list", "--json"],
    ] {
        let run = env.run(args);
        assert!(
            run.all().contains("oops GET"),
            "{args:?} quotes the server\n{run}"
        );
        assert_hidden(&format!("{args:?}"), run.all().as_bytes(), &all);
    }
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.url.contains(&key) || r.header("authorization").is_some())
    );
    assert_hidden("config.toml", env.config_text().as_bytes(), &all);
}

#[test]
fn plain_http_never_goes_through_a_proxy() {
    // A proxy would see a plain-http request whole, key included.
    let proxy = Server::start(|_| Reply::new(502, "proxy"));
    let origin = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let key = secret("proxy");
    let base = format!("{}/v1", origin.url());
    env.add(
        &[
            "generic",
            "--name",
            "g",
            "--base-url",
            &base,
            "--placement",
            "query",
            "--no-verify",
        ],
        &key,
        &[],
    )
    .ok();
    let via_proxy = |c: &mut assert_cmd::Command| {
        c.env_remove("NO_PROXY");
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            c.env(var, proxy.url());
        }
    };
    env.run_with(&["call", "g", "/items"], via_proxy).ok();
    env.run_with(&["verify", "g"], via_proxy).ok();
    assert_eq!(proxy.count(), 0, "the proxy saw {:?}", proxy.requests());
    assert_eq!(origin.count(), 2);
}

#[test]
fn a_hand_edited_config_cannot_send_the_key_elsewhere() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let key = secret("edit");
    let paligo_url = paligo_env(&server);
    env.add(
        &[
            "paligo",
            "--instance",
            "acme",
            "--username",
            "me@acme.com",
            "--no-verify",
        ],
        &key,
        &[],
    )
    .ok();
    env.add(
        &[
            "generic",
            "--name",
            "g",
            "--base-url",
            "https://api.example.com/v1",
            "--no-verify",
        ],
        &key,
        &[],
    )
    .ok();
    let original = env.config_text();
    // The instance becomes a host of the editor's choosing.
    let evil_instance = format!("127.0.0.1:{}/x#", server.port);
    std::fs::write(
        env.config_path(),
        original.replace(
            "instance = \"acme\"",
            &format!("instance = \"{evil_instance}\""),
        ),
    )
    .unwrap();
    let run = env.run(&["call", "paligo", "/folders"]);
    run.code(1);
    assert!(run.stderr.contains("not a valid instance name"), "{run}");
    let run = env.run_with(&["call", "paligo", "/folders"], |c| {
        c.env(paligo_url.0, &paligo_url.1);
    });
    run.code(1);
    // A generic base URL turned into plain http to a non-loopback host.
    std::fs::write(
        env.config_path(),
        original.replace("https://api.example.com/v1", "http://api.example.com/v1"),
    )
    .unwrap();
    let run = env.run(&["call", "g", "/x", "--dry-run"]);
    run.code(1);
    assert!(run.stderr.contains("plain http://"), "{run}");
    assert_eq!(server.count(), 0, "{:?}", server.requests());
}
