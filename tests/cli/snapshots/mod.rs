//! Messages under snapshot (insta): what `cred` says to a person, checked
//! word for word instead of with `contains(…)`, which misses a changed
//! sentence. Each case runs the real binary in the sealed [`TestEnv`] and
//! keeps the command, the exit code, stdout and stderr in one `.snap` file
//! under `snapshots/` beside this module. Ports, temp paths, times, secrets
//! and the version are replaced by placeholders ([`settings`]).
//!
//! - `help.rs`: `--help` of every command and subcommand.
//! - `errors_*.rs`: every error that carries a hint, grouped by command.
//! - `doctor.rs`: doctor's report.
//! - `wizard.rs`: the wizard's guide text and menus, on a pseudo-terminal;
//!   `wizard_recovery.rs`: its recovery (menus after a failed check, an
//!   unknown instance, plain http, no keychain).
//!
//! After a deliberate change to a message, accept the new text and read it:
//!
//! ```sh
//! INSTA_UPDATE=always bash scripts/with-keyring.sh cargo test --test cli snapshots::
//! git diff tests/cli/snapshots/     # read every changed .snap before committing
//! ```
//!
//! Without `INSTA_UPDATE`, a mismatch fails the test (insta writes the new
//! text beside the old as `NAME.snap.new`; delete those); under CI
//! (`CI=true`) nothing is written and a mismatch or a missing snapshot
//! fails. A snapshot nothing asserts any more is not detected: delete its
//! file with the case.

use crate::common::*;

/// Snapshots `run`, a run of `cred ARGS`, as case `$name` of the calling
/// module (file `snapshots/<module path>__<name>.snap`).
macro_rules! assert_run {
    ($name:expr, $args:expr, $run:expr) => {{
        let text = $crate::snapshots::shown($args, &$run);
        $crate::snapshots::settings().bind(|| insta::assert_snapshot!($name, text));
    }};
}

/// Runs `cred ARGS` in `env` and snapshots the run as case `name`.
macro_rules! snap {
    ($name:expr, $env:expr, $args:expr) => {{
        let args: &[&str] = $args;
        let run = $env.run(args);
        assert_run!($name, args, run);
        run
    }};
    ($name:expr, $env:expr, $args:expr, $vars:expr) => {{
        let args: &[&str] = $args;
        let run = $crate::common::run_env($env, args, $vars);
        assert_run!($name, args, run);
        run
    }};
    ($name:expr, $env:expr, $args:expr, $vars:expr, stdin = $stdin:expr) => {{
        let args: &[&str] = $args;
        let run = $crate::snapshots::run_stdin($env, args, $vars, $stdin);
        assert_run!($name, args, run);
        run
    }};
}

mod doctor;
mod errors_add;
mod errors_call;
mod errors_config;
mod errors_exec;
mod errors_other;
mod errors_stores;
mod help;
mod wizard;
mod wizard_recovery;

/// The snapshot text of one run: the command, its exit code, stdout and
/// stderr.
pub fn shown(args: &[&str], run: &Run) -> String {
    let command: Vec<String> = args.iter().map(|a| quoted(a)).collect();
    format!(
        "$ cred {}\nexit: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        command.join(" "),
        run.code,
        with_newline(&run.stdout),
        with_newline(&run.stderr),
    )
}

fn with_newline(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n[no newline at the end]\n")
    }
}

/// `arg` as a shell would need it written.
fn quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c);
    if arg.chars().any(char::is_control) {
        // As bash's $'…' (a control character is shown, never sent).
        let shown: String = arg
            .chars()
            .map(|c| match c {
                '\'' | '\\' => format!("\\{c}"),
                c if c.is_control() => format!("\\x{:02x}", c as u32),
                c => c.to_string(),
            })
            .collect();
        format!("$'{shown}'")
    } else if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// insta's settings for these snapshots: the placeholders that make a run
/// comparable with the next.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_omit_expression(true);
    let tmp = regex_escape(
        &std::fs::canonicalize(std::env::temp_dir())
            .unwrap_or_else(|_| std::env::temp_dir())
            .display()
            .to_string(),
    );
    let tmp_plain = regex_escape(&std::env::temp_dir().display().to_string());
    for t in [&tmp, &tmp_plain] {
        // TestEnv's directory, then any other temp dir (tempfile's default).
        s.add_filter(&format!(r"{t}/cred-test\.[A-Za-z0-9]+"), "[ENV]");
        s.add_filter(&format!(r"{t}/\.tmp[A-Za-z0-9]+"), "[TMP]");
    }
    s.add_filter(r"127\.0\.0\.1:\d{5}\b", "127.0.0.1:[PORT]");
    s.add_filter(r"localhost:\d+", "localhost:[PORT]");
    s.add_filter(r"\[::1\]:\d+", "[::1]:[PORT]");
    // Times: timestamps, then measured durations.
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?(Z|UTC|[+-]\d{2}:?\d{2}))?",
        "[TIME]",
    );
    s.add_filter(r"\b\d+(\.\d+)? ?ms\b", "[DURATION]");
    s.add_filter(r"\b\d+\.\d\ds\b", "[SECS]");
    // The tests' secrets (common::secret), and random values cred makes.
    s.add_filter(r"sk-[A-Za-z0-9-]+?-\d+-\d+-Zq9xW7vT", "[SECRET]");
    s.add_filter(r"age1[02-9ac-hj-np-z]{58}", "[AGE-RECIPIENT]");
    s.add_filter(r"cpx_[A-Za-z0-9_-]+", "cpx_[TOKEN]");
    s.add_filter(
        &format!(r"\b{}\b", regex_escape(env!("CARGO_PKG_VERSION"))),
        "[VERSION]",
    );
    s
}

fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A config directory private to the user, with `config.toml` holding
/// `text` (for cases that need a credential but no store).
pub fn write_config(env: &TestEnv, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(env.config_path(), text).unwrap();
    std::fs::set_permissions(env.config_path(), std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// `cred ARGS` with extra environment variables and `stdin` as its input.
pub fn run_stdin(env: &TestEnv, args: &[&str], vars: &[(&str, String)], stdin: &str) -> Run {
    let stdin = stdin.to_string();
    env.run_with(args, |c| {
        c.write_stdin(stdin);
        for (k, v) in vars {
            c.env(k, v);
        }
    })
}
