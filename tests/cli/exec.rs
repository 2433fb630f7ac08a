//! `cred exec` (SPEC §2): a program gets credentials in its environment
//! (never cred's own secret carriers), its output has every secret masked
//! in the encodings programs print keys in, its exit status and signals
//! pass through, a failure before the start means it never runs, and on a
//! terminal it gets a pseudo-terminal whose settings are put back.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use rexpect::process::WaitStatus;
use rexpect::session::{Options, spawn_with_options};

use crate::common::*;

fn exec(env: &TestEnv, args: &[&str], extra: &[(&str, String)]) -> Run {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    run_env(env, &full, extra)
}

#[test]
fn the_program_gets_the_variables_and_not_creds_own_secrets() {
    let env = TestEnv::new();
    let key = add_paligo_for_exec(&env, "exec");
    let out = env.home().join("vars");
    std::fs::create_dir_all(env.home()).unwrap();
    let script = format!(
        "for v in PALIGO_API_KEY PALIGO_BASE_URL PALIGO_USERNAME PALIGO_INSTANCE; do \
         eval \"printf '%s\\n' \\\"\\$$v\\\"\"; done > '{0}'; \
         printf '%s\\n' \"${{CRED_SECRET_OTHER-absent}}\" \"${{CRED_IDENTITY-absent}}\" \"${{CRED_API_KEY-absent}}\" >> '{0}'",
        out.display()
    );
    let run = exec(
        &env,
        &["paligo", "--", "sh", "-c", &script],
        &[
            ("CRED_SECRET_OTHER", "other-secret".into()),
            ("CRED_IDENTITY", "AGE-SECRET-KEY-1".into()),
            ("CRED_API_KEY", "key-for-add".into()),
        ],
    );
    run.ok();
    let lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines,
        vec![
            key.clone(),
            "https://acme.paligoapp.com/api/v2".to_string(),
            EMAIL.to_string(),
            "acme".to_string(),
            "absent".to_string(),
            "absent".to_string(),
            "absent".to_string(),
        ]
    );
    // --env picks the names, and only those are set.
    let run = exec(
        &env,
        &[
            "paligo",
            "--env",
            "TOKEN=api_key",
            "--env",
            "AUTH=auth_header",
            "--",
            "sh",
            "-c",
            &format!(
                "printf '%s\\n' \"$TOKEN\" \"$AUTH\" \"${{PALIGO_API_KEY-absent}}\" > '{}'",
                out.display()
            ),
        ],
        &[],
    );
    run.ok();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, format!("{key}\n{}\nabsent\n", basic(EMAIL, &key)));
}

#[test]
fn every_common_encoding_of_the_key_is_masked_in_the_output() {
    let env = TestEnv::new();
    let key = add_paligo_for_exec(&env, "exec");
    // One write, byte by byte, split across two writes, base64 alone and
    // inside a Basic header the program built, base64url, percent-encoded,
    // JSON-escaped; on stdout and stderr.
    let program = r#"
import base64, json, os, sys, time, urllib.parse
k = os.environ["PALIGO_API_KEY"]
def say(s, stream=sys.stdout):
    stream.write(s + "\n"); stream.flush()
say("one:" + k)
for c in "bytes:" + k + "\n":
    sys.stdout.write(c); sys.stdout.flush()
sys.stdout.write("split:" + k[:7]); sys.stdout.flush(); time.sleep(0.1)
say(k[7:])
say("b64:" + base64.b64encode(k.encode()).decode())
say("basic:" + base64.b64encode(("someone:" + k).encode()).decode())
say("b64url:" + base64.urlsafe_b64encode(("xy" + k).encode()).decode())
say("pct:" + urllib.parse.quote(k, safe=""))
say("json:" + json.dumps({"key": k}))
say("stderr:" + k, sys.stderr)
"#;
    let run = exec(&env, &["paligo", "--", "python3", "-c", program], &[]);
    run.ok();
    let all = run.all();
    for form in key_forms(&key, None) {
        assert!(!all.contains(&form), "`{form}` leaked:\n{all}");
    }
    assert!(!all.contains(&urlencoded(&key)), "{all}");
    for label in [
        "one:", "bytes:", "split:", "b64:", "pct:", "json:", "stderr:",
    ] {
        let line = all
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line:\n{all}"));
        assert!(line.contains("<concealed by cred>"), "{line}");
    }
    for label in ["basic:", "b64url:"] {
        let line = all.lines().find(|l| l.starts_with(label)).unwrap();
        assert!(line.contains("<concealed by cred>"), "{line}");
    }
}

#[test]
fn exit_statuses_pass_through() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "exec");
    for code in [0, 3, 42] {
        let run = exec(
            &env,
            &["paligo", "--", "sh", "-c", &format!("exit {code}")],
            &[],
        );
        run.code(code);
    }
    let run = exec(&env, &["paligo", "--", "sh", "-c", "kill -TERM $$"], &[]);
    run.code(128 + 15);
}

#[test]
fn sigterm_to_cred_reaches_the_program() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "exec");
    std::fs::create_dir_all(env.home()).unwrap();
    let marker = env.home().join("got-term");
    let ready = env.home().join("ready");
    let program = format!(
        "import signal, sys, time\n\
         def bye(*_):\n    open('{}', 'w').write('term'); sys.exit(7)\n\
         signal.signal(signal.SIGTERM, bye)\n\
         open('{}', 'w').write('ready')\n\
         time.sleep(30)\n",
        marker.display(),
        ready.display()
    );
    let mut cmd = std_cmd(&env);
    cmd.args(["exec", "paligo", "--", "python3", "-c", &program])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // A hang guard: the program is ready within a few seconds.
    let start = std::time::Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the program never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "term");
}

#[test]
fn a_failure_before_the_start_means_the_program_never_runs() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "exec");
    std::fs::create_dir_all(env.home()).unwrap();
    let marker = env.home().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let run = exec(&env, &["paligo,nope", "--", "sh", "-c", &touch], &[]);
    run.code(1);
    assert_one_error(&run, "no credential named `nope`");
    let run = exec(
        &env,
        &["paligo", "--", "sh", "-c", &touch],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/bus".into(),
        )],
    );
    run.code(7);
    let run = exec(
        &env,
        &["paligo", "--env", "X=nothing", "--", "sh", "-c", &touch],
        &[],
    );
    run.code(1);
    assert!(run.stderr.contains("has no field `nothing`"), "{run}");
    assert!(!marker.exists(), "the program ran");
    let run = exec(&env, &["paligo", "--", "no-such-program-here"], &[]);
    run.code(127);
    assert_one_error(&run, "could not run `no-such-program-here`");
}

#[test]
fn on_a_terminal_the_program_gets_one_and_the_terminal_is_put_back() {
    let env = TestEnv::new();
    let key = add_paligo_for_exec(&env, "exec");
    // The program says when its terminal grows (SIGWINCH), so the test
    // waits for that line instead of a fixed time.
    let program = r#"
import os, signal, sys
signal.signal(signal.SIGWINCH, lambda *_: print("resized:", os.get_terminal_size().columns, flush=True))
print("tty:", os.isatty(0), os.isatty(1), os.isatty(2), flush=True)
input("ready? ")
print("size:", os.get_terminal_size().columns)
print("\x1b[31mred\x1b[0m", os.environ["PALIGO_API_KEY"], flush=True)
"#;
    let mut cmd = std_cmd(&env);
    cmd.args(["exec", "paligo", "--", "python3", "-c", program])
        .env("TERM", "xterm");
    let mut session = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(false),
    )
    .unwrap();
    let pty = session.process().get_file_handle().unwrap();
    let before = rustix::termios::tcgetattr(&pty).unwrap();
    let mut seen = session.exp_string("ready? ").unwrap();
    // The window grows: the program's terminal follows (SIGWINCH).
    let mut size = rustix::termios::tcgetwinsize(&pty).unwrap();
    size.ws_col = 123;
    size.ws_row = 40;
    rustix::termios::tcsetwinsize(&pty, size).unwrap();
    seen.push_str(&session.exp_string("resized: 123").unwrap());
    seen.push_str("resized: 123");
    session.send("\r").unwrap();
    session.flush().unwrap();
    seen.push_str(&session.exp_eof().unwrap());
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "{status:?}\n{seen}"
    );
    assert!(seen.contains("tty: True True True"), "{seen}");
    assert!(seen.contains("\nsize: 123"), "{seen}");
    assert!(
        seen.contains("\x1b[31mred\x1b[0m <concealed by cred>"),
        "{seen:?}"
    );
    assert!(!seen.contains(&key), "{seen}");
    let after = rustix::termios::tcgetattr(&pty).unwrap();
    assert_eq!(
        after
            .local_modes
            .contains(rustix::termios::LocalModes::ICANON),
        before
            .local_modes
            .contains(rustix::termios::LocalModes::ICANON),
        "canonical mode was not put back"
    );
    assert!(
        after
            .local_modes
            .contains(rustix::termios::LocalModes::ICANON)
    );
    let _ = std::io::stdout().flush();
}

#[test]
fn sigterm_to_cred_on_a_terminal_ends_the_program_and_puts_the_terminal_back() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "exec");
    let program = "import os, time\nprint('parent', os.getppid(), flush=True)\ntime.sleep(30)\n";
    let mut cmd = std_cmd(&env);
    cmd.args(["exec", "paligo", "--", "python3", "-c", program])
        .env("TERM", "xterm");
    let mut session = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    let pty = session.process().get_file_handle().unwrap();
    let before = rustix::termios::tcgetattr(&pty).unwrap();
    // The program runs once it prints; cred is its parent.
    session.exp_string("parent ").unwrap();
    let cred_pid = {
        let status = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .find(|e| {
                std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                    c.starts_with(env!("CARGO_BIN_EXE_cred").as_bytes())
                        && c.windows(4).any(|w| w == b"exec")
                }) && std::fs::read(e.path().join("environ")).is_ok_and(|v| {
                    let marker = format!("CRED_CONFIG_DIR={}\0", env.config_dir().display());
                    v.windows(marker.len()).any(|w| w == marker.as_bytes())
                })
            })
            .expect("cred in /proc");
        status.file_name().to_string_lossy().into_owned()
    };
    std::process::Command::new("kill")
        .args(["-TERM", &cred_pid])
        .status()
        .unwrap();
    session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 143)), "{status:?}");
    let after = rustix::termios::tcgetattr(&pty).unwrap();
    // Raw mode clears both (echo is left out: rexpect turns it off in the
    // child just after this test read the settings).
    for flag in [
        rustix::termios::LocalModes::ICANON,
        rustix::termios::LocalModes::ISIG,
    ] {
        assert_eq!(
            after.local_modes.contains(flag),
            before.local_modes.contains(flag),
            "{flag:?} was not put back"
        );
    }
}
