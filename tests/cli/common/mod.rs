//! Shared helpers of the integration tests, each defined once.
//!
//! This file: [`TestEnv`], a sealed test environment (its own config dir and
//! HOME, a cleared environment: only PATH, the test keyring's D-Bus address
//! and a locale pass through) with helpers to run `cred` and to check what
//! it printed. The other files: the loopback HTTP [`Server`] (`server.rs`),
//! the real keychain (`keychain.rs`), `cred` as a plain child process
//! (`process.rs`), credentials stored the usual ways and what was stored
//! (`creds.rs`), leak checks (`leaks.rs`) and generated bodies for streaming
//! (`bodies.rs`).

#![allow(dead_code)]

mod bao;
mod bodies;
mod creds;
mod keychain;
mod leaks;
mod process;
mod server;

pub use bao::*;
pub use bodies::*;
pub use creds::*;
pub use keychain::*;
pub use leaks::*;
pub use process::*;
pub use server::*;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

/// The output of one run of `cred`.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> Self {
        TestEnv {
            dir: tempfile::Builder::new()
                .prefix("cred-test.")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn config_path(&self) -> PathBuf {
        self.config_dir().join("config.toml")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap_or_default()
    }

    /// `cred` with a sealed environment. Requires the test keyring unless
    /// the caller removes DBUS_SESSION_BUS_ADDRESS on purpose.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("cred").unwrap();
        cmd.env_clear()
            .envs(self.sealed_env())
            .current_dir(self.dir.path());
        cmd
    }

    /// The whole environment `cred` runs with: nothing else passes through.
    pub fn sealed_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", self.home().into()),
            ("CRED_CONFIG_DIR", self.config_dir().into()),
            ("LANG", "C.UTF-8".into()),
            ("NO_PROXY", "*".into()),
            ("DBUS_SESSION_BUS_ADDRESS", bus_address().into()),
        ]
    }

    /// Runs `cred ARGS` with no stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, |_| {})
    }

    /// Runs `cred ARGS`, letting the caller adjust the command (env, stdin).
    pub fn run_with(&self, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = self.cmd();
        cmd.args(args);
        cmd.write_stdin("");
        adjust(&mut cmd);
        cmd.timeout(Duration::from_secs(120));
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Adds a credential non-interactively with the key on stdin.
    pub fn add(&self, args: &[&str], key: &str, extra_env: &[(&str, String)]) -> Run {
        let mut full = vec!["add"];
        full.extend_from_slice(args);
        full.push("--api-key-stdin");
        let key = key.to_string();
        let env: Vec<(String, String)> = extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.run_with(&full, move |c| {
            c.write_stdin(key);
            for (k, v) in env {
                c.env(k, v);
            }
        })
    }

    /// Every file under the config dir, with its bytes (for leak checks).
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
}

/// A unique, recognisable secret for leak checks.
pub fn secret(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "sk-{tag}-{}-{}-Zq9xW7vT",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The `Authorization: Basic` value for user:password.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `cred ARGS` with extra environment variables.
pub fn run_env(env: &TestEnv, args: &[&str], extra: &[(&str, String)]) -> Run {
    env.run_with(args, |c| {
        for (k, v) in extra {
            c.env(k, v);
        }
    })
}

/// Parses stdout as JSON, failing with the whole run on error.
pub fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{run}"))
}

/// Exactly one `cred: error:` line, and it starts with `message`; progress
/// lines (a check's "Checking…", warnings) may come before it.
pub fn assert_error_line(run: &Run, message: &str) {
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("cred: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one error line expected\n{run}");
    assert!(
        errors[0].starts_with(&format!("cred: error: {message}")),
        "the error line should start with `cred: error: {message}`\n{run}"
    );
}

/// stderr starts with `cred: error: {starts_with}`, and has no other error
/// line (bad input is refused before anything else is printed).
pub fn assert_one_error(run: &Run, starts_with: &str) {
    assert!(
        run.stderr
            .starts_with(&format!("cred: error: {starts_with}")),
        "stderr should start with `cred: error: {starts_with}`\n{run}"
    );
    assert_eq!(
        run.stderr.matches("cred: error:").count(),
        1,
        "exactly one error line expected\n{run}"
    );
}
