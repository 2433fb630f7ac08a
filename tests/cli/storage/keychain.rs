//! Storage: the keychain: unreachable (exit 7, no config written), an entry
//! that went missing (pointing to `cred rotate`), and entries kept apart
//! per config directory.

use crate::common::*;

const NO_BUS: &str = "unix:path=/nonexistent/bus";

#[test]
fn unreachable_keychain_exits_7_and_writes_no_config() {
    let env = TestEnv::new();
    let key = secret("nobus");
    let run = env.run_with(&["add", "paymo", "--no-verify", "--api-key-stdin"], |c| {
        c.write_stdin(key.clone());
        c.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
    });
    run.code(7);
    assert_one_error(&run, "cannot reach the OS keychain: no D-Bus session bus");
    assert!(run.stderr.contains("\nhint: "), "{run}");
    assert!(
        !env.config_text().contains("paymo"),
        "config written: {}",
        env.config_text()
    );
    assert!(!run.all().contains(&key));

    // `secret` says the same; `list` reads the config only and still works.
    env.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let no_bus = |args: &[&str]| {
        env.run_with(args, |c| {
            c.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
        })
    };
    let secret_run = no_bus(&["secret", "paymo"]);
    secret_run.code(7);
    assert_one_error(&secret_run, "cannot reach the OS keychain");
    let list = no_bus(&["list"]);
    list.ok();
    assert!(list.stdout.contains("paymo"), "{list}");
}

#[test]
fn missing_keychain_entry_points_to_rotate() {
    let env = TestEnv::new();
    env.add(
        &["paymo", "--no-verify", "--name", "work"],
        &secret("gone"),
        &[],
    )
    .ok();
    keychain_clear(&env, "work");
    let run = env.run(&["secret", "work"]);
    run.code(1);
    assert_one_error(&run, "credential `work` has no secret in the OS keychain");
    assert!(
        run.stderr.contains("hint:") && run.stderr.contains("cred rotate work"),
        "{run}"
    );
    assert_eq!(run.stdout, "");
    let show = env.run(&["show", "work"]);
    show.code(1);
    assert!(show.all().contains("cred rotate work"), "{show}");
}

#[test]
fn config_dirs_do_not_share_keychain_entries() {
    let one = TestEnv::new();
    let two = TestEnv::new();
    let (k1, k2) = (secret("one"), secret("two"));
    one.add(&["paymo", "--no-verify"], &k1, &[]).ok();
    // The same config in another directory has no secret there.
    std::fs::create_dir_all(two.config_dir()).unwrap();
    std::fs::copy(one.config_path(), two.config_path()).unwrap();
    let run = two.run(&["secret", "paymo"]);
    run.code(1);
    assert!(run.stderr.contains("cred rotate paymo"), "{run}");
    // Storing under the same name in the second dir leaves the first alone.
    two.add(&["paymo", "--no-verify", "--force"], &k2, &[]).ok();
    assert_eq!(one.run(&["secret", "paymo"]).stdout, format!("{k1}\n"));
    assert_eq!(two.run(&["secret", "paymo"]).stdout, format!("{k2}\n"));
    two.run(&["remove", "paymo", "--yes"]).ok();
    assert_eq!(one.run(&["secret", "paymo"]).stdout, format!("{k1}\n"));
}
