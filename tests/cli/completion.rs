//! Shell completion in real bash, zsh and fish: the committed scripts in
//! `completions/` are loaded into the shell, which asks `cred` for
//! candidates. Names come from the config only: completion works with the
//! keychain unreachable.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

/// A config dir with two stored credentials (added without a check).
fn env_with_names() -> TestEnv {
    let env = TestEnv::new();
    env.add(
        &["paymo", "--name", "alpha-docs", "--no-verify"],
        &secret("c"),
        &[],
    )
    .ok();
    env.add(
        &[
            "generic",
            "--name",
            "beta-api",
            "--no-verify",
            "--base-url",
            "https://api.example.com",
        ],
        &secret("c"),
        &[],
    )
    .ok();
    env
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(name)
}

/// Runs a shell snippet with `cred` on PATH and the keychain unreachable.
fn shell(env: &TestEnv, program: &str, args: &[&str], code: &str) -> Vec<String> {
    let out = Command::new(program)
        .args(args)
        .arg(code)
        .env_clear()
        .env("PATH", path_with_cred())
        .env("HOME", env.home())
        .env("CRED_CONFIG_DIR", env.config_dir())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("TERM", "dumb")
        .output()
        .unwrap_or_else(|e| panic!("{program} is installed by scripts/test.sh: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{program} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn bash(env: &TestEnv, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let code = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_TYPE=9\n_clap_complete_cred cred '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script("cred.bash").display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    shell(env, "bash", &["--norc", "--noprofile", "-c"], &code)
}

fn zsh(env: &TestEnv, words: &[&str]) -> Vec<String> {
    // compdef and _describe belong to the completion system; capture what
    // the script hands to _describe (the candidates, "value:description").
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let code = format!(
        "compdef() {{ :; }}\n_describe() {{ print -l -- \"${{(@P)${{@[-1]}}}}\" }}\nsource '{}'\nwords=({})\nCURRENT={}\n_clap_dynamic_completer_cred",
        script("_cred").display(),
        quoted.join(" "),
        words.len(),
    );
    shell(env, "zsh", &["-f", "-c"], &code)
        .into_iter()
        .map(|l| l.split(':').next().unwrap_or("").to_string())
        .collect()
}

fn fish(env: &TestEnv, line: &str) -> Vec<String> {
    let code = format!(
        "source '{}'; complete --do-complete '{line}'",
        script("cred.fish").display()
    );
    shell(env, "fish", &["--no-config", "-c"], &code)
        .into_iter()
        .map(|l| l.split('\t').next().unwrap_or("").to_string())
        .collect()
}

fn assert_has(got: &[String], want: &[&str], context: &str) {
    for w in want {
        assert!(
            got.iter().any(|g| g == w),
            "{context}: `{w}` missing from {got:?}"
        );
    }
}

#[test]
fn bash_completes_commands_names_and_providers() {
    let env = env_with_names();
    assert_eq!(bash(&env, &["cred", "sh"]), vec!["show"]);
    let names = bash(&env, &["cred", "show", ""]);
    assert_has(&names, &["alpha-docs", "beta-api"], "bash: cred show <Tab>");
    assert_has(
        &bash(&env, &["cred", "add", ""]),
        &["paligo", "paymo", "generic"],
        "bash: cred add <Tab>",
    );
    assert_has(
        &bash(&env, &["cred", "call", "alpha-docs", ""]),
        &["GET", "POST", "DELETE"],
        "bash: methods",
    );
    assert_eq!(bash(&env, &["cred", "remove", "al"]), vec!["alpha-docs"]);
}

#[test]
fn zsh_completes_commands_names_and_providers() {
    let env = env_with_names();
    assert_eq!(zsh(&env, &["cred", "sh"]), vec!["show"]);
    assert_has(
        &zsh(&env, &["cred", "show", ""]),
        &["alpha-docs", "beta-api"],
        "zsh: cred show <Tab>",
    );
    assert_has(
        &zsh(&env, &["cred", "add", ""]),
        &["paligo", "paymo", "generic"],
        "zsh: cred add <Tab>",
    );
}

#[test]
fn fish_completes_commands_names_and_providers() {
    let env = env_with_names();
    assert_eq!(fish(&env, "cred sh"), vec!["show"]);
    assert_has(
        &fish(&env, "cred show "),
        &["alpha-docs", "beta-api"],
        "fish: cred show <Tab>",
    );
    assert_has(
        &fish(&env, "cred add "),
        &["paligo", "paymo", "generic"],
        "fish: cred add <Tab>",
    );
    assert_has(
        &fish(&env, "cred verify "),
        &["alpha-docs", "beta-api"],
        "fish: cred verify <Tab>",
    );
}

#[test]
fn completions_command_prints_the_committed_scripts() {
    let env = TestEnv::new();
    for (shell, file) in [
        ("bash", "cred.bash"),
        ("zsh", "_cred"),
        ("fish", "cred.fish"),
    ] {
        let out = env.run(&["completions", shell]);
        out.ok();
        assert_eq!(
            out.stdout,
            std::fs::read_to_string(script(file)).unwrap(),
            "{shell}"
        );
    }
}

#[test]
fn a_config_dir_typed_on_the_line_is_the_one_completed_from() {
    // CRED_CONFIG_DIR names one directory; --config-dir on the line another.
    let env = env_with_names();
    let other = TestEnv::new();
    other
        .add(
            &["paymo", "--name", "gamma-ops", "--no-verify"],
            &secret("c"),
            &[],
        )
        .ok();
    let dir = other.config_dir();
    let dir = dir.to_str().unwrap();
    let got = bash(&env, &["cred", "--config-dir", dir, "show", ""]);
    assert_has(&got, &["gamma-ops"], "bash: --config-dir DIR show <Tab>");
    assert!(!got.iter().any(|g| g == "alpha-docs"), "{got:?}");
    let got = bash(&env, &["cred", "call", &format!("--config-dir={dir}"), ""]);
    assert_has(&got, &["gamma-ops"], "bash: call --config-dir=DIR <Tab>");
    let got = fish(&env, &format!("cred --config-dir {dir} verify "));
    assert_has(&got, &["gamma-ops"], "fish: --config-dir DIR verify <Tab>");
    assert!(!got.iter().any(|g| g == "beta-api"), "{got:?}");
    // Without it, the environment's directory as before.
    assert_has(
        &bash(&env, &["cred", "show", ""]),
        &["alpha-docs"],
        "bash: env dir",
    );
}
