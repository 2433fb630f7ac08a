//! Storage: the config file: one that does not parse is reported by every
//! command and never overwritten, and a write that fails halfway through
//! `add` or `remove` leaves nothing half done.

use crate::common::*;

#[test]
fn broken_config_is_reported_by_every_command_and_never_overwritten() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let broken = "# hand edited\n[credentials.x]\nprovider = \"paymo\"\ndescription = = \"oops\"\n";
    std::fs::write(env.config_path(), broken).unwrap();
    let before = std::fs::read(env.config_path()).unwrap();
    let expected = format!(
        "cannot parse {} at line 4, column 15",
        env.config_path().display()
    );
    let key = secret("broken");
    let commands: &[&[&str]] = &[
        &["list"],
        &["list", "--json"],
        &["show", "x"],
        &["secret", "x"],
        &[
            "add",
            "paymo",
            "--name",
            "y",
            "--no-verify",
            "--api-key-stdin",
        ],
        &["rotate", "x", "--no-verify", "--api-key-stdin"],
        &["remove", "x", "--yes"],
        &["verify", "--all"],
        &["call", "x", "/"],
    ];
    for args in commands {
        let run = env.run_with(args, |c| {
            c.write_stdin(key.clone());
        });
        run.code(1);
        assert_one_error(&run, &expected);
        assert!(run.stderr.contains("hint:"), "{run}");
        assert_eq!(
            std::fs::read(env.config_path()).unwrap(),
            before,
            "`cred {}` changed the broken file",
            args.join(" ")
        );
    }
    assert_eq!(
        keychain_lookup(&env, "y"),
        None,
        "add stored a secret anyway"
    );
}

// ---------------------------------------------------------------------------
// Nothing half done.

const FAIL_WRITE: (&str, &str) = ("CRED_TEST_FAIL_CONFIG_WRITE", "1");

fn failing_write() -> [(&'static str, String); 1] {
    [(FAIL_WRITE.0, FAIL_WRITE.1.to_string())]
}

#[test]
fn failed_config_write_leaves_no_orphan_secret() {
    let env = TestEnv::new();
    let key = secret("orphan");
    let run = env.add(
        &["paymo", "--no-verify", "--name", "work"],
        &key,
        &failing_write(),
    );
    run.code(1);
    assert_one_error(
        &run,
        &format!("could not write {}", env.config_path().display()),
    );
    assert!(run.stderr.contains("simulated failure"), "{run}");
    assert_eq!(
        keychain_lookup(&env, "work"),
        None,
        "orphan secret in the keychain"
    );
    assert!(!env.config_text().contains("work"));
    assert!(!run.all().contains(&key));
}

#[test]
fn failed_forced_replace_restores_the_old_secret() {
    let env = TestEnv::new();
    let old = secret("old");
    env.add(
        &["paymo", "--no-verify", "--description", "old one"],
        &old,
        &[],
    )
    .ok();
    let config_before = std::fs::read(env.config_path()).unwrap();
    let new = secret("new");
    let run = env.add(
        &[
            "paymo",
            "--no-verify",
            "--force",
            "--description",
            "new one",
        ],
        &new,
        &failing_write(),
    );
    run.code(1);
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*old));
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{old}\n"));
    assert_eq!(std::fs::read(env.config_path()).unwrap(), config_before);
}

#[test]
fn failed_config_write_during_remove_keeps_the_credential_usable() {
    let env = TestEnv::new();
    let key = secret("keep");
    env.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let run = run_env(&env, &["remove", "paymo", "--yes"], &failing_write());
    run.code(1);
    assert_one_error(&run, "could not write");
    // The config still names it, so its secret must still be there.
    assert!(env.config_text().contains("[credentials.paymo]"));
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{key}\n"));
}

#[test]
fn a_failed_config_write_after_rotate_puts_the_old_secret_back() {
    let env = TestEnv::new();
    let old = secret("old");
    env.add(&["paymo", "--no-verify"], &old, &[]).ok();
    let new = secret("new");
    let mut args = vec![("CRED_API_KEY", new.clone())];
    args.extend(failing_write());
    let run = run_env(&env, &["rotate", "paymo", "--no-verify"], &args);
    run.code(1);
    assert!(
        run.stderr
            .contains("the old secret was put back; nothing was changed"),
        "{run}"
    );
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*old));
}

#[test]
fn a_credential_removed_while_rotate_checks_is_not_rotated_back() {
    let server = Server::start(|_| Reply::json(200, "{}").delay(std::time::Duration::from_secs(2)));
    let env = TestEnv::new();
    let old = secret("old");
    env.add(
        &[
            "generic",
            "--name",
            "api",
            "--no-verify",
            "--base-url",
            &format!("{}/v1", server.url()),
        ],
        &old,
        &[],
    )
    .ok();
    let new = secret("new");
    let mut rotate = std_cmd(&env);
    rotate
        .args(["rotate", "api"])
        .env("CRED_API_KEY", &new)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let rotate = rotate.spawn().unwrap();
    // While the new key is being checked (the server holds its answer for
    // 2 s; the loop is a hang guard), the credential is removed.
    let start = std::time::Instant::now();
    while server.count() == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "rotate sent no check"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    env.run(&["remove", "api", "--yes"]).ok();
    let out = rotate.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`api` was removed while its new key was checked"),
        "{stderr}"
    );
    assert!(!stderr.contains("Rotated"), "{stderr}");
    // No orphan: neither key is left in the keychain.
    assert_eq!(keychain_lookup(&env, "api"), None);
    assert!(!env.config_text().contains("[credentials.api]"));
}
