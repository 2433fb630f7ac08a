//! config.toml and the config directory: the errors with a hint when the
//! file cannot be read or trusted, holds what cred refuses, or names no
//! such credential; and a credential whose config now points elsewhere.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

use super::write_config;

const GENERIC: &str = "[credentials.api]\nprovider = \"generic\"\nbase_url = \"https://api.example.com\"\n\
     placement = \"header\"\nkey_name = \"Authorization\"\ntemplate = \"Bearer ${apiKey}\"\n\
     label = \"API Key\"\n";

#[test]
fn config_file_problems() {
    let env = TestEnv::new();
    write_config(&env, "[credentials.api\nprovider = \"paymo\"\n");
    snap!("parse_error", &env, &["list"]);
    write_config(&env, "[credentials.\"Bad Name\"]\nprovider = \"paymo\"\n");
    snap!("bad_name", &env, &["list"]);
    write_config(&env, &format!("{GENERIC}chek_path = \"/me\"\n"));
    snap!("unknown_field", &env, &["list"]);
    write_config(
        &env,
        "[credentials.api]\nprovider = \"paymo\"\ndescription = \"a\\u0007b\"\n",
    );
    snap!("control_character", &env, &["list"]);
    write_config(&env, &GENERIC.replace("\"header\"", "\"body\""));
    snap!("unknown_placement", &env, &["list"]);
    write_config(
        &env,
        "[credentials.api]\nprovider = \"paymo\"\nstore = \"vault\"\nvault_mount = \"../sys\"\n",
    );
    snap!("bad_field", &env, &["list"]);
    write_config(
        &env,
        &GENERIC.replace("https://api.example.com", "ftp://api.example.com"),
    );
    snap!("generic_base_url_unusable", &env, &["call", "api", "/me"]);
    write_config(
        &env,
        "[credentials.docs]\nprovider = \"paligo\"\ninstance = \"acme.evil.com\"\nusername = \"me@acme.com\"\n",
    );
    snap!(
        "paligo_instance_invalid",
        &env,
        &["call", "docs", "/folders"]
    );
}

#[test]
fn config_dir_problems() {
    let env = TestEnv::new();
    write_config(&env, "[credentials.api]\nprovider = \"paymo\"\n");
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    snap!("dir_writable_by_others", &env, &["list"]);
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(env.config_path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    snap!("file_writable_by_others", &env, &["list"]);
    snap!(
        "config_dir_empty",
        &env,
        &["list"],
        &[("CRED_CONFIG_DIR", String::new())]
    );
    let args = ["list"];
    let run = env.run_with(&args, |c| {
        c.env_remove("HOME").env_remove("CRED_CONFIG_DIR");
    });
    assert_run!("no_home", &args, run);
}

#[test]
fn no_such_credential() {
    let env = TestEnv::new();
    snap!("unknown_without_credentials", &env, &["show", "nope"]);
    write_config(&env, "[credentials.paymo]\nprovider = \"paymo\"\n");
    snap!("unknown_with_a_close_name", &env, &["show", "pamyo"]);
    snap!("unknown_with_others", &env, &["secret", "zzzzzz"]);
}

#[test]
fn a_credential_that_now_points_elsewhere() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    // Stored while CRED_PAYMO_URL pointed at the test server; unset now.
    snap!(
        "moved_by_an_unset_variable",
        &env,
        &["call", "paymo", "/me"]
    );
    add_generic_unchecked(&env, &server.url(), &[]);
    let moved = env.config_text().replace(
        &format!("{}/v1", server.url()),
        "https://api.example.com/v1",
    );
    write_config(&env, &moved);
    snap!("moved_by_the_config", &env, &["call", "api", "/me"]);
}
