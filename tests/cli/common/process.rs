//! `cred` as a plain `std::process` child, for tests that spawn several at
//! once, keep stdin open, or watch the process while it runs.

use std::process::Stdio;

use super::TestEnv;

/// `cred` as a `std::process::Command`, with the same sealed environment as
/// [`TestEnv::cmd`], for tests that spawn several at once or keep stdin open.
pub fn std_cmd(env: &TestEnv) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cred"));
    cmd.env_clear()
        .envs(env.sealed_env())
        .current_dir(env.dir.path());
    cmd
}

/// `cred add paymo --no-verify --api-key-stdin` as a running child with
/// piped stdin, stdout and stderr: the test writes the key (and may keep
/// stdin open to look at the process meanwhile).
pub fn spawn_add_reading_stdin(env: &TestEnv) -> std::process::Child {
    std_cmd(env)
        .args(["add", "paymo", "--no-verify", "--api-key-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `cred ARGS` as a running child (for tests that watch it while it runs),
/// with the sealed environment plus `vars`: stdin closed, stderr piped,
/// stdout as given.
pub fn spawn_cred(
    env: &TestEnv,
    vars: &[(&str, String)],
    args: &[&str],
    stdout: Stdio,
) -> std::process::Child {
    let mut cmd = std_cmd(env);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Starts `cmd` with stdout and stderr piped, writes `input` to its stdin
/// and closes it (for tests that start several at once, then wait).
pub fn spawn_with_stdin(cmd: &mut std::process::Command, input: &str) -> std::process::Child {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child
}

/// Peak resident memory of a running process, in KiB (`VmHWM`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Kills a child when dropped (a failing assertion must not leave it running).
pub struct Reap(pub Option<std::process::Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `PATH` with the directory of the `cred` under test first, for shells and
/// commands that run `cred` by name.
pub fn path_with_cred() -> String {
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_cred"))
        .parent()
        .unwrap()
        .to_owned();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Fails the test unless `program --version` runs. scripts/test.sh installs
/// every tool the tests use, so a missing one means a broken environment: a
/// test must say so, never pass without checking anything.
pub fn require_command(program: &str) {
    match std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`{program} --version` failed ({}): {}\nthis test needs {program} (scripts/test.sh installs it)",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "this test needs {program}, which scripts/test.sh installs, but it cannot be run: {e}"
        ),
    }
}
