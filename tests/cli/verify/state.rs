//! Check results are state, not configuration (SPEC §7): `verify` records
//! into `$XDG_STATE_HOME/cred/state.toml` and leaves a committed
//! config.toml byte-identical; the `last_check` an older cred wrote into
//! config.toml is still shown, and moves to state.toml on the next write.

use crate::common::*;

#[test]
fn verify_leaves_config_toml_byte_identical_and_records_the_result_as_state() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let before = std::fs::read(env.config_path()).unwrap();
    assert!(!String::from_utf8_lossy(&before).contains("last_check"));
    assert_eq!(last_check(&env, "paymo"), None);

    run_env(&env, &["verify", "paymo"], &[paymo_env(&server)]).ok();
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
    let (result, _) = last_check(&env, "paymo").expect("verify recorded its check");
    assert_eq!(result, "valid");
    let listed = json(&env.run(&["list", "--json"]));
    assert_eq!(listed[0]["last_check"]["result"], "valid", "{listed}");

    // XDG_STATE_HOME moves it.
    let elsewhere = env.home().join("state-here");
    run_env(
        &env,
        &["verify", "paymo"],
        &[
            paymo_env(&server),
            ("XDG_STATE_HOME", elsewhere.display().to_string()),
        ],
    )
    .ok();
    assert!(elsewhere.join("cred/state.toml").is_file());
    assert_eq!(std::fs::read(env.config_path()).unwrap(), before);
}

#[test]
fn an_older_configs_last_check_is_shown_then_moved_to_state() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let mut text = env.config_text();
    text.push_str(
        "\n[credentials.paymo.last_check]\nat = \"2026-01-01T00:00:00Z\"\nresult = \"valid\"\nmessage = \"Authenticated as Ada\"\n",
    );
    std::fs::write(env.config_path(), &text).unwrap();
    // Shown in local time, to the minute, with the zone.
    let helsinki = [("TZ", "EET-2".to_string())];
    let run = run_env(&env, &["show", "paymo"], &helsinki);
    run.ok();
    assert!(run.stdout.contains("valid 2026-01-01 02:00 EET"), "{run}");
    let created = run
        .stdout
        .lines()
        .find(|l| l.starts_with("created"))
        .unwrap_or_default();
    assert!(created.ends_with(" EET") && !created.contains('Z'), "{run}");
    let run = run_env(&env, &["list"], &helsinki);
    assert!(run.stdout.contains("valid 2026-01-01 02:00 EET"), "{run}");
    // --json keeps RFC 3339.
    let listed = json(&env.run(&["list", "--json"]));
    assert_eq!(listed[0]["last_check"]["at"], "2026-01-01T00:00:00Z");

    // The next write of the config moves it.
    env.add(
        &["paymo", "--name", "second", "--no-verify"],
        &secret("p2"),
        &[paymo_env(&server)],
    )
    .ok();
    assert!(
        !env.config_text().contains("last_check"),
        "{}",
        env.config_text()
    );
    assert_eq!(
        last_check(&env, "paymo"),
        Some(("valid".into(), "2026-01-01T00:00:00Z".into()))
    );
    let run = run_env(&env, &["show", "paymo"], &helsinki);
    assert!(run.stdout.contains("valid 2026-01-01 02:00 EET"), "{run}");
    // Removing a credential forgets its result too.
    env.run(&["remove", "paymo", "--yes"]).ok();
    assert_eq!(last_check(&env, "paymo"), None);
}

#[test]
fn results_that_cannot_be_recorded_say_so_with_the_write_as_the_cause() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    // XDG_STATE_HOME is a file: the state directory cannot be made.
    let blocked = env.home().join("not-a-dir");
    std::fs::write(&blocked, "").unwrap();
    let run = run_env(
        &env,
        &["verify", "paymo"],
        &[
            paymo_env(&server),
            ("XDG_STATE_HOME", blocked.display().to_string()),
        ],
    );
    run.code(1);
    assert_error_line(&run, "checked, but the results could not be recorded");
    assert!(
        run.stderr
            .contains("  cause: could not create the state directory"),
        "{run}"
    );
}
