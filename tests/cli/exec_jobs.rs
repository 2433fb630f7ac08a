//! `cred exec` as a job (SPEC §2, §7 "exec"): Ctrl-Z suspends a masked
//! program on a terminal and `fg` resumes it as in a plain run; stdout and
//! stderr sent to one file keep their order; a program that is missing or
//! cannot be run exits 127 or 126 as shells say; SIGQUIT is passed on.

use std::process::Stdio;
use std::time::{Duration, Instant};

use rexpect::process::WaitStatus;
use rexpect::session::{Options, spawn_with_options};

use crate::common::*;

fn exec(env: &TestEnv, args: &[&str]) -> Run {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    env.run(&full)
}

/// A process's state letter (`S`, `R`, `T` for stopped…) and parent.
fn state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

/// Waits (15 s at most) until `pid` is in state `want`.
fn wait_for_state(pid: u32, want: char, what: &str) {
    let start = Instant::now();
    loop {
        let now = state(pid);
        if now.map(|(s, _)| s) == Some(want) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what} (pid {pid}) never reached state {want}: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctrl_z_suspends_a_masked_program_under_an_interactive_shell_and_fg_resumes_it() {
    let env = TestEnv::new();
    let key = add_paligo_for_exec(&env, "jobs");
    let go = env.home().join("go");
    let script = env.home().join("wait.py");
    std::fs::write(
        &script,
        format!(
            "import os, time\n\
             print('pid', os.getpid(), 'ready', os.environ['PALIGO_API_KEY'], flush=True)\n\
             while not os.path.exists('{}'):\n    time.sleep(0.02)\n\
             print('fin' + 'ished', flush=True)\n",
            go.display()
        ),
    )
    .unwrap();
    let mut bash = std::process::Command::new("bash");
    bash.args(["--norc", "--noprofile", "-i"])
        .env_clear()
        .envs(env.sealed_env())
        .env("PS1", "$ ")
        .env("TERM", "dumb")
        .env("CRED", env!("CARGO_BIN_EXE_cred"))
        .current_dir(env.home());
    let mut session = spawn_with_options(
        bash,
        Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    session.exp_string("$ ").unwrap();
    session
        .send_line(&format!(
            "\"$CRED\" exec paligo -- python3 {}",
            script.display()
        ))
        .unwrap();
    let (_, line) = session.exp_regex(r"pid \d+ ready [^\r\n]*").unwrap();
    assert!(line.ends_with("<concealed by cred>"), "{line:?}");
    assert!(!line.contains(&key), "{line}");
    let child: u32 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let (_, cred) = state(child).expect("the program runs");
    assert_eq!(
        std::fs::read_link(format!("/proc/{cred}/exe")).unwrap(),
        std::path::Path::new(env!("CARGO_BIN_EXE_cred")),
        "the program's parent is cred"
    );

    // Ctrl-Z: the program and cred stop, the shell says so and lists the
    // job as stopped.
    session.send("\x1a").unwrap();
    session.flush().unwrap();
    session.exp_string("Stopped").unwrap();
    wait_for_state(child, 'T', "the program");
    wait_for_state(cred, 'T', "cred");
    session.exp_string("$ ").unwrap();
    session.send_line("jobs").unwrap();
    let (_, listed) = session.exp_regex(r"\[1\]\+ +Stopped[^\r\n]*").unwrap();
    assert!(listed.contains("exec paligo"), "{listed}");

    // fg: both run again, and the program finishes with its status.
    session.exp_string("$ ").unwrap();
    session.send_line("fg").unwrap();
    wait_for_state(cred, 'S', "cred");
    let start = Instant::now();
    while state(child).is_some_and(|(s, _)| s == 'T') {
        assert!(start.elapsed() < Duration::from_secs(15), "still stopped");
        std::thread::sleep(Duration::from_millis(10));
    }

    // SIGTSTP sent to cred does the same.
    std::process::Command::new("kill")
        .args(["-TSTP", &cred.to_string()])
        .status()
        .unwrap();
    session.exp_string("Stopped").unwrap();
    wait_for_state(child, 'T', "the program");
    wait_for_state(cred, 'T', "cred");
    session.exp_string("$ ").unwrap();
    session.send_line("fg").unwrap();
    wait_for_state(cred, 'S', "cred");

    std::fs::write(&go, "").unwrap();
    session.exp_string("finished").unwrap();
    session.exp_string("$ ").unwrap();
    session.send_line("echo \"rc=$?\"").unwrap();
    session.exp_string("rc=0").unwrap();
    session.send_line("exit").unwrap();
    session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
}

/// Alternates 200 lines between stdout and stderr, flushing each, with the
/// key in one of them.
const ALTERNATING: &str = "import os, sys\n\
for i in range(200):\n    \
    s = sys.stdout if i % 2 == 0 else sys.stderr\n    \
    s.write('line %d%s\\n' % (i, ' ' + os.environ['PALIGO_API_KEY'] if i == 101 else ''))\n    \
    s.flush()\n";

#[test]
fn stdout_and_stderr_to_one_file_keep_their_order_and_their_masking() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "jobs");
    let expected: String = (0..200)
        .map(|i| {
            if i == 101 {
                format!("line {i} <concealed by cred>\n")
            } else {
                format!("line {i}\n")
            }
        })
        .collect();
    let path = env.home().join("both");
    for _ in 0..5 {
        // `> both 2>&1`: one open file for both.
        let file = std::fs::File::create(&path).unwrap();
        let status = std_cmd(&env)
            .args(["exec", "paligo", "--", "python3", "-c", ALTERNATING])
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .status()
            .unwrap();
        assert!(status.success(), "{status:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    }
    // Two files: each gets its own lines.
    let out = env.home().join("out");
    let err = env.home().join("err");
    let status = std_cmd(&env)
        .args(["exec", "paligo", "--", "python3", "-c", ALTERNATING])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let lines = |even: bool| -> String {
        expected
            .lines()
            .enumerate()
            .filter(|(i, _)| (i % 2 == 0) == even)
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    };
    assert_eq!(std::fs::read_to_string(&out).unwrap(), lines(true));
    assert_eq!(std::fs::read_to_string(&err).unwrap(), lines(false));
}

#[test]
fn a_missing_program_exits_127_and_one_that_cannot_run_126() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "jobs");
    let run = exec(&env, &["paligo", "--", "no-such-program-here"]);
    run.code(127);
    assert_one_error(
        &run,
        "could not run `no-such-program-here`: command not found",
    );
    assert!(run.stderr.contains("hint: "), "{run}");
    let missing = env.home().join("nowhere/prog");
    let run = exec(&env, &["paligo", "--", missing.to_str().unwrap()]);
    run.code(127);
    assert_one_error(&run, "could not run `");

    let script = env.home().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = exec(&env, &["paligo", "--", script.to_str().unwrap()]);
    run.code(126);
    assert_one_error(
        &run,
        &format!("could not run `{}`: it is not executable", script.display()),
    );
    assert!(run.stderr.contains("chmod +x"), "{run}");
    assert!(!run.stdout.contains("ran"), "{run}");

    let dir = env.home();
    let run = exec(&env, &["paligo", "--", dir.to_str().unwrap()]);
    run.code(126);
    assert_one_error(
        &run,
        &format!("could not run `{}`: it is a directory", dir.display()),
    );
}

#[test]
fn sigquit_to_cred_reaches_the_program() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "jobs");
    let marker = env.home().join("got-quit");
    let ready = env.home().join("ready");
    let program = format!(
        "import signal, sys, time\n\
         def bye(*_):\n    open('{}', 'w').write('quit'); sys.exit(7)\n\
         signal.signal(signal.SIGQUIT, bye)\n\
         open('{}', 'w').write('ready')\n\
         time.sleep(30)\n",
        marker.display(),
        ready.display()
    );
    let mut child = std_cmd(&env)
        .args(["exec", "paligo", "--", "python3", "-c", &program])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the program never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7), "{status:?}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "quit");
}

#[test]
fn ctrl_c_at_the_terminal_reaches_a_program_with_piped_output_once() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "jobs");
    let count = env.home().join("count");
    let go = env.home().join("go");
    let script = env.home().join("count.py");
    std::fs::write(
        &script,
        format!(
            "import os, signal, sys, time\n\
             n = 0\n\
             def got(*_):\n    global n\n    n += 1\n    open('{0}', 'w').write(str(n))\n\
             signal.signal(signal.SIGINT, got)\n\
             sys.stderr.write('ready\\n'); sys.stderr.flush()\n\
             while not os.path.exists('{1}'):\n    time.sleep(0.01)\n",
            count.display(),
            go.display()
        ),
    )
    .unwrap();
    // Output to a file, so no pseudo-terminal: the program shares cred's
    // process group, which the terminal's Ctrl-C reaches as a whole.
    let mut sh = std::process::Command::new("sh");
    sh.args([
        "-c",
        &format!(
            "exec \"$CRED\" exec paligo -- python3 '{}' > '{}'",
            script.display(),
            env.home().join("out").display()
        ),
    ])
    .env_clear()
    .envs(env.sealed_env())
    .env("CRED", env!("CARGO_BIN_EXE_cred"))
    .current_dir(env.home());
    let mut session = spawn_with_options(
        sh,
        Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    session.exp_string("ready").unwrap();
    let read = || std::fs::read_to_string(&count).unwrap_or_default();
    for n in 1..=3 {
        session.send("\x03").unwrap();
        session.flush().unwrap();
        let start = Instant::now();
        while read().is_empty() || read() == (n - 1).to_string() {
            assert!(start.elapsed() < Duration::from_secs(15), "no SIGINT");
            std::thread::sleep(Duration::from_millis(10));
        }
        // A second copy, passed on by cred, would follow within this.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(read(), n.to_string(), "Ctrl-C number {n}");
    }
    std::fs::write(&go, "").unwrap();
    session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
}

/// `cred` in /proc running under the test's config dir.
fn cred_pid(env: &TestEnv) -> u32 {
    let start = Instant::now();
    loop {
        let found = std::fs::read_dir("/proc").unwrap().flatten().find(|e| {
            std::fs::read_link(e.path().join("exe"))
                .is_ok_and(|p| p == std::path::Path::new(env!("CARGO_BIN_EXE_cred")))
                && std::fs::read(e.path().join("environ")).is_ok_and(|v| {
                    let marker = format!("CRED_CONFIG_DIR={}\0", env.config_dir().display());
                    v.windows(marker.len()).any(|w| w == marker.as_bytes())
                })
        });
        if let Some(e) = found {
            return e.file_name().to_string_lossy().parse().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no cred in /proc"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctrl_z_does_nothing_to_a_program_that_ignores_it_as_in_a_plain_run() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "jobs");
    let program = "import signal\n\
                   signal.signal(signal.SIGTSTP, signal.SIG_IGN)\n\
                   line = input('ready? ')\n\
                   print('got', line, flush=True)\n";
    let mut cmd = std_cmd(&env);
    cmd.args(["exec", "paligo", "--", "python3", "-c", program])
        .env("TERM", "dumb");
    let mut session = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    session.exp_string("ready? ").unwrap();
    let cred = cred_pid(&env);
    session.send("\x1a").unwrap();
    session.flush().unwrap();
    // Typed after the key: the program still reads them.
    session.send("go\r").unwrap();
    session.flush().unwrap();
    session.exp_string("got go").unwrap();
    assert_ne!(state(cred).map(|(s, _)| s), Some('T'), "cred stopped");
    session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
}

#[test]
fn a_shell_run_under_cred_keeps_its_own_job_control() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "jobs");
    let mut cmd = std_cmd(&env);
    cmd.args([
        "exec",
        "paligo",
        "--",
        "bash",
        "--norc",
        "--noprofile",
        "-i",
    ])
    .env("TERM", "dumb")
    .env("PS1", "inner$ ");
    let mut session = spawn_with_options(
        cmd,
        Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    session.exp_string("inner$ ").unwrap();
    let cred = cred_pid(&env);
    // At the inner shell's prompt, Ctrl-Z does nothing.
    session.send("\x1a").unwrap();
    session.flush().unwrap();
    session.send_line("echo still-$((40+2))").unwrap();
    session.exp_string("still-42").unwrap();
    assert_ne!(state(cred).map(|(s, _)| s), Some('T'), "cred stopped");
    // A job of the inner shell is stopped by the inner shell, not cred.
    session.exp_string("inner$ ").unwrap();
    session.send_line("sleep 30").unwrap();
    // Once the inner shell's job runs (its child is `sleep`).
    let children = |parent: u32| -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|&pid| state(pid).is_some_and(|(_, p)| p == parent))
            .collect()
    };
    let start = Instant::now();
    while !children(cred).into_iter().any(|bash| {
        children(bash).into_iter().any(|c| {
            std::fs::read_to_string(format!("/proc/{c}/comm")).is_ok_and(|n| n.trim() == "sleep")
        })
    }) {
        assert!(start.elapsed() < Duration::from_secs(15), "no sleep");
        std::thread::sleep(Duration::from_millis(10));
    }
    session.send("\x1a").unwrap();
    session.flush().unwrap();
    session.exp_string("Stopped").unwrap();
    assert_ne!(state(cred).map(|(s, _)| s), Some('T'), "cred stopped");
    session.exp_string("inner$ ").unwrap();
    session
        .send_line("kill -CONT %1; kill %1; wait; exit 3")
        .unwrap();
    session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 3)), "{status:?}");
}
