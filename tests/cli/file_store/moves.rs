//! `cred move NAME --store STORE` between the real keychain and the file
//! store: the secret arrives, reads back, the config follows, and no copy
//! is left behind; a move that cannot finish leaves the original in place.

use super::*;

fn vars(f: &FileEnv) -> Vec<(&'static str, String)> {
    vec![("CRED_IDENTITY_FILE", f.identity.display().to_string())]
}

#[test]
fn move_keychain_to_file_and_back_keeps_the_secret_and_no_copy() {
    let f = FileEnv::new();
    let key = secret("mover");
    f.env.add(&["paymo", "--no-verify"], &key, &vars(&f)).ok();
    assert_eq!(
        keychain_lookup(&f.env, "paymo").as_deref(),
        Some(key.as_str())
    );

    let run = run_env(&f.env, &["move", "paymo", "--store", "file"], &vars(&f));
    run.ok();
    assert!(
        run.stderr
            .contains("Moved `paymo` from the OS keychain to the file store"),
        "{run}"
    );
    assert_no_leak(&run, &key_forms(&key, None));
    assert_eq!(
        keychain_lookup(&f.env, "paymo"),
        None,
        "a copy stayed in the keychain"
    );
    assert!(f.env.config_text().contains("store = \"file\""));
    assert!(f.age_decrypt().contains(&key));
    // Served from the file store, with no keychain at all.
    let run = f.run(&["secret", "paymo"], &[]);
    assert_eq!(run.stdout, format!("{key}\n"), "{run}");

    let run = run_env(&f.env, &["move", "paymo", "--store", "keychain"], &vars(&f));
    run.ok();
    assert_eq!(
        keychain_lookup(&f.env, "paymo").as_deref(),
        Some(key.as_str())
    );
    assert!(
        !f.age_decrypt().contains(&key),
        "a copy stayed in the file store"
    );
    assert!(
        !f.env.config_text().contains("store ="),
        "{}",
        f.env.config_text()
    );
    assert_eq!(stored_secret(&f.env, "paymo"), key);
    f.env.run(&["remove", "paymo", "--yes"]).ok();
}

#[test]
fn a_move_that_cannot_finish_leaves_the_original() {
    let f = FileEnv::new();
    let key = secret("stays");
    f.env.add(&["paymo", "--no-verify"], &key, &vars(&f)).ok();
    let config = f.env.config_text();
    // The file store cannot be opened: nothing moves.
    chmod(&f.identity, 0o644);
    let run = run_env(&f.env, &["move", "paymo", "--store", "file"], &vars(&f));
    run.code(7);
    assert_eq!(
        keychain_lookup(&f.env, "paymo").as_deref(),
        Some(key.as_str())
    );
    assert_eq!(f.env.config_text(), config);
    assert!(!f.store().exists());
    // The config cannot be written: the new copy is taken out again.
    chmod(&f.identity, 0o600);
    let mut v = vars(&f);
    v.push(("CRED_TEST_FAIL_CONFIG_WRITE", "1".into()));
    let run = run_env(&f.env, &["move", "paymo", "--store", "file"], &v);
    run.code(1);
    assert!(
        run.stderr.contains("the new copy was taken out again"),
        "{run}"
    );
    assert_eq!(
        keychain_lookup(&f.env, "paymo").as_deref(),
        Some(key.as_str())
    );
    assert_eq!(f.env.config_text(), config);
    assert!(!f.age_decrypt().contains(&key));
    f.env.run(&["remove", "paymo", "--yes"]).ok();
}

#[test]
fn move_takes_store_args_as_add_does_but_not_cred_store() {
    let env = TestEnv::new();
    // CRED_STORE is add's default store, not where a move goes.
    let run = run_env(&env, &["move", "paymo"], &[("CRED_STORE", "file".into())]);
    run.code(2);
    assert_one_error(
        &run,
        "the following required arguments were not provided: --store <STORE>",
    );
    // The one --vault-mount rule of add and move.
    for args in [
        &["move", "paymo", "--store", "file", "--vault-mount", "kv"][..],
        &["add", "paymo", "--store", "file", "--vault-mount", "kv"][..],
    ] {
        let run = env.run(args);
        run.code(2);
        assert_one_error(
            &run,
            "--vault-mount applies to the vault store, not the file store",
        );
        assert!(
            run.stderr
                .contains("hint: add --store vault, or leave --vault-mount out"),
            "{run}"
        );
    }
    assert!(!env.config_path().exists());
}
