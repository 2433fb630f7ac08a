//! `cred doctor` as a person reads it (issue 26): a store no credential
//! needs gets one quiet line and fails nothing, a store that fails is
//! named in the table and explained once (not twice), and counts read as
//! English ("1 credential", "2 credentials").

use crate::common::*;
use crate::file_store::{FileEnv, NO_BUS};

fn no_bus() -> (&'static str, String) {
    ("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string())
}

/// The lines of stdout that start with `store` (its status line).
fn status_lines<'a>(run: &'a Run, store: &str) -> Vec<&'a str> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with(&format!("{store} ")))
        .collect()
}

#[test]
fn an_unreachable_keychain_nothing_needs_is_one_quiet_line() {
    let env = TestEnv::new();
    let run = run_env(&env, &["doctor"], &[no_bus()]);
    run.ok();
    assert_eq!(
        status_lines(&run, "keychain"),
        [
            "keychain    unavailable, and no credential here needs it: cannot reach the OS keychain: no D-Bus session bus is reachable"
        ],
        "{run}"
    );
    assert!(!run.stdout.contains("cause:"), "{run}");
    assert!(!run.stderr.contains("cred: error:"), "{run}");
    let report = json(run_env(&env, &["doctor", "--json"], &[no_bus()]).ok());
    assert_eq!(report["stores"][0]["needed"], false, "{report}");
    assert_eq!(report["stores"][0]["ok"], false, "{report}");
}

#[test]
fn a_failing_store_that_is_needed_is_explained_once() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = run_env(&env, &["doctor"], &[no_bus()]);
    run.code(7);
    assert_eq!(
        status_lines(&run, "keychain"),
        ["keychain    unavailable (the error below says why)"],
        "{run}"
    );
    assert_eq!(
        run.all().matches("cannot reach the OS keychain").count(),
        1,
        "{run}"
    );
    assert_eq!(
        run.all().matches("cause: Platform failure").count(),
        1,
        "{run}"
    );
    assert_error_line(&run, "cannot reach the OS keychain");
    assert!(
        run.stdout.contains("config.toml: ok, 1 credential\n"),
        "{run}"
    );
}

#[test]
fn a_leftover_file_store_nothing_uses_is_one_line_whatever_its_state() {
    let f = FileEnv::new();
    let key = secret("left");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    // The credential moves to the keychain: secrets.age stays, empty.
    let with_bus = [("CRED_IDENTITY_FILE", f.identity.display().to_string())];
    run_env(&f.env, &["move", "paymo", "--store", "keychain"], &with_bus).ok();
    assert!(f.store().exists());
    add_generic_unchecked(&f.env, "http://127.0.0.1:9", &[]);
    // It opens (the identity is at hand) …
    let run = run_env(&f.env, &["doctor"], &with_bus);
    run.ok();
    assert_eq!(
        status_lines(&run, "file"),
        ["file        ok, and no credential here needs it"],
        "{run}"
    );
    assert!(run.stdout.contains("ok, 2 credentials"), "{run}");
    // … or nothing can open it: still one line, no failure, no section.
    let run = f.env.run(&["doctor"]);
    run.ok();
    let lines = status_lines(&run, "file");
    assert_eq!(lines.len(), 1, "{run}");
    assert!(
        lines[0].contains("and no credential here needs it"),
        "{run}"
    );
    assert!(!run.stdout.contains("secrets.age (mode"), "{run}");
    assert!(!run.stdout.contains("cause:"), "{run}");
    assert!(!run.stderr.contains("cred: error:"), "{run}");
    f.env.run(&["remove", "paymo", "--yes"]).ok();
    f.env.run(&["remove", "api", "--yes"]).ok();
}
