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
