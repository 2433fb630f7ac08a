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
