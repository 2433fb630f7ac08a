//! A fresh headless box: no OS keychain (no session bus). On a terminal
//! the first `cred add` offers the file store, goes on with it and records
//! `default_store = "file"`, so the next `add` asks nothing about it;
//! declining, or a store chosen on the command line, is today's exit 7
//! with its hints.

use super::unlock::{LockOnDrop, PASS, no_bus, store};
use super::*;

const OFFER: &str = "No OS keychain here. Keep the secret in an encrypted file";

#[test]
fn without_a_keychain_the_first_add_offers_the_file_store_and_remembers_it() {
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let key = secret("headless");
    let mut w = Wizard::start(
        &env,
        &["add", "paymo", "--no-verify", "--name", "paymo"],
        &[no_bus()],
    );
    w.expect("cannot reach the OS keychain");
    w.expect(&format!("? {OFFER} ({})", store(&env).display()));
    w.expect("protected by a passphrase?");
    w.send(ENTER); // the default: yes
    w.expect("Recorded default_store = \"file\"");
    w.expect("The file store is new");
    w.answer_hidden("New passphrase for the file store", PASS);
    w.answer_hidden("Repeat the passphrase", PASS);
    w.answer_hidden("API key", &key);
    w.expect("Stored `paymo`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("the key is in the file store"), "{seen}");
    assert!(!seen.contains(&key) && !seen.contains(PASS), "{seen}");
    let c = config(&env);
    assert_eq!(c["default_store"].as_str(), Some("file"));
    assert_eq!(c["credentials"]["paymo"]["store"].as_str(), Some("file"));
    assert!(store(&env).exists());

    // The next add asks nothing about the store (the unlock is kept).
    let other = secret("next");
    let mut w = Wizard::start(
        &env,
        &["add", "paymo", "--no-verify", "--name", "second"],
        &[no_bus()],
    );
    w.answer_hidden("API key", &other);
    w.expect("Stored `second`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(OFFER), "{seen}");
    assert!(!seen.contains("cannot reach the OS keychain"), "{seen}");
}

#[test]
fn declining_the_file_store_is_exit_7_with_the_hints() {
    let env = TestEnv::new();
    let mut w = Wizard::start(&env, &["add", "paymo", "--no-verify"], &[no_bus()]);
    w.expect(OFFER);
    w.send("n\r");
    let (code, seen) = w.finish();
    assert_eq!(code, 7, "{seen}");
    assert!(
        seen.contains("cred: error: cannot reach the OS keychain"),
        "{seen}"
    );
    assert!(seen.contains("--store file"), "{seen}");
    assert!(seen.contains("CRED_SECRET_<NAME>"), "{seen}");
    assert!(!seen.contains("? Name for this credential"), "{seen}");
    assert!(!env.config_path().exists() || !env.config_text().contains("default_store"));
    assert!(!store(&env).exists());

    // Without a terminal nothing is offered: exit 7 as before.
    let run = env.add(&["paymo", "--no-verify"], &secret("ci"), &[no_bus()]);
    run.code(7);
    assert_one_error(&run, "cannot reach the OS keychain");
    assert!(!run.stderr.contains(OFFER), "{run}");
    assert!(!store(&env).exists());
}
