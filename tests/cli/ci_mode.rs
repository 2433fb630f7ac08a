//! CI and headless boxes (issue 26): with no keychain, every store error of
//! `call`, `verify`, `exec` and `secret` names the credential's own
//! `CRED_SECRET_<NAME>` and `--store file`; `verify` reports every
//! credential even when one store fails; a rejected key from the
//! environment is fixed in the CI secret; `doctor` says which credentials
//! the environment serves and does not fail on a store none of them needs;
//! `--help` and `man cred` name the variable.

use crate::common::*;

/// A session bus address where nothing listens (a CI runner).
const NO_BUS: &str = "unix:path=/nonexistent/cred-test-bus";

fn ci(extra: &[(&str, String)]) -> Vec<(&'static str, String)> {
    let mut vars: Vec<(&'static str, String)> =
        vec![("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string())];
    for (k, v) in extra {
        vars.push((Box::leak(k.to_string().into_boxed_str()), v.clone()));
    }
    vars
}

#[test]
fn every_store_error_names_this_credentials_variable_and_the_file_store() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_generic(
        &env,
        "acme-docs",
        &format!("{}/v1", server.url()),
        &secret("acme"),
        &["--no-verify"],
    )
    .ok();
    add_generic_unchecked(&env, &server.url(), &[]);
    // Another credential's variable is set: the hint must name this one's.
    let vars = ci(&[("CRED_SECRET_API", secret("ci"))]);
    for args in [
        &["call", "acme-docs", "/x"][..],
        &["verify", "acme-docs"],
        &["secret", "acme-docs"],
        &["exec", "acme-docs", "--", "true"],
    ] {
        let run = run_env(&env, args, &vars);
        run.code(7);
        let err = &run.stderr;
        assert!(
            err.contains("cannot reach the OS keychain"),
            "{args:?}\n{run}"
        );
        assert!(
            err.contains("hint: in CI or a script, set CRED_SECRET_ACME_DOCS to the key"),
            "{args:?} should name CRED_SECRET_ACME_DOCS\n{run}"
        );
        assert!(
            err.contains("`cred move acme-docs --store file`"),
            "{args:?} should offer --store file\n{run}"
        );
        assert!(!err.contains("CRED_SECRET_<NAME>"), "{args:?}\n{run}");
    }
    assert_eq!(server.count(), 0);
}

#[test]
fn verify_reports_every_credential_when_one_store_cannot_be_used() {
    // A check that proves the key: 200 with it, 401 without.
    let server = Server::start(|s| match s.header("authorization") {
        Some(_) => Reply::json(200, r#"{"id":1}"#),
        None => Reply::json(401, "{}"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &["--check-path", "/me"]);
    add_generic(
        &env,
        "later",
        &format!("{}/v1", server.url()),
        &secret("later"),
        &["--no-verify", "--check-path", "/me"],
    )
    .ok();
    // `api` is served by the environment, `later` needs the keychain,
    // which this runner does not have.
    let vars = ci(&[("CRED_SECRET_API", secret("ci"))]);
    let run = run_env(&env, &["verify", "later", "api"], &vars);
    run.code(7);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one line per credential\n{run}");
    assert!(
        lines[0].starts_with("ok   api") && lines[0].contains("valid"),
        "{run}"
    );
    assert!(
        lines[1].starts_with("FAIL later") && lines[1].contains("store-unavailable"),
        "{run}"
    );
    assert_error_line(&run, "`later`: cannot reach the OS keychain");
    assert!(run.stderr.contains("CRED_SECRET_LATER"), "{run}");
    assert!(server.count() >= 1, "api was checked\n{run}");

    let run = run_env(&env, &["verify", "--json"], &vars);
    run.code(7);
    let items = json(&run);
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 2, "{run}");
    assert_eq!(items[0]["name"], "api");
    assert_eq!(items[0]["exit_code"], 0);
    assert_eq!(items[1]["name"], "later");
    assert_eq!(items[1]["result"], "store-unavailable");
    assert_eq!(items[1]["exit_code"], 7);
    // Nothing was checked for `later`: nothing recorded for it.
    assert!(last_check(&env, "later").is_none());
    assert_eq!(last_check(&env, "api").unwrap().0, "valid");

    // A second credential in the same unusable keychain: its own line and
    // its own variable, the store's failure said once.
    add_generic(
        &env,
        "zeta",
        &format!("{}/v1", server.url()),
        &secret("zeta"),
        &["--no-verify", "--check-path", "/me"],
    )
    .ok();
    let run = run_env(&env, &["verify"], &vars);
    run.code(7);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{run}");
    assert!(lines[2].starts_with("FAIL zeta"), "{run}");
    assert_error_line(&run, "`later`: cannot reach the OS keychain");
    for var in ["CRED_SECRET_LATER", "CRED_SECRET_ZETA"] {
        assert!(
            run.stderr
                .contains(&format!("hint: in CI or a script, set {var} to the key")),
            "{var}\n{run}"
        );
    }
}

#[test]
fn a_rejected_key_from_the_environment_is_fixed_in_the_ci_secret() {
    let server = Server::start(|_| Reply::json(401, r#"{"error":"bad key"}"#));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &["--check-path", "/me"]);
    let vars = ci(&[("CRED_SECRET_API", secret("ci"))]);
    let run = run_env(&env, &["verify", "api"], &vars);
    run.code(4);
    assert!(
        run.stdout
            .contains("the key came from CRED_SECRET_API: update that CI secret"),
        "{run}"
    );
    let run = run_env(&env, &["call", "api", "/x"], &vars);
    run.code(4);
    assert!(
        run.stderr.contains(
            "hint: the API rejected the key in CRED_SECRET_API; update that CI secret or variable"
        ),
        "{run}"
    );
    assert!(!run.stderr.contains("store a new key"), "{run}");
    // From the store, the advice stays `cred rotate`.
    let run = env.run(&["call", "api", "/x"]);
    run.code(4);
    assert!(run.stderr.contains("cred rotate api"), "{run}");
}

#[test]
fn doctor_in_ci_names_the_environment_and_needs_no_keychain() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let vars = ci(&[("CRED_SECRET_API", secret("ci"))]);
    let run = run_env(&env, &["doctor"], &vars);
    run.ok();
    assert!(
        run.stdout
            .contains("environment `api` from CRED_SECRET_API (no store is asked for it)"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("keychain    unavailable, and no credential here needs it"),
        "{run}"
    );
    assert!(!run.stderr.contains("cred: error:"), "{run}");
    let report = json(run_env(&env, &["doctor", "--json"], &vars).ok());
    assert_eq!(report["environment"][0]["name"], "api");
    assert_eq!(report["environment"][0]["variable"], "CRED_SECRET_API");
    // Without the variable the keychain is needed, and missing: exit 7,
    // naming the variable that would do without it.
    let run = run_env(&env, &["doctor"], &ci(&[]));
    run.code(7);
    assert!(
        run.stderr
            .contains("hint: in CI or a script, set CRED_SECRET_API to the key"),
        "{run}"
    );
}

#[test]
fn help_and_the_man_page_name_the_variable() {
    let env = TestEnv::new();
    let run = env.run(&["--help"]);
    run.ok();
    assert!(run.stdout.contains("CRED_SECRET_<NAME>"), "{run}");
    assert!(run.stdout.contains("--store file"), "{run}");
    let man = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/cred.1"),
    )
    .unwrap();
    assert!(
        man.contains(".B CRED_SECRET_<NAME>"),
        "man/cred.1 ENVIRONMENT"
    );
}

#[test]
fn a_stopped_vault_names_the_variable_but_offers_no_local_copy() {
    let mut bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let mut vars = bao.env(&bao.root);
    vars.push(paligo_env(&server));
    env.add(
        &[
            "paligo",
            "--instance",
            "acme",
            "--username",
            EMAIL,
            "--store",
            "vault",
            "--no-verify",
        ],
        &secret("team"),
        &vars,
    )
    .ok();
    bao.stop();
    let run = run_env(&env, &["call", "paligo", "/documents"], &vars);
    run.code(7);
    assert!(
        run.stderr
            .contains("hint: in CI or a script, set CRED_SECRET_PALIGO to the key"),
        "{run}"
    );
    // A team's secret belongs in the team's store.
    assert!(!run.stderr.contains("--store file"), "{run}");
}
