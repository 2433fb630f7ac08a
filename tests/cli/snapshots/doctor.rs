//! `cred doctor`: its report in the usual states: nothing yet, healthy
//! credentials in each store, entries without a credential, a duplicate,
//! a missing secret, and no keychain at all.

use crate::common::*;
use crate::file_store::FileEnv;

#[test]
fn doctor_with_nothing_yet() {
    let env = TestEnv::new();
    snap!("empty", &env, &["doctor"]);
}

#[test]
fn doctor_with_healthy_credentials() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_checked(&env, &server);
    add_generic_unchecked(&env, &server.url(), &[]);
    snap!("healthy", &env, &["doctor"], &[paymo_env(&server)]);
}

#[test]
fn doctor_finds_orphans_duplicates_and_missing_secrets() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    add_generic_unchecked(&env, &server.url(), &[]);
    // An entry whose credential is gone from config.toml.
    secret_tool_store("cred", &account(&env, "gone"), "orphan key");
    // A second entry for `paymo`, from another client.
    secret_tool_store("cred", &account(&env, "paymo"), "another key");
    // No entry at all for `api`.
    keychain_clear(&env, "api");
    snap!("problems", &env, &["doctor"], &[paymo_env(&server)]);
}

#[test]
fn doctor_without_a_keychain() {
    let env = TestEnv::new();
    snap!(
        "no_keychain",
        &env,
        &["doctor"],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/bus".to_string()
        )]
    );
}

#[test]
fn doctor_with_the_file_store() {
    let fs = FileEnv::new();
    fs.add(&["paymo", "--no-verify"], &secret("file"), &[]).ok();
    snap!("file_store", &fs.env, &["doctor"], &fs.vars(&[]));
}

#[test]
fn doctor_finds_a_missing_secret() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    keychain_clear(&env, "paymo");
    snap!("missing_secret", &env, &["doctor"], &[paymo_env(&server)]);
}
