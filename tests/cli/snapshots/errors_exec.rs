//! `cred exec`: the errors with a hint, before the program starts (names,
//! --env, the store) and when it cannot be started.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn exec_refuses_bad_names_and_fields() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "exec");
    let server = ok_server();
    add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    snap!(
        "empty_name_in_the_list",
        &env,
        &["exec", "paligo,", "--", "true"]
    );
    snap!(
        "env_without_equals",
        &env,
        &["exec", "paligo", "--env", "TOKEN", "--", "true"]
    );
    snap!(
        "env_unknown_field",
        &env,
        &["exec", "paligo", "--env", "X=nothing", "--", "true"]
    );
    snap!(
        "env_auth_header_of_a_query_key",
        &env,
        &["exec", "api", "--env", "X=auth_header", "--", "true"]
    );
    snap!(
        "store_unreachable",
        &env,
        &["exec", "paligo", "--", "true"],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/bus".to_string()
        )]
    );
}

#[test]
fn exec_cannot_start_the_program() {
    let env = TestEnv::new();
    add_paligo_for_exec(&env, "exec");
    snap!(
        "program_not_on_path",
        &env,
        &["exec", "paligo", "--", "no-such-program-here"]
    );
    snap!(
        "program_path_missing",
        &env,
        &["exec", "paligo", "--", "./no-such-program"]
    );
    let script = env.dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    snap!(
        "program_not_executable",
        &env,
        &["exec", "paligo", "--", "./script.sh"]
    );
}
